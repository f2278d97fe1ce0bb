//! Deterministic fuzzing of the Engine.IO decoders through the public surface of a live server.
//!
//! The payload and packet decoders are crate-private, so the inputs go where a client's would: as
//! polling POST bodies, as WebSocket text/binary messages, and as raw WebSocket frames. Inputs
//! come from a seeded xorshift generator (same cases on every run; the seed and case number are
//! in every failure message), mixing well-formed records, closers, known-bad records and random
//! bytes. The polling and WebSocket message fuzzers check each answer against a small model of
//! the protocol (spec + the documented choices tested in the other files): which bodies are
//! refused, which packets are echoed and in what order, which close the session. The raw frame
//! fuzzer checks invariants only: every connection either keeps working or is closed with a
//! legal close code, promptly. All of them end with the universal criteria: no panic, the canary
//! echoes, the sessions back to the baseline.
//!
//! Bounded: a fixed number of cases, each bounded by [`WAIT`]; every case runs, however loaded
//! the machine (no wall-clock budget that would quietly test fewer).

use std::time::Duration;

use socketio::engineio::EngineConfig;
use tests::eio::{self, BAD_REQUEST, P, UNKNOWN_SID};
use tests::http::Conn;
use tests::raw_ws::{self, RawWs};
use tests::rng::{base64, unbase64, XorShift};
use tests::server::Server;
use tests::wait::WAIT;
use tests::ws::{Client, Msg};
use tokio_tungstenite::tungstenite::Message;

/// A long heartbeat so no ping lands in the middle of a compared exchange.
fn quiet() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_secs(60))
        .ping_timeout(Duration::from_secs(20))
}

/// One client packet as the protocol defines it.
#[derive(Debug, Clone, PartialEq)]
enum Packet {
    Message(String),
    Binary(Vec<u8>),
    /// `3` with anything after it.
    Pong,
    Noop,
    /// `1`: the client closes.
    Close,
    /// `2`, `2probe`, `5`: valid packets that are out of place in an open session.
    Violation,
}

/// One text packet (`decode_text`'s contract): `None` when it is not a packet.
fn model_text(text: &str) -> Option<Packet> {
    let mut chars = text.chars();
    let kind = chars.next()?;
    let data = chars.as_str();
    match (kind, data) {
        ('1', "") => Some(Packet::Close),
        ('2', "" | "probe") | ('5', "") => Some(Packet::Violation),
        ('3', _) => Some(Packet::Pong),
        ('4', m) => Some(Packet::Message(m.to_owned())),
        ('6', "") => Some(Packet::Noop),
        _ => None,
    }
}

/// A polling body: `None` when the whole body is refused (400).
fn model_body(body: &[u8]) -> Option<Vec<Packet>> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('\x1e')
        .map(|record| match record.strip_prefix('b') {
            Some(encoded) => unbase64(encoded).map(Packet::Binary),
            None => model_text(record),
        })
        .collect()
}

/// What the echo handler sends back for `packets`, and whether they close the session.
fn expected_echoes(packets: &[Packet]) -> (Vec<String>, Option<Packet>) {
    let mut echoes = Vec::new();
    for packet in packets {
        match packet {
            Packet::Message(m) if m == "n" => {}
            Packet::Message(m) => echoes.push(format!("4{m}")),
            Packet::Binary(b) => echoes.push(format!("b{}", base64(b))),
            Packet::Pong | Packet::Noop => {}
            Packet::Close | Packet::Violation => return (echoes, Some(packet.clone())),
        }
    }
    (echoes, None)
}

const TEXT_PIECES: &[&str] = &[
    "a", "b", "hello", " ", "0", "1", "2", "3", "4", "9", "probe", "\"", "\\", "{", "}", "[", "]",
    ",", "é", "漢", "😀", "\u{0}", "\u{7f}", "\u{fffd}", "\t", "\r\n", "=", "+", "/",
];

fn text(rng: &mut XorShift) -> String {
    let n = rng.below(8);
    (0..n).map(|_| *rng.pick(TEXT_PIECES)).collect()
}

/// One record: mostly packets, some closers, some known-bad shapes, some random bytes.
fn record(rng: &mut XorShift) -> Vec<u8> {
    match rng.below(26) {
        0..=9 => format!("4{}", text(rng)).into_bytes(),
        10..=12 => {
            let len = rng.below(20);
            format!("b{}", base64(&rng.bytes(len))).into_bytes()
        }
        13 => rng.pick(&["3", "3probe", "3x", "6"]).as_bytes().to_vec(),
        14 | 15 => rng.pick(&["1", "2", "2probe", "5"]).as_bytes().to_vec(),
        16 => rng
            .pick(&[
                "", "0", "0{}", "7", "9x", "1x", "6x", "5x", "2ping", "b!!", "bAQ", "bAQIDBA",
                "b====", "bA===", "bAB==", "bAAB=", "abc", "\u{0}", "b=AAA", "bAA=A", "é4",
            ])
            .as_bytes()
            .to_vec(),
        17 | 18 => {
            // `b` + base64-ish noise: exercises padding and trailing-bit rules.
            let alphabet = b"AQIDBgw=+/_-";
            let len = rng.below(12);
            let mut r = vec![b'b'];
            r.extend((0..len).map(|_| alphabet[rng.below(alphabet.len())]));
            r
        }
        19 => {
            let len = rng.below(8);
            rng.bytes(len)
        }
        20 => vec![b'4', 0xff, 0xfe],
        _ => format!("4{}", text(rng)).into_bytes(),
    }
}

fn body(rng: &mut XorShift) -> Vec<u8> {
    let n = 1 + rng.below(6);
    let mut out = Vec::new();
    for i in 0..n {
        if i > 0 {
            out.push(0x1e);
        }
        out.extend(record(rng));
    }
    if rng.one_in(20) {
        out.push(0x1e);
    }
    if rng.one_in(10) && !out.is_empty() {
        let at = rng.below(out.len());
        match rng.below(3) {
            0 => out[at] = rng.next_u64() as u8,
            1 => out.insert(at, *rng.pick(&[0x1e, b'b', b'4', 0xc3, b'='])),
            _ => out.truncate(at),
        }
    }
    out
}

/// GETs on `conn` until the sid is unknown; returns the message records seen on the way.
async fn drain_until_gone(conn: &mut Conn, sid: &str, context: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..50 {
        let response = conn.send("GET", &eio::polling(sid), &[], None).await;
        if response.status == 400 && response.text() == UNKNOWN_SID {
            return seen;
        }
        assert_eq!(response.status, 200, "{context}: {response:?}");
        seen.extend(
            response
                .text()
                .split('\x1e')
                .filter(|r| r.starts_with('4') || r.starts_with('b'))
                .map(str::to_owned),
        );
    }
    panic!("{context}: session {sid} never went away");
}

/// Polling: 2 000 random bodies, each checked against the model (status, echoes and their
/// order, closing), with the session state re-synchronised after every case.
#[tokio::test]
async fn fuzz_polling_bodies_against_the_model() {
    const SEED: u64 = 0x5eed_0001;
    const CASES: usize = 2_000;
    let srv = Server::start(quiet());
    let mut canary = srv.canary().await;
    let mut rng = XorShift::new(SEED);
    let mut conn = Conn::open(srv.addr).await;
    let mut sid: Option<String> = None;
    let (mut refused, mut closed, mut kept) = (0, 0, 0);
    for case in 0..CASES {
        let current = match &sid {
            Some(s) => s.clone(),
            None => {
                let response = conn.send("GET", P, &[], None).await;
                assert_eq!(response.status, 200);
                eio::sid_of(&response.text())
            }
        };
        let body = body(&mut rng);
        let context = format!("seed {SEED:#x} case {case} body {body:02x?}");
        let response = conn
            .send("POST", &eio::polling(&current), &[], Some(&body))
            .await;
        match model_body(&body) {
            None => {
                assert_eq!(
                    (response.status, response.text().as_str()),
                    (400, BAD_REQUEST),
                    "{context}"
                );
                drain_until_gone(&mut conn, &current, &context).await;
                sid = None;
                refused += 1;
            }
            Some(packets) => {
                assert_eq!(
                    (response.status, response.text().as_str()),
                    (200, "ok"),
                    "{context}"
                );
                let (echoes, closer) = expected_echoes(&packets);
                if closer.is_some() {
                    let seen = drain_until_gone(&mut conn, &current, &context).await;
                    assert!(
                        echoes.starts_with(&seen),
                        "{context}: saw {seen:?}, expected a prefix of {echoes:?}"
                    );
                    sid = None;
                    closed += 1;
                } else {
                    let marker = format!("4sync-{case}");
                    conn.send(
                        "POST",
                        &eio::polling(&current),
                        &[],
                        Some(marker.as_bytes()),
                    )
                    .await
                    .assert(200, "ok");
                    let mut seen: Vec<String> = Vec::new();
                    while !seen.contains(&marker) {
                        let response = conn.send("GET", &eio::polling(&current), &[], None).await;
                        assert_eq!(response.status, 200, "{context}: {response:?}");
                        seen.extend(response.text().split('\x1e').map(str::to_owned));
                    }
                    assert_eq!(seen.last(), Some(&marker), "{context}");
                    seen.pop();
                    assert_eq!(seen, echoes, "{context}");
                    sid = Some(current);
                    kept += 1;
                }
            }
        }
    }
    eprintln!("polling fuzz: {refused} refused, {closed} closed, {kept} kept");
    assert!(
        refused > 100 && closed > 100 && kept > 300,
        "unbalanced generator"
    );
    if let Some(current) = sid {
        conn.send("POST", &eio::polling(&current), &[], Some(b"1"))
            .await
            .assert(200, "ok");
        drain_until_gone(&mut conn, &current, "final close").await;
    }
    srv.wait_sessions(1).await;
    srv.assert_healthy(&mut canary).await;
}

/// What a WebSocket message does, per the model.
enum WsExpect {
    Echo(Message),
    Nothing,
    Close(u16),
}

fn model_ws(message: &Message) -> WsExpect {
    match message {
        Message::Binary(data) => WsExpect::Echo(Message::Binary(data.clone())),
        Message::Text(t) => match model_text(t.as_str()) {
            Some(Packet::Message(m)) if m == "n" => WsExpect::Nothing,
            Some(Packet::Message(m)) => WsExpect::Echo(Message::text(format!("4{m}"))),
            Some(Packet::Pong | Packet::Noop) => WsExpect::Nothing,
            Some(Packet::Close) => WsExpect::Close(1000),
            Some(Packet::Violation) | None => WsExpect::Close(1002),
            Some(Packet::Binary(_)) => unreachable!(),
        },
        _ => WsExpect::Nothing,
    }
}

/// WebSocket: 1 500 random text/binary messages in batches, each batch checked against the
/// model (echoes in order; the close code of a closing message; the sid gone afterwards).
#[tokio::test]
async fn fuzz_websocket_messages_against_the_model() {
    const SEED: u64 = 0x5eed_0002;
    const CASES: usize = 500;
    let srv = Server::start(quiet());
    let mut canary = srv.canary().await;
    let mut rng = XorShift::new(SEED);
    let mut socket: Option<(Client, String)> = None;
    let (mut closes, mut messages) = (0, 0);
    for case in 0..CASES {
        let (mut ws, sid) = match socket.take() {
            Some(s) => s,
            None => {
                let ws = Client::open(srv.addr).await;
                let sid = ws.eio_sid.clone();
                (ws, sid)
            }
        };
        let batch: Vec<Message> = (0..1 + rng.below(4))
            .map(|_| {
                if rng.one_in(5) {
                    let len = rng.below(64);
                    Message::Binary(rng.bytes(len).into())
                } else {
                    // Text frames must be UTF-8: retry until the record is.
                    loop {
                        if let Ok(t) = String::from_utf8(record(&mut rng)) {
                            break Message::text(t);
                        }
                    }
                }
            })
            .collect();
        messages += batch.len();
        let context = format!("seed {SEED:#x} case {case} batch {batch:?}");
        let mut expected = Vec::new();
        let mut close = None;
        for message in &batch {
            match model_ws(message) {
                WsExpect::Echo(m) => expected.push(m),
                WsExpect::Nothing => {}
                WsExpect::Close(code) => {
                    close = Some(code);
                    break;
                }
            }
        }
        for message in &batch {
            if !ws.try_send_message(message.clone()).await {
                break;
            }
        }
        let marker = Message::text(format!("4sync-{case}"));
        if close.is_none() {
            assert!(ws.try_send_message(marker.clone()).await, "{context}");
        }
        let mut seen = Vec::new();
        let ending = loop {
            let next = ws
                .next_within(WAIT)
                .await
                .unwrap_or_else(|_| panic!("{context}: no answer"));
            let m = match next {
                Some(Msg::Text(t)) => Message::text(t),
                Some(Msg::Binary(b)) => Message::binary(b),
                // The close code (`Some(None)`: the connection ended without one).
                None => break ws.ending(),
            };
            if close.is_none() && m == marker {
                break None;
            }
            seen.push(m);
        };
        match close {
            None => {
                assert_eq!(ending, None, "{context}");
                assert_eq!(seen, expected, "{context}");
                socket = Some((ws, sid));
            }
            Some(code) => {
                assert_eq!(ending, Some(Some(code)), "{context}");
                assert!(expected.starts_with(&seen), "{context}: saw {seen:?}");
                eio::assert_sid_gone(srv.addr, &sid).await;
                closes += 1;
            }
        }
    }
    eprintln!("websocket fuzz: {messages} messages, {closes} closes");
    assert!(closes > 50, "unbalanced generator");
    drop(socket);
    srv.wait_sessions(1).await;
    srv.assert_healthy(&mut canary).await;
}

/// One random frame: random FIN/RSV/opcode/mask, a payload that matches its declared length (so
/// the server can always find the frame boundary).
fn random_frame(rng: &mut XorShift) -> Vec<u8> {
    let opcode = *rng.pick(&[
        0x0, 0x1, 0x1, 0x1, 0x2, 0x2, 0x3, 0x8, 0x9, 0x9, 0xa, 0xb, 0xf,
    ]);
    let fin = !rng.one_in(6);
    let rsv = if rng.one_in(8) { rng.below(8) as u8 } else { 0 };
    let mask = if rng.one_in(12) {
        None
    } else {
        Some(raw_ws::MASK)
    };
    let len = if rng.one_in(10) {
        rng.below(300)
    } else {
        rng.below(24)
    };
    let payload: Vec<u8> = if opcode == 0x1 && rng.below(3) > 0 {
        let mut r = record(rng);
        r.truncate(len.max(1));
        r
    } else {
        rng.bytes(len)
    };
    raw_ws::frame(fin, rsv, opcode, &payload, mask)
}

/// The legal answers to a broken connection.
const CLOSE_CODES: &[u16] = &[1000, 1002, 1005, 1007, 1008, 1009, 1011];

/// Raw frames: 600 connections (8 at a time), each sending 1–4 random frames with correct
/// lengths and then a marker message. Each either echoes the marker (and is closed cleanly) or
/// ends with a legal close code or EOF within [`WAIT`], and leaves no session behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_raw_frames_keep_the_server_healthy() {
    const SEED: u64 = 0x5eed_0003;
    const CASES: usize = 600;
    const PARALLEL: usize = 8;
    let srv = Server::start(quiet());
    let mut canary = srv.canary().await;
    let mut rng = XorShift::new(SEED);
    let mut outcomes = [0usize; 2];
    for round in 0..CASES / PARALLEL {
        let mut tasks = Vec::new();
        for i in 0..PARALLEL {
            let case = round * PARALLEL + i;
            let mut bytes = Vec::new();
            for _ in 0..1 + rng.below(4) {
                bytes.extend(random_frame(&mut rng));
            }
            let addr = srv.addr;
            tasks.push(tokio::spawn(async move {
                let context = format!("seed {SEED:#x} case {case} bytes {bytes:02x?}");
                let (mut client, sid) = RawWs::open(addr).await;
                let marker = format!("4sync-{case}");
                let _ = client.send(&bytes).await;
                let _ = client.send(&raw_ws::text(&marker)).await;
                let echoed = loop {
                    match client.next_within(WAIT).await {
                        Ok(Some(frame))
                            if frame.opcode == raw_ws::TEXT && frame.text() == marker =>
                        {
                            break true
                        }
                        Ok(Some(frame)) if frame.opcode == raw_ws::CLOSE => {
                            let code = frame.close_code().unwrap();
                            assert!(CLOSE_CODES.contains(&code), "{context}: close {code}");
                            break false;
                        }
                        Ok(Some(frame)) => assert!(
                            matches!(frame.opcode, raw_ws::TEXT | raw_ws::BINARY | raw_ws::PONG),
                            "{context}: {frame:?}"
                        ),
                        Ok(None) => break false,
                        Err(()) => panic!("{context}: no answer within {WAIT:?}"),
                    }
                };
                if echoed {
                    let _ = client
                        .send(&raw_ws::masked(
                            raw_ws::CLOSE,
                            &raw_ws::close_payload(1000, b""),
                        ))
                        .await;
                }
                client.expect_eof().await;
                eio::assert_sid_gone(addr, &sid).await;
                echoed
            }));
        }
        for task in tasks {
            outcomes[usize::from(task.await.unwrap())] += 1;
        }
    }
    eprintln!(
        "raw frame fuzz: {} closed, {} echoed",
        outcomes[0], outcomes[1]
    );
    assert!(outcomes[0] > 50 && outcomes[1] > 50, "unbalanced generator");
    srv.wait_sessions(1).await;
    srv.assert_healthy(&mut canary).await;
}

/// Raw bytes: 64 connections at once each send 1–200 random bytes after the handshake (frame
/// lengths may lie), then a marker. With the fast heartbeat (300 ms / 1 s), a connection whose bytes left
/// the server waiting for more is closed by the ping timeout, so every connection ends (or
/// echoes) within [`WAIT`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_raw_bytes_after_the_handshake_keep_the_server_healthy() {
    const SEED: u64 = 0x5eed_0004;
    let srv = Server::start(eio::fast_heartbeat());
    let mut canary = srv.canary().await;
    let mut rng = XorShift::new(SEED);
    let mut tasks = Vec::new();
    for case in 0..64 {
        let len = 1 + rng.below(200);
        let bytes = rng.bytes(len);
        let addr = srv.addr;
        tasks.push(tokio::spawn(async move {
            let context = format!("seed {SEED:#x} case {case} bytes {bytes:02x?}");
            let (mut client, sid) = RawWs::open(addr).await;
            let _ = client.send(&bytes).await;
            let _ = client.send(&raw_ws::text("4marker")).await;
            loop {
                match client.next_within(WAIT).await {
                    Ok(Some(frame)) if frame.opcode == raw_ws::CLOSE => {
                        let code = frame.close_code().unwrap();
                        assert!(CLOSE_CODES.contains(&code), "{context}: close {code}");
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(()) => panic!("{context}: connection neither served nor closed"),
                }
            }
            eio::assert_sid_gone(addr, &sid).await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    srv.wait_sessions(1).await;
    srv.assert_healthy(&mut canary).await;
}

#[test]
fn base64_helpers_match_the_server_rules() {
    for data in [&b""[..], b"a", b"ab", b"abc", b"\x01\x02\x03\x04"] {
        assert_eq!(unbase64(&base64(data)).as_deref(), Some(data));
    }
    assert_eq!(base64(&[1, 2, 3, 4]), "AQIDBA==");
    for bad in [
        "AQ", "AQIDBA", "AB==", "AAB=", "A===", "====", "=AAA", "AA=A", "AQ!D",
    ] {
        assert_eq!(unbase64(bad), None, "{bad}");
    }
}
