//! [`Builder`]: options and handlers, fixed when the server is built.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::{shared, Config, SocketIo, StateMap};
use crate::adapter::{Adapter, LocalAdapter};
use crate::client::Client;
use crate::engineio::{AllowedOrigins, Cookie, Engine};
use crate::handler::{
    erase_connect, erase_disconnect, erase_error, erase_message, ConnectHandler, DisconnectHandler,
    ErasedErrorHandler, ErrorHandler, MessageHandler,
};
use crate::namespace::{Handlers, Namespace};
use crate::protocol::{Limits, RESERVED_EVENTS};
use crate::registry::{self, Call};

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
    /// Message queue (`message_queue`, `channel`): see server/queue.rs.
    pub(super) queue: super::queue::QueueOptions,
    errors: Vec<String>,
    /// Where each slot's handler came from, to name both sides of a duplicate.
    origins: HashMap<(String, String), String>,
    default_error: Option<ErasedErrorHandler>,
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
            queue: Default::default(),
            errors: Vec::new(),
            origins: HashMap::new(),
            default_error: None,
        }
        .collect_registry()
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

    /// Installs a handler in its slot, refusing a second one for the same slot with both
    /// locations.
    fn install(
        &mut self,
        namespace: &str,
        slot: Slot,
        origin: String,
        install: impl FnOnce(&mut Handlers, Option<&mut Option<ErasedErrorHandler>>),
    ) {
        let key = (namespace.to_owned(), slot.key());
        if let Some(first) = self.origins.get(&key) {
            self.errors.push(format!(
                "two {} in namespace {namespace:?}: {first} and {origin}",
                slot.describe()
            ));
            return;
        }
        if slot == Slot::ErrorDefault {
            self.origins.insert(key, origin);
            install(&mut Handlers::default(), Some(&mut self.default_error));
            return;
        }
        if let Some(handlers) = self.handlers(namespace) {
            install(handlers, None);
            self.origins.insert(key, origin);
        }
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
        let handler = erase_message(handler);
        self.install(
            namespace,
            Slot::Event(event.to_owned()),
            BUILDER.into(),
            |h, _| {
                h.events.insert(event.into(), handler);
            },
        );
        self
    }

    /// Registers the catch-all handler of `namespace`: it receives every event that has no
    /// handler of its own (read the name with the [`Event`](crate::Event) extractor).
    pub fn on_any<H: MessageHandler<T>, T>(mut self, namespace: &str, handler: H) -> Self {
        let handler = erase_message(handler);
        self.install(namespace, Slot::CatchAll, BUILDER.into(), |h, _| {
            h.catch_all = Some(handler);
        });
        self
    }

    /// Registers the connect handler of `namespace`; returning `Err` refuses the connection.
    pub fn on_connect<H: ConnectHandler<T>, T>(mut self, namespace: &str, handler: H) -> Self {
        let handler = erase_connect(handler);
        self.install(namespace, Slot::Connect, BUILDER.into(), |h, _| {
            h.connect = Some(handler);
        });
        self
    }

    /// Registers the disconnect handler of `namespace`.
    pub fn on_disconnect<H: DisconnectHandler<T>, T>(
        mut self,
        namespace: &str,
        handler: H,
    ) -> Self {
        let handler = erase_disconnect(handler);
        self.install(namespace, Slot::Disconnect, BUILDER.into(), |h, _| {
            h.disconnect = Some(handler);
        });
        self
    }

    /// Registers the error handler of `namespace`: every failure there (extractor rejection,
    /// handler `Err`, panic, refused connection) reaches it, and its return value answers the
    /// client's pending acknowledgement.
    pub fn on_error<H: ErrorHandler<T>, T>(mut self, namespace: &str, handler: H) -> Self {
        let handler = erase_error(handler);
        self.install(namespace, Slot::Error, BUILDER.into(), |h, _| {
            h.error = Some(handler);
        });
        self
    }

    /// Registers the error handler of every namespace without one of its own.
    pub fn on_error_default<H: ErrorHandler<T>, T>(mut self, handler: H) -> Self {
        let handler = erase_error(handler);
        self.install("*", Slot::ErrorDefault, BUILDER.into(), |_, default| {
            if let Some(default) = default {
                *default = Some(handler);
            }
        });
        self
    }

    /// Adds the handlers that `#[on]`, `#[on_error]` and `#[on_error_default]` registered.
    fn collect_registry(mut self) -> Self {
        for registration in registry::collect() {
            let origin = registration.location();
            let ns = registration.namespace;
            match registration.call {
                Call::Event(call) => {
                    let event = registration.event;
                    self.install(ns, Slot::Event(event.to_owned()), origin, |h, _| {
                        h.events.insert(event.into(), Arc::new(call));
                    })
                }
                Call::CatchAll(call) => self.install(ns, Slot::CatchAll, origin, |h, _| {
                    h.catch_all = Some(Arc::new(call));
                }),
                Call::Connect(call) => self.install(ns, Slot::Connect, origin, |h, _| {
                    h.connect = Some(Arc::new(call));
                }),
                Call::Disconnect(call) => self.install(ns, Slot::Disconnect, origin, |h, _| {
                    h.disconnect = Some(Arc::new(call));
                }),
                Call::Error(call) => self.install(ns, Slot::Error, origin, |h, _| {
                    h.error = Some(Arc::new(call));
                }),
                Call::ErrorDefault(call) => {
                    self.install("*", Slot::ErrorDefault, origin, |_, default| {
                        if let Some(default) = default {
                            *default = Some(Arc::new(call));
                        }
                    })
                }
            }
        }
        self
    }

    /// Builds the server, or lists every problem found.
    pub fn build(self) -> Result<SocketIo, BuildError> {
        if !self.errors.is_empty() {
            return Err(BuildError(self.errors));
        }
        // With a message queue, each namespace's adapter is wrapped (server/queue.rs).
        let adapter = self
            .queue
            .wrap(self.adapter)
            .map_err(|p| BuildError(vec![p]))?;
        let shared = shared(self.config, self.limits, self.state);
        let default_error = self.default_error;
        let namespaces = self
            .namespaces
            .into_iter()
            .map(|(path, mut handlers)| {
                tracing::info!(
                    namespace = %path,
                    events = handlers.events.len(),
                    connect = handlers.connect.is_some(),
                    disconnect = handlers.disconnect.is_some(),
                    catch_all = handlers.catch_all.is_some(),
                    error_handler = handlers.error.is_some() || default_error.is_some(),
                    "namespace ready"
                );
                if handlers.error.is_none() {
                    handlers.error = default_error.clone();
                }
                let adapter = adapter(&path);
                let ns = Namespace::new(path.clone(), handlers, adapter, shared.clone());
                (path, Arc::new(ns))
            })
            .collect();
        let engine_config = shared.config.engine.clone();
        let client = Client { namespaces, shared };
        Ok(SocketIo::from_engine(Engine::new(engine_config, client)))
    }
}

/// Where a registration came from when it is not an attribute.
const BUILDER: &str = "a builder call";

/// A handler slot of a namespace; each holds one handler.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Event(String),
    CatchAll,
    Connect,
    Disconnect,
    Error,
    ErrorDefault,
}

impl Slot {
    fn key(&self) -> String {
        match self {
            Slot::Event(name) => format!("event {name:?}"),
            other => other.describe().to_owned(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Slot::Event(name) => format!("handlers for event {name:?}"),
            Slot::CatchAll => "catch-all handlers".into(),
            Slot::Connect => "connect handlers".into(),
            Slot::Disconnect => "disconnect handlers".into(),
            Slot::Error => "error handlers".into(),
            Slot::ErrorDefault => "default error handlers".into(),
        }
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
