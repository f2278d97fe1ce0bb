//! [`Socket`]: one client connected to one namespace.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, MutexGuard, OnceLock};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::oneshot;

use super::connection::ConnectionState;
use super::limits::{Refused, TokenBucket};
use super::namespace::Namespace;
use super::server_core::ServerCore;
use crate::ack::AckFuture;
use crate::adapter::{PersistedSession, Target};
use crate::args::Args;
use crate::engineio::{EngineSession, Frame, Handshake, Sid, Str};
use crate::error::{EmitError, JoinError};
use crate::packet::{self, EncodedPacket};
use crate::reason::DisconnectReason;
use crate::sync::Mutex;
use crate::typemap::TypeMap;

/// One Engine.IO connection as Socket.IO sees it.
pub(crate) type Connection = EngineSession<ConnectionState<Socket>>;

/// The acknowledgements a socket waits for, by id.
type AckTable = Mutex<HashMap<u64, oneshot::Sender<Args>>>;

const CONNECTING: u8 = 0;
const CONNECTED: u8 = 1;
const DISCONNECTED: u8 = 2;

/// A client's connection to one namespace: a cheap handle (an `Arc`), usable from handlers,
/// background tasks and other sockets.
///
/// ```no_run
/// # async fn handler(socket: socketio::Socket) {
/// socket.join("lobby");
/// socket.emit("welcome", "hello");                 // emit('welcome', 'hello')
/// socket.within("lobby").emit("joined", &socket.id()); // emit(.., to='lobby')
/// # }
/// ```
#[derive(Clone)]
pub struct Socket {
    pub(crate) inner: Arc<SocketInner>,
}

pub(crate) struct SocketInner {
    id: Sid,
    /// The private id of connection state recovery, when the server has it on.
    pid: Option<Sid>,
    /// Whether the socket is a lost one given back (connection state recovery).
    recovered: bool,
    ns: Arc<Namespace>,
    connection: Arc<Connection>,
    state: AtomicU8,
    /// Packets emitted while the connect handler runs, sent right after the CONNECT answer.
    early: Mutex<Vec<Frame>>,
    acks: Arc<AckTable>,
    next_ack: AtomicU64,
    /// The event rate limit's bucket, when the server sets one.
    bucket: Option<TokenBucket>,
    /// Held while a join checks and updates the rooms, when the server limits them.
    joining: Mutex<()>,
    /// The `auth` payload of the CONNECT packet (for `fetch_sockets`), set when it arrives.
    auth: OnceLock<Option<Str>>,
}

/// Forgets one pending acknowledgement of a socket when its waiter goes away.
struct AckSlot {
    table: std::sync::Weak<AckTable>,
    id: u64,
}

impl Drop for AckSlot {
    fn drop(&mut self) {
        if let Some(table) = self.table.upgrade() {
            table.lock().remove(&self.id);
        }
    }
}

impl Socket {
    /// A new socket, with a new id (and a new private id with connection state recovery).
    pub(crate) fn new(ns: Arc<Namespace>, connection: Arc<Connection>) -> Self {
        let pid = ns.core.config.recovery.map(|_| Sid::random());
        Self::build(ns, connection, Sid::random(), pid, false, Vec::new())
    }

    /// A lost socket given back to its client (connection state recovery): its ids, with the
    /// packets it missed, sent right after the CONNECT answer. Its rooms are the caller's.
    pub(crate) fn resumed(
        ns: Arc<Namespace>,
        connection: Arc<Connection>,
        session: &PersistedSession,
        missed: Vec<EncodedPacket>,
    ) -> Self {
        let parser = ns.core.config.parser;
        let early = missed
            .iter()
            .flat_map(|packet| packet.frames_for(parser).iter().cloned())
            .collect();
        Self::build(ns, connection, session.sid, Some(session.pid), true, early)
    }

    fn build(
        ns: Arc<Namespace>,
        connection: Arc<Connection>,
        id: Sid,
        pid: Option<Sid>,
        recovered: bool,
        early: Vec<Frame>,
    ) -> Self {
        let bucket = ns.core.config.rate_limit.as_ref().map(TokenBucket::new);
        Socket {
            inner: Arc::new(SocketInner {
                id,
                pid,
                recovered,
                ns,
                connection,
                state: AtomicU8::new(CONNECTING),
                early: Mutex::new(early),
                acks: Arc::new(Mutex::new(HashMap::new())),
                next_ack: AtomicU64::new(0),
                bucket,
                joining: Mutex::new(()),
                auth: OnceLock::new(),
            }),
        }
    }

    /// The socket id (distinct per namespace, as in socket.io): Flask-SocketIO's `request.sid`.
    ///
    /// ```
    /// async fn whoami(socket: socketio::Socket) -> String {
    ///     socket.id().to_string()
    /// }
    /// ```
    pub fn id(&self) -> Sid {
        self.inner.id
    }

    /// The namespace path (`/`, `/chat`).
    ///
    /// ```
    /// async fn hello(socket: socketio::Socket) {
    ///     socket.emit("hello", &format!("you are in {}", socket.namespace()));
    /// }
    /// ```
    pub fn namespace(&self) -> &str {
        &self.inner.ns.path
    }

    /// The HTTP request that opened the underlying connection (Flask's `request`: headers,
    /// cookies, query string).
    ///
    /// ```
    /// async fn connect(socket: socketio::Socket) -> bool {
    ///     let token = socket.handshake().query("token");
    ///     token.as_deref() == Some("secret")
    /// }
    /// ```
    pub fn handshake(&self) -> &Handshake {
        self.inner.connection.handshake()
    }

    /// The same client's socket in `namespace`, if its connection joined that namespace too.
    ///
    /// ```no_run
    /// # fn f(socket: socketio::Socket) {
    /// if let Some(admin) = socket.of("/admin") {
    ///     admin.emit("notice", "you are in the chat too");
    /// }
    /// # }
    /// ```
    pub fn of(&self, namespace: &str) -> Option<Socket> {
        self.inner
            .connection
            .data()
            .find(|s| s.namespace() == namespace)
    }

    /// The client's address: the peer's, or behind a reverse proxy named with
    /// [`Builder::trusted_proxies`](crate::Builder::trusted_proxies), the one it forwarded
    /// (see [`Handshake::client_addr`]). `None` when the transport has no peer address (the
    /// in-process test client).
    ///
    /// ```
    /// async fn connect(socket: socketio::Socket) {
    ///     match socket.client_addr() {
    ///         Some(addr) => println!("{} from {addr}", socket.id()),
    ///         None => println!("{} from an unknown address", socket.id()),
    ///     }
    /// }
    /// ```
    pub fn client_addr(&self) -> Option<std::net::IpAddr> {
        self.handshake()
            .client_addr(&self.core().config.engine.trusted_proxies)
    }

    /// Keeps the `auth` payload of the CONNECT packet (once).
    pub(crate) fn set_auth(&self, auth: Option<Str>) {
        let _ = self.inner.auth.set(auth);
    }

    /// The `auth` payload of the CONNECT packet, as JSON text.
    pub(crate) fn auth(&self) -> Option<&Str> {
        self.inner.auth.get().and_then(Option::as_ref)
    }

    /// Whether the socket is still connected.
    ///
    /// ```
    /// async fn slow_job(socket: socketio::Socket) {
    ///     tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    ///     if socket.connected() {
    ///         socket.emit("done", "your job finished");
    ///     }
    /// }
    /// ```
    pub fn connected(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) != DISCONNECTED
    }

    /// Whether this socket is one the client lost and got back with connection state recovery
    /// ([`Builder::connection_state_recovery`](crate::Builder::connection_state_recovery)):
    /// same id, same rooms, and the events emitted while it was away sent again. A connect
    /// handler can skip the setup the socket already has (socket.io's `socket.recovered`).
    ///
    /// ```
    /// async fn connect(socket: socketio::Socket) {
    ///     if !socket.recovered() {
    ///         socket.join("lobby");
    ///         socket.emit("welcome", "hello");
    ///     }
    /// }
    /// ```
    pub fn recovered(&self) -> bool {
        self.inner.recovered
    }

    /// The private id of connection state recovery, when the server has it on.
    pub(crate) fn pid(&self) -> Option<Sid> {
        self.inner.pid
    }

    /// Sends `event` with `data` to this client (Flask-SocketIO's `emit`).
    ///
    /// Python's rule maps `data` to arguments: a tuple is several arguments, `()` and `None`
    /// none, anything else (a `Vec` included) one. A [`Binary`](crate::Binary) anywhere inside
    /// travels as a binary attachment.
    ///
    /// Like Flask-SocketIO's, the emit is fire-and-forget: a failure (the client is gone, the
    /// data does not serialize) is logged, not returned. [`try_emit`](Self::try_emit) returns
    /// it.
    ///
    /// ```
    /// async fn status(socket: socketio::Socket) {
    ///     socket.emit("status", &("ready", 3));         // two arguments
    /// }
    /// ```
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) {
        report_emit(self.try_emit(event, data), self.namespace(), event);
    }

    /// Sends `event` with `data` to this client, or says why it could not.
    ///
    /// With [connection state recovery](crate::Builder::connection_state_recovery), an emit to
    /// a socket that is disconnected is still kept, and sent if its client recovers the
    /// session; it returns [`EmitError::Disconnected`] all the same.
    ///
    /// ```
    /// async fn status(socket: socketio::Socket) -> Result<(), socketio::EmitError> {
    ///     socket.try_emit("status", "ready")
    /// }
    /// ```
    pub fn try_emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        let ns = &self.inner.ns;
        let packet = packet::event(&ns.path, event, data, None)?;
        crate::metrics::event_sent(&ns.path);
        if ns.core.config.recovery.is_none() {
            return self.send_owned(packet);
        }
        // With connection state recovery, through the adapter (as socket.io does), which gives
        // the packet its offset and keeps it: a client that lost its connection gets it on
        // recovery, even one that is gone right now.
        let own_room = Target {
            rooms: vec![self.id().to_string()],
            ..Target::default()
        };
        let connected = self.connected();
        ns.adapter.broadcast(&packet, &own_room, &**ns);
        if connected {
            Ok(())
        } else {
            Err(EmitError::Disconnected)
        }
    }

    /// Sends a `message` event (Flask-SocketIO's `send`); failures are logged.
    ///
    /// ```
    /// async fn hello(socket: socketio::Socket) {
    ///     socket.send("welcome");
    /// }
    /// ```
    pub fn send<T: Serialize + ?Sized>(&self, data: &T) {
        self.emit("message", data);
    }

    /// Sends a `message` event, or says why it could not.
    ///
    /// ```
    /// async fn hello(socket: socketio::Socket) {
    ///     if let Err(e) = socket.try_send("welcome") {
    ///         eprintln!("not sent: {e}");
    ///     }
    /// }
    /// ```
    pub fn try_send<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        self.try_emit("message", data)
    }

    /// Sends `event` and waits for the client's acknowledgement (Flask-SocketIO's `call`).
    ///
    /// The wait ends after the server's `ack_timeout` unless [`AckFuture::timeout`] sets another.
    ///
    /// ```no_run
    /// # async fn f(socket: socketio::Socket) -> Result<(), socketio::AckError> {
    /// use std::time::Duration;
    /// let answer: String = socket
    ///     .emit_with_ack("question", "6 x 7?")
    ///     .timeout(Duration::from_secs(5))
    ///     .await?
    ///     .deserialize()
    ///     .map_err(socketio::AckError::Decode)?;
    /// # Ok(()) }
    /// ```
    pub fn emit_with_ack<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> AckFuture {
        let timeout = self.inner.ns.core.config.ack_timeout;
        let (id, rx, slot) = self.register_ack();
        let sent = packet::event(&self.inner.ns.path, event, data, Some(id)).and_then(|packet| {
            crate::metrics::event_sent(&self.inner.ns.path);
            self.send_owned(packet)
        });
        AckFuture::new(rx, slot, timeout, sent.err())
    }

    /// A fresh acknowledgement id, the receiver of its answer, and the guard that forgets it.
    fn register_ack(&self) -> (u64, oneshot::Receiver<Args>, Box<AckSlot>) {
        let id = self.inner.next_ack.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.inner.acks.lock().insert(id, tx);
        let slot = AckSlot {
            table: Arc::downgrade(&self.inner.acks),
            id,
        };
        (id, rx, Box::new(slot))
    }

    /// Sends an EVENT that was encoded without an acknowledgement id (by another process, see
    /// [`crate::queue`]) with a fresh id of this socket, and waits for the answer.
    pub(crate) fn send_with_ack(&self, packet: &EncodedPacket, timeout: Duration) -> AckFuture {
        let (id, rx, slot) = self.register_ack();
        let sent = match packet::with_ack_id(packet, id) {
            Some(packet) => self.send_owned(packet),
            None => Err(EmitError::Serialize(serde::de::Error::custom(
                "not an EVENT packet without acknowledgement id",
            ))),
        };
        AckFuture::new(rx, slot, timeout, sent.err())
    }

    /// Adds the socket to `room` (Flask-SocketIO's `join_room`). When the server limits the
    /// rooms of a socket
    /// ([`Builder::max_rooms_per_socket`](crate::Builder::max_rooms_per_socket)) and it is in
    /// that many already, the socket stays out of `room` and a warning is logged;
    /// [`try_join`](Self::try_join) returns the refusal instead.
    ///
    /// ```
    /// use socketio::{Data, Socket};
    ///
    /// async fn join(socket: Socket, Data(room): Data<String>) {
    ///     socket.join(&room);
    ///     socket.within(&room).send(&format!("{} has entered the room.", socket.id()));
    /// }
    /// ```
    pub fn join(&self, room: impl AsRef<str>) {
        let _ = self.try_join(room);
    }

    /// Adds the socket to `room`, or refuses when the server limits the rooms of a socket
    /// ([`Builder::max_rooms_per_socket`](crate::Builder::max_rooms_per_socket)) and it is in
    /// that many already (its own room does not count; joining a room it is in always
    /// succeeds). A refusal is logged at warn level.
    ///
    /// ```
    /// use socketio::{Data, Socket};
    ///
    /// async fn join(socket: Socket, Data(room): Data<String>) -> String {
    ///     match socket.try_join(&room) {
    ///         Ok(()) => format!("joined {room}"),
    ///         Err(e) => e.to_string(),                  // too many rooms
    ///     }
    /// }
    /// ```
    pub fn try_join(&self, room: impl AsRef<str>) -> Result<(), JoinError> {
        let room = room.as_ref();
        let adapter = &self.inner.ns.adapter;
        let Some(max) = self.core().config.max_rooms_per_socket else {
            adapter.join(self.id(), room);
            return Ok(());
        };
        let _joining = self.inner.joining.lock();
        let rooms = adapter.rooms(self.id());
        if !rooms.iter().any(|r| r == room) {
            let own = self.id();
            let count = rooms.iter().filter(|r| *r != own.as_str()).count();
            if count >= max {
                crate::metrics::refused("max_rooms_per_socket");
                tracing::warn!(
                    limit = "max_rooms_per_socket",
                    value = max,
                    namespace = %self.namespace(),
                    sid = %own,
                    client = ?self.client_addr(),
                    room,
                    "join refused: too many rooms"
                );
                return Err(JoinError::TooManyRooms { limit: max });
            }
        }
        adapter.join(self.id(), room);
        Ok(())
    }

    /// Removes the socket from `room` (Flask-SocketIO's `leave_room`).
    ///
    /// ```
    /// use socketio::{Data, Socket};
    ///
    /// async fn leave(socket: Socket, Data(room): Data<String>) {
    ///     socket.leave(&room);
    ///     socket.within(&room).send(&format!("{} has left the room.", socket.id()));
    /// }
    /// ```
    pub fn leave(&self, room: impl AsRef<str>) {
        self.inner.ns.adapter.leave(self.id(), room.as_ref());
    }

    /// The rooms the socket is in, its own room (its id) first (Flask-SocketIO's `rooms()`).
    ///
    /// ```
    /// async fn my_rooms(socket: socketio::Socket) -> Vec<String> {
    ///     socket.rooms()                                // e.g. [sid, "lobby"]
    /// }
    /// ```
    pub fn rooms(&self) -> Vec<String> {
        self.inner.ns.adapter.rooms(self.id())
    }

    /// Disconnects the socket from its namespace (Flask-SocketIO's `disconnect()`); the client
    /// sees `io server disconnect`.
    ///
    /// ```
    /// async fn logout(socket: socketio::Socket) {
    ///     socket.emit("bye", "logged out");
    ///     socket.disconnect();
    /// }
    /// ```
    pub fn disconnect(&self) {
        if self.connected() {
            let packet = packet::disconnect(&self.inner.ns.path);
            let _ = self.send_packet(&packet);
            self.inner
                .ns
                .remove_socket(self, DisconnectReason::ServerDisconnect);
        }
    }

    /// Queues an encoded packet for this client, holding it back until the CONNECT answer went
    /// out while the connect handler runs.
    pub(crate) fn send_packet(&self, packet: &EncodedPacket) -> Result<(), EmitError> {
        match self.inner.state.load(Ordering::Acquire) {
            CONNECTED if packet.is_volatile() && !self.inner.connection.is_drained() => {
                tracing::trace!(sid = %self.id(), "volatile packet dropped: the client is not ready for it");
                Ok(())
            }
            CONNECTED => {
                self.observe_sent(packet);
                self.send_frames(packet.frames_for(self.core().config.parser))
            }
            DISCONNECTED => Err(EmitError::Disconnected),
            _ => {
                let mut early = self.inner.early.lock();
                if self.inner.state.load(Ordering::Acquire) == CONNECTING {
                    early.extend(packet.frames_for(self.core().config.parser).iter().cloned());
                    drop(early);
                    self.observe_sent(packet);
                    return Ok(());
                }
                drop(early);
                self.send_packet(packet)
            }
        }
    }

    /// [`send_packet`](Self::send_packet) for a packet that only this socket gets (an ack, an
    /// emit to it): on the usual path its frames move into the connection's queue rather than
    /// being shared, which spares the first share its bookkeeping allocation.
    pub(crate) fn send_owned(&self, packet: EncodedPacket) -> Result<(), EmitError> {
        let moves = self.inner.state.load(Ordering::Acquire) == CONNECTED
            && !packet.is_volatile()
            && self.core().config.parser == crate::protocol::Parser::Json
            && self.core().observer().is_none();
        if !moves {
            return self.send_packet(&packet);
        }
        for frame in packet.into_frames() {
            self.inner.connection.send(frame)?;
        }
        Ok(())
    }

    /// Tells the server's observer, if it has one, that `packet` goes to this socket.
    #[inline]
    fn observe_sent(&self, packet: &EncodedPacket) {
        if let Some(observer) = self.core().observer() {
            observer.packet_sent(self, packet);
        }
    }

    pub(crate) fn send_frames(&self, frames: &[Frame]) -> Result<(), EmitError> {
        for frame in frames {
            self.inner.connection.send(frame.clone())?;
        }
        Ok(())
    }

    /// Whether the namespace accepted the socket's CONNECT (and it has not left since): `false`
    /// while its connect handler still runs.
    pub(crate) fn is_accepted(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) == CONNECTED
    }

    /// Marks the socket connected and flushes what the connect handler emitted. `answer` (the
    /// CONNECT packet) goes first. Fails, sending nothing, when the socket was disconnected
    /// while its connect handler ran (the client left or the connection closed): a
    /// disconnected socket never comes back.
    pub(crate) fn mark_connected(&self, answer: &EncodedPacket) -> Result<(), EmitError> {
        let mut early = self.inner.early.lock();
        if self.inner.state.load(Ordering::Acquire) != CONNECTING {
            return Err(EmitError::Disconnected);
        }
        self.send_frames(answer.frames_for(self.core().config.parser))?;
        // Queued under the lock: a packet sent meanwhile waits for it, then finds the socket
        // connected and goes after them (connection state recovery replays missed packets
        // here while the live ones keep coming).
        let frames = std::mem::take(&mut *early);
        self.send_frames(&frames)?;
        self.inner
            .state
            .compare_exchange(CONNECTING, CONNECTED, Ordering::AcqRel, Ordering::Acquire)
            .map_err(|_| EmitError::Disconnected)
            .map(|_| ())
    }

    /// Marks the socket gone: `None` when it already was, else whether it had been accepted
    /// (connected, not just connecting). Pending acknowledgements fail.
    pub(crate) fn mark_disconnected(&self) -> Option<bool> {
        let previous = self.inner.state.swap(DISCONNECTED, Ordering::AcqRel);
        self.inner.early.lock().clear();
        self.inner.acks.lock().clear();
        (previous != DISCONNECTED).then_some(previous == CONNECTED)
    }

    /// How many acknowledgements this socket still waits for: it returns to 0 once every
    /// [`emit_with_ack`](Self::emit_with_ack) was answered, timed out or dropped (a diagnostic,
    /// for tests and metrics).
    ///
    /// ```
    /// # async fn f(socket: socketio::Socket) {
    /// let _ = socket.emit_with_ack("question", "6 x 7?").await;
    /// assert_eq!(socket.pending_acks(), 0);            // answered, timed out or failed
    /// # }
    /// ```
    pub fn pending_acks(&self) -> usize {
        self.inner.acks.lock().len()
    }

    /// Delivers a client's acknowledgement to whoever waits for it; unknown ids are ignored.
    pub(crate) fn resolve_ack(&self, id: u64, args: Args) {
        if let Some(tx) = self.inner.acks.lock().remove(&id) {
            crate::metrics::ack_received();
            let _ = tx.send(args);
        }
    }

    /// Takes a token of the event rate limit for one event: `Ok` when it may be dispatched
    /// (always, without a limit).
    pub(crate) fn take_event_token(&self) -> Result<(), Refused> {
        match (&self.inner.bucket, &self.core().config.rate_limit) {
            (Some(bucket), Some(limit)) => bucket.take(limit),
            _ => Ok(()),
        }
    }

    /// The [`Session`](crate::Session) values of the socket's connection, by type.
    pub(crate) fn values(&self) -> MutexGuard<'_, TypeMap> {
        self.inner.connection.data().values()
    }

    /// The namespace the socket belongs to.
    pub(crate) fn ns(&self) -> &Arc<Namespace> {
        &self.inner.ns
    }

    /// What the socket's server shares with all its namespaces.
    pub(crate) fn core(&self) -> &ServerCore {
        &self.inner.ns.core
    }

    /// The connection the socket lives on.
    pub(crate) fn connection(&self) -> &Arc<Connection> {
        &self.inner.connection
    }
}

/// Logs the failure of a fire-and-forget emit: at debug level when the recipient is simply
/// gone (routine), as a warning otherwise (a bug to fix: the data does not serialize, the
/// namespace does not exist, the name is reserved).
pub(crate) fn report_emit(result: Result<(), EmitError>, namespace: &str, event: &str) {
    match result {
        Ok(()) => {}
        Err(EmitError::Disconnected) => {
            tracing::debug!(namespace, event, "emit dropped: the socket is disconnected");
        }
        Err(error) => tracing::warn!(namespace, event, %error, "emit failed"),
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id())
            .field("namespace", &self.namespace())
            .field("connected", &self.connected())
            .finish()
    }
}
