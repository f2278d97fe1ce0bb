//! The server: [`SocketIo`], its [`Builder`], and running it.

mod builder;
pub(crate) mod class;
mod extract;
mod server_event;

pub use builder::{BuildError, Builder, ClassNamespace};

use std::future::Future;
use std::time::Duration;

use axum::Router;
use serde::Serialize;
use tokio::net::{TcpListener, ToSocketAddrs};

use crate::adapter::Replies;
use crate::args::Args;
use crate::dispatch::{BroadcastOperator, Dispatcher, RemoteSocket, ServerCore, Socket};
use crate::engineio::{CloseReason, Engine, Sid};
use crate::error::EmitError;
use crate::packet;
use crate::queue::QueueStats;

/// A Socket.IO server: a cheap handle (clone it into background tasks and HTTP routes).
///
/// ```no_run
/// use socketio::{Data, Socket, SocketIo};
///
/// async fn echo(socket: Socket, Data(text): Data<String>) {
///     let _ = socket.emit("echo", &text);
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let io = SocketIo::builder().on("/", "echo", echo).build()?;
/// io.serve("127.0.0.1:5000").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SocketIo {
    engine: Engine<Dispatcher>,
}

impl SocketIo {
    /// Starts configuring a server (Flask-SocketIO's `SocketIO(app, ...)` constructor and its
    /// options).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let io = socketio::SocketIo::builder()
    ///     .ping_interval(Duration::from_secs(10))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_engine(engine: Engine<Dispatcher>) -> Self {
        let _ = engine.handler().core.engine.set(engine.downgrade_opaque());
        SocketIo { engine }
    }

    /// The server a socket belongs to (`None` once the server is gone).
    pub(crate) fn of_socket(socket: &Socket) -> Option<SocketIo> {
        Self::of_core(socket.core())
    }

    /// A handle on this server that does not keep it alive.
    #[cfg(feature = "admin-ui")]
    pub(crate) fn downgrade(&self) -> WeakSocketIo {
        WeakSocketIo(self.engine.downgrade_opaque())
    }

    /// The server of `core` (`None` once the server is gone).
    pub(crate) fn of_core(core: &ServerCore) -> Option<SocketIo> {
        let handle = core.engine.get()?;
        let engine = Engine::upgrade_opaque(handle)?;
        Some(SocketIo { engine })
    }

    fn client(&self) -> &Dispatcher {
        self.engine.handler()
    }

    /// The Engine.IO layer underneath.
    pub(crate) fn engine(&self) -> &Engine<Dispatcher> {
        &self.engine
    }

    /// How many Engine.IO connections are open (each holds one socket per namespace it joined).
    ///
    /// ```
    /// use socketio::{testing::TestClient, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().build().unwrap();
    /// let _client = TestClient::connect(&io).await.unwrap();
    /// assert_eq!(io.connection_count(), 1);
    /// # }
    /// ```
    pub fn connection_count(&self) -> usize {
        self.engine.session_count()
    }

    /// Whether the Engine.IO connection `sid` (the connection's id, not a socket's) is open.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo, sid: socketio::Sid) {
    /// if !io.connection_open(sid) {
    ///     println!("connection {sid} is gone");
    /// }
    /// # }
    /// ```
    pub fn connection_open(&self, sid: Sid) -> bool {
        self.engine.session(sid).is_some()
    }

    /// Broadcasts in `namespace` (Flask-SocketIO's `namespace=` argument). An unknown namespace
    /// makes every emit fail with [`EmitError::UnknownNamespace`].
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// io.of("/admin").emit("stats", &42);
    /// io.of("/chat").to("lobby").send("hello, lobby");
    /// # }
    /// ```
    pub fn of(&self, namespace: &str) -> BroadcastOperator {
        match self.client().namespaces.get(namespace) {
            Some(ns) => BroadcastOperator::new(ns, Default::default()),
            None => BroadcastOperator::unknown(namespace),
        }
    }

    /// Sends `event` to every socket of the default namespace `/` (Flask-SocketIO's
    /// `socketio.emit`, whose namespace is also `/` unless given: use [`of`](Self::of) for
    /// another). A failure is logged; [`try_emit`](Self::try_emit) returns it.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// io.emit("status", &("ready", 3));
    /// # }
    /// ```
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) {
        self.of("/").emit(event, data);
    }

    /// Sends `event` to every socket of `/`, or says why it could not.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// if let Err(e) = io.try_emit("status", "ready") {
    ///     eprintln!("status not sent: {e}");
    /// }
    /// # }
    /// ```
    pub fn try_emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.of("/").try_emit(event, data)
    }

    /// Sends a `message` event to every socket of `/` (Flask-SocketIO's `socketio.send`); a
    /// failure is logged.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// io.send("server restarting in 5 minutes");
    /// # }
    /// ```
    pub fn send<T: Serialize + ?Sized>(&self, data: &T) {
        self.of("/").send(data);
    }

    /// Sends a `message` event to every socket of `/`, or says why it could not.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) -> Result<(), socketio::EmitError> {
    /// io.try_send("server restarting in 5 minutes")?;
    /// # Ok(()) }
    /// ```
    pub fn try_send<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        self.of("/").try_send(data)
    }

    /// A broadcast to `room` in `/` (Flask-SocketIO's `socketio.emit(.., to=room)`).
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// io.to("lobby").emit("news", "hello, lobby");
    /// # }
    /// ```
    pub fn to(&self, room: impl Into<String>) -> BroadcastOperator {
        self.of("/").to(room)
    }

    /// A broadcast to every socket of `/` outside `room`.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// io.except("muted").emit("news", "hello, almost everyone");
    /// # }
    /// ```
    pub fn except(&self, room: impl Into<String>) -> BroadcastOperator {
        self.of("/").except(room)
    }

    /// Removes every socket from `room` in `namespace` (on every process, with a message queue):
    /// Flask-SocketIO's `close_room`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let io = socketio::SocketIo::builder().build().unwrap();
    /// # let client = socketio::testing::TestClient::connect(&io).await.unwrap();
    /// let socket = client.socket().unwrap();
    /// socket.join("lobby");
    /// io.close_room("/", "lobby");
    /// assert!(!socket.rooms().contains(&"lobby".to_owned()));
    /// # }
    /// ```
    pub fn close_room(&self, namespace: &str, room: &str) {
        if let Some(ns) = self.client().namespaces.get(namespace) {
            ns.adapter.close_room(room);
        }
    }

    /// The socket with id `sid`, in any namespace.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo, sid: socketio::Sid) {
    /// if let Some(socket) = io.socket(sid) {
    ///     socket.emit("private", "only for you");
    /// }
    /// # }
    /// ```
    pub fn socket(&self, sid: Sid) -> Option<Socket> {
        self.client()
            .namespaces
            .all()
            .iter()
            .find_map(|ns| ns.socket(sid))
    }

    /// The rooms of the socket `sid` (empty if it is not connected): Flask-SocketIO's
    /// `rooms(sid)`.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo, sid: socketio::Sid) {
    /// for room in io.rooms(sid) {
    ///     println!("{sid} is in {room}");
    /// }
    /// # }
    /// ```
    pub fn rooms(&self, sid: Sid) -> Vec<String> {
        self.socket(sid).map(|s| s.rooms()).unwrap_or_default()
    }

    /// The namespaces alive now, sorted: the declared ones, and the dynamic ones that have
    /// sockets.
    ///
    /// ```
    /// let io = socketio::SocketIo::builder().namespace("/chat").build().unwrap();
    /// assert_eq!(io.namespaces(), ["/", "/chat"]);
    /// ```
    pub fn namespaces(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .client()
            .namespaces
            .all()
            .iter()
            .map(|ns| ns.path.clone())
            .collect();
        names.sort_unstable();
        names
    }

    /// What `namespace` handles, sorted: its event names, plus `connect`, `disconnect`, `*`
    /// (catch-all) and `error` for the handlers it has.
    ///
    /// ```
    /// async fn ping() -> &'static str {
    ///     "pong"
    /// }
    ///
    /// let io = socketio::SocketIo::builder().on("/", "ping", ping).build().unwrap();
    /// assert_eq!(io.handled_events("/"), ["ping"]);
    /// ```
    pub fn handled_events(&self, namespace: &str) -> Vec<String> {
        self.client()
            .namespaces
            .get(namespace)
            .map(|ns| ns.handled_events())
            .unwrap_or_default()
    }

    /// The sockets connected to `namespace`.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// for socket in io.sockets("/chat") {
    ///     println!("{} is in {:?}", socket.id(), socket.rooms());
    /// }
    /// # }
    /// ```
    pub fn sockets(&self, namespace: &str) -> Vec<Socket> {
        self.client()
            .namespaces
            .get(namespace)
            .map(|ns| ns.sockets())
            .unwrap_or_default()
    }

    /// Describes every socket of `/` in the cluster (socket.io's `io.fetchSockets()`): see
    /// [`BroadcastOperator::fetch_sockets`], which `io.of(ns).to(room)` narrows.
    ///
    /// ```no_run
    /// # async fn f(io: socketio::SocketIo) -> Result<(), socketio::EmitError> {
    /// let everyone = io.fetch_sockets().await?;
    /// println!("{} sockets on / in the whole cluster", everyone.len());
    /// # Ok(()) }
    /// ```
    pub fn fetch_sockets(
        &self,
    ) -> impl Future<Output = Result<Replies<RemoteSocket>, EmitError>> + Send + 'static {
        self.of("/").fetch_sockets()
    }

    /// Sends `event` with `data` to the other servers of the cluster (socket.io's
    /// `serverSideEmit`), not to clients: each runs its handler registered with
    /// [`Builder::on_server_event`]. Without a message queue there are no other servers and
    /// nothing is sent. Fails when the data does not serialize or the message queue cannot
    /// take the message.
    ///
    /// ```no_run
    /// # fn f(io: socketio::SocketIo) -> Result<(), socketio::EmitError> {
    /// io.server_side_emit("reload-config", "v42")?;
    /// # Ok(()) }
    /// ```
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        let packet = packet::event("/", event, data, None)?;
        match &self.client().core.queue {
            Some(bus) => bus
                .server_emit(&packet)
                .map_err(|e| EmitError::MessageQueue(e.to_string())),
            None => Ok(()),
        }
    }

    /// Sends `event` to the other servers' handlers and gathers their acknowledgements (the
    /// handlers' return values), each with the answering server's uid, for at most `timeout`
    /// (socket.io's `serverSideEmitWithAck`). The servers expected to answer are those that
    /// sent a heartbeat within the heartbeat timeout; a server without a handler for `event`
    /// answers without an acknowledgement. Without a message queue, nothing is expected.
    ///
    /// ```no_run
    /// # async fn f(io: socketio::SocketIo) -> Result<(), socketio::EmitError> {
    /// use std::time::Duration;
    /// let counts = io.server_side_emit_with_ack("count", &(), Duration::from_secs(5)).await?;
    /// let total: usize = counts.iter().filter_map(|(_, n)| n.first::<usize>()?.ok()).sum();
    /// println!("{total} clients on {} other servers", counts.len());
    /// # Ok(()) }
    /// ```
    pub fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
        timeout: Duration,
    ) -> impl Future<Output = Result<Replies<(String, Args)>, EmitError>> + Send + 'static {
        let started = packet::event("/", event, data, None).map(|packet| {
            self.client()
                .core
                .queue
                .as_ref()
                .map(|bus| bus.server_emit_with_ack(&packet, timeout))
        });
        async move {
            match started? {
                Some(gathering) => Ok(gathering.await),
                None => Ok(Replies::complete_with(Vec::new())),
            }
        }
    }

    /// Disconnects the socket `sid` from its namespace (Flask-SocketIO's `disconnect(sid)`); with
    /// a message queue, also when it is connected to another process.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo, sid: socketio::Sid) {
    /// io.disconnect(sid);
    /// # }
    /// ```
    pub fn disconnect(&self, sid: Sid) {
        if let Some(socket) = self.socket(sid) {
            socket.disconnect();
            return;
        }
        for ns in self.client().namespaces.all() {
            BroadcastOperator::new(ns, Default::default())
                .to(sid)
                .disconnect();
        }
    }

    /// A router answering on the server's path, to merge into an axum application:
    /// `app.merge(io.router())`.
    ///
    /// ```
    /// use axum::routing::get;
    ///
    /// # fn f(io: socketio::SocketIo) {
    /// let app: axum::Router = axum::Router::new()
    ///     .route("/", get(|| async { "hello" }))
    ///     .merge(io.router());
    /// # }
    /// ```
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        self.engine.router()
    }

    /// Binds `addr` and serves until Ctrl-C or SIGTERM (what containers and systemd send),
    /// then closes every connection (Flask-SocketIO's `socketio.run(app)`).
    ///
    /// ```no_run
    /// #[tokio::main]
    /// async fn main() -> std::io::Result<()> {
    ///     let io = socketio::SocketIo::builder().build()?;
    ///     io.serve("0.0.0.0:5000").await
    /// }
    /// ```
    pub async fn serve(self, addr: impl ToSocketAddrs) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        tracing::info!(addr = %listener.local_addr()?, "socket.io server listening");
        self.serve_with(listener, Router::new(), shutdown_signal())
            .await
    }

    /// Serves `app` with the server merged in, on `listener`, until `shutdown` resolves; then
    /// closes every connection with the reason "server shutting down".
    ///
    /// The layers already on `app` do not wrap the Socket.IO routes merged here; to wrap them
    /// too (an allow-list, a rate limit, tracing), merge [`router`](Self::router) into your
    /// app first, add the layers, and serve it with [`serve_app`](Self::serve_app).
    ///
    /// ```no_run
    /// # async fn run(io: socketio::SocketIo) -> std::io::Result<()> {
    /// let app = axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }));
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
    /// io.serve_with(listener, app, socketio::shutdown_signal()).await
    /// # }
    /// ```
    pub async fn serve_with(
        self,
        listener: TcpListener,
        app: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = app.merge(self.router());
        // No layer of `app` wraps the routes merged here: the engine's requests skip axum.
        self.serve_routes(listener, app, shutdown, true).await
    }

    /// Serves `app`, which already holds the Socket.IO routes (`app.merge(io.router())`), on
    /// `listener` until `shutdown` resolves; then closes every connection with the reason
    /// "server shutting down". Layers added to `app` after the merge wrap the Socket.IO
    /// requests too (socket.io's `allowRequest`):
    ///
    /// ```no_run
    /// use axum::{extract::Request, http::StatusCode, middleware::{self, Next}, response::Response};
    ///
    /// async fn only_our_site(request: Request, next: Next) -> Result<Response, StatusCode> {
    ///     match request.headers().get("origin") {
    ///         Some(origin) if origin == "https://example.com" => Ok(next.run(request).await),
    ///         _ => Err(StatusCode::FORBIDDEN),
    ///     }
    /// }
    ///
    /// # async fn run(io: socketio::SocketIo) -> std::io::Result<()> {
    /// let app = axum::Router::new()
    ///     .merge(io.router())
    ///     .layer(middleware::from_fn(only_our_site));
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
    /// io.serve_app(listener, app, socketio::shutdown_signal()).await
    /// # }
    /// ```
    pub async fn serve_app(
        self,
        listener: TcpListener,
        app: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.serve_routes(listener, app, shutdown, false).await
    }

    /// [`serve_app`](Self::serve_app); `unwrapped` when no layer of `app` wraps the engine's
    /// routes, so that its requests may skip axum's routing.
    async fn serve_routes(
        self,
        listener: TcpListener,
        app: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
        unwrapped: bool,
    ) -> std::io::Result<()> {
        let core = self.client().core.clone();
        let served =
            crate::engineio::serve_routes(self.engine, app, listener, shutdown, unwrapped).await;
        if let Some(bus) = &core.queue {
            bus.leave();
        }
        served
    }

    /// The health and counters of the message queue, `None` without one.
    ///
    /// ```
    /// # fn f(io: socketio::SocketIo) {
    /// if let Some(stats) = io.queue_stats() {
    ///     println!("broker connected: {}, published: {}", stats.connected, stats.published);
    /// }
    /// # }
    /// ```
    pub fn queue_stats(&self) -> Option<QueueStats> {
        self.client().core.queue.as_ref().map(|bus| bus.stats())
    }

    /// Whether this server has a message queue and its broker connection is up.
    #[cfg(feature = "admin-ui")]
    pub(crate) fn queue_connected(&self) -> bool {
        self.client()
            .core
            .queue
            .as_ref()
            .is_some_and(|bus| bus.is_connected())
    }

    /// Closes every connection with the reason "server shutting down". With a message queue,
    /// the server also says goodbye to the cluster: the other servers stop counting it at once
    /// (it no longer answers cluster-wide requests' counts).
    ///
    /// ```
    /// # async fn f(io: socketio::SocketIo, maintenance: tokio::sync::Notify) {
    /// maintenance.notified().await;                     // e.g. an admin route asked for it
    /// io.shutdown();
    /// # }
    /// ```
    pub fn shutdown(&self) {
        if let Some(bus) = &self.client().core.queue {
            bus.leave();
        }
        self.engine.close_all(CloseReason::ServerShutdown);
    }
}

/// A handle on a server that does not keep it alive ([`SocketIo::downgrade`]): for parts of
/// the server that must reach it without owning it.
#[cfg(feature = "admin-ui")]
#[derive(Debug, Clone)]
pub(crate) struct WeakSocketIo(std::sync::Weak<dyn std::any::Any + Send + Sync>);

#[cfg(feature = "admin-ui")]
impl WeakSocketIo {
    /// The server, unless it is gone.
    pub(crate) fn upgrade(&self) -> Option<SocketIo> {
        let engine = Engine::upgrade_opaque(&self.0)?;
        Some(SocketIo { engine })
    }
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM: what [`SocketIo::serve`] waits for, to
/// give [`SocketIo::serve_with`] and [`SocketIo::serve_app`], or to stop your own tasks.
///
/// ```no_run
/// # async fn run(io: socketio::SocketIo) {
/// tokio::spawn(async move {
///     socketio::shutdown_signal().await;
///     io.emit("notice", "the server is going down");
/// });
/// # }
/// ```
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("Ctrl-C: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo")
            .field("namespaces", &self.namespaces())
            .finish_non_exhaustive()
    }
}
