//! Harness for the Socket.IO-layer tests: the bad-input cases S01–S29 of RELIABILITY.md §4.5
//! (`socketio_bad_input.rs`) and the runtime behaviour tests (`socketio_runtime.rs`).
//!
//! Every test starts its own [`Server`]: a [`SocketIo`] served with `serve_with` on
//! 127.0.0.1:0, on a dedicated tokio runtime whose threads are named `sio-srv-<id>`. A
//! process-wide panic hook counts panics per server id by thread name (panics whose message
//! contains [`DELIBERATE`] are counted apart, for the test whose handler panics on purpose), and
//! a process-wide `tracing` subscriber keeps the server's log lines (warnings, and the debug line
//! that names each protocol violation) so tests can check why a connection was closed.
//!
//! Clients are well-formed WebSockets (tokio-tungstenite, [`Client`]) that send exact
//! Engine.IO/Socket.IO frames: every Socket.IO packet carries the Engine.IO `4` prefix, so the
//! Socket.IO packet `2["x"]` is the text frame `42["x"]`. Raw HTTP polling goes through the
//! hand-written client of `common/http.rs` (included read-only with `#[path]`).
//!
//! Universal criteria of RELIABILITY.md §4 implemented here: U1 no panic ([`Server::panics`]);
//! U2 a canary connected before the case still gets an echo afterwards ([`Canary`]); U3 a closed
//! connection's sid is gone and the live-session gauge returns to its baseline
//! ([`Server::wait_gone`], [`Server::wait_sessions`]).

#![allow(dead_code)]

#[path = "../common/http.rs"]
pub mod http;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use socketio::extract::ConnectContext;
use socketio::extract::FromConnectParts;
use socketio::{Args, Builder, DisconnectReason, Event, Sid, Socket, SocketIo, State};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any wait for the server may take before the test fails. Generous: the machine has
/// two cores and the tests of a binary run in parallel.
pub const WAIT: Duration = Duration::from_secs(5);

/// A polling handshake target.
pub const P: &str = "/socket.io/?EIO=4&transport=polling";
/// A WebSocket handshake target.
pub const W: &str = "/socket.io/?EIO=4&transport=websocket";
/// The exact body of the "unknown sid" error.
pub const UNKNOWN_SID: &str = r#"{"code":1,"message":"Session ID unknown"}"#;

/// Panics whose message contains this are expected by the test that causes them.
pub const DELIBERATE: &str = "deliberate panic from a test handler";

/// The close code the server sends when it ends a connection for a protocol violation.
pub const VIOLATION_CLOSE: u16 = 1002;

// ---------------------------------------------------------------------------------------------
// Panic counting and log capture
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Clone, Copy)]
struct PanicCount {
    unexpected: usize,
    deliberate: usize,
}

fn panics() -> &'static Mutex<HashMap<usize, PanicCount>> {
    static PANICS: OnceLock<Mutex<HashMap<usize, PanicCount>>> = OnceLock::new();
    PANICS.get_or_init(Default::default)
}

fn log() -> &'static Mutex<Vec<u8>> {
    static LOG: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOG.get_or_init(Default::default)
}

/// Appends formatted log lines to the process-wide buffer.
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per process) the panic hook and the log-capturing subscriber.
fn install_hooks() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let deliberate = message.contains(DELIBERATE);
            let id = std::thread::current()
                .name()
                .and_then(|name| name.strip_prefix("sio-srv-"))
                .and_then(|id| id.parse::<usize>().ok());
            if let Some(id) = id {
                // Never block in a panic hook.
                if let Ok(mut map) = panics().try_lock() {
                    let count = map.entry(id).or_default();
                    if deliberate {
                        count.deliberate += 1;
                    } else {
                        count.unexpected += 1;
                    }
                }
            }
            if !deliberate {
                default(info);
            }
        }));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "warn,socketio::dispatch=debug",
            ))
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .try_init();
    });
}

/// The captured log lines that contain every one of `needles`.
pub fn log_lines(needles: &[&str]) -> Vec<String> {
    let log = log().lock().unwrap_or_else(|e| e.into_inner());
    String::from_utf8_lossy(&log)
        .lines()
        .filter(|line| needles.iter().all(|n| line.contains(n)))
        .map(str::to_owned)
        .collect()
}

/// Waits until a captured log line contains every one of `needles`; returns it.
pub async fn wait_log(needles: &[&str]) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(line) = log_lines(needles).pop() {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "no log line containing {needles:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Polls `condition` every 5 ms until it holds, failing the test after [`WAIT`].
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// What the standard handlers saw
// ---------------------------------------------------------------------------------------------

/// An event that reached a catch-all handler.
#[derive(Debug, Clone)]
pub struct EventRec {
    pub namespace: String,
    pub sid: Sid,
    pub name: String,
    /// The raw JSON of each argument.
    pub args: Vec<String>,
    pub attachments: Vec<Vec<u8>>,
}

/// A namespace connection that reached a connect handler.
#[derive(Debug, Clone)]
pub struct ConnectRec {
    pub namespace: String,
    pub sid: Sid,
    /// The raw auth payload, `None` when the CONNECT carried none.
    pub auth: Option<String>,
}

/// A disconnection seen by a disconnect handler.
#[derive(Debug, Clone)]
pub struct DisconnectRec {
    pub namespace: String,
    pub sid: Sid,
    pub reason: DisconnectReason,
}

/// Everything the standard handlers of a server recorded.
#[derive(Debug, Default)]
pub struct Recorder {
    pub events: Mutex<Vec<EventRec>>,
    pub connects: Mutex<Vec<ConnectRec>>,
    pub disconnects: Mutex<Vec<DisconnectRec>>,
}

/// The recorder, as the handlers' [`State`].
pub type Rec = Arc<Recorder>;

impl Recorder {
    /// The recorded events named `name`.
    pub fn events_named(&self, name: &str) -> Vec<EventRec> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.name == name)
            .cloned()
            .collect()
    }

    /// Waits until an event named `name` was recorded; returns the first one.
    pub async fn wait_event(&self, name: &str) -> EventRec {
        let mut found = None;
        eventually(&format!("event {name:?} recorded"), || {
            found = self.events_named(name).into_iter().next();
            found.is_some()
        })
        .await;
        found.unwrap()
    }

    /// The connect record of socket `sid`.
    pub fn connect_of(&self, sid: &str) -> Option<ConnectRec> {
        self.connects
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.sid.as_str() == sid)
            .cloned()
    }

    /// The disconnect reasons recorded for socket `sid`.
    pub fn disconnects_of(&self, sid: &str) -> Vec<DisconnectReason> {
        self.disconnects
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.sid.as_str() == sid)
            .map(|d| d.reason)
            .collect()
    }

    /// Waits until socket `sid` was reported disconnected; returns the reason.
    pub async fn wait_disconnect(&self, sid: &str) -> DisconnectReason {
        let mut reason = None;
        eventually(&format!("socket {sid} disconnected"), || {
            reason = self.disconnects_of(sid).first().copied();
            reason.is_some()
        })
        .await;
        reason.unwrap()
    }
}

/// The raw auth payload of a connection request.
pub struct RawAuth(pub Option<String>);

impl FromConnectParts for RawAuth {
    type Rejection = std::convert::Infallible;

    async fn from_connect_parts(ctx: &ConnectContext) -> Result<Self, Self::Rejection> {
        Ok(RawAuth(ctx.auth().map(str::to_owned)))
    }
}

/// `echo`: emits `echo` back with the same arguments and acknowledges with them.
pub async fn echo(socket: Socket, event: Event) -> Args {
    let _ = socket.emit("echo", event.args());
    event.args().clone()
}

pub async fn record_any(State(rec): State<Rec>, socket: Socket, event: Event) {
    rec.events.lock().unwrap().push(EventRec {
        namespace: socket.namespace().to_owned(),
        sid: socket.id(),
        name: event.name().to_owned(),
        args: event.args().raw().map(str::to_owned).collect(),
        attachments: event
            .args()
            .attachments()
            .iter()
            .map(|b| b.to_vec())
            .collect(),
    });
}

pub async fn record_connect(State(rec): State<Rec>, socket: Socket, RawAuth(auth): RawAuth) {
    rec.connects.lock().unwrap().push(ConnectRec {
        namespace: socket.namespace().to_owned(),
        sid: socket.id(),
        auth,
    });
}

pub async fn record_disconnect(State(rec): State<Rec>, socket: Socket, reason: DisconnectReason) {
    rec.disconnects.lock().unwrap().push(DisconnectRec {
        namespace: socket.namespace().to_owned(),
        sid: socket.id(),
        reason,
    });
}

/// The standard server: namespaces `/` and `/admin`, each with the `echo` handler, a catch-all
/// that records every other event, and connect/disconnect handlers that record. `/bare` is
/// declared with no handler at all. Tests add their own handlers to the returned builder.
pub fn standard(rec: &Rec) -> Builder {
    let mut builder = SocketIo::builder().state(rec.clone()).namespace("/bare");
    for ns in ["/", "/admin"] {
        builder = builder
            .on(ns, "echo", echo)
            .on_any(ns, record_any)
            .on_connect(ns, record_connect)
            .on_disconnect(ns, record_disconnect);
    }
    builder
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/// A running Socket.IO server.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The server handle (shares its state with the one being served).
    pub io: SocketIo,
    id: usize,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    /// Builds `builder` and serves it on 127.0.0.1:0.
    pub fn start(builder: Builder) -> Server {
        install_hooks();
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let io = builder.build().expect("a valid server configuration");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(format!("sio-srv-{id}"))
            .enable_all()
            .build()
            .expect("server runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let served = io.clone();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            // `Default::default()` is an empty `axum::Router`.
            let _ = served
                .serve_with(listener, Default::default(), async move {
                    let _ = shutdown_rx.await;
                })
                .await;
        });
        Server {
            addr,
            io,
            id,
            runtime: Some(runtime),
            shutdown: Some(shutdown),
        }
    }

    fn panic_count(&self) -> PanicCount {
        panics()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&self.id)
            .copied()
            .unwrap_or_default()
    }

    /// Unexpected panics on this server's threads so far.
    pub fn panics(&self) -> usize {
        self.panic_count().unexpected
    }

    /// Panics carrying [`DELIBERATE`] on this server's threads so far.
    pub fn deliberate_panics(&self) -> usize {
        self.panic_count().deliberate
    }

    /// Live Engine.IO sessions.
    pub fn sessions(&self) -> usize {
        self.io.connection_count()
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

    /// Whether the Engine.IO session `eio_sid` is alive (known and not closed).
    pub fn alive(&self, eio_sid: &str) -> bool {
        let sid: Sid = eio_sid.parse().expect("a valid sid");
        self.io.connection_open(sid)
    }

    /// Waits until the Engine.IO session `eio_sid` is gone.
    pub async fn wait_gone(&self, eio_sid: &str) {
        eventually(&format!("session {eio_sid} gone"), || !self.alive(eio_sid)).await;
    }

    /// The namespace socket `sid`.
    pub fn socket(&self, sid: &str) -> Socket {
        self.io
            .socket(sid.parse().expect("a valid sid"))
            .unwrap_or_else(|| panic!("no socket {sid}"))
    }

    /// Opens the canary of criterion U2 (a socket on `/`, which must have the `echo` handler).
    pub async fn canary(&self) -> Canary {
        Canary::open(self.addr).await
    }

    /// U1 + U2 + U3: no unexpected panic, the canary still echoes, and the live-session gauge is
    /// back at `baseline`.
    pub async fn assert_healthy(&self, canary: &mut Canary, baseline: usize) {
        canary.assert_echoes().await;
        self.wait_sessions(baseline).await;
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

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/// A WebSocket stream.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A data message from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Text(String),
    Binary(Vec<u8>),
}

/// The `<namespace>,` part of a packet (empty for `/`).
pub fn nsp(namespace: &str) -> String {
    if namespace == "/" {
        String::new()
    } else {
        format!("{namespace},")
    }
}

/// The WebSocket text frame of an EVENT: `42[/ns,][id]<array>`.
pub fn event_frame(namespace: &str, id: Option<u64>, array: &str) -> String {
    let id = id.map(|id| id.to_string()).unwrap_or_default();
    format!("42{}{id}{array}", nsp(namespace))
}

/// The sid in a CONNECT answer `40[/ns,]{"sid":...}` for `namespace`, `None` if `frame` is not
/// one.
pub fn connect_sid(frame: &str, namespace: &str) -> Option<String> {
    let json = frame.strip_prefix(&format!("40{}", nsp(namespace)))?;
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let object = value.as_object()?;
    (object.len() == 1)
        .then(|| object.get("sid")?.as_str().map(str::to_owned))
        .flatten()
}

/// A WebSocket client speaking exact Engine.IO/Socket.IO frames. Reading answers server pings.
pub struct Client {
    ws: Ws,
    /// The Engine.IO session id (from the open packet).
    pub eio_sid: String,
}

impl Client {
    /// Opens a WebSocket Engine.IO session (reads the open packet).
    pub async fn open(addr: SocketAddr) -> Client {
        let (ws, _) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::connect_async(format!("ws://{addr}{W}")),
        )
        .await
        .expect("websocket handshake in time")
        .expect("websocket handshake");
        let mut client = Client {
            ws,
            eio_sid: String::new(),
        };
        let open = client.text().await;
        let json = open
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("not an open packet: {open:?}"));
        let value: serde_json::Value = serde_json::from_str(json).expect("open packet JSON");
        client.eio_sid = value["sid"].as_str().expect("sid").to_owned();
        client
    }

    /// Opens a session and joins `namespace`; returns the client and the namespace socket id.
    pub async fn connected(addr: SocketAddr, namespace: &str) -> (Client, String) {
        let mut client = Client::open(addr).await;
        let sid = client.join(namespace).await;
        (client, sid)
    }

    /// Sends a text frame (it must go out: the connection is expected to be open).
    pub async fn send(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_owned()))
            .await
            .expect("websocket send");
    }

    /// Sends a text frame, ignoring failure (the server may already have closed).
    pub async fn try_send(&mut self, text: &str) -> bool {
        self.ws.send(Message::text(text.to_owned())).await.is_ok()
    }

    /// Sends a binary frame, ignoring failure (the server may already have closed).
    pub async fn try_send_binary(&mut self, data: &[u8]) -> bool {
        self.ws.send(Message::binary(data.to_vec())).await.is_ok()
    }

    /// The next data message within `wait`, answering pings on the way: `Ok(None)` when the
    /// connection ended, `Err(())` on timeout.
    pub async fn next_within(&mut self, wait: Duration) -> Result<Option<Msg>, ()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| ())?;
            match message {
                Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                    if self.ws.send(Message::text("3")).await.is_err() {
                        return Ok(None);
                    }
                }
                Some(Ok(Message::Text(t))) => return Ok(Some(Msg::Text(t.as_str().to_owned()))),
                Some(Ok(Message::Binary(b))) => return Ok(Some(Msg::Binary(b.to_vec()))),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Ok(None),
            }
        }
    }

    /// The next data message within [`WAIT`] (`None`: the connection ended).
    pub async fn next(&mut self) -> Option<Msg> {
        self.next_within(WAIT)
            .await
            .unwrap_or_else(|_| panic!("no message within {WAIT:?}"))
    }

    /// The next message, which must be text.
    pub async fn text(&mut self) -> String {
        match self.next().await {
            Some(Msg::Text(t)) => t,
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    /// Joins `namespace` (`40` / `40/ns,`); returns the namespace socket id.
    pub async fn join(&mut self, namespace: &str) -> String {
        self.send(&format!("40{}", nsp(namespace))).await;
        let answer = self.text().await;
        connect_sid(&answer, namespace)
            .unwrap_or_else(|| panic!("expected a CONNECT answer for {namespace}, got {answer:?}"))
    }

    /// Reads until the server closes the connection; returns the close code it sent (`None`: no
    /// close frame). Data messages meanwhile are skipped. Fails the test after [`WAIT`].
    pub async fn closed(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("the server did not close within {WAIT:?}"));
            match message {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Sends `echo` with `tag` on `namespace` and asserts that the very next message is its
    /// echo: proves that every packet sent before was processed without closing the
    /// connection, and that none of them produced an answer.
    pub async fn assert_echo(&mut self, namespace: &str, tag: &str) {
        let array = serde_json::json!(["echo", tag]).to_string();
        let frame = event_frame(namespace, None, &array);
        self.send(&frame).await;
        assert_eq!(
            self.next().await,
            Some(Msg::Text(frame.clone())),
            "expected the echo of {frame}"
        );
    }

    /// Stays idle until the server has sent `count` pings (each answered); fails if anything else
    /// arrives or the connection ends.
    pub async fn idle_pings(&mut self, count: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut pings = 0;
        while pings < count {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("only {pings} pings within {WAIT:?}"));
            match message {
                Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                    pings += 1;
                    self.send("3").await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected only pings, got {other:?}"),
            }
        }
    }

    /// Closes the WebSocket cleanly.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        let _ = tokio::time::timeout(WAIT, async { while self.ws.next().await.is_some() {} }).await;
    }
}

/// Asserts that `client` was closed for a protocol violation: close code 1002, the server
/// logged the violation for this session with a message containing `why`, and the session is
/// gone.
pub async fn assert_violation(server: &Server, client: &mut Client, why: &str) {
    assert_eq!(
        client.closed().await,
        Some(VIOLATION_CLOSE),
        "expected a protocol-violation close ({why})"
    );
    wait_log(&["protocol violation", &client.eio_sid, why]).await;
    server.wait_gone(&client.eio_sid).await;
}

/// Opens a session, optionally joins `/`, sends `frames`, and asserts a protocol-violation
/// close mentioning `why`.
pub async fn assert_frames_violate(server: &Server, join: bool, frames: &[&str], why: &str) {
    let mut client = Client::open(server.addr).await;
    if join {
        client.join("/").await;
    }
    for frame in frames {
        if !client.try_send(frame).await {
            break;
        }
    }
    assert_violation(server, &mut client, why).await;
}

/// U2: a socket on `/` opened before a case, kept alive in the background (it answers pings),
/// that must still get its echo afterwards.
pub struct Canary {
    pub eio_sid: String,
    pub sid: String,
    out: mpsc::UnboundedSender<String>,
    inbox: mpsc::UnboundedReceiver<String>,
    count: usize,
}

impl Canary {
    pub async fn open(addr: SocketAddr) -> Canary {
        let (client, sid) = Client::connected(addr, "/").await;
        let eio_sid = client.eio_sid.clone();
        let mut ws = client.ws;
        let (out, mut outbox) = mpsc::unbounded_channel::<String>();
        let (deliver, inbox) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    text = outbox.recv() => match text {
                        Some(text) => if ws.send(Message::text(text)).await.is_err() { return },
                        None => return,
                    },
                    message = ws.next() => match message {
                        Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                            if ws.send(Message::text("3")).await.is_err() { return }
                        }
                        Some(Ok(Message::Text(t))) => {
                            if deliver.send(t.as_str().to_owned()).is_err() { return }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => return,
                    },
                }
            }
        });
        Canary {
            eio_sid,
            sid,
            out,
            inbox,
            count: 0,
        }
    }

    /// Sends a fresh `echo` and expects it back within [`WAIT`] (broadcasts that reach the
    /// canary meanwhile are skipped).
    pub async fn assert_echoes(&mut self) {
        self.count += 1;
        let text = format!(r#"42["echo","canary-{}"]"#, self.count);
        self.out.send(text.clone()).expect("canary task alive");
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.inbox.recv()).await {
                Ok(Some(got)) if got == text => return,
                Ok(Some(_)) => {}
                Ok(None) => panic!("the canary's connection closed"),
                Err(_) => panic!("the canary got no echo within {WAIT:?}"),
            }
        }
    }
}

/// Starts the standard server with a canary; returns them with the session baseline.
pub async fn start_with_canary(builder: Builder) -> (Server, Canary, usize) {
    let server = Server::start(builder);
    let canary = server.canary().await;
    let baseline = server.sessions();
    (server, canary, baseline)
}
