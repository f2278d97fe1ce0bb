//! [`BroadcastOperator`]: emits to many sockets at once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::namespace::Namespace;
use super::remote::RemoteSocket;
use super::socket::{report_emit, Socket};
use crate::ack::AckFuture;
use crate::adapter::{Replies, Target};
use crate::args::Args;
use crate::engineio::Sid;
use crate::error::EmitError;
use crate::packet;

/// A broadcast under construction: pick rooms with [`to`](Self::to), leave some out with
/// [`except`](Self::except), then [`emit`](Self::emit). The packet is encoded once and every
/// recipient's queue shares its bytes.
///
/// With a [message queue](crate::Builder::message_queue), [`emit`](Self::emit),
/// [`join`](Self::join), [`leave`](Self::leave), [`disconnect`](Self::disconnect),
/// [`emit_with_ack`](Self::emit_with_ack), [`emit_with_acks`](Self::emit_with_acks) and
/// [`fetch_sockets`](Self::fetch_sockets) reach the sockets of every process: this process's
/// sockets first, then a publication for the others. [`sockets`](Self::sockets) only lists the
/// sockets of this process.
///
/// ```no_run
/// # fn f(io: socketio::SocketIo) {
/// io.to("room1").to("room2").except("muted").emit("news", "hello");
/// # }
/// ```
#[derive(Clone)]
#[must_use = "a broadcast does nothing until `emit` is called"]
pub struct BroadcastOperator {
    ns: Result<Arc<Namespace>, String>,
    target: Target,
    timeout: Option<Duration>,
    volatile: bool,
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<Namespace>, target: Target) -> Self {
        BroadcastOperator {
            ns: Ok(ns),
            target,
            timeout: None,
            volatile: false,
        }
    }

    pub(crate) fn unknown(namespace: &str) -> Self {
        BroadcastOperator {
            ns: Err(namespace.to_owned()),
            target: Target::default(),
            timeout: None,
            volatile: false,
        }
    }

    /// Adds `room` to the recipients (several `to` calls make a union).
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// io.of("/chat").to("lobby").to("games").emit("news", "to both rooms");
    /// # }
    /// ```
    pub fn to(mut self, room: impl Into<String>) -> Self {
        self.target.rooms.push(room.into());
        self
    }

    /// Leaves out the members of `room`.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// io.of("/chat").to("lobby").except("muted").emit("news", "to the lobby, not the muted");
    /// # }
    /// ```
    pub fn except(mut self, room: impl Into<String>) -> Self {
        self.target.except.push(room.into());
        self
    }

    /// Makes the emits of this broadcast volatile (socket.io's `volatile`): a recipient that is
    /// not ready to write it at once — its transport has not sent everything queued before (a
    /// slow network, a reader that stopped, a polling client between two requests) — skips
    /// it, instead of queueing it behind the others. For data that is stale as soon as newer
    /// data exists (positions, progress, presence): a slow client gets fewer updates instead of
    /// a growing backlog, and never reaches `max_queued_packets` because of them. Only
    /// [`emit`](Self::emit) and [`send`](Self::send) are volatile; with a message queue, the
    /// sockets of other processes get the packet as a normal one.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// io.of("/game").volatile().emit("position", &(10, 20));
    /// # }
    /// ```
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    fn namespace(&self) -> Result<&Arc<Namespace>, EmitError> {
        self.ns
            .as_ref()
            .map_err(|ns| EmitError::UnknownNamespace(ns.clone()))
    }

    /// Sends `event` with `data` to every selected socket (arguments as for
    /// [`Socket::emit`]); a failure is logged, as for [`Socket::emit`].
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// io.of("/chat").to("lobby").emit("chat", &("server", "hello"));
    /// # }
    /// ```
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) {
        let namespace = self
            .ns
            .as_ref()
            .map_or_else(|ns| ns.as_str(), |ns| ns.path.as_str());
        report_emit(self.try_emit(event, data), namespace, event);
    }

    /// Sends `event` with `data` to every selected socket, or says why it could not.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) -> Result<(), socketio::EmitError> {
    /// io.of("/chat").to("lobby").try_emit("chat", &("server", "hello"))?;
    /// # Ok(()) }
    /// ```
    pub fn try_emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        let ns = self.namespace()?;
        let packet = packet::event(&ns.path, event, data, None)?.with_volatile(self.volatile);
        crate::metrics::event_sent(&ns.path);
        ns.adapter.broadcast(&packet, &self.target, &**ns);
        Ok(())
    }

    /// Sends a `message` event to every selected socket; a failure is logged.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// io.of("/chat").to("lobby").send("hello, lobby");
    /// # }
    /// ```
    pub fn send<T: Serialize + ?Sized>(&self, data: &T) {
        self.emit("message", data);
    }

    /// Sends a `message` event to every selected socket, or says why it could not.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) -> Result<(), socketio::EmitError> {
    /// io.of("/chat").to("lobby").try_send("hello, lobby")?;
    /// # Ok(()) }
    /// ```
    pub fn try_send<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        self.try_emit("message", data)
    }

    /// The selected sockets connected to this process.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// let here = io.of("/chat").to("lobby").sockets();
    /// println!("{} sockets of the lobby are on this process", here.len());
    /// # }
    /// ```
    pub fn sockets(&self) -> Vec<Socket> {
        let Ok(ns) = self.namespace() else {
            return Vec::new();
        };
        ns.select(&self.target)
    }

    /// Describes every selected socket of the cluster (socket.io's `fetchSockets`): this
    /// process's, and with a message queue those the other servers report within the timeout
    /// ([`timeout`](Self::timeout), by default the cluster's requests timeout, 5 s; see
    /// [`Builder::queue_heartbeat`](crate::Builder::queue_heartbeat)). Each
    /// [`RemoteSocket`] carries its id, rooms and handshake, and emits, joins, leaves or
    /// disconnects wherever it is connected.
    ///
    /// The servers expected to answer are those that sent a heartbeat within the heartbeat
    /// timeout; the answers of servers that did not answer in time are missing, which
    /// [`Replies::is_complete`] tells. An unknown namespace fails with
    /// [`EmitError::UnknownNamespace`].
    ///
    /// ```no_run
    /// # async fn f(io: socketio::SocketIo) -> Result<(), socketio::EmitError> {
    /// let sockets = io.of("/chat").to("lobby").fetch_sockets().await?;
    /// for socket in &sockets {
    ///     println!("{} in {:?}, query {:?}", socket.id(), socket.rooms(), socket.handshake().uri.query());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn fetch_sockets(
        &self,
    ) -> impl Future<Output = Result<Replies<RemoteSocket>, EmitError>> + Send + 'static {
        let started = self.namespace().cloned().map(|ns| {
            let gathered = ns.adapter.fetch_sockets(&self.target, self.timeout, &*ns);
            (ns, gathered)
        });
        async move {
            let (ns, gathered) = started?;
            Ok(gathered
                .await
                .map(|data| RemoteSocket::new(data, ns.clone())))
        }
    }

    /// Disconnects every selected socket (on every process, with a message queue).
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// io.of("/chat").to("banned").disconnect();
    /// # }
    /// ```
    pub fn disconnect(&self) {
        if let Ok(ns) = self.namespace() {
            ns.adapter.disconnect_sockets(&self.target, &**ns);
        }
    }

    /// Makes every selected socket join `room` (socket.io's `socketsJoin`), on every process
    /// with a message queue: `io.to(sid).join("vip")` works for a socket connected elsewhere.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// io.of("/chat").to("lobby").join("announcements"); // every lobby member joins
    /// # }
    /// ```
    pub fn join(&self, room: impl Into<String>) {
        if let Ok(ns) = self.namespace() {
            ns.adapter.add_sockets(&self.target, &[room.into()], &**ns);
        }
    }

    /// Makes every selected socket leave `room` (socket.io's `socketsLeave`), on every process
    /// with a message queue.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// io.of("/chat").to("lobby").leave("announcements");
    /// # }
    /// ```
    pub fn leave(&self, room: impl Into<String>) {
        if let Ok(ns) = self.namespace() {
            ns.adapter.del_sockets(&self.target, &[room.into()], &**ns);
        }
    }

    /// How long [`emit_with_ack`](Self::emit_with_ack) and
    /// [`emit_with_acks`](Self::emit_with_acks) wait (default: the server's `ack_timeout`),
    /// and [`fetch_sockets`](Self::fetch_sockets) (default: the cluster's requests timeout).
    /// Also sent to the processes that hold the sockets, which wait as long.
    ///
    /// ```no_run
    /// # async fn f(io: socketio::SocketIo, sid: socketio::Sid) -> Result<(), socketio::AckError> {
    /// let answer = io
    ///     .to(sid.as_str())
    ///     .timeout(std::time::Duration::from_secs(2))
    ///     .emit_with_ack("ping", &())
    ///     .await?;
    /// # let _ = answer; Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends `event` to one socket, addressed by its id with `to(sid)`, and waits for its
    /// acknowledgement, wherever that socket is connected: with a message queue, the request
    /// goes to the process holding the socket and the answer comes back to this one.
    ///
    /// This collects the answer of one socket: a target that is not exactly one socket id (a
    /// room, several `to`, an `except`) fails with [`EmitError::AckNeedsOneSocket`]; use
    /// [`emit_with_acks`](Self::emit_with_acks) for every answer of a room. A socket that is
    /// connected nowhere makes the wait end
    /// with [`AckError::Timeout`](crate::AckError::Timeout) (or
    /// [`AckError::Disconnected`](crate::AckError::Disconnected) without a message queue).
    ///
    /// ```no_run
    /// # async fn f(io: socketio::SocketIo, sid: socketio::Sid) -> Result<(), socketio::AckError> {
    /// use std::time::Duration;
    /// let answer = io
    ///     .to(sid.as_str())
    ///     .timeout(Duration::from_secs(2))
    ///     .emit_with_ack("question", "6 x 7?")
    ///     .await?;
    /// # let _ = answer; Ok(()) }
    /// ```
    pub fn emit_with_ack<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> AckFuture {
        let ns = match self.namespace() {
            Ok(ns) => ns,
            Err(e) => return AckFuture::failed(e),
        };
        let sid = match (&self.target.rooms[..], self.target.except.is_empty()) {
            ([room], true) => room.parse::<Sid>().ok(),
            _ => None,
        };
        let Some(sid) = sid.filter(|sid| Some(*sid) != self.target.exclude) else {
            return AckFuture::failed(EmitError::AckNeedsOneSocket);
        };
        let timeout = self.timeout.unwrap_or(ns.core.config.ack_timeout);
        if let Some(socket) = ns.socket(sid) {
            return socket.emit_with_ack(event, data).timeout(timeout);
        }
        let packet = match packet::event(&ns.path, event, data, None) {
            Ok(packet) => packet,
            Err(e) => return AckFuture::failed(e),
        };
        ns.adapter
            .emit_with_ack(sid, &packet, timeout, &**ns)
            .unwrap_or_else(|| AckFuture::failed(EmitError::Disconnected))
    }

    /// Sends `event` to every selected socket, each with an acknowledgement id of its own, and
    /// gathers the answers that arrive within the timeout (socket.io's
    /// `io.to(room).timeout(ms).emit(event, data, (err, responses) => ..)`), each with the id
    /// of the socket that answered. With a message queue, the sockets of every process are
    /// asked: each server reports how many sockets it asked, then forwards their answers.
    ///
    /// The wait lasts at most [`timeout`](Self::timeout) (default: the server's
    /// `ack_timeout`) and ends early once every socket answered. Sockets that did not answer,
    /// and servers that did not report (dead, partitioned), are counted in
    /// [`Replies::missing_acks`] and [`Replies::missing_servers`].
    ///
    /// ```no_run
    /// # async fn f(io: socketio::SocketIo) -> Result<(), socketio::EmitError> {
    /// use std::time::Duration;
    /// let votes = io
    ///     .of("/poll")
    ///     .to("voters")
    ///     .timeout(Duration::from_secs(10))
    ///     .emit_with_acks("vote?", "lunch at noon")
    ///     .await?;
    /// let yes = votes.iter().filter(|(_, answer)| answer.first::<bool>().and_then(Result::ok) == Some(true)).count();
    /// println!("{yes} yes; {} did not answer", votes.missing_acks());
    /// # Ok(()) }
    /// ```
    pub fn emit_with_acks<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> impl Future<Output = Result<Replies<(Sid, Args)>, EmitError>> + Send + 'static {
        let started = self.namespace().cloned().and_then(|ns| {
            let packet = packet::event(&ns.path, event, data, None)?;
            crate::metrics::event_sent(&ns.path);
            let timeout = self.timeout.unwrap_or(ns.core.config.ack_timeout);
            Ok(ns
                .adapter
                .broadcast_with_ack(&packet, &self.target, timeout, &*ns))
        });
        async move { Ok(started?.await) }
    }
}

/// Broadcasts from a socket, in its namespace. Two families, side by side:
///
/// | Flask-SocketIO | sender included | sender left out (socket.io's `socket.to`) |
/// |---|---|---|
/// | `emit(.., to=room)` | [`within(room)`](Socket::within) | [`to(room)`](Socket::to) |
/// | `emit(.., broadcast=True)` | [`everyone()`](Socket::everyone) | [`broadcast()`](Socket::broadcast) |
impl Socket {
    /// A broadcast to the members of `room` in this socket's namespace, this socket included
    /// if it is a member (Flask-SocketIO's `emit(.., to=room)`).
    ///
    /// ```
    /// async fn news(socket: socketio::Socket) {
    ///     socket.within("lobby").emit("news", "to the lobby, me included");
    /// }
    /// ```
    pub fn within(&self, room: impl Into<String>) -> BroadcastOperator {
        self.everyone().to(room)
    }

    /// A broadcast to every socket of this socket's namespace, this one included
    /// (Flask-SocketIO's `emit(.., broadcast=True)`).
    ///
    /// ```
    /// async fn news(socket: socketio::Socket) {
    ///     socket.everyone().emit("news", "to the whole namespace, me included");
    /// }
    /// ```
    pub fn everyone(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.ns().clone(), Target::default())
    }

    /// A broadcast to `room`, leaving this socket out (Flask-SocketIO's
    /// `emit(.., to=room, include_self=False)`, socket.io's `socket.to(room)`).
    ///
    /// ```
    /// async fn news(socket: socketio::Socket) {
    ///     socket.to("lobby").emit("news", "to the lobby, not me");
    /// }
    /// ```
    pub fn to(&self, room: impl Into<String>) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// A broadcast to every socket of the namespace except this one and the members of `room`.
    ///
    /// ```
    /// async fn news(socket: socketio::Socket) {
    ///     socket.except("muted").emit("news", "to everyone else who is not muted");
    /// }
    /// ```
    pub fn except(&self, room: impl Into<String>) -> BroadcastOperator {
        self.broadcast().except(room)
    }

    /// This socket alone, for a volatile emit: skipped if the client is not ready for it (see
    /// [`BroadcastOperator::volatile`]; socket.io's `socket.volatile.emit(..)`).
    ///
    /// ```
    /// async fn tick(socket: socketio::Socket) {
    ///     socket.volatile().emit("progress", &42);
    /// }
    /// ```
    pub fn volatile(&self) -> BroadcastOperator {
        self.everyone().to(self.id().to_string()).volatile()
    }

    /// A broadcast to every socket of the namespace except this one (Flask-SocketIO's
    /// `emit(.., broadcast=True, include_self=False)`, socket.io's `socket.broadcast`).
    ///
    /// ```
    /// async fn news(socket: socketio::Socket) {
    ///     socket.broadcast().emit("news", "to everyone but me");
    /// }
    /// ```
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(
            self.ns().clone(),
            Target {
                exclude: Some(self.id()),
                ..Target::default()
            },
        )
    }
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}
