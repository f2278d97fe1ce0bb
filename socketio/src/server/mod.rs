//! The server: [`SocketIo`], its [`Builder`], and running it.

mod builder;
mod config;
mod queue;
mod state;

pub use builder::{BuildError, Builder};
pub(crate) use config::Config;
pub(crate) use state::StateMap;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use serde::Serialize;
use tokio::net::{TcpListener, ToSocketAddrs};

use crate::client::Client;
use crate::engineio::{CloseReason, Engine};
use crate::error::EmitError;
use crate::operator::BroadcastOperator;
use crate::protocol::Limits;
use crate::{Sid, Socket};

/// What every namespace shares: options, limits and application state.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) limits: Limits,
    pub(crate) state: StateMap,
    /// The server itself, for the [`SocketIo`] extractor; weak, so the server owns its parts and
    /// not the other way round.
    pub(crate) server: std::sync::OnceLock<std::sync::Weak<crate::engineio::EngineInner<Client>>>,
}

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
    engine: Engine<Client>,
}

impl SocketIo {
    /// Starts configuring a server.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_engine(engine: Engine<Client>) -> Self {
        let _ = engine.handler().shared.server.set(engine.downgrade());
        let io = SocketIo { engine };
        io.attach_adapters(); // server/queue.rs
        io
    }

    /// The server a socket belongs to (`None` once the server is gone).
    pub(crate) fn of_socket(socket: &Socket) -> Option<SocketIo> {
        let inner = socket.inner.ns.shared.server.get()?.upgrade()?;
        Some(SocketIo {
            engine: Engine::from_inner(inner),
        })
    }

    fn client(&self) -> &Client {
        self.engine.handler()
    }

    /// The Engine.IO layer underneath.
    pub fn engine(&self) -> &Engine<Client> {
        &self.engine
    }

    /// Broadcasts in `namespace`. An unknown namespace makes every emit fail with
    /// [`EmitError::UnknownNamespace`].
    pub fn of(&self, namespace: &str) -> BroadcastOperator {
        match self.client().namespaces.get(namespace) {
            Some(ns) => BroadcastOperator::new(ns.clone(), Default::default()),
            None => BroadcastOperator::unknown(namespace),
        }
    }

    /// Sends `event` to every socket of the default namespace `/`.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.of("/").emit(event, data)
    }

    /// Sends a `message` event to every socket of `/`.
    pub fn send<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        self.of("/").send(data)
    }

    /// A broadcast to `room` in `/`.
    pub fn to(&self, room: impl Into<String>) -> BroadcastOperator {
        self.of("/").to(room)
    }

    /// A broadcast to every socket of `/` outside `room`.
    pub fn except(&self, room: impl Into<String>) -> BroadcastOperator {
        self.of("/").except(room)
    }

    /// Removes every socket from `room` in `namespace` (on every process, with a message queue).
    pub fn close_room(&self, namespace: &str, room: &str) {
        if let Some(ns) = self.client().namespaces.get(namespace) {
            ns.adapter.close_room(room);
        }
    }

    /// The socket with id `sid`, in any namespace.
    pub fn socket(&self, sid: Sid) -> Option<Socket> {
        self.client()
            .namespaces
            .values()
            .find_map(|ns| ns.socket(sid))
    }

    /// The rooms of the socket `sid` (empty if it is not connected).
    pub fn rooms(&self, sid: Sid) -> Vec<String> {
        self.socket(sid).map(|s| s.rooms()).unwrap_or_default()
    }

    /// The namespaces this server accepts, sorted.
    pub fn namespaces(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .client()
            .namespaces
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names
    }

    /// What `namespace` handles, sorted: its event names, plus `connect`, `disconnect`, `*`
    /// (catch-all) and `error` for the handlers it has.
    pub fn handled_events(&self, namespace: &str) -> Vec<String> {
        self.client()
            .namespaces
            .get(namespace)
            .map(|ns| ns.handled_events())
            .unwrap_or_default()
    }

    /// The sockets connected to `namespace`.
    pub fn sockets(&self, namespace: &str) -> Vec<Socket> {
        self.client()
            .namespaces
            .get(namespace)
            .map(|ns| ns.sockets())
            .unwrap_or_default()
    }

    /// Disconnects the socket `sid` from its namespace; with a message queue, also when it is
    /// connected to another process.
    pub fn disconnect(&self, sid: Sid) {
        if let Some(socket) = self.socket(sid) {
            socket.disconnect();
            return;
        }
        for ns in self.client().namespaces.keys() {
            self.of(ns).to(sid.as_str()).disconnect();
        }
    }

    /// A router answering on the server's path, to merge into an axum application:
    /// `app.merge(io.router())`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        self.engine.router()
    }

    /// Binds `addr` and serves until Ctrl-C, then closes every connection.
    pub async fn serve(self, addr: impl ToSocketAddrs) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        tracing::info!(addr = %listener.local_addr()?, "socket.io server listening");
        self.serve_with(listener, Router::new(), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    }

    /// Serves `app` with the server merged in, on `listener`, until `shutdown` resolves; then
    /// closes every connection with the reason "server shutting down".
    pub async fn serve_with(
        self,
        listener: TcpListener,
        app: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = app.merge(self.router());
        crate::engineio::serve(self.engine, app, listener, shutdown).await
    }

    /// Closes every connection with the reason "server shutting down".
    pub fn shutdown(&self) {
        self.engine.close_all(CloseReason::ServerShutdown);
    }
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo")
            .field(
                "namespaces",
                &self.client().namespaces.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

pub(crate) fn shared(config: Config, limits: Limits, state: StateMap) -> Arc<Shared> {
    Arc::new(Shared {
        config,
        limits,
        state,
        server: std::sync::OnceLock::new(),
    })
}
