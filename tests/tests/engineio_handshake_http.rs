//! RELIABILITY.md §4.1, handshake and HTTP layer: cases B01–B20.
//!
//! Each test starts its own echo server on 127.0.0.1:0 and a canary session first, and ends by
//! checking the universal criteria: no panic on a server thread, the canary still echoes.
//!
//! Not here: B12 (application-level rejection) has no engine-level hook to test: the engine
//! has no `allowRequest`, and `EngineHandler::on_open` cannot refuse a session; it belongs to the
//! Socket.IO layer (`44{"message":…}`). B34a needs EIO3, which the engine does not speak: B02
//! checks that `EIO=3` is refused.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use socketio::engineio::AllowedOrigins;
use tests::eio::{self, config, Polling, BAD_REQUEST, P, UNKNOWN_SID, W};
use tests::http::{self, Conn};
use tests::raw_ws::{self, Ending, RawWs};
use tests::server::Server;

const UNSUPPORTED: &str = r#"{"code":5,"message":"Unsupported protocol version"}"#;
const UNKNOWN_TRANSPORT: &str = r#"{"code":0,"message":"Transport unknown"}"#;
const BAD_METHOD: &str = r#"{"code":2,"message":"Bad handshake method"}"#;
const BAD_ORIGIN: &str = r#"{"code":4,"message":"Not an accepted origin."}"#;

/// B01: no `EIO` parameter.
#[tokio::test]
async fn b01_missing_eio_is_unsupported_protocol_version() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    http::get(srv.addr, "/socket.io/?transport=polling")
        .await
        .assert(400, UNSUPPORTED);
    assert_eq!(srv.sessions(), 1, "no session may be created");
    srv.assert_healthy(&mut canary).await;
}

/// B02: only the exact string `4` is Engine.IO v4.
#[tokio::test]
async fn b02_any_eio_but_exactly_4_is_unsupported_protocol_version() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    for eio in [
        "EIO=abc",
        "EIO=3",
        "EIO=5",
        "EIO=04",
        "EIO=-4",
        "EIO=4.0",
        "EIO=4&EIO=3",
        "EIO[]=4",
        "EIO=",
        "EIO",
    ] {
        let target = format!("/socket.io/?{eio}&transport=polling");
        let response = http::get(srv.addr, &target).await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (400, UNSUPPORTED),
            "{eio}"
        );
        // The same on the WebSocket handshake: refused before any 101.
        let target = format!("/socket.io/?{eio}&transport=websocket");
        let refused = RawWs::connect(srv.addr, &target).await.err().expect(eio);
        refused.assert(400, UNSUPPORTED);
    }
    assert_eq!(srv.sessions(), 1, "no session may be created");
    srv.assert_healthy(&mut canary).await;
}

/// B03: a missing, empty, unknown or array-shaped `transport`.
#[tokio::test]
async fn b03_unknown_transport_is_refused_with_code_0() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    for query in [
        "EIO=4",
        "EIO=4&transport=abc",
        "EIO=4&transport=",
        "EIO=4&transport=webtransport",
        "EIO=4&transport[]=polling",
        "EIO=4&transport=polling&transport=polling",
        "EIO=4&transport=POLLING",
    ] {
        let response = http::get(srv.addr, &format!("/socket.io/?{query}")).await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (400, UNKNOWN_TRANSPORT),
            "{query}"
        );
    }
    assert_eq!(srv.sessions(), 1);
    srv.assert_healthy(&mut canary).await;
}

/// B04: a handshake must be a GET (`OPTIONS` too while CORS is not in play).
#[tokio::test]
async fn b04_handshake_with_another_method_is_bad_handshake_method() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    for (method, body) in [
        ("POST", Some(&b"4hello"[..])),
        ("PUT", Some(&b"4hello"[..])),
        ("DELETE", None),
        ("PATCH", Some(&b""[..])),
        ("OPTIONS", None),
    ] {
        let response = http::request(srv.addr, method, P, &[], body).await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (400, BAD_METHOD),
            "{method}"
        );
    }
    assert_eq!(srv.sessions(), 1);
    srv.assert_healthy(&mut canary).await;
}

/// B05: a WebSocket handshake sent as plain HTTP (no `Upgrade`/`Connection`).
#[tokio::test]
async fn b05_websocket_transport_without_upgrade_headers_is_bad_request() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    http::get(srv.addr, W).await.assert(400, BAD_REQUEST);
    // Half an upgrade is no upgrade either.
    let response = http::request(srv.addr, "GET", W, &[("Upgrade", "websocket")], None).await;
    response.assert(400, BAD_REQUEST);
    assert_eq!(srv.sessions(), 1);
    srv.assert_healthy(&mut canary).await;
}

/// B06: unknown, empty, huge or hostile sids are unknown, quickly. A sid longer than hyper's
/// URI limit (64 KiB) is refused by hyper itself (414) before the engine sees it.
#[tokio::test]
async fn b06_unknown_or_malformed_sid_is_session_id_unknown() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    let long = "A".repeat(100_000);
    let almost = "A".repeat(60_000);
    for sid in [
        "AAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAAA", // well-formed (22 base64url chars) but unknown
        "",
        "%00",
        "__proto__",
        "constructor",
        "../../etc/passwd",
        &almost,
    ] {
        let (response, cpu) = srv
            .cpu_during(http::get(srv.addr, &eio::polling(sid)))
            .await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (400, UNKNOWN_SID),
            "{sid:.30}"
        );
        // The catalogue asks for < 10 ms; the server's CPU time is the bound a loaded machine
        // does not inflate (it is counted in 10 ms ticks).
        assert!(
            cpu < Duration::from_millis(200),
            "{sid:.30} cost the server {cpu:?} of CPU"
        );
        let response = http::request(srv.addr, "POST", &eio::polling(sid), &[], Some(b"4x")).await;
        assert_eq!(
            (response.status, response.text()),
            (400, UNKNOWN_SID.into())
        );
    }
    let response = http::get(srv.addr, &eio::polling(&long)).await;
    assert!(
        response.status == 414 || (response.status == 400 && response.text() == UNKNOWN_SID),
        "{response:?}"
    );
    assert_eq!(srv.sessions(), 1);
    srv.assert_healthy(&mut canary).await;
}

/// B07 (scaled from 10 000 to 2 000 handshakes over 4 keep-alive connections): sids are unique,
/// carry at least 120 random bits, and show no sequence; closed sids never come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b07_session_ids_are_unique_random_and_never_reused() {
    const CONNS: usize = 4;
    const PER_CONN: usize = 500;
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    let mut tasks = Vec::new();
    for _ in 0..CONNS {
        let addr = srv.addr;
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let mut sids = Vec::with_capacity(PER_CONN);
            for i in 0..PER_CONN {
                let response = conn.send("GET", P, &[], None).await;
                assert_eq!(response.status, 200);
                let sid = eio::sid_of(&response.text());
                // Close every other session, so that later ids are drawn while earlier ones
                // are already gone.
                if i % 2 == 0 {
                    let target = eio::polling(&sid);
                    conn.send("POST", &target, &[], Some(b"1"))
                        .await
                        .assert(200, "ok");
                }
                sids.push(sid);
            }
            sids
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "duplicate sid");
    let mut ones = 0u64;
    let mut bits = 0u64;
    for sid in &all {
        assert_eq!(sid.len(), 22, "{sid}");
        assert!(
            sid.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{sid}"
        );
        // 22 base64url characters = 132 bits; the first 21 carry 6 full bits each.
        for c in sid.bytes().take(21) {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'-' => 62,
                _ => 63,
            };
            ones += u64::from(v.count_ones());
            bits += 6;
        }
    }
    // Unbiased bits: within 45–55 % ones (the standard deviation here is about 0.2 %).
    let ratio = ones as f64 / bits as f64;
    assert!((0.45..0.55).contains(&ratio), "bit balance {ratio}");
    // No sequence: sorted neighbours share short prefixes, consecutive ids differ everywhere.
    let mut sorted: Vec<&String> = all.iter().collect();
    sorted.sort();
    for pair in sorted.windows(2) {
        let common = pair[0]
            .bytes()
            .zip(pair[1].bytes())
            .take_while(|(a, b)| a == b)
            .count();
        assert!(common < 8, "{} and {} share a prefix", pair[0], pair[1]);
    }
    let differing: usize = all
        .windows(2)
        .map(|p| {
            p[0].bytes()
                .zip(p[1].bytes())
                .filter(|(a, b)| a != b)
                .count()
        })
        .sum();
    let mean = differing as f64 / (all.len() - 1) as f64;
    assert!(
        mean > 20.0,
        "consecutive sids differ in only {mean} of 22 places"
    );
    srv.assert_healthy(&mut canary).await;
}

/// The open packet carries exactly the keys the official suite expects.
#[tokio::test]
async fn handshake_open_packet_has_exactly_the_suite_keys() {
    let srv = Server::start(config().max_http_buffer_size(1_000_000));
    let response = http::get(srv.addr, P).await;
    assert_eq!(response.status, 200);
    assert!(response
        .header("content-type")
        .is_some_and(|v| v.starts_with("text/plain")));
    let body = response.text();
    let open: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    let mut keys: Vec<&str> = open
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(open["pingInterval"], 25_000);
    assert_eq!(open["pingTimeout"], 20_000);
    assert_eq!(open["maxPayload"], 1_000_000);
    let (mut ws, _) = RawWs::open(srv.addr).await;
    drop(ws.send(&raw_ws::masked(raw_ws::CLOSE, &[])).await);
    assert_eq!(srv.panics(), 0);
}

/// B08: a WebSocket handshake naming an unknown sid is refused before any `101`.
#[tokio::test]
async fn b08_websocket_with_unknown_sid_is_refused_before_upgrade() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    for sid in ["bogus", "AAAAAAAAAAAAAAAAAAAAAA", ""] {
        let refused = RawWs::connect(srv.addr, &eio::websocket(sid))
            .await
            .err()
            .unwrap_or_else(|| panic!("upgraded with sid {sid:?}"));
        refused.assert(400, UNKNOWN_SID);
    }
    assert_eq!(srv.sessions(), 1);
    srv.assert_healthy(&mut canary).await;
}

/// B09: `transport=websocket` with a polling sid but without upgrade headers is a bad request;
/// the polling session keeps working.
#[tokio::test]
async fn b09_websocket_request_without_upgrade_on_polling_session_keeps_session() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    let session = Polling::open(srv.addr).await;
    http::get(srv.addr, &eio::websocket(&session.sid))
        .await
        .assert(400, BAD_REQUEST);
    session.assert_echoes("still here").await;
    srv.assert_healthy(&mut canary).await;
}

/// B10: an `Origin` with a control character (refused by hyper's parser) or with non-ASCII
/// bytes (refused by the engine) is refused, and never reflected into CORS headers, even when
/// every origin is allowed.
#[tokio::test]
async fn b10_origin_with_invalid_characters_is_refused_and_never_reflected() {
    for allowed in [AllowedOrigins::SameOrigin, AllowedOrigins::Any] {
        let srv = Server::start(config().cors_allowed_origins(allowed.clone()));
        let mut canary = srv.canary().await;
        for origin in [&b"http://a\x01b"[..], b"http://a\x7fb", b"http://a\xffb"] {
            let mut request =
                format!("GET {P} HTTP/1.1\r\nHost: {}\r\nOrigin: ", srv.addr).into_bytes();
            request.extend_from_slice(origin);
            request.extend_from_slice(b"\r\n\r\n");
            // Control characters: hyper's parser answers 400 itself. Bytes >= 0x80: the
            // engine cannot read the origin as text and answers 400 code 4.
            let response = http::raw_outcome(srv.addr, &request)
                .await
                .expect("an answer");
            assert_eq!(response.status, 400, "{allowed:?} {origin:?}: {response:?}");
            assert!(!response.has_cors_headers(), "{response:?}");
        }
        assert_eq!(srv.sessions(), 1, "{allowed:?}");
        srv.assert_healthy(&mut canary).await;
    }
}

/// B11: with the default configuration only the server's own origin may open a session, on
/// polling and on WebSocket alike (CVE-2019-13611); `*` and lists behave as documented, and only
/// an explicit list allows credentials (CVE-2020-28481).
#[tokio::test]
async fn b11_cross_origin_requests_follow_the_allowed_origins() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    let own = format!("http://{}", srv.addr);
    let evil_suffix = format!("http://{}.evil.example", srv.addr);
    for origin in ["http://evil.example", "null", evil_suffix.as_str()] {
        let response = http::request(srv.addr, "GET", P, &[("Origin", origin)], None).await;
        response.assert(400, BAD_ORIGIN);
        assert!(!response.has_cors_headers(), "{response:?}");
        let request = raw_ws::upgrade_request(srv.addr, W, &[("Origin", origin)]);
        let refused = RawWs::connect_with(srv.addr, &request)
            .await
            .err()
            .unwrap_or_else(|| panic!("cross-origin WebSocket accepted from {origin}"));
        refused.assert(400, BAD_ORIGIN);
        assert!(!refused.has_cors_headers());
    }
    // Its own origin is fine, without CORS headers.
    let response = http::request(srv.addr, "GET", P, &[("Origin", &own)], None).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert!(!response.has_cors_headers());
    assert!(RawWs::connect_with(
        srv.addr,
        &raw_ws::upgrade_request(srv.addr, W, &[("Origin", &own)])
    )
    .await
    .is_ok());
    srv.assert_healthy(&mut canary).await;

    // `*`: any origin, `Access-Control-Allow-Origin: *`, never credentials.
    let any = Server::start(config().cors_allowed_origins(AllowedOrigins::Any));
    let response = http::request(
        any.addr,
        "GET",
        P,
        &[("Origin", "http://evil.example")],
        None,
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(response.header("access-control-allow-credentials"), None);
    let request = raw_ws::upgrade_request(any.addr, W, &[("Origin", "http://evil.example")]);
    assert!(RawWs::connect_with(any.addr, &request).await.is_ok());
    let preflight = http::request(
        any.addr,
        "OPTIONS",
        P,
        &[
            ("Origin", "http://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        None,
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert_eq!(any.panics(), 0);

    // A list: exact matches only, echoed, with credentials.
    let list =
        Server::start(config().cors_allowed_origins(AllowedOrigins::list(["https://app.example"])));
    let ok = http::request(
        list.addr,
        "GET",
        P,
        &[("Origin", "https://app.example")],
        None,
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));
    for origin in [
        "https://app.example.evil",
        "https://APP.example",
        "http://app.example",
        "https://app.example/",
    ] {
        let response = http::request(list.addr, "GET", P, &[("Origin", origin)], None).await;
        response.assert(400, BAD_ORIGIN);
        assert!(!response.has_cors_headers());
        let request = raw_ws::upgrade_request(list.addr, W, &[("Origin", origin)]);
        assert!(
            RawWs::connect_with(list.addr, &request).await.is_err(),
            "{origin}"
        );
    }
    assert_eq!(list.sessions(), 1);
    assert_eq!(list.panics(), 0);
}

/// B13: too many headers, or one huge header, is refused (431) and never upgrades, even when
/// `Upgrade`/`Sec-WebSocket-Key` come after the limit (ws CVE-2024-37890 shape). The bound is
/// `max_header_bytes` (64 KiB), checked on every parsed head, so the answer does not depend on
/// how the head arrived: hyper alone checks its buffer limit only after a parse attempt fails,
/// and served the catalogue's 500 KB header with 200 when it came in a few large reads.
#[tokio::test]
async fn b13_oversized_header_sections_are_refused_without_upgrade() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    let many = |n: usize| -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("X-a{i}"), "b".to_owned()))
            .collect()
    };
    let to_refs = |v: &[(String, String)]| -> Vec<(String, String)> { v.to_vec() };
    let cases: Vec<(String, Vec<(String, String)>)> = vec![
        (P.to_owned(), to_refs(&many(101))),
        (W.to_owned(), {
            let mut h = many(2_001);
            h.extend([
                ("Upgrade".to_owned(), "websocket".to_owned()),
                ("Connection".to_owned(), "Upgrade".to_owned()),
                (
                    "Sec-WebSocket-Key".to_owned(),
                    "dGhlIHNhbXBsZSBub25jZQ==".to_owned(),
                ),
                ("Sec-WebSocket-Version".to_owned(), "13".to_owned()),
            ]);
            h
        }),
        (
            P.to_owned(),
            vec![("X-big".to_owned(), "a".repeat(500_000))],
        ),
        (
            P.to_owned(),
            vec![("X-big".to_owned(), "a".repeat(65 * 1024))],
        ),
    ];
    for (target, headers) in cases {
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let request = http::build("GET", &target, srv.addr, &refs, None);
        // An answer must be a refusal; a connection closed (or reset) before any answer is a
        // refusal too.
        if let Ok(response) = http::raw_outcome(srv.addr, &request).await {
            assert_eq!(
                response.status,
                431,
                "{} headers: {response:?}",
                headers.len()
            );
        }
    }
    // Just under the bound is served.
    let request = http::build(
        "GET",
        P,
        srv.addr,
        &[("X-big", &"a".repeat(60 * 1024))],
        None,
    );
    let response = http::raw_outcome(srv.addr, &request)
        .await
        .expect("an answer");
    assert_eq!(response.status, 200);
    srv.wait_sessions(2).await;
    srv.assert_healthy(&mut canary).await;
}

/// B14 (scaled from 500 connections dribbling for minutes to 20 connections for 2 s): while
/// slowloris connections hold half-sent headers, fresh handshakes are still served promptly.
#[tokio::test]
async fn b14_slowloris_headers_do_not_starve_new_clients() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    let mut lorises = Vec::new();
    for _ in 0..20 {
        let mut conn = Conn::open(srv.addr).await;
        conn.write(format!("GET {P} HTTP/1.1\r\nHost: {}\r\n", srv.addr).as_bytes())
            .await
            .unwrap();
        lorises.push(conn);
    }
    // Ten rounds: every loris dribbles a byte, then a new client is served (`http::get` fails
    // the test after WAIT: a server starved by the lorises would answer only at their 30 s
    // header timeout).
    let mut worst = Duration::ZERO;
    for _ in 0..10 {
        for conn in &mut lorises {
            let _ = conn.write(b"X").await;
        }
        let t = Instant::now();
        let response = http::get(srv.addr, P).await;
        assert_eq!(response.status, 200);
        worst = worst.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The catalogue asks for < 100 ms; printed, not asserted (a loaded machine decides it).
    println!("B14: the slowest handshake among the lorises took {worst:?}");
    srv.assert_healthy(&mut canary).await;
}

/// B14, second half: a connection that never finishes its headers is closed by the server
/// (hyper's `header_read_timeout`, 30 s, which `engineio::serve` turns on by giving hyper a
/// timer; `axum::serve` leaves it off).
#[tokio::test]
async fn b14_connection_stuck_in_headers_is_closed_by_the_server() {
    let srv = Server::start(config());
    let mut conn = Conn::open(srv.addr).await;
    conn.write(format!("GET {P} HTTP/1.1\r\nHost: {}\r\nX-a: ", srv.addr).as_bytes())
        .await
        .unwrap();
    let start = Instant::now();
    let closed = async {
        loop {
            if conn.write(b"b").await.is_err() {
                return;
            }
            let mut probe = [0u8; 1];
            if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(
                Duration::from_secs(1),
                tokio::io::AsyncReadExt::read(&mut conn.stream, &mut probe),
            )
            .await
            {
                return;
            }
        }
    };
    let closed = tokio::time::timeout(Duration::from_secs(45), closed).await;
    assert!(
        closed.is_ok(),
        "connection still open after {:?}",
        start.elapsed()
    );
}

/// B15 (CVE-2023-43669 shape): 60 KB of valid headers written one byte per `send()` costs the
/// server little CPU, and the request is then served.
#[tokio::test]
async fn b15_headers_dribbled_byte_by_byte_cost_linear_time() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    let value = "a".repeat(650);
    let headers: Vec<(String, String)> = (0..95)
        .map(|i| (format!("X-h{i}"), value.clone()))
        .collect();
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = http::build("GET", P, srv.addr, &refs, None);
    assert!(request.len() > 60_000);
    let cpu_before = srv.cpu_time();
    let mut conn = Conn::open(srv.addr).await;
    for byte in &request {
        conn.write(std::slice::from_ref(byte)).await.unwrap();
    }
    let response = conn.response().await;
    assert_eq!(response.status, 200, "{response:?}");
    let cpu = srv.cpu_time().saturating_sub(cpu_before);
    assert!(
        cpu < Duration::from_secs(1),
        "the server spent {cpu:?} of CPU"
    );
    srv.assert_healthy(&mut canary).await;
}

/// B16: pathological `Sec-WebSocket-Protocol` / `Sec-WebSocket-Extensions` values are answered
/// quickly (no backtracking parser).
#[tokio::test]
async fn b16_pathological_websocket_protocol_and_extension_headers_answer_fast() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    let protocol = format!("a{},b", " ".repeat(60_000));
    let extensions = format!("permessage-deflate;{}", "x;".repeat(10_000));
    for header in [
        ("Sec-WebSocket-Protocol", protocol.as_str()),
        ("Sec-WebSocket-Extensions", extensions.as_str()),
    ] {
        let request = raw_ws::upgrade_request(srv.addr, W, &[header]);
        let (outcome, cpu) = srv
            .cpu_during(RawWs::connect_with(srv.addr, &request))
            .await;
        // The catalogue asks for < 50 ms; the server's CPU time is the bound a loaded machine
        // does not inflate (a backtracking parser would spend seconds on these values).
        assert!(
            cpu < Duration::from_millis(200),
            "{} cost the server {cpu:?} of CPU",
            header.0
        );
        match outcome {
            Ok(mut ws) => {
                // Accepted: no protocol or extension was negotiated, and the session works.
                let open = ws.next_text().await.expect("open packet");
                let sid = eio::sid_of(&open);
                ws.send(&raw_ws::text("4hi")).await.unwrap();
                assert_eq!(ws.next_text().await.as_deref(), Some("4hi"));
                ws.send(&raw_ws::masked(
                    raw_ws::CLOSE,
                    &raw_ws::close_payload(1000, b""),
                ))
                .await
                .unwrap();
                eio::assert_sid_gone(srv.addr, &sid).await;
            }
            Err(response) => assert_eq!(response.status, 400),
        }
    }
    srv.wait_sessions(1).await;
    srv.assert_healthy(&mut canary).await;
}

/// B17: a WebSocket handshake with a missing or malformed `Sec-WebSocket-Key`, or another
/// protocol version, is refused and creates no session. (RFC 6455 suggests 426 with
/// `Sec-WebSocket-Version: 13` for the version case; the engine answers 400 code 3 to every
/// malformed upgrade, which the catalogue accepts.)
#[tokio::test]
async fn b17_malformed_websocket_key_or_version_is_refused() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    let long_key = "A".repeat(1_000);
    let cases: [&[(&str, &str)]; 4] = [
        &[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
        ],
        &[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "abc"),
            ("Sec-WebSocket-Version", "13"),
        ],
        &[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", &long_key),
            ("Sec-WebSocket-Version", "13"),
        ],
        &[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "8"),
        ],
    ];
    for headers in cases {
        let request = http::build("GET", W, srv.addr, headers, None);
        let refused = RawWs::connect_with(srv.addr, &request)
            .await
            .err()
            .unwrap_or_else(|| panic!("upgraded with {headers:?}"));
        assert!(
            refused.status == 400 || refused.status == 426,
            "{headers:?}: {refused:?}"
        );
    }
    assert_eq!(srv.sessions(), 1, "a refused handshake created a session");
    srv.assert_healthy(&mut canary).await;
}

/// B18 (CVE-2022-21676): a valid upgrade immediately followed, in the same write, by bytes that
/// are not a frame. The connection is closed after the `101`; a direct session is closed; a
/// polling session whose upgrade this was is unaffected.
#[tokio::test]
async fn b18_garbage_right_after_the_upgrade_request_closes_only_that_connection() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    let baseline = srv.tasks();

    let mut request = raw_ws::upgrade_request(srv.addr, W, &[]);
    request.extend_from_slice(b"test");
    let mut ws = RawWs::connect_with(srv.addr, &request)
        .await
        .expect("101 before the garbage is read");
    let open = ws.next().await.expect("open packet");
    let sid = eio::sid_of(&open.text());
    match ws.ending().await {
        Ending::Close(code) => assert_eq!(code, 1002),
        Ending::Eof => {}
    }
    eio::assert_sid_gone(srv.addr, &sid).await;
    srv.wait_tasks(baseline).await;

    let session = Polling::open(srv.addr).await;
    let mut request = raw_ws::upgrade_request(srv.addr, &eio::websocket(&session.sid), &[]);
    request.extend_from_slice(b"test");
    let mut ws = RawWs::connect_with(srv.addr, &request)
        .await
        .expect("101 before the garbage is read");
    let _ = ws.ending().await;
    session.assert_echoes("unaffected").await;
    srv.assert_healthy(&mut canary).await;
}

/// B19 (CVE-2022-41940 class): an upgrade to a path the engine does not serve, reset by the
/// client 50 ms later; an `h2c` upgrade on the polling path.
#[tokio::test]
async fn b19_upgrade_to_foreign_path_then_reset_does_not_hurt() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    for _ in 0..5 {
        let mut conn = Conn::open(srv.addr).await;
        conn.write(&raw_ws::upgrade_request(srv.addr, "/not-socketio", &[]))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        http::reset(conn.stream);
    }
    let response = http::raw_outcome(
        srv.addr,
        &raw_ws::upgrade_request(srv.addr, "/not-socketio", &[]),
    )
    .await
    .expect("an answer");
    assert_eq!(response.status, 404);
    // h2c is not spoken: the request is served as the plain polling handshake it also is.
    let response = http::request(
        srv.addr,
        "GET",
        P,
        &[
            ("Connection", "Upgrade, HTTP2-Settings"),
            ("Upgrade", "h2c"),
            ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"),
        ],
        None,
    )
    .await;
    assert!(
        response.status == 200 || response.status == 400,
        "{response:?}"
    );
    srv.assert_healthy(&mut canary).await;
}

/// B20 (CVE-2023-31125 shape): a WebSocket upgrade whose `transport` is not `websocket` never
/// gets a `101` and opens no session: `transport=polling` is 400 code 3 (the request asks for
/// an upgrade that polling cannot give), an unknown or empty transport 400 code 0.
#[tokio::test]
async fn b20_websocket_upgrade_with_other_transport_never_upgrades() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    for (transport, expected) in [
        ("foo", UNKNOWN_TRANSPORT),
        ("", UNKNOWN_TRANSPORT),
        ("polling", BAD_REQUEST),
    ] {
        let target = format!("/socket.io/?EIO=4&transport={transport}");
        let response = RawWs::connect(srv.addr, &target)
            .await
            .err()
            .unwrap_or_else(|| panic!("upgraded with transport={transport}"));
        assert_eq!(
            (response.status, response.text().as_str()),
            (400, expected),
            "{transport}: {response:?}"
        );
    }
    // No session was opened: only the canary's is alive.
    assert_eq!(srv.sessions(), 1);
    srv.assert_healthy(&mut canary).await;
}
