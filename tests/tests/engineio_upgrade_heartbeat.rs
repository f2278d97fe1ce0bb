//! RELIABILITY.md §4.4, upgrade, heartbeat and flow control: cases B43–B44, plus B45–B48 and
//! B50 (outside the B01–B44 brief, cheap to check with a short heartbeat).
//!
//! Each test starts its own echo server on 127.0.0.1:0 and a canary session first, and ends by
//! checking the universal criteria: no panic on a server thread, the canary still echoes, and
//! every session the case closes is unknown afterwards.

use std::time::{Duration, Instant};

use socketio::engineio::CloseReason;
use tests::eio::{
    self, config, fast_heartbeat, Polling, BAD_REQUEST, FAST_PING_INTERVAL, FAST_PING_TIMEOUT,
};
use tests::raw_ws::{self, RawWs};
use tests::server::Server;
use tests::wait::{eventually, WAIT};
use tests::ws::Client;

/// B43 (official suite): a second WebSocket for an already upgraded session is closed; the
/// first keeps working.
#[tokio::test]
async fn b43_second_websocket_after_upgrade_is_closed() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    let session = Polling::open(srv.addr).await;
    let (mut first, _) = session.upgrade().await;
    first.assert_message_echoed("first").await;
    let mut second = Client::for_upgrade(srv.addr, &session.sid).await;
    second.send("2probe").await;
    let code = second.closed().await;
    assert!(code.is_some(), "closed without a close frame");
    first.assert_message_echoed("still first").await;
    assert_eq!(srv.sessions(), 2, "no second registration");
    srv.assert_healthy(&mut canary).await;
}

/// B44: two WebSocket upgrades for one sid race (both send `2probe`, both try `5`): exactly one
/// wins and the other is closed, and the 100 sequenced messages the client sends through the
/// race (1–50 over polling while both probes run, 51–100 over the winner) arrive in order, once
/// each, and their echoes come back in order across the transport switch.
#[tokio::test]
async fn b44_racing_upgrades_have_one_winner_and_keep_order() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    let session = Polling::open(srv.addr).await;
    let mut echoes: Vec<String> = Vec::new();
    let collect = |body: &str, echoes: &mut Vec<String>| {
        for record in body.split('\x1e') {
            if let Some(seq) = record.strip_prefix("4seq:") {
                echoes.push(seq.to_owned());
            }
        }
    };

    // Both sockets connect and probe at once.
    let (mut a, mut b) = tokio::join!(
        Client::for_upgrade(srv.addr, &session.sid),
        Client::for_upgrade(srv.addr, &session.sid)
    );
    tokio::join!(a.send("2probe"), b.send("2probe"));
    // Meanwhile the client keeps talking over polling.
    for i in 1..=50 {
        session
            .post(format!("4seq:{i}").as_bytes())
            .await
            .assert(200, "ok");
    }
    let (ra, rb) = tokio::join!(a.next_text(), b.next_text());
    let (mut winner, mut loser) = match (ra.as_deref(), rb.as_deref()) {
        (Some("3probe"), None) => (a, b),
        (None, Some("3probe")) => (b, a),
        other => panic!("expected exactly one 3probe, got {other:?}"),
    };
    // The loser is closed; its `5` changes nothing.
    let _ = loser.try_send("5").await;
    // Drain polling until the noop that releases it.
    loop {
        let response = session.get().await;
        assert_eq!(response.status, 200, "{response:?}");
        let body = response.text();
        collect(&body, &mut echoes);
        if body.split('\x1e').any(|r| r == "6") {
            break;
        }
    }
    winner.send("5").await;
    for i in 51..=100 {
        winner.send(&format!("4seq:{i}")).await;
    }
    while echoes.len() < 100 {
        let text = winner.next_text().await.expect("echoes");
        collect(&text, &mut echoes);
    }
    let expected: Vec<String> = (1..=100).map(|i| i.to_string()).collect();
    assert_eq!(echoes, expected, "echoes out of order or lost");
    let seen = srv.state().seqs.lock().unwrap()[&session.sid].clone();
    let expected: Vec<String> = (1..=100).map(|i| format!("seq:{i}")).collect();
    assert_eq!(seen, expected, "the server saw the messages out of order");
    session.get().await.assert(400, BAD_REQUEST);
    assert_eq!(srv.sessions(), 2, "no double registration");
    srv.assert_healthy(&mut canary).await;
}

/// B45 (upgradeTimeout scaled from 10 s to 300 ms; the fast heartbeat): a probe answered but
/// never completed with `5`, while the client also abandons polling. The upgrading socket is
/// closed after the upgrade timeout, the session at the latest by the heartbeat, and the
/// live-session gauge returns to its baseline (socketioxide #732 leak).
#[tokio::test]
async fn b45_abandoned_upgrade_is_reaped() {
    let srv = Server::start(fast_heartbeat().upgrade_timeout(Duration::from_millis(300)));
    let mut canary = srv.canary().await;
    let session = Polling::open(srv.addr).await;
    let mut ws = Client::for_upgrade(srv.addr, &session.sid).await;
    let start = Instant::now();
    ws.send("2probe").await;
    assert_eq!(ws.next_text().await.as_deref(), Some("3probe"));
    let code = ws.closed().await;
    // 1008 "upgrade failed": closed by the upgrade timeout (the heartbeat would end the whole
    // session otherwise), however late a loaded machine made it.
    assert_eq!(code, Some(1008));
    assert!(start.elapsed() >= Duration::from_millis(300));
    srv.state().wait_close(&session.sid).await;
    eio::assert_sid_gone(srv.addr, &session.sid).await;
    srv.wait_sessions(1).await;
    srv.assert_healthy(&mut canary).await;
}

/// B46: `5` without a probe is accepted and switches the session to the WebSocket (Node does the
/// same), carrying what was queued; a message before `5` fails only the upgrade (the upgrading
/// socket is closed with 1008) and the polling session keeps its order and data.
#[tokio::test]
async fn b46_upgrade_out_of_order_keeps_the_session_order() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;

    let session = Polling::open(srv.addr).await;
    session.post(b"4seq:1").await.assert(200, "ok");
    let mut ws = Client::for_upgrade(srv.addr, &session.sid).await;
    ws.send("5").await;
    assert_eq!(ws.next_text().await.as_deref(), Some("4seq:1"));
    ws.send("4seq:2").await;
    assert_eq!(ws.next_text().await.as_deref(), Some("4seq:2"));
    session.get().await.assert(400, BAD_REQUEST);

    let session = Polling::open(srv.addr).await;
    session.post(b"4seq:1").await.assert(200, "ok");
    let mut ws = Client::for_upgrade(srv.addr, &session.sid).await;
    ws.send("4hello").await;
    assert_eq!(ws.closed().await, Some(1008));
    session.post(b"4seq:2").await.assert(200, "ok");
    session.get().await.assert(200, "4seq:1\x1e4seq:2");
    session.assert_echoes("still polling").await;
    // A proper upgrade still works afterwards.
    let (mut upgraded, _) = session.upgrade().await;
    upgraded.assert_message_echoed("upgraded").await;
    let seen = srv.state().seqs.lock().unwrap()[&session.sid].clone();
    assert_eq!(seen, ["seq:1", "seq:2"]);

    srv.assert_healthy(&mut canary).await;
}

/// B47 (scaled from 100 000 pongs over 10 s to 20 000 over about 1 s; the fast heartbeat):
/// unsolicited pongs cost nothing and do not change the heartbeat: the server still pings about
/// once per interval, and the session stays up as long as real pings are answered.
#[tokio::test]
async fn b47_pong_flood_does_not_disturb_the_heartbeat() {
    let srv = Server::start(fast_heartbeat());
    let mut canary = srv.canary().await;
    let (mut client, sid) = RawWs::open(srv.addr).await;
    let start = Instant::now();
    let cpu_before = srv.cpu_time();
    let pongs = raw_ws::text("3").repeat(1_000);
    let mut pings = 0usize;
    let mut batches = 0usize;
    while start.elapsed() < Duration::from_millis(1_000) || batches < 20 {
        if batches < 20 {
            client.send(&pongs).await.unwrap();
            batches += 1;
        }
        // Answer the real pings, as a live client does.
        while let Ok(Some(frame)) = client.next_within(Duration::from_millis(1)).await {
            if frame.payload == b"2" {
                pings += 1;
                client.send(&raw_ws::text("3")).await.unwrap();
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = start.elapsed();
    // At most one ping per 300 ms interval (the pongs did not make the server ping more), and
    // the heartbeat went on (a starved machine may make the server's timer late, never early).
    let most = elapsed.as_millis() as usize / 300 + 1;
    assert!((2..=most).contains(&pings), "{pings} pings in {elapsed:?}");
    assert!(srv.state().close_of(&sid).is_none(), "the session closed");
    let cpu = srv.cpu_time().saturating_sub(cpu_before);
    assert!(
        cpu < Duration::from_secs(1),
        "20 000 pongs cost {cpu:?} of CPU"
    );
    client.send(&raw_ws::text("4alive")).await.unwrap();
    assert_eq!(client.next_text().await.as_deref(), Some("4alive"));
    srv.assert_healthy(&mut canary).await;
}

/// B48 (official suite, with the fast heartbeat 300 ms / 1 s): a client that never answers pings
/// is closed with reason "ping timeout" pingInterval + pingTimeout after it opened, on either
/// transport. Not later by a whole interval either: the WebSocket client sees exactly one ping
/// (the one it did not answer) before the end; a count, where a wall-clock upper bound (the
/// catalogue's window is pingInterval + pingTimeout + 150 ms) would fail on a loaded machine.
#[tokio::test]
async fn b48_silent_client_is_closed_by_ping_timeout() {
    let srv = Server::start(fast_heartbeat());
    let mut canary = srv.canary().await;

    let session = Polling::open(srv.addr).await;
    let (mut client, ws_sid) = RawWs::open(srv.addr).await;
    for sid in [&session.sid, &ws_sid] {
        let (reason, closed) = srv.state().wait_close(sid).await;
        let opened = srv.state().opened_at.lock().unwrap()[sid.as_str()];
        let after = closed - opened;
        assert_eq!(reason, CloseReason::PingTimeout);
        assert!(
            after >= FAST_PING_INTERVAL + FAST_PING_TIMEOUT - Duration::from_millis(10),
            "closed {after:?} after opening"
        );
    }
    // The WebSocket client saw the ping it never answered, then the end (no second ping).
    assert_eq!(client.next().await.map(|f| f.text()).as_deref(), Some("2"));
    let next = client.next_within(WAIT).await.expect("the end within WAIT");
    assert!(
        next.as_ref()
            .is_none_or(|frame| frame.close_code().is_some()),
        "expected the end after the unanswered ping, got {next:?}"
    );
    eio::assert_sid_gone(srv.addr, &session.sid).await;
    eio::assert_sid_gone(srv.addr, &ws_sid).await;
    srv.wait_sessions(1).await;
    srv.assert_healthy(&mut canary).await;
}

/// B50 (scaled: 64-frame queue, 2 000 frames of 10 KB = 20 MB, more than the socket buffers
/// hold): a client that never reads while the server emits to it. The outbound queue is
/// bounded, so the session is closed as a slow consumer; other clients are not delayed; and the
/// server lets go of the connection (its tasks end) although the client still does not read.
#[tokio::test]
async fn b50_non_reading_client_is_disconnected() {
    let srv = Server::start(config().max_queued_packets(64));
    let mut canary = srv.canary().await;
    let baseline = srv.tasks();
    let (mut client, sid) = RawWs::open(srv.addr).await;
    client
        .send(&raw_ws::text("4flood:2000:10000"))
        .await
        .unwrap();
    let (reason, _) = srv.state().wait_close(&sid).await;
    assert_eq!(reason, CloseReason::TransportError);
    let latency = canary.latency().await;
    // The catalogue asks for < 100 ms; 1 s leaves room for a debug build on a loaded machine.
    assert!(latency < Duration::from_secs(1), "canary took {latency:?}");
    eio::assert_sid_gone(srv.addr, &sid).await;
    srv.wait_tasks(baseline).await;
    drop(client);
    srv.assert_healthy(&mut canary).await;
}

/// B50, the stalled-writer shape (the fast heartbeat): the client asks for more than the
/// socket buffers hold, in rounds, and never reads. Whether the server's writer ends up with a
/// full write buffer (an error) or waiting on a full socket, the session is closed by the
/// heartbeat at the latest and the server lets go of the connection: its tasks end although the
/// client still holds the socket open without reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b50_stalled_writer_does_not_outlive_its_session() {
    let srv = Server::start(fast_heartbeat());
    let mut canary = srv.canary().await;
    let baseline = srv.tasks();
    let (mut client, sid) = RawWs::open(srv.addr).await;
    for _ in 0..50 {
        // 100 frames of 10 KB per round; rounds stop being read once the writer stalls.
        if client
            .send(&raw_ws::text("4flood:100:10000"))
            .await
            .is_err()
        {
            break;
        }
        if srv.state().close_of(&sid).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    srv.state().wait_close(&sid).await;
    eio::assert_sid_gone(srv.addr, &sid).await;
    srv.wait_tasks(baseline).await;
    drop(client);
    srv.assert_healthy(&mut canary).await;
}

/// Harness self-test: a panic on a server thread (here in the handler, inside the WebSocket
/// task, where tokio catches it) is counted for that server, which is what makes every
/// `assert_healthy` above meaningful. The panic message printed meanwhile is expected.
#[tokio::test]
async fn harness_counts_panics_on_server_threads() {
    let srv = Server::start(config());
    let quiet = Server::start(config());
    let (mut client, _) = RawWs::open(srv.addr).await;
    client.send(&raw_ws::text("4panic!")).await.unwrap();
    eventually(WAIT, "the panic to be counted", || srv.panics() == 1).await;
    assert_eq!(quiet.panics(), 0, "counted for the wrong server");
}
