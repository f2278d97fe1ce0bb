//! Engine.IO: the echo engine the Engine.IO tests serve, and the client side of the protocol
//! (polling sessions, the upgrade dance, "the sid is gone").
//!
//! The echo engine is an [`Engine`] with the [`Echo`] handler, served by
//! [`Server`] (`Server::start(eio::config())`, an [`EchoServer`]); the
//! handler records what it saw in an [`EchoState`] the test reads through
//! [`EchoServer::state`](crate::server::Server::state).
//!
//! Universal criteria from RELIABILITY.md §4 implemented for these tests:
//! * U1 no panic: [`Server::panics`](crate::server::Server::panics) ([`crate::panics`]);
//! * U2 a canary opened before the case still echoes afterwards: [`crate::canary::Canary`];
//! * U3 a closed sid is unknown afterwards: [`assert_sid_gone`], and the live-session gauge
//!   returns to its baseline: [`Server::wait_sessions`](crate::server::Server::wait_sessions).
//!
//! U6 is checked as the server runtime's live task count
//! ([`Server::wait_tasks`](crate::server::Server::wait_tasks)) where a case could leak a
//! connection. U4 (RSS) and fd counts are not measured: the server shares its process with the
//! test client and with the other tests of the binary, so those figures would not be its own.
//! Per-server CPU time ([`Server::cpu_time`](crate::server::Server::cpu_time)) is measured from
//! the server's named threads.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use socketio::engineio::{
    CloseReason, Engine, EngineConfig, EngineHandler, EngineSession, Frame, Str,
};

use crate::http::{self, Response};
use crate::server::Server;
use crate::wait::{until, WAIT};
use crate::ws::Client;

/// The default engine path.
pub const PATH: &str = "/socket.io/";

/// A polling handshake target (`P` in RELIABILITY.md).
pub const P: &str = "/socket.io/?EIO=4&transport=polling";

/// A WebSocket handshake target (`W` in RELIABILITY.md).
pub const W: &str = "/socket.io/?EIO=4&transport=websocket";

/// The exact body of the "unknown sid" error.
pub const UNKNOWN_SID: &str = r#"{"code":1,"message":"Session ID unknown"}"#;
/// The exact body of the "bad request" error.
pub const BAD_REQUEST: &str = r#"{"code":3,"message":"Bad request"}"#;

// ---------------------------------------------------------------------------------------------
// The echo engine
// ---------------------------------------------------------------------------------------------

/// A running echo engine.
pub type EchoServer = Server<Engine<Echo>>;

/// Engine options for tests that are not about time: the defaults (25 s / 20 s heartbeat).
pub fn config() -> EngineConfig {
    EngineConfig::default()
}

/// Engine options for tests about time: pingInterval 300 ms as the official suites use, and a
/// pingTimeout of 1 s instead of their 200 ms. The clients that must stay alive meanwhile (the
/// canary, a client answering pings) answer from the test's runtime, on a machine that may be
/// busy: 200 ms would let a late pong kill them, while 1.3 s for a silent client still ends
/// well within [`WAIT`].
pub fn fast_heartbeat() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(FAST_PING_INTERVAL)
        .ping_timeout(FAST_PING_TIMEOUT)
}

/// The ping interval of [`fast_heartbeat`].
pub const FAST_PING_INTERVAL: Duration = Duration::from_millis(300);

/// The ping timeout of [`fast_heartbeat`].
pub const FAST_PING_TIMEOUT: Duration = Duration::from_secs(1);

/// What the echo handler saw, shared with the test.
#[derive(Default)]
pub struct EchoState {
    /// Sessions opened so far.
    pub opened: AtomicUsize,
    /// Every close: sid, reason, when.
    pub closes: Mutex<Vec<(String, CloseReason, Instant)>>,
    /// When each session opened.
    pub opened_at: Mutex<HashMap<String, Instant>>,
    /// Messages starting with `seq:`, in arrival order per sid.
    pub seqs: Mutex<HashMap<String, Vec<String>>>,
    /// Messages that were exactly `n` (counted, not echoed).
    pub counted: AtomicUsize,
}

impl EchoState {
    /// The close reason recorded for `sid`, if it closed.
    pub fn close_of(&self, sid: &str) -> Option<(CloseReason, Instant)> {
        self.closes
            .lock()
            .unwrap()
            .iter()
            .find(|(s, _, _)| s == sid)
            .map(|(_, r, t)| (*r, *t))
    }

    /// Waits until `sid` has been reported closed.
    pub async fn wait_close(&self, sid: &str) -> (CloseReason, Instant) {
        until(WAIT, || {
            self.close_of(sid)
                .ok_or_else(|| format!("session {sid} never closed"))
        })
        .await
    }

    /// How session `sid` ended, as far as the handler knows (for a dead canary's message).
    pub fn describe_close(&self, sid: &str) -> Option<String> {
        let (reason, at) = self.close_of(sid)?;
        let opened = self.opened_at.lock().unwrap().get(sid).copied();
        Some(match opened {
            Some(opened) => format!("{reason:?}, {:?} after it opened", at - opened),
            None => format!("{reason:?}"),
        })
    }
}

/// Echoes every message unchanged (text as text, binary as binary), like the conformance
/// example, with four test hooks: `n` is only counted, `seq:*` is recorded and echoed,
/// `flood:<count>:<size>` answers with `count` messages of `size` bytes, and `panic!` panics
/// (to check that the harness notices).
#[derive(Clone, Default)]
pub struct Echo(pub Arc<EchoState>);

impl EngineHandler for Echo {
    type Data = ();

    fn on_open(&self, session: &Arc<EngineSession<()>>) {
        self.0.opened.fetch_add(1, Ordering::Relaxed);
        self.0
            .opened_at
            .lock()
            .unwrap()
            .insert(session.sid().to_string(), Instant::now());
    }

    fn on_message(&self, session: &Arc<EngineSession<()>>, text: Str) {
        if &*text == "panic!" {
            panic!("deliberate panic in the handler (harness self-test)");
        }
        if &*text == "n" {
            self.0.counted.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if text.starts_with("seq:") {
            self.0
                .seqs
                .lock()
                .unwrap()
                .entry(session.sid().to_string())
                .or_default()
                .push(text.to_string());
        }
        if let Some(spec) = text.strip_prefix("flood:") {
            let (count, size) = spec.split_once(':').unwrap_or(("0", "0"));
            let count: usize = count.parse().unwrap_or(0).min(100_000);
            let size: usize = size.parse().unwrap_or(0).min(100_000);
            let body = "x".repeat(size);
            for _ in 0..count {
                if session.send(Frame::message(&body)).is_err() {
                    break;
                }
            }
            return;
        }
        let _ = session.send(Frame::message(&text));
    }

    fn on_binary(&self, session: &Arc<EngineSession<()>>, data: Bytes) {
        let _ = session.send(Frame::binary(data));
    }

    fn on_close(&self, session: &Arc<EngineSession<()>>, reason: CloseReason) {
        self.0
            .closes
            .lock()
            .unwrap()
            .push((session.sid().to_string(), reason, Instant::now()));
    }
}

impl EchoServer {
    /// What the echo handler saw.
    pub fn state(&self) -> &EchoState {
        &self.io.handler().0
    }
}

// ---------------------------------------------------------------------------------------------
// The client side
// ---------------------------------------------------------------------------------------------

/// The sid of an open packet `0{"sid":...}`.
pub fn sid_of(open: &str) -> String {
    let json = open
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {open:?}"));
    let value: serde_json::Value = serde_json::from_str(json).expect("open packet JSON");
    value["sid"].as_str().expect("sid").to_owned()
}

/// The target of a polling request for `sid`.
pub fn polling(sid: &str) -> String {
    format!("{P}&sid={sid}")
}

/// The target of a WebSocket request for `sid`.
pub fn websocket(sid: &str) -> String {
    format!("{W}&sid={sid}")
}

/// A polling session.
#[derive(Debug, Clone)]
pub struct Polling {
    pub addr: SocketAddr,
    pub sid: String,
}

impl Polling {
    /// Performs a polling handshake.
    pub async fn open(addr: SocketAddr) -> Polling {
        let response = http::get(addr, P).await;
        assert_eq!(response.status, 200, "handshake refused: {response:?}");
        Polling {
            addr,
            sid: sid_of(&response.text()),
        }
    }

    /// The target for this session.
    pub fn target(&self) -> String {
        polling(&self.sid)
    }

    /// A GET on a fresh connection, within [`WAIT`].
    pub async fn get(&self) -> Response {
        http::get(self.addr, &self.target()).await
    }

    /// A POST of `body` on a fresh connection.
    pub async fn post(&self, body: &[u8]) -> Response {
        http::request(self.addr, "POST", &self.target(), &[], Some(body)).await
    }

    /// Sends `4<text>` and expects the echo on the next GET; answers pings met on the way.
    pub async fn assert_echoes(&self, text: &str) {
        self.post(format!("4{text}").as_bytes())
            .await
            .assert(200, "ok");
        let deadline = Instant::now() + WAIT;
        loop {
            let response = self.get().await;
            assert_eq!(response.status, 200, "{response:?}");
            let body = response.text();
            let records: Vec<&str> = body.split('\x1e').collect();
            if records.contains(&"2") {
                self.post(b"3").await.assert(200, "ok");
            }
            if records.iter().any(|r| r.strip_prefix('4') == Some(text)) {
                return;
            }
            assert!(Instant::now() < deadline, "no echo of {text:?}");
        }
    }

    /// Upgrades the session to WebSocket the way clients do: a pending GET, `2probe` →
    /// `3probe`, the GET released with `6`, then `5`. Returns the upgraded socket and what the
    /// released GET carried.
    pub async fn upgrade(&self) -> (Client, String) {
        let pending = {
            let session = self.clone();
            tokio::spawn(async move { session.get().await })
        };
        let mut ws = Client::for_upgrade(self.addr, &self.sid).await;
        ws.send("2probe").await;
        assert_eq!(ws.next_text().await.as_deref(), Some("3probe"));
        let released = pending.await.expect("pending GET");
        assert_eq!(released.status, 200, "{released:?}");
        let body = released.text();
        assert!(
            body.split('\x1e').any(|r| r == "6"),
            "the pending GET was not released with a noop: {body:?}"
        );
        ws.send("5").await;
        (ws, body)
    }
}

/// U3: the sid is unknown. Requests on a session that is closing may still be answered (a last
/// `1`/`6` poll, a `400 code 3` on a WebSocket session); keeps asking until the answer is
/// `400 {"code":1,"message":"Session ID unknown"}`, failing after [`WAIT`]. A GET that blocks
/// means the session is alive, which fails the test too.
pub async fn assert_sid_gone(addr: SocketAddr, sid: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let response = tokio::time::timeout(left, http::get(addr, &polling(sid)))
            .await
            .unwrap_or_else(|_| panic!("session {sid} is still alive (its GET blocked)"));
        if response.status == 400 && response.text() == UNKNOWN_SID {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "session {sid} still known: {response:?}"
        );
        tokio::time::sleep(crate::wait::POLL).await;
    }
}
