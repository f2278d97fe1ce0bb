//! The engine's own HTTP/1.1 path for long-polling requests (`engineio/polling_http.rs`):
//! several requests on one keep-alive connection, pipelining, `Connection: close`, the hand-over
//! to hyper at the first request it does not handle (another path, a WebSocket upgrade, a head
//! still arriving), and its header timeout on a connection that sends nothing.
//!
//! The other Engine.IO suites run on this path too (`tests::server` serves the echo engine with
//! `engineio::serve_with`); these cases are about the connection, which they never reuse.

use std::time::Duration;

use axum::routing::get;
use tests::eio::{config, sid_of, P, UNKNOWN_SID};
use tests::http::{self, Conn};
use tests::raw_ws::{self, take_frame, upgrade_request};
use tests::server::{Options, Server};
use tests::wait::WAIT;

/// `POST` of `body` for session `sid`, as a request's bytes, with `extra` headers.
fn post(conn: &Conn, sid: &str, body: &[u8], extra: &[(&str, &str)]) -> Vec<u8> {
    http::build(
        "POST",
        &format!("{P}&sid={sid}"),
        conn.addr,
        extra,
        Some(body),
    )
}

/// `GET` for session `sid`, as a request's bytes.
fn poll(conn: &Conn, sid: &str) -> Vec<u8> {
    http::build("GET", &format!("{P}&sid={sid}"), conn.addr, &[], None)
}

/// A handshake on `conn`: the new session's sid.
async fn handshake(conn: &mut Conn) -> String {
    let open = conn.send("GET", P, &[], None).await;
    assert_eq!(open.status, 200, "{open:?}");
    sid_of(&open.text())
}

/// Handshake, message and echo, twice, on one connection; the answers carry the headers a
/// client relies on.
#[tokio::test]
async fn polling_requests_share_one_connection() {
    let srv = Server::start(config());
    let mut conn = Conn::open(srv.addr).await;
    let sid = handshake(&mut conn).await;
    for text in ["hello", "again"] {
        let request = post(&conn, &sid, format!("4{text}").as_bytes(), &[]);
        conn.write(&request).await.unwrap();
        let posted = conn.response().await;
        posted.assert(200, "ok");
        assert_eq!(
            posted.header("content-type"),
            Some("text/plain; charset=UTF-8")
        );
        assert_eq!(posted.header("content-length"), Some("2"));
        let date = posted.header("date").expect("a date header");
        assert!(date.ends_with(" GMT"), "{date}");
        conn.write(&poll(&conn, &sid)).await.unwrap();
        conn.response().await.assert(200, &format!("4{text}"));
    }
}

/// A POST and a GET written at once are answered in order.
#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let srv = Server::start(config());
    let mut conn = Conn::open(srv.addr).await;
    let sid = handshake(&mut conn).await;
    let mut both = post(&conn, &sid, b"4piped", &[]);
    both.extend(poll(&conn, &sid));
    conn.write(&both).await.unwrap();
    conn.response().await.assert(200, "ok");
    conn.response().await.assert(200, "4piped");
}

/// `Connection: close` is answered with the same header, then the server closes.
#[tokio::test]
async fn connection_close_is_honoured() {
    let srv = Server::start(config());
    let mut conn = Conn::open(srv.addr).await;
    let sid = handshake(&mut conn).await;
    let request = post(&conn, &sid, b"4bye", &[("Connection", "close")]);
    conn.write(&request).await.unwrap();
    let response = conn.response().await;
    response.assert(200, "ok");
    assert_eq!(response.header("connection"), Some("close"));
    conn.expect_eof(WAIT).await;
}

/// A request for another path moves the connection to hyper, which answers it and the polling
/// requests after it.
#[tokio::test]
async fn other_paths_go_to_the_application_on_the_same_connection() {
    let routes = axum::Router::new().route("/health", get(|| async { "fine" }));
    let srv = Options::new().routes(routes).start(config());
    let mut conn = Conn::open(srv.addr).await;
    let sid = handshake(&mut conn).await;
    conn.send("GET", "/health", &[], None)
        .await
        .assert(200, "fine");
    let request = post(&conn, &sid, b"4later", &[]);
    conn.write(&request).await.unwrap();
    conn.response().await.assert(200, "ok");
    conn.write(&poll(&conn, &sid)).await.unwrap();
    conn.response().await.assert(200, "4later");
}

/// A WebSocket upgrade after polling requests on one connection: hyper upgrades it, and the
/// frames written right behind the upgrade request (read before hyper took over) are not lost.
#[tokio::test]
async fn a_websocket_upgrade_follows_polling_on_the_same_connection() {
    let srv = Server::start(config());
    let mut conn = Conn::open(srv.addr).await;
    handshake(&mut conn).await;
    let mut request = upgrade_request(srv.addr, "/socket.io/?EIO=4&transport=websocket", &[]);
    request.extend(raw_ws::text("4early"));
    conn.write(&request).await.unwrap();
    let switched = conn.response().await;
    assert_eq!(switched.status, 101, "{switched:?}");
    let mut texts = Vec::new();
    let read = async {
        while texts.len() < 2 {
            match take_frame(&mut conn.buf) {
                Some(frame) => texts.push(frame.text()),
                None => {
                    let mut chunk = [0u8; 4096];
                    let n = tokio::io::AsyncReadExt::read(&mut conn.stream, &mut chunk)
                        .await
                        .expect("read");
                    assert!(n > 0, "closed after {texts:?}");
                    conn.buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
    };
    tokio::time::timeout(WAIT, read).await.expect("two frames");
    assert!(texts[0].starts_with("0{"), "{texts:?}");
    assert_eq!(texts[1], "4early");
}

/// A head that arrives in pieces goes to hyper, which serves it once complete.
#[tokio::test]
async fn a_head_in_pieces_is_served() {
    let srv = Server::start(config());
    let mut conn = Conn::open(srv.addr).await;
    let sid = handshake(&mut conn).await;
    let request = post(&conn, &sid, b"4slow", &[]);
    let (first, rest) = request.split_at(request.len() / 2);
    conn.write(first).await.unwrap();
    // Nothing to wait for but the server reading the first half alone: a short pause makes
    // that likely, and the test holds either way.
    tokio::time::sleep(Duration::from_millis(50)).await;
    conn.write(rest).await.unwrap();
    conn.response().await.assert(200, "ok");
    conn.write(&poll(&conn, &sid)).await.unwrap();
    conn.response().await.assert(200, "4slow");
}

/// A connection that never sends a byte is closed at the header timeout (30 s), as hyper
/// closes one whose head does not complete.
#[tokio::test]
async fn a_silent_connection_is_closed_at_the_header_timeout() {
    let srv = Server::start(config());
    let mut silent = Conn::open(srv.addr).await;
    // A connection that was used, then fell silent, likewise.
    let mut used = Conn::open(srv.addr).await;
    handshake(&mut used).await;
    tokio::join!(
        silent.expect_eof(Duration::from_secs(45)),
        used.expect_eof(Duration::from_secs(45)),
    );
}

/// Requests on the engine's path that this path must not trip over (no query, the path
/// without its slash, bytes that are not UTF-8, lengths that are not numbers, a GET with a
/// body, garbage behind a request) get the answers hyper gives, and the server stays healthy.
#[tokio::test]
async fn odd_requests_get_hypers_answers() {
    let srv = Server::start(config());
    let mut canary = srv.canary().await;
    let unsupported = r#"{"code":5,"message":"Unsupported protocol version"}"#;
    let cases: [(&[u8], u16, Option<&str>); 8] = [
        (b"GET /socket.io/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, Some(unsupported)),
        (b"GET /socket.io HTTP/1.1\r\nHost: x\r\n\r\n", 400, Some(unsupported)),
        (b"GET /socket.io/? HTTP/1.1\r\nHost: x\r\n\r\n", 400, Some(unsupported)),
        (
            b"GET /socket.io/?EIO=4&transport=polling&sid=\xff HTTP/1.1\r\nHost: x\r\n\r\n",
            400,
            None,
        ),
        (
            b"POST /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n4x",
            400,
            Some(UNKNOWN_SID),
        ),
        (
            b"POST /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: x\r\nContent-Length: two\r\n\r\n4x",
            400,
            None,
        ),
        (
            b"POST /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n4x",
            400,
            None,
        ),
        (
            b"GET /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: x\r\nX-Value: \xc3\xa9\xff\r\n\r\n",
            400,
            Some(UNKNOWN_SID),
        ),
    ];
    for (request, status, body) in cases {
        let shown = String::from_utf8_lossy(request).into_owned();
        let response = http::raw_outcome(srv.addr, request)
            .await
            .unwrap_or_else(|e| panic!("no answer to {shown:?}: {e}"));
        assert_eq!(response.status, status, "{shown:?}: {response:?}");
        if let Some(body) = body {
            assert_eq!(response.text(), body, "{shown:?}");
        }
    }
    // A live session's GET with a body, then garbage behind a POST on the same connection:
    // both answered, then the garbage refused by hyper.
    let mut conn = Conn::open(srv.addr).await;
    let sid = handshake(&mut conn).await;
    let target = format!("{P}&sid={sid}");
    let mut request = post(&conn, &sid, b"4body", &[]);
    conn.write(&request).await.unwrap();
    conn.response().await.assert(200, "ok");
    request = http::build("GET", &target, conn.addr, &[], Some(b"ignored"));
    request.extend_from_slice(b"\x00\x01 not http\r\n\r\n");
    conn.write(&request).await.unwrap();
    conn.response().await.assert(200, "4body");
    let refused = conn.response().await;
    assert_eq!(refused.status, 400, "{refused:?}");
    srv.assert_healthy(&mut canary).await;
}

/// A graceful shutdown ends the connections this path holds: one waiting for its next request
/// is closed at once (not at the header timeout), and a GET, if the server had it, is answered
/// with the session's end before its connection closes.
#[tokio::test]
async fn shutdown_closes_idle_and_polling_connections() {
    let srv = Server::start(config());
    let mut idle = Conn::open(srv.addr).await;
    let sid = handshake(&mut idle).await;
    let mut polling = Conn::open(srv.addr).await;
    polling.write(&poll(&polling, &sid)).await.unwrap();
    srv.stop().await;
    // When the GET is read is the scheduler's choice: before the sessions close (answered
    // `1`), after (the sid is unknown), or not before the stop (the connection closes
    // unanswered).
    if let Ok(answered) = http::read_response(&mut polling.stream, &mut polling.buf).await {
        let answer = (answered.status, answered.text());
        assert!(
            answer == (200, "1".to_owned()) || answer == (400, UNKNOWN_SID.to_owned()),
            "{answered:?}"
        );
    }
    polling.expect_eof(WAIT).await;
    idle.expect_eof(WAIT).await;
}
