//! The Socket.IO-layer tests: the bad-input cases S01–S29 of RELIABILITY.md §4.5
//! (`socketio_bad_input.rs`) and the runtime behaviour tests (`socketio_runtime.rs`).
//!
//! Every test starts its own [`Server`] (on its own runtime, see [`crate::server`]): the
//! [`standard`] one plus what the case needs, with a canary opened before the case
//! ([`start_with_canary`]). The server's log lines are captured ([`crate::logs`]) so tests can
//! check why a connection was closed: the debug line of `socketio::client` names each protocol
//! violation ([`assert_violation`]). Clients are [`crate::ws::Client`]s sending exact frames;
//! raw HTTP polling goes through [`crate::http`].
//!
//! Universal criteria of RELIABILITY.md §4 implemented here: U1 no panic
//! ([`Server::panics`]; a handler that panics on purpose says [`crate::panics::DELIBERATE`]);
//! U2 a canary connected before the case still gets an echo afterwards
//! ([`crate::canary::Canary`]); U3 a closed connection's sid is gone and the live-session gauge
//! returns to its baseline ([`Server::wait_gone`], [`Server::assert_healthy_at`]).

use std::sync::{Arc, Mutex};

use socketio::extract::ConnectContext;
use socketio::extract::FromConnectParts;
use socketio::{Args, Builder, DisconnectReason, Event, Sid, Socket, SocketIo, State};

use crate::canary::Canary;
use crate::logs;
use crate::server::Server;
use crate::wait::{until, WAIT};
use crate::ws::Client;

/// The close code the server sends when it ends a connection for a protocol violation.
pub const VIOLATION_CLOSE: u16 = 1002;

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
        until(WAIT, || {
            self.events_named(name)
                .into_iter()
                .next()
                .ok_or_else(|| format!("timed out waiting for: event {name:?} recorded"))
        })
        .await
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
        until(WAIT, || {
            self.disconnects_of(sid)
                .first()
                .copied()
                .ok_or_else(|| format!("timed out waiting for: socket {sid} disconnected"))
        })
        .await
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
    socket.emit("echo", event.args());
    event.args().clone()
}

/// Records every event it gets.
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

/// Records every connection, with its raw auth payload.
pub async fn record_connect(State(rec): State<Rec>, socket: Socket, RawAuth(auth): RawAuth) {
    rec.connects.lock().unwrap().push(ConnectRec {
        namespace: socket.namespace().to_owned(),
        sid: socket.id(),
        auth,
    });
}

/// Records every disconnection, with its reason.
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

/// Starts `builder`'s server with a canary; returns them with the session baseline.
pub async fn start_with_canary(builder: Builder) -> (Server, Canary, usize) {
    let server = Server::start(builder);
    let canary = server.canary().await;
    let baseline = server.sessions();
    (server, canary, baseline)
}

// ---------------------------------------------------------------------------------------------
// Protocol violations
// ---------------------------------------------------------------------------------------------

/// Waits until the server logged a protocol violation of the Engine.IO session `eio_sid` with
/// a message containing `why`.
pub async fn wait_violation_logged(eio_sid: &str, why: &str) {
    logs::wait_line(&["protocol violation", eio_sid, why]).await;
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
    wait_violation_logged(&client.eio_sid, why).await;
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
