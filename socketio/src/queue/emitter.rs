//! [`Emitter`]: emits into a cluster of servers from a process that serves nothing.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;

use super::backend::CONNECT_TIMEOUT;
use super::bus::Bus;
use super::foreign::python::{self, SocketOp};
use super::foreign::{Accept, PublishFormat};
use super::members::Timing;
use super::wire::{self, Header, Op};
use super::{QueueError, QueueStats, DEFAULT_CHANNEL};
use crate::adapter::Target;
use crate::packet;

/// A write-only handle on the servers of a message queue, for processes that serve no clients:
/// workers, cron jobs, other services (Flask-SocketIO's `SocketIO(message_queue=...)` without an
/// app). It publishes what a server's broadcast would; every server applies it to its sockets.
///
/// Each call resolves once the broker took the message, or fails (broker unreachable, publish
/// queue full: see [the delivery rules](crate::queue#delivery-rules)). Await it before the
/// process exits. Clones share one connection; dropping the last one closes it.
///
/// ```no_run
/// # async fn run() -> Result<(), socketio::queue::QueueError> {
/// use socketio::Emitter;
///
/// let emitter = Emitter::connect("redis://127.0.0.1:6379/").await?;
/// emitter.emit("news", "to everyone on /").await?;
/// emitter.to("room1").emit("news", &("several", "arguments")).await?;
/// emitter.of("/chat").except("muted").emit("news", "to /chat").await?;
/// emitter.close_room("room1").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Emitter {
    bus: Arc<Bus>,
    format: PublishFormat,
    ns: String,
    target: Target,
}

/// Options of an [`Emitter`]: the channel and the format, then [`connect`](Self::connect).
#[derive(Debug, Clone)]
#[must_use = "call `connect()` to get the emitter"]
pub struct EmitterBuilder {
    url: String,
    channel: String,
    format: PublishFormat,
}

impl EmitterBuilder {
    /// The channel (Redis channel, AMQP exchange) the servers use (default `flask-socketio`, as
    /// [`Builder::channel`](crate::Builder::channel) and Flask-SocketIO's `channel`).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socketio::queue::QueueError> {
    /// let emitter = socketio::Emitter::builder("redis://127.0.0.1:6379/")
    ///     .channel("chat-app")                          // the servers' Builder::channel
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// The format to publish in (default [`PublishFormat::Native`]). With
    /// [`PublishFormat::PythonSocketio`], python-socketio and Flask-SocketIO servers on the same
    /// channel deliver the emits too (Flask-SocketIO's channel is `flask-socketio`, this
    /// builder's default; python-socketio's managers default to `socketio`), and socketio-rs
    /// servers still do. That format names sockets, not rooms, for
    /// [`disconnect`](Emitter::disconnect), [`join`](Emitter::join) and
    /// [`leave`](Emitter::leave) (select socket ids with [`to`](Emitter::to)), and
    /// python-socketio servers read [`except`](Emitter::except) as socket ids only.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socketio::queue::QueueError> {
    /// use socketio::queue::PublishFormat;
    ///
    /// let emitter = socketio::Emitter::builder("redis://127.0.0.1:6379/")
    ///     .format(PublishFormat::PythonSocketio)
    ///     .connect()
    ///     .await?;
    /// emitter.to("news").emit("headline", "to Python and Rust servers").await?;
    /// # Ok(()) }
    /// ```
    pub fn format(mut self, format: PublishFormat) -> Self {
        self.format = format;
        self
    }

    /// Connects, waiting at most about 5 s for the broker, and fails if it does not answer:
    /// a wrong host or password is reported here. After that the emitter reconnects by itself.
    ///
    /// ```no_run
    /// # async fn run() {
    /// let url = "amqp://guest:guest@127.0.0.1:5672/";
    /// match socketio::Emitter::builder(url).connect().await {
    ///     Ok(emitter) => emitter.emit("news", "worker started").await.unwrap(),
    ///     Err(e) => eprintln!("broker unreachable: {e}"),
    /// }
    /// # }
    /// ```
    pub async fn connect(self) -> Result<Emitter, QueueError> {
        let backend = super::open(&self.url, &self.channel, None)?;
        let bus = Bus::start(backend, false, Accept::default(), Timing::default())?;
        if !bus.wait_connected(CONNECT_TIMEOUT).await {
            let why = bus
                .stats()
                .last_error
                .unwrap_or_else(|| "the broker did not answer in time".into());
            return Err(QueueError::Unavailable(why));
        }
        Ok(Emitter {
            bus,
            format: self.format,
            ns: "/".to_owned(),
            target: Target::default(),
        })
    }
}

impl Emitter {
    /// Connects to the message queue at `url` on the default channel (`flask-socketio`); see
    /// [`EmitterBuilder::connect`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socketio::queue::QueueError> {
    /// let emitter = socketio::Emitter::connect("redis://127.0.0.1:6379/").await?;
    /// emitter.emit("news", "from a worker").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Emitter, QueueError> {
        Self::builder(url).connect().await
    }

    /// Options before connecting (the channel).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socketio::queue::QueueError> {
    /// let emitter = socketio::Emitter::builder("rediss://:password@redis.example.com/")
    ///     .channel("chat-app")
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(url: impl Into<String>) -> EmitterBuilder {
        EmitterBuilder {
            url: url.into(),
            channel: DEFAULT_CHANNEL.to_owned(),
            format: PublishFormat::Native,
        }
    }

    /// The same emitter on `namespace`, with no room selected.
    ///
    /// ```
    /// # async fn f(emitter: socketio::Emitter) -> Result<(), socketio::queue::QueueError> {
    /// emitter.of("/chat").emit("news", "to every socket of /chat").await?;
    /// # Ok(()) }
    /// ```
    pub fn of(&self, namespace: impl Into<String>) -> Emitter {
        Emitter {
            bus: self.bus.clone(),
            format: self.format,
            ns: namespace.into(),
            target: Target::default(),
        }
    }

    /// Adds `room` (or a socket id) to the recipients; several `to` make a union.
    ///
    /// ```
    /// # async fn f(emitter: socketio::Emitter) -> Result<(), socketio::queue::QueueError> {
    /// emitter.to("room1").to("room2").emit("news", "to both rooms").await?;
    /// # Ok(()) }
    /// ```
    pub fn to(&self, room: impl Into<String>) -> Emitter {
        let mut next = self.clone();
        next.target.rooms.push(room.into());
        next
    }

    /// Leaves out the members of `room`.
    ///
    /// ```
    /// # async fn f(emitter: socketio::Emitter) -> Result<(), socketio::queue::QueueError> {
    /// emitter.except("muted").emit("news", "to everyone not muted").await?;
    /// # Ok(()) }
    /// ```
    pub fn except(&self, room: impl Into<String>) -> Emitter {
        let mut next = self.clone();
        next.target.except.push(room.into());
        next
    }

    fn header(&self, op: Op) -> Header {
        Header::new(self.bus.uid(), op).target(&self.ns, &self.target)
    }

    /// Publishes the messages in order, each once the broker took the one before.
    fn send_payloads(
        &self,
        payloads: Result<Vec<Bytes>, QueueError>,
    ) -> impl Future<Output = Result<(), QueueError>> + Send + 'static {
        let bus = self.bus.clone();
        async move {
            for payload in payloads? {
                bus.publish_confirmed(payload).await?;
            }
            Ok(())
        }
    }

    /// Who publishes, in python-socketio's format: this emitter, which publishes nothing else.
    fn python_sender(&self) -> python::Sender<'_> {
        python::Sender {
            uid: self.bus.uid(),
            copy: false,
        }
    }

    /// In python-socketio's format, one message per selected socket id of an operation on
    /// sockets.
    fn python_socket_ops(
        &self,
        op: SocketOp,
        room: Option<&str>,
    ) -> Result<Vec<Bytes>, QueueError> {
        let rooms: Vec<String> = room.into_iter().map(str::to_owned).collect();
        python::encode_socket_ops(self.python_sender(), op, &self.ns, &self.target, &rooms)
            .map_err(QueueError::Unsupported)
    }

    /// Sends `event` with `data` to the selected sockets of every server (arguments as in
    /// [`Socket::emit`](crate::Socket::emit), binary included).
    ///
    /// ```
    /// # async fn f(emitter: socketio::Emitter) -> Result<(), socketio::queue::QueueError> {
    /// emitter.emit("scores", &("home", 2, "away", 1)).await?;   // four arguments
    /// # Ok(()) }
    /// ```
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> impl Future<Output = Result<(), QueueError>> + Send + 'static {
        let payload = packet::event(&self.ns, event, data, None)
            .map_err(QueueError::from)
            .and_then(|packet| match self.format {
                PublishFormat::Native => {
                    Ok(wire::encode_packet(self.header(Op::Broadcast), &packet))
                }
                PublishFormat::PythonSocketio => {
                    python::encode_emit(self.python_sender(), &self.ns, &self.target, &packet)
                        .map_err(|e| QueueError::Unsupported(e.0))
                }
            });
        self.send_payloads(payload.map(|payload| vec![payload]))
    }

    /// Sends a `message` event (Flask-SocketIO's `send`).
    ///
    /// ```
    /// # async fn f(emitter: socketio::Emitter) -> Result<(), socketio::queue::QueueError> {
    /// emitter.to("lobby").send("maintenance at noon").await?;
    /// # Ok(()) }
    /// ```
    pub fn send<T: Serialize + ?Sized>(
        &self,
        data: &T,
    ) -> impl Future<Output = Result<(), QueueError>> + Send + 'static {
        self.emit("message", data)
    }

    /// Removes every socket from `room` in this emitter's namespace, on every server
    /// (Flask-SocketIO's `close_room`).
    ///
    /// ```
    /// # async fn f(emitter: socketio::Emitter) -> Result<(), socketio::queue::QueueError> {
    /// emitter.of("/chat").close_room("lobby").await?;
    /// # Ok(()) }
    /// ```
    pub fn close_room(
        &self,
        room: &str,
    ) -> impl Future<Output = Result<(), QueueError>> + Send + 'static {
        if self.format == PublishFormat::PythonSocketio {
            return self.send_payloads(Ok(vec![python::encode_close_room(
                self.python_sender(),
                &self.ns,
                room,
            )]));
        }
        let mut header = Header::new(self.bus.uid(), Op::CloseRoom);
        header.ns = self.ns.clone();
        header.names = vec![room.to_owned()];
        self.send_payloads(Ok(vec![wire::encode(header, &[])]))
    }

    /// Disconnects the selected sockets (`emitter.to(sid).disconnect()` for one).
    ///
    /// ```
    /// # use socketio::{queue::QueueError, Emitter, Sid};
    /// # async fn f(emitter: Emitter, sid: Sid) -> Result<(), QueueError> {
    /// emitter.to(sid.as_str()).disconnect().await?;
    /// # Ok(()) }
    /// ```
    pub fn disconnect(&self) -> impl Future<Output = Result<(), QueueError>> + Send + 'static {
        if self.format == PublishFormat::PythonSocketio {
            return self.send_payloads(self.python_socket_ops(SocketOp::Disconnect, None));
        }
        self.send_payloads(Ok(vec![wire::encode(self.header(Op::Disconnect), &[])]))
    }

    /// Makes the selected sockets join `room`.
    ///
    /// ```
    /// # async fn f(emitter: socketio::Emitter) -> Result<(), socketio::queue::QueueError> {
    /// emitter.to("lobby").join("announcements").await?;     // every lobby member joins
    /// # Ok(()) }
    /// ```
    pub fn join(
        &self,
        room: &str,
    ) -> impl Future<Output = Result<(), QueueError>> + Send + 'static {
        if self.format == PublishFormat::PythonSocketio {
            return self.send_payloads(self.python_socket_ops(SocketOp::EnterRoom, Some(room)));
        }
        let mut header = self.header(Op::Join);
        header.names = vec![room.to_owned()];
        self.send_payloads(Ok(vec![wire::encode(header, &[])]))
    }

    /// Makes the selected sockets leave `room`.
    ///
    /// ```
    /// # async fn f(emitter: socketio::Emitter) -> Result<(), socketio::queue::QueueError> {
    /// emitter.to("lobby").leave("announcements").await?;
    /// # Ok(()) }
    /// ```
    pub fn leave(
        &self,
        room: &str,
    ) -> impl Future<Output = Result<(), QueueError>> + Send + 'static {
        if self.format == PublishFormat::PythonSocketio {
            return self.send_payloads(self.python_socket_ops(SocketOp::LeaveRoom, Some(room)));
        }
        let mut header = self.header(Op::Leave);
        header.names = vec![room.to_owned()];
        self.send_payloads(Ok(vec![wire::encode(header, &[])]))
    }

    /// The connection's health and counters.
    ///
    /// ```
    /// # fn f(emitter: socketio::Emitter) {
    /// let stats = emitter.stats();
    /// println!("connected: {}, published: {}", stats.connected, stats.published);
    /// # }
    /// ```
    pub fn stats(&self) -> QueueStats {
        self.bus.stats()
    }
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("bus", &self.bus)
            .field("format", &self.format)
            .field("namespace", &self.ns)
            .field("target", &self.target)
            .finish()
    }
}
