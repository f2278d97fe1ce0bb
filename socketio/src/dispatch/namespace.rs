//! A namespace: its connected sockets, its adapter, and the handlers it runs for them.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::recovery::{self, Claim};
use super::run::BoxFuture;
use super::server_core::ServerCore;
use super::socket::{Connection, Socket};
use crate::ack::AckFuture;
use crate::adapter::{Adapter, LocalSockets, PersistedSession, SocketData, Target};
use crate::args::Args;
use crate::engineio::{CloseReason, FoldHash, Sid, Str};
use crate::error::{ConnectError, Error};
use crate::packet::{self, EncodedPacket};
use crate::reason::DisconnectReason;
use crate::sync::RwLock;

/// What a namespace runs for its sockets. The handler layer implements it with the handlers
/// registered by `#[on]` and the builder; the namespace only knows when to call them.
pub(crate) trait NamespaceHandlers: Send + Sync + 'static {
    /// Runs the connect middlewares (unless `middlewares` is false: a recovered socket
    /// skipping them), then the connect handler; resolves to the verdict. Failures (a refusal,
    /// a panic) were already reported when it resolves.
    fn connect(
        &self,
        socket: &Socket,
        auth: Option<Str>,
        middlewares: bool,
    ) -> BoxFuture<Result<(), ConnectError>>;
    /// Runs the handler of `event`, or the catch-all.
    fn event(&self, socket: &Socket, event: Str, args: Args, ack_id: Option<u64>);
    /// Runs the disconnect handler.
    fn disconnect(&self, socket: &Socket, reason: DisconnectReason);
    /// Hands a failure to the error handler (its return value answers `ack_id`), or logs it.
    /// `event` is the event being handled, with its arguments.
    fn report(
        &self,
        socket: &Socket,
        error: Error,
        event: Option<(Str, Args)>,
        ack_id: Option<u64>,
    );
    /// The handled event names, sorted, plus `connect`, `disconnect`, `*` and `error` for the
    /// lifecycle, catch-all and error handlers present.
    fn handled_events(&self) -> Vec<String>;
}

/// Called with the namespace's path when its last socket left (dynamic namespaces only).
pub(crate) type OnEmpty = Box<dyn Fn(&str) + Send + Sync>;

pub(crate) struct Namespace {
    pub(crate) path: String,
    handlers: Arc<dyn NamespaceHandlers>,
    on_empty: Option<OnEmpty>,
    sockets: RwLock<HashMap<Sid, Socket, FoldHash>>,
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) core: Arc<ServerCore>,
    /// The metric series of its events (nothing without the `metrics` feature).
    event_series: crate::metrics::EventSeriesCache,
}

impl Namespace {
    /// A namespace ready for sockets; its adapter is told how to reach them. `on_empty` hears
    /// when its last socket leaves.
    pub(crate) fn new(
        path: String,
        handlers: Arc<dyn NamespaceHandlers>,
        adapter: Arc<dyn Adapter>,
        core: Arc<ServerCore>,
        on_empty: Option<OnEmpty>,
    ) -> Arc<Self> {
        let ns = Arc::new(Namespace {
            path,
            handlers,
            on_empty,
            sockets: RwLock::new(HashMap::default()),
            adapter,
            core,
            event_series: Default::default(),
        });
        let local: Weak<dyn LocalSockets> = Arc::downgrade(&ns) as Weak<Namespace>;
        ns.adapter.attach(local);
        ns
    }

    /// The metric series of events labelled `event` (a handled name, or `*`).
    pub(crate) fn event_series(&self, event: &str) -> crate::metrics::SharedEventSeries {
        self.event_series.get(&self.path, event)
    }

    pub(crate) fn handled_events(&self) -> Vec<String> {
        self.handlers.handled_events()
    }

    /// Whether no socket is in the namespace.
    pub(crate) fn is_empty(&self) -> bool {
        self.sockets.read().is_empty()
    }

    /// The socket of `connection`, which asks to join with `auth`, made a member before its
    /// connect handler runs (see [`connect`](Self::connect)): the lost socket it claims, given
    /// back with its rooms and the packets it missed, when connection state recovery is on and
    /// the adapter still has them; a new one otherwise.
    pub(crate) fn enter(
        self: &Arc<Self>,
        connection: &Arc<Connection>,
        auth: Option<&str>,
    ) -> Socket {
        if let Some(socket) = self.recover(connection, auth) {
            return socket;
        }
        let socket = Socket::new(self.clone(), connection.clone());
        self.admit(&socket);
        socket
    }

    /// The socket `auth` claims (connection state recovery), a member again of the namespace
    /// and of its rooms; `None` when recovery is off, nothing is claimed, or the adapter does
    /// not have the session (unknown, expired, or its packets no longer kept).
    fn recover(
        self: &Arc<Self>,
        connection: &Arc<Connection>,
        auth: Option<&str>,
    ) -> Option<Socket> {
        self.core.config.recovery?;
        let claim = Claim::parse(auth?)?;
        // The missed packets go into the connection's queue at once, with the CONNECT answer:
        // more than half of it could not be queued, and a full queue closes the connection.
        let max_frames = self.core.config.engine.get_max_queued_packets() / 2;
        let mut recovered = None;
        let mut resume = |session: PersistedSession, missed: Vec<EncodedPacket>| {
            if self.sockets.read().contains_key(&session.sid) {
                // Only a forged session could name a socket that is connected.
                return;
            }
            let frames: usize = missed.iter().map(|p| p.frames().len()).sum();
            if frames > max_frames {
                tracing::info!(
                    namespace = %self.path,
                    sid = %session.sid,
                    frames,
                    limit = max_frames,
                    "connection state not recovered: more missed packets than half of \
                     max_queued_packets"
                );
                return;
            }
            let socket = Socket::resumed(self.clone(), connection.clone(), &session, missed);
            self.admit(&socket);
            let own = session.sid.to_string();
            for room in session.rooms.iter().filter(|room| **room != own) {
                self.adapter.join(session.sid, room);
            }
            recovered = Some(socket);
        };
        self.adapter
            .restore_session(claim.pid, &claim.offset, &mut resume);
        match &recovered {
            Some(socket) => {
                tracing::debug!(namespace = %self.path, sid = %socket.id(), "connection state recovered")
            }
            None => {
                tracing::debug!(namespace = %self.path, "connection state not recovered")
            }
        }
        recovered
    }

    /// Makes `socket` a member.
    fn admit(&self, socket: &Socket) {
        self.sockets.write().insert(socket.id(), socket.clone());
    }

    /// The connected sockets.
    pub(crate) fn sockets(&self) -> Vec<Socket> {
        self.sockets.read().values().cloned().collect()
    }

    pub(crate) fn socket(&self, sid: Sid) -> Option<Socket> {
        self.sockets.read().get(&sid).cloned()
    }

    /// The connected sockets of this process that a broadcast target selects.
    pub(crate) fn select(&self, target: &Target) -> Vec<Socket> {
        let adapter = &self.adapter;
        let sids = target
            .resolve(|room, into| into.extend(adapter.members(room)), self)
            .sids(self);
        let sockets = self.sockets.read();
        sids.iter()
            .filter_map(|sid| sockets.get(sid).cloned())
            .collect()
    }

    /// A new socket for `connection`, which asked to join: runs the connect handler, then
    /// answers CONNECT (or CONNECT_ERROR). With `always_connect`, answers first and
    /// disconnects on refusal.
    ///
    /// The socket is a member of the namespace (and of its own room) while its connect handler
    /// runs, as in python-socketio and socket.io: a broadcast the handler sends reaches it too
    /// (right after the CONNECT answer). A refusal takes it out again.
    pub(crate) async fn connect(self: Arc<Self>, socket: Socket, auth: Option<Str>) {
        socket.set_auth(auth.clone());
        let always_connect = self.core.config.always_connect;
        if always_connect {
            self.accept(&socket);
        }
        let skip = socket.recovered()
            && self
                .core
                .config
                .recovery
                .is_some_and(|options| options.skip_middlewares);
        match self.handlers.connect(&socket, auth, !skip).await {
            Ok(()) if !always_connect => self.accept(&socket),
            Ok(()) => {}
            Err(_) if always_connect => socket.disconnect(),
            Err(refusal) => {
                // Already disconnected (the client left, the connection closed) while the
                // handler ran: nobody to answer.
                let connecting = socket.mark_disconnected().is_some();
                self.forget_member(&socket);
                self.adapter.leave_all(socket.id());
                if connecting {
                    let packet =
                        packet::connect_error(&self.path, refusal.message(), refusal.get_data());
                    let _ = socket.send_frames(packet.frames_for(self.core.config.parser));
                }
                forget(&socket);
            }
        }
    }

    fn accept(&self, socket: &Socket) {
        let pid = socket.pid().map(|pid| pid.to_string());
        let answer = packet::connect(&self.path, socket.id().as_str(), pid.as_deref());
        if socket.mark_connected(&answer).is_ok() {
            crate::metrics::socket_connected(&self.path);
            if let Some(observer) = self.core.observer() {
                observer.socket_connected(socket);
            }
        } else {
            // Disconnected while the connect handler ran, or the answer could not be queued:
            // forget the socket and the rooms the handler joined (`remove_socket` does nothing
            // for a socket already marked disconnected).
            self.forget_member(socket);
            self.adapter.leave_all(socket.id());
            self.remove_socket(
                socket,
                DisconnectReason::Transport(CloseReason::TransportError),
            );
        }
    }

    /// Hands an event to its handler, or to the catch-all.
    pub(crate) fn dispatch(&self, socket: &Socket, event: Str, args: Args, ack_id: Option<u64>) {
        if let Some(observer) = self.core.observer() {
            observer.event_received(socket, event.as_str(), &args);
        }
        self.handlers.event(socket, event, args, ack_id);
    }

    /// Takes `socket` out of the members; a dynamic namespace left empty says so.
    fn forget_member(&self, socket: &Socket) {
        let empty = {
            let mut sockets = self.sockets.write();
            sockets.remove(&socket.id());
            sockets.is_empty()
        };
        if let (true, Some(on_empty)) = (empty, &self.on_empty) {
            on_empty(&self.path);
        }
    }

    /// Hands a failure of one of this namespace's handlers to the error pipeline.
    pub(crate) fn report(
        &self,
        socket: &Socket,
        error: Error,
        event: Option<(Str, Args)>,
        ack_id: Option<u64>,
    ) {
        self.handlers.report(socket, error, event, ack_id);
    }

    /// Takes the socket out of the namespace and its rooms, then runs the disconnect handler
    /// (only for a socket that was connected: one that leaves while its connect handler runs
    /// never connected, as in socket.io).
    pub(crate) fn remove_socket(&self, socket: &Socket, reason: DisconnectReason) {
        let Some(was_connected) = socket.mark_disconnected() else {
            return;
        };
        self.forget_member(socket);
        if let (true, Some(pid)) = (
            was_connected && recovery::is_recoverable(reason),
            socket.pid(),
        ) {
            self.adapter.persist_session(PersistedSession {
                sid: socket.id(),
                pid,
                rooms: self.adapter.rooms(socket.id()),
            });
        }
        self.adapter.leave_all(socket.id());
        forget(socket);
        tracing::debug!(namespace = %self.path, sid = %socket.id(), %reason, "socket disconnected");
        if was_connected {
            crate::metrics::socket_disconnected(&self.path);
            if let Some(observer) = self.core.observer() {
                observer.socket_disconnected(socket, reason);
            }
            self.handlers.disconnect(socket, reason);
        }
    }
}

/// Removes a socket from its connection's list (it left its namespace).
fn forget(socket: &Socket) {
    let connection: &Connection = socket.connection();
    connection.data().forget(|s| s.id() == socket.id());
}

impl LocalSockets for Namespace {
    fn send_to(&self, sid: Sid, packet: &EncodedPacket) {
        if let Some(socket) = self.sockets.read().get(&sid) {
            let _ = socket.send_packet(packet);
        }
    }

    fn send_to_each(&self, sids: &[Sid], packet: &EncodedPacket) {
        let sockets = self.sockets.read();
        for sid in sids {
            if let Some(socket) = sockets.get(sid) {
                let _ = socket.send_packet(packet);
            }
        }
    }

    fn send_all(&self, packet: &EncodedPacket, skip: &dyn Fn(Sid) -> bool) {
        for (sid, socket) in self.sockets.read().iter() {
            if !skip(*sid) {
                let _ = socket.send_packet(packet);
            }
        }
    }

    fn contains(&self, sid: Sid) -> bool {
        self.sockets.read().contains_key(&sid)
    }

    fn sids(&self) -> Vec<Sid> {
        self.sockets.read().keys().copied().collect()
    }

    fn disconnect(&self, sid: Sid) {
        if let Some(socket) = self.socket(sid) {
            socket.disconnect();
        }
    }

    fn send_with_ack(
        &self,
        sid: Sid,
        packet: &EncodedPacket,
        timeout: Duration,
    ) -> Option<AckFuture> {
        let socket = self.socket(sid)?;
        Some(socket.send_with_ack(packet, timeout))
    }

    fn describe(&self, sid: Sid) -> Option<SocketData> {
        let socket = self.socket(sid)?;
        let auth = socket
            .auth()
            .and_then(|raw| serde_json::from_str(raw.as_str()).ok());
        Some(
            SocketData::new(
                sid,
                self.path.clone(),
                self.adapter.rooms(sid),
                socket.handshake().clone(),
            )
            .address(socket.client_addr())
            .auth(auth),
        )
    }
}
