//! [`Builder`]: options and handlers, fixed when the server is built.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{shared, Config, SocketIo, StateMap};
use crate::adapter::{Adapter, LocalAdapter};
use crate::client::Client;
use crate::engineio::{AllowedOrigins, Cookie, Engine};
use crate::handler::{
    erase_connect, erase_disconnect, erase_message, ConnectHandler, DisconnectHandler,
    MessageHandler,
};
use crate::namespace::{Handlers, Namespace};
use crate::protocol::{Limits, RESERVED_EVENTS};

type AdapterFactory = Arc<dyn Fn(&str) -> Arc<dyn Adapter> + Send + Sync>;

/// Configures a [`SocketIo`] server: options (Flask-SocketIO's names and defaults) and handlers.
///
/// ```
/// use std::time::Duration;
/// use socketio::{Data, Socket, SocketIo};
///
/// async fn chat(socket: Socket, Data(text): Data<String>) {
///     let _ = socket.broadcast().emit("chat", &text);
/// }
///
/// let io = SocketIo::builder()
///     .ping_interval(Duration::from_secs(10))
///     .on("/", "chat", chat)
///     .build()
///     .expect("a valid configuration");
/// ```
#[must_use = "call `build()` to get the server"]
pub struct Builder {
    config: Config,
    limits: Limits,
    state: StateMap,
    namespaces: BTreeMap<String, Handlers>,
    adapter: AdapterFactory,
    errors: Vec<String>,
}

/// The builder was given handlers or options that cannot work together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(Vec<String>);

impl BuildError {
    /// Each problem found.
    pub fn problems(&self) -> &[String] {
        &self.0
    }
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid socket.io server configuration:")?;
        for problem in &self.0 {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BuildError {}

impl From<BuildError> for std::io::Error {
    fn from(e: BuildError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    }
}

macro_rules! engine_options {
    ($( $(#[$doc:meta])* $name:ident: $ty:ty ),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.config.engine = self.config.engine.$name(value);
            self
        }
    )*};
}

impl Builder {
    pub(crate) fn new() -> Self {
        let mut namespaces = BTreeMap::new();
        namespaces.insert("/".to_owned(), Handlers::default());
        Builder {
            config: Config::default(),
            limits: Limits::default(),
            state: StateMap::default(),
            namespaces,
            adapter: Arc::new(|_| Arc::new(LocalAdapter::new())),
            errors: Vec::new(),
        }
    }

    engine_options! {
        /// How often the server pings each client (default 25 s).
        ping_interval: Duration,
        /// How long a client has to answer a ping (default 20 s).
        ping_timeout: Duration,
        /// Largest message or polling body in bytes (default 1,000,000).
        max_http_buffer_size: usize,
        /// Time allowed for the polling → WebSocket upgrade (default 10 s).
        upgrade_timeout: Duration,
        /// Whether clients may upgrade from polling to WebSocket (default true).
        allow_upgrades: bool,
        /// Accepted browser origins (default: same origin only).
        cors_allowed_origins: AllowedOrigins,
        /// Session cookie for sticky load balancers (default none).
        cookie: Option<Cookie>,
        /// Packets queued per client before it counts as too slow and is disconnected (1024).
        max_queued_packets: usize,
        /// Packets per polling response (default 16).
        max_packets_per_poll: usize,
    }

    /// Which transports are enabled (default both).
    pub fn transports(mut self, polling: bool, websocket: bool) -> Self {
        if !polling && !websocket {
            self.errors
                .push("at least one transport must be enabled".into());
        }
        self.config.engine = self.config.engine.transports(polling, websocket);
        self
    }

    /// The HTTP path (default `/socket.io/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.config.engine = self.config.engine.path(path);
        self
    }

    /// A connection that joins no namespace within this is closed (default 45 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Default wait for a client's acknowledgement in `emit_with_ack` (default 5 s).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.config.ack_timeout = timeout;
        self
    }

    /// Accept connections before the connect handler runs, and disconnect on refusal (default
    /// false, as Flask-SocketIO).
    pub fn always_connect(mut self, always: bool) -> Self {
        self.config.always_connect = always;
        self
    }

    /// Binary attachments allowed in one packet (default 10).
    pub fn max_attachments(mut self, max: usize) -> Self {
        self.limits.max_attachments = max;
        self
    }

    /// Application state for the [`State<T>`](crate::State) extractor (one value per type).
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// The adapter of each namespace (default: [`LocalAdapter`], rooms in memory).
    pub fn adapter<F>(mut self, factory: F) -> Self
    where
        F: Fn(&str) -> Arc<dyn Adapter> + Send + Sync + 'static,
    {
        self.adapter = Arc::new(factory);
        self
    }

    /// Declares a namespace that has no handlers (clients may still connect to it).
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.handlers(namespace);
        self
    }

    fn handlers(&mut self, namespace: &str) -> Option<&mut Handlers> {
        if !namespace.starts_with('/') || namespace.contains(',') {
            self.errors.push(format!(
                "namespace {namespace:?} must start with '/' and contain no ','"
            ));
            return None;
        }
        Some(self.namespaces.entry(namespace.to_owned()).or_default())
    }

    /// Registers the handler of `event` in `namespace`.
    pub fn on<H: MessageHandler<T>, T>(mut self, namespace: &str, event: &str, handler: H) -> Self {
        if event == "connect" || event == "disconnect" {
            self.errors.push(format!(
                "{event:?} is a lifecycle event: register it with `on_{event}`"
            ));
            return self;
        }
        if RESERVED_EVENTS.contains(&event) {
            self.errors.push(format!(
                "{event:?} is reserved by Socket.IO and can never arrive"
            ));
            return self;
        }
        let Some(handlers) = self.handlers(namespace) else {
            return self;
        };
        if handlers
            .events
            .insert(event.into(), erase_message(handler))
            .is_some()
        {
            self.errors.push(format!(
                "two handlers for event {event:?} in namespace {namespace:?}"
            ));
        }
        self
    }

    /// Registers the catch-all handler of `namespace`: it receives every event that has no
    /// handler of its own (read the name with the [`Event`](crate::Event) extractor).
    pub fn on_any<H: MessageHandler<T>, T>(mut self, namespace: &str, handler: H) -> Self {
        if let Some(handlers) = self.handlers(namespace) {
            if handlers.catch_all.replace(erase_message(handler)).is_some() {
                self.errors
                    .push(format!("two catch-all handlers in namespace {namespace:?}"));
            }
        }
        self
    }

    /// Registers the connect handler of `namespace`; returning `Err` refuses the connection.
    pub fn on_connect<H: ConnectHandler<T>, T>(mut self, namespace: &str, handler: H) -> Self {
        if let Some(handlers) = self.handlers(namespace) {
            if handlers.connect.replace(erase_connect(handler)).is_some() {
                self.errors
                    .push(format!("two connect handlers in namespace {namespace:?}"));
            }
        }
        self
    }

    /// Registers the disconnect handler of `namespace`.
    pub fn on_disconnect<H: DisconnectHandler<T>, T>(
        mut self,
        namespace: &str,
        handler: H,
    ) -> Self {
        if let Some(handlers) = self.handlers(namespace) {
            if handlers
                .disconnect
                .replace(erase_disconnect(handler))
                .is_some()
            {
                self.errors.push(format!(
                    "two disconnect handlers in namespace {namespace:?}"
                ));
            }
        }
        self
    }

    /// Builds the server, or lists every problem found.
    pub fn build(self) -> Result<SocketIo, BuildError> {
        if !self.errors.is_empty() {
            return Err(BuildError(self.errors));
        }
        let shared = shared(self.config, self.limits, self.state);
        let namespaces = self
            .namespaces
            .into_iter()
            .map(|(path, handlers)| {
                tracing::debug!(
                    namespace = %path,
                    events = handlers.events.len(),
                    connect = handlers.connect.is_some(),
                    disconnect = handlers.disconnect.is_some(),
                    catch_all = handlers.catch_all.is_some(),
                    "namespace ready"
                );
                let adapter = (self.adapter)(&path);
                let ns = Namespace::new(path.clone(), handlers, adapter, shared.clone());
                (path, Arc::new(ns))
            })
            .collect();
        let engine_config = shared.config.engine.clone();
        let client = Client { namespaces, shared };
        Ok(SocketIo::from_engine(Engine::new(engine_config, client)))
    }
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("config", &self.config)
            .field("namespaces", &self.namespaces.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
