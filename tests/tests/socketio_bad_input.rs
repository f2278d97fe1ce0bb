//! Socket.IO-layer bad input: cases S01–S29 of RELIABILITY.md §4.5.
//!
//! Frames are written exactly as they travel on the WebSocket, Engine.IO `4` prefix included
//! (`42["x"]` is the Socket.IO EVENT `2["x"]`). Every case runs against a fresh server (the
//! [`standard`] one plus what the case needs) with a canary socket opened before it, and ends
//! with the universal checks: no panic, the canary still gets its echo, and the live-session
//! gauge is back at its baseline.
//!
//! "Close" in the table means: the server ends the whole Engine.IO connection with a WebSocket
//! close frame 1002, after logging a protocol violation that names the problem (asserted through
//! the captured log), and the session is gone. "Ignored" means: a following `echo` on the same
//! connection is answered, and it is the very next message (so the bad packet produced no
//! answer and did not close anything).

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use socketio::{Binary, Socket, TryData};
use tests::eio::{P, UNKNOWN_SID};
use tests::http;
use tests::sio::{
    assert_frames_violate, assert_violation, standard, start_with_canary, wait_violation_logged,
    Rec,
};
use tests::wait::WAIT;
use tests::ws::{connect_sid, Client};

/// A bound on the server's CPU time for work the table wants "in linear time" / "< 100 ms"
/// (measured by [`Server::cpu_during`], so a loaded machine does not inflate it): generous for
/// a debug build, far below what a quadratic parser spends on these inputs. Measured figures
/// are printed.
const CHEAP: Duration = Duration::from_secs(1);

fn rec() -> Rec {
    Rec::default()
}

// ---------------------------------------------------------------------------------------------
// S01–S05: packet types, event payloads, reserved names, ack ids
// ---------------------------------------------------------------------------------------------

/// S01: `4abc` (an unknown Socket.IO packet type), before and after joining a namespace, closes
/// the connection.
#[tokio::test]
async fn s01_unknown_packet_type_closes() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    assert_frames_violate(&srv, false, &["4abc"], "unknown packet type 'a'").await;
    assert_frames_violate(&srv, true, &["4abc"], "unknown packet type 'a'").await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S02: packet types 7, 8, 9 and a NUL byte close the connection.
#[tokio::test]
async fn s02_invalid_packet_type_digits_close() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    for (frame, why) in [
        ("47", "unknown packet type '7'"),
        ("48", "unknown packet type '8'"),
        ("49", "unknown packet type '9'"),
        ("4\u{0}", "unknown packet type (byte 0x00)"),
    ] {
        assert_frames_violate(&srv, true, &[frame], why).await;
    }
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S03: EVENT payloads that are not a non-empty array starting with a string (CVE-2023-32695,
/// python's empty-event crash) and a truncated packet close the connection; no handler runs.
#[tokio::test]
async fn s03_invalid_event_payloads_close() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    for (frame, why) in [
        ("42{}", "invalid EVENT payload: expected a JSON array"),
        (r#"42"str""#, "invalid EVENT payload: expected a JSON array"),
        ("42[]", "invalid EVENT payload: expected a non-empty array"),
        (
            r#"42[null,"bar"]"#,
            "event name (first element) must be a string",
        ),
        (
            r#"42[true,"foo"]"#,
            "event name (first element) must be a string",
        ),
        (
            r#"42[{"toString":"foo"}]"#,
            "event name (first element) must be a string",
        ),
        // EIO `4`, then `42["some","data"`: a CONNECT_ERROR header followed by digits.
        (
            r#"442["some","data""#,
            "ack id not allowed in CONNECT_ERROR",
        ),
        // The same truncation on an EVENT.
        (r#"42["some","data""#, "invalid JSON payload"),
    ] {
        assert_frames_violate(&srv, true, &[frame], why).await;
    }
    assert!(
        rec.events.lock().unwrap().is_empty(),
        "a handler saw an invalid event"
    );
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S04: reserved event names close the connection. `error` is not reserved: it reaches a
/// user `error` handler when one is registered, the catch-all otherwise, and is ignored in a
/// namespace with no handler — never a crash nor a teardown (CVE-2024-38355).
#[tokio::test]
async fn s04_reserved_event_names() {
    let rec = rec();
    let builder = standard(&rec).namespace("/errors").on(
        "/errors",
        "error",
        |socket: Socket, TryData(msg): TryData<String>| async move {
            socket.emit("got-error", &msg.unwrap_or_default());
        },
    );
    let (srv, mut canary, base) = start_with_canary(builder).await;
    for frame in [
        r#"42["connect"]"#,
        r#"42["disconnect","123"]"#,
        r#"42["connect_error"]"#,
        r#"42["disconnecting"]"#,
        r#"42["newListener"]"#,
        r#"42["removeListener"]"#,
        // An escaped reserved name is still reserved.
        r#"42["\u0063onnect"]"#,
    ] {
        assert_frames_violate(&srv, true, &[frame], "reserved event name").await;
    }

    let mut client = Client::open(srv.addr).await;
    let root = client.join("/").await;
    client.join("/bare").await;
    client.join("/errors").await;
    // A registered `error` handler gets it.
    client.send(r#"42/errors,["error","x"]"#).await;
    assert_eq!(client.text().await, r#"42/errors,["got-error","x"]"#);
    // Without one, the catch-all does.
    client.send(r#"42["error","y"]"#).await;
    let seen = rec.wait_event("error").await;
    assert_eq!(
        (seen.sid.as_str(), seen.args),
        (root.as_str(), vec![r#""y""#.to_owned()])
    );
    // A namespace with no handler at all ignores it.
    client.send(r#"42/bare,["error","z"]"#).await;
    client.assert_echo("/", "after-error").await;
    assert!(srv.alive(&client.eio_sid));
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S05: malformed ack ids close the connection, in bounded time and without overflow.
#[tokio::test]
async fn s05_malformed_ack_ids_close() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let many_nines = format!(r#"42{}["x"]"#, "9".repeat(10_000));
    for (frame, why) in [
        (
            r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#,
            "invalid EVENT payload: expected a JSON array",
        ),
        (
            r#"42-1["x"]"#,
            "invalid EVENT payload: expected a JSON array",
        ),
        (many_nines.as_str(), "ack id too long"),
        // 2^64: one more than u64::MAX.
        (r#"4218446744073709551616["x"]"#, "ack id too long"),
    ] {
        let ((), cpu) = srv
            .cpu_during(assert_frames_violate(&srv, true, &[frame], why))
            .await;
        assert!(cpu < CHEAP, "{why}: the server spent {cpu:?} of CPU");
    }
    // The largest id that fits is accepted (and answered with the same id).
    let (mut client, _) = Client::connected(srv.addr, "/").await;
    client.send(r#"4218446744073709551615["echo","max"]"#).await;
    assert_eq!(client.text().await, r#"42["echo","max"]"#);
    assert_eq!(client.text().await, r#"4318446744073709551615["max"]"#);
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

// ---------------------------------------------------------------------------------------------
// S06–S07: acknowledgements
// ---------------------------------------------------------------------------------------------

/// The ack id of a server EVENT frame `42<id>[...]` on `/`.
fn ack_id_of(frame: &str) -> u64 {
    let rest = frame
        .strip_prefix("42")
        .unwrap_or_else(|| panic!("not an event: {frame}"));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no ack id in {frame}"))
}

/// S06: an ACK for an unknown id, the same ACK twice and an ACK after its timeout are ignored;
/// the connection stays; the waiter gets exactly one outcome; the pending-ack table returns
/// to 0.
#[tokio::test]
async fn s06_unknown_duplicate_and_late_acks_are_ignored() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let (mut client, sid) = Client::connected(srv.addr, "/").await;
    let socket = srv.socket(&sid);

    // Unknown id.
    client.send("43999[]").await;
    client.assert_echo("/", "after-unknown").await;

    // Answered twice: the first answer wins, the second is ignored.
    let waiting = tokio::spawn(
        socket
            .emit_with_ack("ask", "q1")
            .timeout(WAIT)
            .into_future(),
    );
    let ask = client.text().await;
    let id = ack_id_of(&ask);
    assert_eq!(ask, format!(r#"42{id}["ask","q1"]"#));
    client.send(&format!(r#"43{id}["first"]"#)).await;
    client.send(&format!(r#"43{id}["second"]"#)).await;
    client.assert_echo("/", "after-duplicate").await;
    let answer = waiting.await.unwrap().expect("the ack");
    assert_eq!(answer.deserialize::<String>().unwrap(), "first");
    assert_eq!(socket.pending_acks(), 0);

    // Late: the timeout fires once, then the ACK is ignored.
    let started = Instant::now();
    let waiting = tokio::spawn(
        socket
            .emit_with_ack("ask", "q2")
            .timeout(Duration::from_millis(200))
            .into_future(),
    );
    let id = ack_id_of(&client.text().await);
    let outcome = waiting.await.unwrap();
    assert!(
        matches!(outcome, Err(socketio::AckError::Timeout)),
        "{outcome:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        socket.pending_acks(),
        0,
        "the timed-out ack was not forgotten"
    );
    client.send(&format!(r#"43{id}["late"]"#)).await;
    client.assert_echo("/", "after-late").await;
    assert_eq!(socket.pending_acks(), 0);
    assert!(socket.connected());
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S07: an ACK without an id is a protocol violation: the connection is closed (the table allows
/// "ignored or closed"; this server closes, like the JavaScript parser, which refuses the
/// packet as invalid).
#[tokio::test]
async fn s07_ack_without_id_closes() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    for frame in ["43[]", r#"43["x"]"#] {
        assert_frames_violate(&srv, true, &[frame], "ACK packet without ack id").await;
    }
    srv.assert_healthy_at(&mut canary, base).await;
}

// ---------------------------------------------------------------------------------------------
// S08–S15: namespaces, CONNECT, DISCONNECT, CONNECT_ERROR, connect timeout
// ---------------------------------------------------------------------------------------------

/// S08: CONNECT to an unknown namespace is answered `44/random,{"message":"Invalid
/// namespace"}` and the engine connection stays open (it can still join `/`).
#[tokio::test]
async fn s08_unknown_namespace_is_refused_and_connection_stays() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let mut client = Client::open(srv.addr).await;
    for frame in ["40/random,", "40/random"] {
        client.send(frame).await;
        assert_eq!(
            client.text().await,
            r#"44/random,{"message":"Invalid namespace"}"#
        );
        assert!(srv.alive(&client.eio_sid));
    }
    client.join("/").await;
    client.assert_echo("/", "after-refusal").await;
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S09: a CONNECT payload that is not a JSON object closes the connection.
#[tokio::test]
async fn s09_invalid_connect_payloads_close() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    for (frame, why) in [
        (
            r#"40"str""#,
            "invalid CONNECT payload: expected a JSON object",
        ),
        ("40[]", "invalid CONNECT payload: expected a JSON object"),
        ("40123", "ack id not allowed in CONNECT packets"),
        (
            r#"40/admin,"invalid""#,
            "invalid CONNECT payload: expected a JSON object",
        ),
        ("40{", "invalid JSON payload"),
    ] {
        assert_frames_violate(&srv, false, &[frame], why).await;
    }
    assert!(
        rec.connects.lock().unwrap().len() == 1,
        "only the canary connected"
    );
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S10: odd namespaces (100,000 bytes long, `%00`, `..`, a query string — EIO4 has none —, a
/// NUL) are refused as unknown (`44…`) in linear time, and the connection stays open. `40admin`
/// has no leading `/`, so `admin` is read as the CONNECT payload: not a JSON object, closed.
#[tokio::test]
async fn s10_odd_namespaces() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let mut client = Client::open(srv.addr).await;
    let long = format!("/{}", "a".repeat(100_000));
    for namespace in [long.as_str(), "/%00", "/../", "/admin?x=1", "/\u{0}"] {
        let (answer, cpu) = srv
            .cpu_during(async {
                client.send(&format!("40{namespace},")).await;
                client.text().await
            })
            .await;
        assert_eq!(
            answer,
            format!(r#"44{namespace},{{"message":"Invalid namespace"}}"#)
        );
        assert!(cpu < CHEAP, "the server spent {cpu:?} of CPU");
    }
    // EIO4 has no namespace query string: `/admin?x=1` did not connect `/admin`.
    client.join("/").await;
    client.assert_echo("/", "after-odd-namespaces").await;
    client.close().await;
    assert_frames_violate(
        &srv,
        false,
        &["40admin"],
        "invalid CONNECT payload: expected a JSON object",
    )
    .await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// One polling request's records (split on the record separator).
fn records(response: &http::Response) -> Vec<String> {
    response.text().split('\x1e').map(str::to_owned).collect()
}

/// S11: a second CONNECT for a connected namespace closes the connection, over WebSocket and
/// over polling. There, a GET already waiting when the session closes receives the close packet
/// `1`, and any later request `400 {"code":1,...}` at once: what the official Engine.IO test
/// suite requires ("closes the session upon invalid packet format").
#[tokio::test]
async fn s11_double_connect_closes() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    assert_frames_violate(&srv, false, &["40", "40"], "second CONNECT").await;
    assert_frames_violate(&srv, false, &["40/admin,", "40/admin,"], "second CONNECT").await;

    // Polling.
    let open = http::get(srv.addr, P).await;
    assert_eq!(open.status, 200, "{open:?}");
    let value: serde_json::Value = serde_json::from_str(&open.text()[1..]).unwrap();
    let eio_sid = value["sid"].as_str().unwrap().to_owned();
    let target = format!("{P}&sid={eio_sid}");
    let post = |body: &'static str| {
        let target = target.clone();
        async move { http::request(srv.addr, "POST", &target, &[], Some(body.as_bytes())).await }
    };
    post("40").await.assert(200, "ok");
    let answer = http::get(srv.addr, &target).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        connect_sid(&records(&answer)[0], "/").is_some(),
        "{answer:?}"
    );
    let second = post("40").await;
    assert!(
        second.status == 200 || second.status == 400,
        "unexpected answer to the violating POST: {second:?}"
    );
    wait_violation_logged(&eio_sid, "second CONNECT").await;
    // The session is closed: a GET sees the close packet or the unknown sid.
    let deadline = Instant::now() + WAIT;
    loop {
        let response = http::get(srv.addr, &target).await;
        if response.status == 400 {
            assert_eq!(response.text(), UNKNOWN_SID);
            break;
        }
        assert_eq!(response.status, 200, "{response:?}");
        assert!(
            records(&response).iter().any(|r| r == "1"),
            "a poll of a closed session must carry the close packet: {response:?}"
        );
        assert!(Instant::now() < deadline, "the session stayed known");
    }
    srv.wait_gone(&eio_sid).await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S12: an EVENT for a namespace the connection has not joined closes it.
#[tokio::test]
async fn s12_event_for_unjoined_namespace_closes() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    assert_frames_violate(&srv, false, &[r#"42["x"]"#], "not connected").await;
    assert_frames_violate(&srv, true, &[r#"42/admin,["x"]"#], "not connected").await;
    // An ACK for an unjoined namespace answers nothing the server waits for: ignored like an
    // unknown ack id (S06), not a violation.
    let (mut client, _) = Client::connected(srv.addr, "/").await;
    client.send(r#"43/admin,1["x"]"#).await;
    client.assert_echo("/", "after-unjoined-ack").await;
    client.close().await;
    assert!(rec.events.lock().unwrap().is_empty());
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S13: DISCONNECT with a payload closes the connection; a plain `41` disconnects only that
/// namespace socket, with reason "client disconnect", and the engine connection
/// stays usable.
#[tokio::test]
async fn s13_disconnect_packets() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    assert_frames_violate(
        &srv,
        true,
        &[r#"41{"a":1}"#],
        "payload not allowed in DISCONNECT",
    )
    .await;

    let mut client = Client::open(srv.addr).await;
    let root = client.join("/").await;
    let admin = client.join("/admin").await;
    client.send("41").await;
    let reason = rec.wait_disconnect(&root).await;
    assert_eq!(reason.as_str(), "client disconnect");
    assert!(srv.io.socket(root.parse().unwrap()).is_none());
    client.assert_echo("/admin", "after-41").await;
    assert!(rec.disconnects_of(&admin).is_empty());
    assert!(srv.alive(&client.eio_sid));
    // `/` can be joined again, as a new socket.
    let again = client.join("/").await;
    assert_ne!(again, root);
    client.assert_echo("/", "rejoined").await;
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S14: a CONNECT_ERROR from a client closes the connection.
#[tokio::test]
async fn s14_connect_error_from_client_closes() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    for join in [false, true] {
        assert_frames_violate(
            &srv,
            join,
            &[r#"44{"message":"x"}"#],
            "CONNECT_ERROR packets only travel from server to client",
        )
        .await;
    }
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S15: a connection that never sends a CONNECT is closed after `connect_timeout` (300 ms
/// here); one that joined stays.
#[tokio::test]
async fn s15_no_connect_is_closed_after_connect_timeout() {
    let rec = rec();
    let timeout = Duration::from_millis(300);
    let (srv, mut canary, base) = start_with_canary(standard(&rec).connect_timeout(timeout)).await;
    let started = Instant::now();
    let mut client = Client::open(srv.addr).await;
    assert!(srv.alive(&client.eio_sid));
    // The server ends the session itself: a normal close (1000), not a violation.
    assert_eq!(client.closed().await, Some(1000));
    let elapsed = started.elapsed();
    assert!(elapsed >= timeout, "closed after {elapsed:?}");
    srv.wait_gone(&client.eio_sid).await;
    // A connection refused by an unknown namespace is still "joined to none".
    let mut refused = Client::open(srv.addr).await;
    refused.send("40/nowhere,").await;
    assert!(refused.text().await.starts_with("44/nowhere,"));
    assert_eq!(refused.closed().await, Some(1000));
    // The canary joined before the timeout and is still there.
    srv.assert_healthy_at(&mut canary, base).await;
}

// ---------------------------------------------------------------------------------------------
// S16–S22: binary packets
// ---------------------------------------------------------------------------------------------

fn placeholder(num: &str) -> String {
    format!(r#"{{"_placeholder":true,"num":{num}}}"#)
}

/// S16: more than 10 attachments, or a count too long to read, closes the connection at the
/// header (nothing is allocated for the declared count).
#[tokio::test]
async fn s16_too_many_attachments_close() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let eleven: Vec<String> = (0..11).map(|i| placeholder(&i.to_string())).collect();
    let frame = format!(r#"4511-["x",{}]"#, eleven.join(","));
    assert_frames_violate(&srv, true, &[&frame], "too many attachments").await;
    assert_frames_violate(
        &srv,
        true,
        &[r#"45999999999999999999999-["x"]"#],
        "too many attachments",
    )
    .await;
    // u64::MAX + 1 attachments, and a count as long as the table's largest.
    assert_frames_violate(
        &srv,
        true,
        &[r#"4518446744073709551616-["x"]"#],
        "too many attachments",
    )
    .await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S17: malformed attachment counts close the connection.
#[tokio::test]
async fn s17_illegal_attachment_headers_close() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    for frame in [
        "45",
        "451",
        "45a-",
        "451.23-",
        r#"45-1-["x"]"#,
        "46",
        "46a-1[]",
    ] {
        assert_frames_violate(&srv, true, &[frame], "invalid attachment count").await;
    }
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S18: placeholders whose `num` is not an integer in `0..attachments` close the connection
/// (CVE-2022-2421); `"_placeholder":"true"` (a string) is not a placeholder and arrives as a
/// plain object.
#[tokio::test]
async fn s18_placeholder_abuse() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    for (num, why) in [
        (r#""splice""#, "invalid binary placeholder"),
        ("1", "invalid binary placeholder"),
        ("-1", "invalid binary placeholder"),
        ("1.5", "invalid binary placeholder"),
        ("1e400", "invalid JSON payload"),
    ] {
        let mut client = Client::open(srv.addr).await;
        client.join("/").await;
        let frame = format!(r#"451-["hello",{}]"#, placeholder(num));
        client.send(&frame).await;
        client.try_send_binary(&[1, 2]).await;
        assert_violation(&srv, &mut client, why).await;
    }
    assert!(rec.events_named("hello").is_empty());

    let (mut client, sid) = Client::connected(srv.addr, "/").await;
    client
        .send(r#"451-["hello",{"_placeholder":"true","num":0}]"#)
        .await;
    assert!(client.try_send_binary(&[1, 2]).await);
    client.assert_echo("/", "after-string-placeholder").await;
    let seen = rec.wait_event("hello").await;
    assert_eq!(seen.sid.as_str(), sid);
    assert_eq!(seen.args, [r#"{"_placeholder":"true","num":0}"#]);
    assert_eq!(seen.attachments, [vec![1u8, 2]]);
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S19: a binary frame with no binary packet waiting for it closes the connection.
#[tokio::test]
async fn s19_binary_without_header_closes() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    for join in [false, true] {
        let mut client = Client::open(srv.addr).await;
        if join {
            client.join("/").await;
        }
        client.try_send_binary(&[1, 2]).await;
        assert_violation(&srv, &mut client, "binary message without a binary packet").await;
    }
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S20: a text packet while attachments are awaited closes the connection; neither packet
/// reaches a handler.
#[tokio::test]
async fn s20_text_while_reconstructing_closes() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let frame = format!(r#"451-["x",{}]"#, placeholder("0"));
    assert_frames_violate(
        &srv,
        true,
        &[&frame, r#"42["y"]"#],
        "text packet while binary attachments were expected",
    )
    .await;
    assert!(rec.events.lock().unwrap().is_empty());
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S21: `450-["x"]` is complete at once: delivered exactly once; the binary frames that follow
/// are not accumulated — the first one closes the connection.
#[tokio::test]
async fn s21_zero_attachment_binary_then_frames() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let (mut client, sid) = Client::connected(srv.addr, "/").await;
    client.send(r#"450-["x"]"#).await;
    let kilobyte = vec![0x5a; 1024];
    for _ in 0..100 {
        if !client.try_send_binary(&kilobyte).await {
            break;
        }
    }
    assert_violation(&srv, &mut client, "binary message without a binary packet").await;
    let seen = rec.events_named("x");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].sid.as_str(), sid);
    assert!(seen[0].attachments.is_empty() && seen[0].args.is_empty());
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S22: a binary packet waiting for a missing attachment does not disturb the heartbeat and is
/// dropped with its connection; attachments may not add up to more than `max_http_buffer_size`
/// (10,000 bytes here).
#[tokio::test]
async fn s22_pending_attachments_are_bounded() {
    let rec = rec();
    let builder = standard(&rec)
        .ping_interval(Duration::from_millis(300))
        // 1 s, not the official suites' 200 ms: the clients answer pings from the test's
        // runtime, which a loaded machine may pause for longer than 200 ms.
        .ping_timeout(Duration::from_secs(1))
        .max_http_buffer_size(10_000);
    let (srv, mut canary, base) = start_with_canary(builder).await;
    let header = format!(r#"452-["x",{},{}]"#, placeholder("0"), placeholder("1"));

    // One of two attachments, then idle across three heartbeats: still alive.
    let (mut client, _) = Client::connected(srv.addr, "/").await;
    client.send(&header).await;
    assert!(client.try_send_binary(&[7; 1000]).await);
    client.idle_pings(3).await;
    assert!(srv.alive(&client.eio_sid));
    assert!(rec.events_named("x").is_empty());
    let eio_sid = client.eio_sid.clone();
    client.close().await;
    srv.wait_gone(&eio_sid).await;

    // Over the limit: closed as soon as the total crosses it.
    let (mut client, _) = Client::connected(srv.addr, "/").await;
    client.send(&header).await;
    client.try_send_binary(&[7; 6000]).await;
    client.try_send_binary(&[7; 6000]).await;
    assert_violation(
        &srv,
        &mut client,
        "binary packet larger than the 10000 bytes",
    )
    .await;
    assert!(rec.events_named("x").is_empty());
    srv.assert_healthy_at(&mut canary, base).await;
}

// ---------------------------------------------------------------------------------------------
// S23–S28: JSON edge cases
// ---------------------------------------------------------------------------------------------

/// S23: 100,000 nested arrays close the connection (nesting limit 127), without a stack
/// overflow (which would abort the whole test binary).
#[tokio::test]
async fn s23_deep_nesting_closes() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let deep = format!(r#"42["x",{}{}]"#, "[".repeat(100_000), "]".repeat(100_000));
    let ((), cpu) = srv
        .cpu_during(assert_frames_violate(
            &srv,
            true,
            &[&deep],
            "nested more than 127 levels",
        ))
        .await;
    assert!(cpu < CHEAP, "the server spent {cpu:?} of CPU");
    // The same in an object, in a CONNECT payload, and in an ACK.
    let deep_object = format!(r#"42["x",{}1{}]"#, r#"{"a":"#.repeat(200), "}".repeat(200));
    assert_frames_violate(&srv, true, &[&deep_object], "nested more than").await;
    let deep_auth = format!("40{}{}", r#"{"a":"#.repeat(200), "}".repeat(200));
    assert_frames_violate(&srv, false, &[&deep_auth], "nested more than").await;
    let deep_ack = format!("431{}{}", "[".repeat(200), "]".repeat(200));
    assert_frames_violate(&srv, true, &[&deep_ack], "nested more than").await;
    // 127 levels in total are fine.
    let (mut client, _) = Client::connected(srv.addr, "/").await;
    client
        .send(&format!(
            r#"42["deep",{}{}]"#,
            "[".repeat(126),
            "]".repeat(126)
        ))
        .await;
    client.assert_echo("/", "after-deep").await;
    assert_eq!(rec.events_named("deep").len(), 1);
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S24: huge numbers are accepted as raw JSON and delivered unchanged, quickly. Choice: the
/// decoder only checks JSON syntax, so `9`×500,000 and `1e999999` reach the handler as they
/// were sent; a handler that asks for an `f64` gets a `DataError` ("number out of range"),
/// never an infinity, and the connection stays.
#[tokio::test]
async fn s24_huge_numbers_are_delivered_raw() {
    let rec = rec();
    let builder = standard(&rec).on(
        "/",
        "float",
        |socket: Socket, TryData(n): TryData<f64>| async move {
            let answer = match n {
                Ok(n) => format!("ok {n}"),
                Err(e) => format!("err {e}"),
            };
            socket.emit("float", &answer);
        },
    );
    let (srv, mut canary, base) = start_with_canary(builder).await;
    let (mut client, _) = Client::connected(srv.addr, "/").await;
    let digits = "9".repeat(500_000);
    let ((), cpu) = srv
        .cpu_during(async {
            client.send(&format!(r#"42["x",{digits}]"#)).await;
            client.assert_echo("/", "after-digits").await;
        })
        .await;
    println!("S24: 500,000 digits delivered and echo round trip for {cpu:?} of server CPU");
    assert!(cpu < CHEAP, "the server spent {cpu:?} of CPU");
    let seen = rec.wait_event("x").await;
    assert_eq!(seen.args, [digits.as_str()]);

    client.send(r#"42["x",1e999999]"#).await;
    client.assert_echo("/", "after-exponent").await;
    assert_eq!(rec.events_named("x")[1].args, ["1e999999"]);

    for (raw, expected) in [
        (digits.as_str(), "err "),
        ("1e999999", "err "),
        ("1.5e3", "ok 1500"),
    ] {
        let (answer, cpu) = srv
            .cpu_during(async {
                client.send(&format!(r#"42["float",{raw}]"#)).await;
                client.text().await
            })
            .await;
        assert!(cpu < CHEAP, "{raw:.20}: the server spent {cpu:?} of CPU");
        let value: serde_json::Value = serde_json::from_str(&answer[2..]).unwrap();
        assert!(
            value[1].as_str().unwrap().starts_with(expected),
            "{raw:.20}: {answer}"
        );
    }
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S25: a lone surrogate escape closes the connection (Rust strings cannot hold it; Node would
/// accept it — documented divergence), while `\u0000` is accepted and delivered as a NUL.
#[tokio::test]
async fn s25_lone_surrogate_closes_nul_is_accepted() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    for frame in [
        r#"42["x","\ud800"]"#,
        r#"42["x","\udc00"]"#,
        r#"42["x","\ud800\u0041"]"#,
        r#"42["\ud800"]"#,
    ] {
        assert_frames_violate(&srv, true, &[frame], "lone UTF-16 surrogate").await;
    }
    let (mut client, _) = Client::connected(srv.addr, "/").await;
    client.send(r#"42["x","\u0000","\ud83d\ude00"]"#).await;
    client.assert_echo("/", "after-nul").await;
    let seen = rec.wait_event("x").await;
    assert_eq!(seen.args, [r#""\u0000""#, r#""\ud83d\ude00""#]);
    let decoded: Vec<String> = seen
        .args
        .iter()
        .map(|raw| serde_json::from_str(raw).unwrap())
        .collect();
    assert_eq!(decoded, ["\0", "😀"]);
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S26: a 900,000-byte event name (under `maxPayload`) is dispatched to the catch-all, or dropped
/// where there is none, quickly and without closing the connection.
#[tokio::test]
async fn s26_huge_event_name() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let name = "a".repeat(900_000);
    let (mut client, _) = Client::connected(srv.addr, "/").await;
    client.join("/bare").await;
    let ((), cpu) = srv
        .cpu_during(async {
            client.send(&format!(r#"42["{name}"]"#)).await;
            client.send(&format!(r#"42/bare,["{name}"]"#)).await;
            client.assert_echo("/", "after-long-name").await;
        })
        .await;
    println!("S26: two 900 KB event names handled for {cpu:?} of server CPU");
    assert!(cpu < CHEAP, "the server spent {cpu:?} of CPU");
    let seen = rec.wait_event(&name).await;
    assert_eq!(seen.namespace, "/");
    assert_eq!(
        rec.events.lock().unwrap().len(),
        1,
        "/bare has no catch-all"
    );
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S27: `__proto__` in the auth payload has no special meaning: the connect handler gets the
/// payload byte for byte.
#[tokio::test]
async fn s27_proto_in_auth_is_plain_data() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let mut client = Client::open(srv.addr).await;
    let auth = r#"{"__proto__":{"admin":true},"a":"b"}"#;
    client.send(&format!("40{auth}")).await;
    let sid = connect_sid(&client.text().await, "/").expect("a CONNECT answer");
    let seen = rec.connect_of(&sid).expect("the connect handler ran");
    assert_eq!(seen.auth.as_deref(), Some(auth));
    let parsed: serde_json::Value = serde_json::from_str(auth).unwrap();
    assert_eq!(parsed["__proto__"]["admin"], true);
    client.assert_echo("/", "after-proto").await;
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// S28: a placeholder object inside a plain (non-binary) EVENT is an ordinary object: the
/// catch-all gets it raw with no attachment, and a handler asking for [`Binary`] gets a
/// `DataError` instead of an index into an empty attachment list.
#[tokio::test]
async fn s28_placeholder_in_plain_event_is_a_plain_object() {
    let rec = rec();
    let builder = standard(&rec).on(
        "/",
        "bin",
        |socket: Socket, TryData(b): TryData<Binary>| async move {
            socket.emit("bin", &b.is_ok());
        },
    );
    let (srv, mut canary, base) = start_with_canary(builder).await;
    let (mut client, _) = Client::connected(srv.addr, "/").await;
    let object = placeholder("0");
    client.send(&format!(r#"42["x",{object}]"#)).await;
    client.assert_echo("/", "after-placeholder").await;
    let seen = rec.wait_event("x").await;
    assert_eq!(seen.args, [object.as_str()]);
    assert!(seen.attachments.is_empty());
    let value: serde_json::Value = serde_json::from_str(&seen.args[0]).unwrap();
    assert!(value.is_object());

    client.send(&format!(r#"42["bin",{object}]"#)).await;
    assert_eq!(client.text().await, r#"42["bin",false]"#);
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

// ---------------------------------------------------------------------------------------------
// S29: connection-state recovery (not implemented)
// ---------------------------------------------------------------------------------------------

/// S29: this server does not implement connection-state recovery, so a CONNECT carrying
/// `pid`/`offset` is a normal new connection: the answer is `40{"sid":...}` with a fresh sid and
/// no `pid`, the payload reaches the connect handler as plain auth data, and the pid of a live
/// socket (its sid here) restores nothing.
#[tokio::test]
async fn s29_recovery_payloads_make_new_sessions() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let big_pid = format!(r#"{{"pid":"{}"}}"#, "p".repeat(900_000));
    let live_pid = format!(r#"{{"pid":"{}","offset":"0"}}"#, canary.sid);
    for auth in [
        r#"{"pid":"foo","offset":"bar"}"#,
        r#"{"pid":123}"#,
        big_pid.as_str(),
        live_pid.as_str(),
    ] {
        let mut client = Client::open(srv.addr).await;
        client.send(&format!("40{auth}")).await;
        let answer = client.text().await;
        // `connect_sid` only accepts an object whose one member is `sid`: no `pid`.
        let sid = connect_sid(&answer, "/")
            .unwrap_or_else(|| panic!("not a plain CONNECT answer: {answer:.100}"));
        assert_ne!(sid, canary.sid);
        assert_eq!(srv.socket(&sid).rooms(), [sid.as_str()]);
        assert_eq!(rec.connect_of(&sid).unwrap().auth.as_deref(), Some(auth));
        client.assert_echo("/", "recovered-nothing").await;
        client.close().await;
    }
    assert!(srv.io.socket(canary.sid.parse().unwrap()).is_some());
    srv.assert_healthy_at(&mut canary, base).await;
}
