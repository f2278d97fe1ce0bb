//! Shared harness for the Engine.IO bad-input tests (RELIABILITY.md §4.1–4.4).
//!
//! Every test starts its own [`Server`]: an echo [`Engine`] served by
//! [`socketio::engineio::serve`] on 127.0.0.1:0, on a dedicated tokio runtime whose threads are
//! named `eio-srv-<id>`. A process-wide panic hook counts panics per server id by thread name,
//! so a panic anywhere in a server (request handlers, heartbeat tasks, hyper connection tasks,
//! even one that tokio catches) fails that test's [`Server::assert_healthy`] and no other test.
//!
//! The client side runs on the test's own runtime and speaks raw HTTP/1.1 ([`http`]), raw
//! WebSocket frames ([`ws`]) or well-formed WebSocket through tokio-tungstenite ([`eio`]).
//!
//! Universal criteria from RELIABILITY.md §4 that these helpers implement:
//! * U1 no panic: [`Server::panics`] counts them;
//! * U2 a canary opened before the case still echoes afterwards: [`eio::Canary`];
//! * U3 a closed sid is unknown afterwards: [`eio::assert_sid_gone`], and the live-session gauge
//!   returns to its baseline: [`Server::wait_sessions`].
//!
//! U6 is checked as the server runtime's live task count ([`Server::wait_tasks`]) where a case
//! could leak a connection. U4 (RSS) and fd counts are not measured: the server shares its
//! process with the test client and with the other tests of the binary, so those figures would
//! not be its own. Per-server CPU time ([`Server::cpu_time`]) is measured from the named threads.

#![allow(dead_code)]

pub mod eio;
pub mod http;
pub mod rng;
pub mod ws;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use socketio::engineio::{
    CloseReason, Engine, EngineConfig, EngineHandler, EngineSession, Frame, Str,
};

/// How long any wait for the server may take before the test fails. Generous: the machine has
/// two cores and the tests of a binary run in parallel.
pub const WAIT: Duration = Duration::from_secs(5);

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

/// What the echo handler saw, shared with the test.
#[derive(Default)]
pub struct State {
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

impl State {
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
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(close) = self.close_of(sid) {
                return close;
            }
            assert!(Instant::now() < deadline, "session {sid} never closed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Echoes every message unchanged (text as text, binary as binary), like the conformance
/// example, with four test hooks: `n` is only counted, `seq:*` is recorded and echoed,
/// `flood:<count>:<size>` answers with `count` messages of `size` bytes, and `panic!` panics
/// (to check that the harness notices).
#[derive(Clone, Default)]
pub struct Echo(pub Arc<State>);

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

fn panics() -> &'static Mutex<HashMap<usize, usize>> {
    static PANICS: OnceLock<Mutex<HashMap<usize, usize>>> = OnceLock::new();
    PANICS.get_or_init(Default::default)
}

/// Installs (once per process) a panic hook that counts panics on server threads, then hands
/// over to the default hook so the message is still printed.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let id = std::thread::current()
                .name()
                .and_then(|name| name.strip_prefix("eio-srv-"))
                .and_then(|id| id.parse::<usize>().ok());
            if let Some(id) = id {
                // Nothing can panic while this lock is held, so waiting for it is safe.
                let mut map = panics().lock().unwrap_or_else(|e| e.into_inner());
                *map.entry(id).or_default() += 1;
            }
            default(info);
        }));
    });
}

/// A running echo server.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The engine (its session table is readable from the test).
    pub engine: Engine<Echo>,
    /// What the handler saw.
    pub state: Arc<State>,
    id: usize,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    /// Default engine options, except the test-friendly ones given by `config`.
    pub fn start(config: EngineConfig) -> Server {
        install_panic_hook();
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(format!("eio-srv-{id}"))
            .enable_all()
            .build()
            .expect("server runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let engine = Engine::new(config, Echo(state.clone()));
        let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let served = engine.clone();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = served.router();
            let _ = socketio::engineio::serve(served, app, listener, async move {
                let _ = shutdown_rx.await;
            })
            .await;
        });
        Server {
            addr,
            engine,
            state,
            id,
            runtime: Some(runtime),
            shutdown: Some(shutdown),
        }
    }

    /// Panics seen on this server's threads so far.
    pub fn panics(&self) -> usize {
        panics()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&self.id)
            .copied()
            .unwrap_or(0)
    }

    /// Live sessions.
    pub fn sessions(&self) -> usize {
        self.engine.session_count()
    }

    /// Waits until the live-session gauge reads `expected`.
    pub async fn wait_sessions(&self, expected: usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            let n = self.sessions();
            if n == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "live sessions stayed at {n}, expected {expected}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Tasks alive on the server's runtime (the accept loop, one per HTTP connection, one per
    /// WebSocket, one heartbeat per session, ...).
    pub fn tasks(&self) -> usize {
        self.runtime
            .as_ref()
            .map_or(0, |rt| rt.metrics().num_alive_tasks())
    }

    /// U6: waits until the server runs `expected` tasks again.
    pub async fn wait_tasks(&self, expected: usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            let n = self.tasks();
            if n == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server still runs {n} tasks, expected {expected}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// CPU time (user + system) used so far by this server's threads, from
    /// `/proc/self/task/*/stat` (thread names are `eio-srv-<id>`).
    pub fn cpu_time(&self) -> Duration {
        let name = format!("(eio-srv-{})", self.id);
        let tick = 100u64; // USER_HZ on Linux
        let mut ticks = 0u64;
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return Duration::ZERO;
        };
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            // `pid (comm) state ...`: comm may hold spaces, so split after the last ')'.
            let Some(close) = stat.rfind(')') else {
                continue;
            };
            let comm_start = stat.find('(').unwrap_or(0);
            if stat[comm_start..=close] != name {
                continue;
            }
            let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
            // After comm: state is field 0, utime field 11, stime field 12.
            let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
            let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
            ticks += utime + stime;
        }
        Duration::from_millis(ticks * 1000 / tick)
    }

    /// Opens the canary of the universal criterion U2.
    pub async fn canary(&self) -> eio::Canary {
        eio::Canary::open(self.addr, self.state.clone()).await
    }

    /// U1 + U2: no panic so far and the canary still echoes within [`WAIT`].
    pub async fn assert_healthy(&self, canary: &mut eio::Canary) {
        canary.assert_echoes().await;
        assert_eq!(self.panics(), 0, "the server panicked");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Engine options for tests that are not about time: the defaults (25 s / 20 s heartbeat).
pub fn config() -> EngineConfig {
    EngineConfig::default()
}

/// Engine options for tests about time: pingInterval 300 ms, pingTimeout 200 ms, as the
/// official suites use.
pub fn fast_heartbeat() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
}

/// Polls `condition` every 5 ms until it holds, failing the test after [`WAIT`].
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
