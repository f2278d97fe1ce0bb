//! [`Builder`]: options and handlers, fixed when the server is built.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::server_event::{self, ServerEventTable, ServerHandler};
use super::SocketIo;
use crate::adapter::{Adapter, AdapterFactory, LocalAdapter, RecoveringAdapter, RecoveryOptions};
use crate::dispatch::{
    observe, Config, Dispatcher, Namespace, NamespaceTable, Observer, Pattern, RateLimit,
    RateLimitPolicy, ServerCore,
};
use crate::engineio::{AllowedOrigins, Cookie, Engine};
use crate::handler::{
    erase_connect, erase_disconnect, erase_error, erase_guard, erase_message, ConnectHandler,
    DisconnectHandler, ErasedHandler, ErrorHandler, HandlerTable, MessageGuard, MessageHandler,
};
use crate::protocol::{check_event_name, check_namespace, is_namespace_pattern};
use crate::queue::{QueueOptions, ServerEvent};
use crate::registry::{self, Role};
use crate::typemap::TypeMap;

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
    state: TypeMap,
    namespaces: BTreeMap<String, HandlerTable>,
    adapter: AdapterFactory,
    /// Message queue (`message_queue`, `channel`).
    queue: QueueOptions,
    /// Handlers of the other servers' events (`on_server_event`).
    server_events: HashMap<String, ServerHandler<SocketIo>>,
    /// What hears the server's connections, sockets and rooms (the Admin UI).
    observer: Option<Arc<dyn Observer>>,
    /// Run with the server once it is built.
    on_built: Vec<OnBuilt>,
    errors: Vec<String>,
    /// Where each slot's handler came from, to name both sides of a duplicate.
    origins: HashMap<(String, String), String>,
    default_error: Option<ErasedHandler>,
}

/// What a part of the server set up by the builder (the Admin UI) runs with the built server.
pub(crate) type OnBuilt = Box<dyn FnOnce(&SocketIo) + Send>;

/// The builder was given handlers or options that cannot work together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(Vec<String>);

impl BuildError {
    /// Each problem found.
    ///
    /// ```
    /// let error = socketio::SocketIo::builder().namespace("no-slash").build().unwrap_err();
    /// for problem in error.problems() {
    ///     eprintln!("{problem}");
    /// }
    /// ```
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
        namespaces.insert("/".to_owned(), HandlerTable::default());
        Builder {
            config: Config::default(),
            state: TypeMap::default(),
            namespaces,
            adapter: Arc::new(|_| Arc::new(LocalAdapter::new())),
            queue: Default::default(),
            server_events: HashMap::new(),
            observer: None,
            on_built: Vec::new(),
            errors: Vec::new(),
            origins: HashMap::new(),
            default_error: None,
        }
        .collect_registry()
    }

    engine_options! {
        /// How often the server pings each client (default 25 s; Flask-SocketIO's `ping_interval`).
        ///
        /// ```
        /// let io = socketio::SocketIo::builder()
        ///     .ping_interval(std::time::Duration::from_secs(10))
        ///     .build()
        ///     .unwrap();
        /// ```
        ping_interval: Duration,
        /// How long a client has to answer a ping (default 20 s; Flask-SocketIO's `ping_timeout`).
        ///
        /// ```
        /// let io = socketio::SocketIo::builder()
        ///     .ping_timeout(std::time::Duration::from_secs(5))
        ///     .build()
        ///     .unwrap();
        /// ```
        ping_timeout: Duration,
        /// Largest message or polling body in bytes (default 1,000,000; Flask-SocketIO's
        /// `max_http_buffer_size`).
        ///
        /// ```
        /// let io = socketio::SocketIo::builder()
        ///     .max_http_buffer_size(10_000_000)
        ///     .build()
        ///     .unwrap();
        /// ```
        max_http_buffer_size: usize,
        /// Time allowed for the polling → WebSocket upgrade (default 10 s).
        ///
        /// ```
        /// let io = socketio::SocketIo::builder()
        ///     .upgrade_timeout(std::time::Duration::from_secs(5))
        ///     .build()
        ///     .unwrap();
        /// ```
        upgrade_timeout: Duration,
        /// Whether clients may upgrade from polling to WebSocket (default true; Flask-SocketIO's
        /// `allow_upgrades`).
        ///
        /// ```
        /// let io = socketio::SocketIo::builder()
        ///     .allow_upgrades(false)
        ///     .build()
        ///     .unwrap();
        /// ```
        allow_upgrades: bool,
        /// Accepted browser origins (default: same origin only; Flask-SocketIO's
        /// `cors_allowed_origins`).
        ///
        /// ```
        /// use socketio::{AllowedOrigins, SocketIo};
        ///
        /// let io = SocketIo::builder()
        ///     .cors_allowed_origins(AllowedOrigins::list(["https://example.com"]))
        ///     .build()
        ///     .unwrap();
        /// ```
        cors_allowed_origins: AllowedOrigins,
        /// Session cookie for sticky load balancers (default none; Flask-SocketIO's `cookie`).
        ///
        /// ```
        /// use socketio::engineio::Cookie;
        ///
        /// let io = socketio::SocketIo::builder()
        ///     .cookie(Some(Cookie { name: "lb".into(), ..Cookie::default() }))
        ///     .build()
        ///     .unwrap();
        /// ```
        cookie: Option<Cookie>,
        /// Packets queued per client before it counts as too slow and is disconnected (1024).
        ///
        /// ```
        /// let io = socketio::SocketIo::builder()
        ///     .max_queued_packets(4096)
        ///     .build()
        ///     .unwrap();
        /// ```
        max_queued_packets: usize,
        /// Packets per polling response (default 16).
        ///
        /// ```
        /// let io = socketio::SocketIo::builder()
        ///     .max_packets_per_poll(64)
        ///     .build()
        ///     .unwrap();
        /// ```
        max_packets_per_poll: usize,
        /// Bytes read from a WebSocket at a time once a message spans several reads, in bytes
        /// (default 4 KiB). A connection keeps this buffer only while a message is arriving:
        /// an idle one holds none.
        ///
        /// ```
        /// let io = socketio::SocketIo::builder()
        ///     .ws_read_buffer_size(16 * 1024)
        ///     .build()
        ///     .unwrap();
        /// ```
        ws_read_buffer_size: usize,
        /// The largest request head accepted when serving, in bytes (default 64 KiB); larger
        /// heads get 431.
        ///
        /// ```
        /// let io = socketio::SocketIo::builder()
        ///     .max_header_bytes(16 * 1024)
        ///     .build()
        ///     .unwrap();
        /// ```
        max_header_bytes: usize,
    }

    /// Which transports are enabled (default both; Flask-SocketIO's `transports`).
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .transports(false, true)                        // WebSocket only
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn transports(mut self, polling: bool, websocket: bool) -> Self {
        if !polling && !websocket {
            self.errors
                .push("at least one transport must be enabled".into());
        }
        self.config.engine = self.config.engine.transports(polling, websocket);
        self
    }

    /// The HTTP path (default `/socket.io/`; Flask-SocketIO's `path`).
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .path("/chat/socket.io/")
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.config.engine = self.config.engine.path(path);
        self
    }

    /// A connection that joins no namespace within this is closed (default 45 s).
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .connect_timeout(std::time::Duration::from_secs(10))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Default wait for a client's acknowledgement in `emit_with_ack` (default 60 s, Flask-SocketIO's `call` timeout).
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .ack_timeout(std::time::Duration::from_secs(5))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.config.ack_timeout = timeout;
        self
    }

    /// Accept connections before the connect handler runs, and disconnect on refusal (default
    /// false, as Flask-SocketIO's `always_connect`).
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .always_connect(true)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn always_connect(mut self, always: bool) -> Self {
        self.config.always_connect = always;
        self
    }

    /// Binary attachments allowed in one packet (default 10).
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .max_attachments(2)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn max_attachments(mut self, max: usize) -> Self {
        self.config.limits.max_attachments = max;
        self
    }

    /// The Socket.IO packet format of every connection (default [`Parser::Json`]): with
    /// [`Parser::MessagePack`] (feature `msgpack`), socket.io-msgpack-parser's, each packet one
    /// binary message, binary values inline. Every client must then use that parser; one
    /// that speaks JSON is disconnected at its first packet, with a warning in the log.
    /// Handlers, extractors and emits do not change: the server transcodes each received
    /// packet into the JSON one it stands for, and each emitted packet once, whatever the
    /// number of its recipients. Other processes of a [message queue](Self::message_queue)
    /// may use either parser. [`max_attachments`](Self::max_attachments) bounds the binary
    /// values of a packet.
    ///
    /// ```
    /// # #[cfg(feature = "msgpack")] {
    /// use socketio::{Data, Parser, SocketIo};
    ///
    /// // JavaScript client: io(url, { parser: require("socket.io-msgpack-parser") })
    /// let io = SocketIo::builder()
    ///     .parser(Parser::MessagePack)
    ///     .on("/", "echo", |Data(value): Data<serde_json::Value>| async move { value })
    ///     .build()
    ///     .unwrap();
    /// # }
    /// ```
    ///
    /// [`Parser::Json`]: crate::Parser::Json
    /// [`Parser::MessagePack`]: crate::Parser
    pub fn parser(mut self, parser: crate::Parser) -> Self {
        self.config.parser = parser;
        self
    }

    /// Application state for the [`State<T>`](crate::State) extractor (one value per type).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use socketio::{SocketIo, State};
    ///
    /// struct Db(Vec<String>);
    ///
    /// async fn count(State(db): State<Arc<Db>>) -> usize {
    ///     db.0.len()
    /// }
    ///
    /// let io = SocketIo::builder()
    ///     .state(Arc::new(Db(Vec::new())))
    ///     .on("/", "count", count)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// The adapter of each namespace (default: [`LocalAdapter`], rooms in memory).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use socketio::adapter::LocalAdapter;
    ///
    /// let io = socketio::SocketIo::builder()
    ///     .adapter(|_namespace| Arc::new(LocalAdapter::new()))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn adapter<F>(mut self, factory: F) -> Self
    where
        F: Fn(&str) -> Arc<dyn Adapter> + Send + Sync + 'static,
    {
        self.adapter = Arc::new(factory);
        self
    }

    /// The reverse proxies (their addresses as the server sees them) whose `X-Forwarded-For`
    /// header is believed, so that [`Socket::client_addr`](crate::Socket::client_addr) gives
    /// the client's address behind them (default none: the peer's address). Name only proxies
    /// you run: a client can send any `X-Forwarded-For`.
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .trusted_proxies(["127.0.0.1".parse().unwrap()])   // nginx on the same host
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = std::net::IpAddr>) -> Self {
        self.config.engine = self.config.engine.trusted_proxies(proxies);
        self
    }

    /// At most `max` connections open at once (default: no limit; Flask-SocketIO has none). A
    /// handshake beyond it is answered `503 Service Unavailable` with
    /// `{"code":4,"message":"Too many connections"}` (no session is opened) and logged at warn
    /// level. A connection counts from its handshake until it closes, test clients included.
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .max_connections(10_000)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn max_connections(mut self, max: usize) -> Self {
        self.config.engine = self.config.engine.max_connections(max);
        self
    }

    /// At most `max` connections open at once from one client address (default: no limit).
    /// The address is the peer's, or behind a reverse proxy named with
    /// [`trusted_proxies`](Self::trusted_proxies) the one it forwarded, as
    /// [`Socket::client_addr`](crate::Socket::client_addr) gives it. A handshake beyond it is
    /// answered `429 Too Many Requests` with
    /// `{"code":4,"message":"Too many connections from this address"}` and logged at warn
    /// level. Connections without an address (the test client, unless given one) are not
    /// counted.
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .max_connections_per_address(20)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn max_connections_per_address(mut self, max: usize) -> Self {
        self.config.engine = self.config.engine.max_connections_per_address(max);
        self
    }

    /// At most `rate` events per second on each socket, `burst` of them at once (a token
    /// bucket; default: no limit). Acknowledgements and CONNECT/DISCONNECT packets are not
    /// counted. An event over it follows `policy`: with [`RateLimitPolicy::Drop`] it is not
    /// dispatched and an [`Error`](crate::Error) of kind
    /// [`ErrorKind::RateLimited`](crate::ErrorKind::RateLimited) goes to the error handlers
    /// (whose return value answers the event's acknowledgement); with
    /// [`RateLimitPolicy::Disconnect`] the socket is disconnected (`io server disconnect` on
    /// the client). The refusal is logged at warn level (with `Drop`, only the first of a run
    /// of refused events; the next ones at debug level). `rate` and `burst` must be at least 1.
    ///
    /// ```
    /// use socketio::{RateLimitPolicy, SocketIo};
    ///
    /// let io = SocketIo::builder()
    ///     .max_events_per_second(10, 20, RateLimitPolicy::Drop)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn max_events_per_second(mut self, rate: u32, burst: u32, policy: RateLimitPolicy) -> Self {
        if rate == 0 || burst == 0 {
            self.errors.push(format!(
                "max_events_per_second({rate}, {burst}): the rate and the burst must be at least 1"
            ));
        }
        self.config.rate_limit = Some(RateLimit {
            rate,
            burst,
            policy,
        });
        self
    }

    /// At most `max` namespaces joined by one connection at once (default: no limit). A CONNECT
    /// beyond it is answered CONNECT_ERROR with
    /// `{"message":"Too many namespaces on this connection"}` and logged at warn level; the
    /// connection and its other namespaces stay.
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .max_namespaces_per_connection(4)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn max_namespaces_per_connection(mut self, max: usize) -> Self {
        self.config.max_namespaces_per_connection = Some(max);
        self
    }

    /// At most `max` rooms per socket, its own room left out (default: no limit). A
    /// [`Socket::join`](crate::Socket::join) beyond it leaves the socket out of the room and
    /// logs a warning; [`Socket::try_join`](crate::Socket::try_join) returns the
    /// [`JoinError`](crate::JoinError). Joins through a broadcast operator
    /// (`io.of(ns).to(room).join(..)`) and from other processes are not limited.
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .max_rooms_per_socket(100)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn max_rooms_per_socket(mut self, max: usize) -> Self {
        self.config.max_rooms_per_socket = Some(max);
        self
    }

    /// At most `max` handlers of one connection waiting at once (default 64, at least 1):
    /// inbound back-pressure. A handler that finishes without waiting does not count; one that
    /// waits (on a database, a timer, a client's acknowledgement) counts until it ends. While a
    /// connection has `max` of them, its transport reads nothing more from the client — the
    /// WebSocket is not read, a polling POST is not answered — so a client that sends events
    /// faster than its handlers finish is slowed to their pace, and cannot make the server
    /// hold more than `max` handlers for it. Its pongs wait too: a connection that stays
    /// saturated through a whole heartbeat (`ping_interval` + `ping_timeout`) is closed as
    /// `ping timeout`, with a warning that names this limit. Handlers that wait for an
    /// acknowledgement from the same client count as well: a client that sends many events
    /// whose handlers each `call` it back needs a larger bound (or the calls moved to
    /// background tasks).
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .max_pending_handlers(256)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn max_pending_handlers(mut self, max: usize) -> Self {
        if max == 0 {
            self.errors
                .push("max_pending_handlers(0): at least one handler must be able to run".into());
        }
        self.config.max_pending_handlers = max;
        self
    }

    /// Dynamic namespaces alive at once (default 10,000): a client asking for one more is
    /// refused with "Invalid namespace". A dynamic namespace is one a pattern (`*`,
    /// `/prefix*`) creates when a client first joins it; it goes away with its last socket.
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .max_dynamic_namespaces(1_000)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn max_dynamic_namespaces(mut self, max: usize) -> Self {
        self.config.max_dynamic_namespaces = max;
        self
    }

    /// Turns on connection state recovery (socket.io 4.6's `connectionStateRecovery`; off by
    /// default, as there). A client whose connection was lost — a network drop, a ping
    /// timeout, a restarted proxy, not a disconnect either side asked for — and that
    /// reconnects within `max_disconnection_duration` gets its socket back: the same
    /// [`id`](crate::Socket::id), the same rooms, and the events emitted to it meanwhile, in
    /// order; [`Socket::recovered`](crate::Socket::recovered) is then `true`, as is the
    /// official client's `socket.recovered`.
    ///
    /// On the wire, the CONNECT answer carries a private id (`{"sid": .., "pid": ..}`) and
    /// every event the server emits without an acknowledgement carries one more argument, its
    /// offset, which the client remembers and sends back with the private id when it
    /// reconnects (socket.io's JavaScript client does this; python-socketio's client does
    /// not, and simply gets a new session). Handlers in JavaScript see the offset as an extra
    /// last argument, as with a Node server. Volatile events carry one too but are not sent
    /// again. The connect handler's [`Auth`](crate::Auth) is the client's auth as sent, its
    /// `pid` and `offset` included (socket.io's `handshake.auth`).
    ///
    /// A recovered socket skips the [connect middlewares](Self::connect_middleware) unless
    /// `skip_middlewares` is false; its [connect handler](Self::on_connect) runs either way (it
    /// is socket.io's `connection` listener too) and may check `socket.recovered()`.
    /// [`Session`](crate::Session) values belong to the connection and start empty on the
    /// new one.
    ///
    /// The sessions and packets are kept in this process's memory, per namespace, bounded as
    /// [`RecoveryOptions`] says. A dynamic namespace forgets them when its last socket
    /// leaves. With a [message queue](Self::message_queue), recovery works across the
    /// cluster: the client may come back to any server (the lost session is published, and
    /// every server keeps every server's broadcasts with their offsets); see
    /// [the queue's documentation](crate::queue#connection-state-recovery) for what is
    /// guaranteed.
    ///
    /// ```
    /// use socketio::{RecoveryOptions, SocketIo};
    ///
    /// let io = SocketIo::builder()
    ///     .connection_state_recovery(RecoveryOptions::default())
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn connection_state_recovery(mut self, options: RecoveryOptions) -> Self {
        self.config.recovery = Some(options);
        self
    }

    /// Declares a namespace that has no handlers (clients may still connect to it). A pattern
    /// (`*`: any namespace, `/prefix*`: any with that prefix) accepts every matching namespace
    /// that is not declared itself, with the pattern's handlers (python-socketio's
    /// `namespace='*'`, socket.io's dynamic namespaces).
    ///
    /// ```
    /// let io = socketio::SocketIo::builder()
    ///     .namespace("/status")                         // no handlers, clients may connect
    ///     .namespace("/game-*")                         // every namespace starting with /game-
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(io.namespaces(), ["/", "/status"]);
    /// ```
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.handlers(namespace);
        self
    }

    fn handlers(&mut self, namespace: &str) -> Option<&mut HandlerTable> {
        if let Err(why) = check_namespace(namespace) {
            self.errors.push(format!("namespace {namespace:?}: {why}"));
            return None;
        }
        Some(self.namespaces.entry(namespace.to_owned()).or_default())
    }

    /// Installs `handler` in the slot `role` of `namespace`, refusing a second one for the same
    /// slot with both locations. The builder's methods and the registry both end here.
    fn install(&mut self, namespace: &str, role: Role<'_>, handler: ErasedHandler, origin: String) {
        let namespace = if role == Role::ErrorDefault {
            "*"
        } else {
            namespace
        };
        let key = (namespace.to_owned(), role.describe());
        if let Some(first) = self.origins.get(&key).filter(|_| role.is_unique()) {
            self.errors.push(format!(
                "two {} in namespace {namespace:?}: {first} and {origin}",
                role.describe()
            ));
            return;
        }
        if role == Role::ErrorDefault {
            self.origins.insert(key, origin);
            self.default_error = Some(handler);
            return;
        }
        let Some(table) = self.handlers(namespace) else {
            return;
        };
        match (role, handler) {
            (Role::Event(event), ErasedHandler::Message(h)) => {
                table.events.insert(event.into(), h);
                table.origins.insert(event.into(), origin.as_str().into());
            }
            (Role::CatchAll, ErasedHandler::Message(h)) => {
                table.catch_all = Some(h);
                table.origins.insert("*".into(), origin.as_str().into());
            }
            (Role::Connect, ErasedHandler::Connect(h)) => table.connect = Some(h),
            (Role::Disconnect, ErasedHandler::Disconnect(h)) => table.disconnect = Some(h),
            (Role::Error, ErasedHandler::Error(h)) => table.error = Some(h),
            (Role::Guard(event), ErasedHandler::Guard(g)) => {
                table.guards.entry(event.into()).or_default().push(g);
            }
            (Role::EventMiddleware, ErasedHandler::Guard(g)) => table.event_middleware.push(g),
            (Role::ConnectMiddleware, ErasedHandler::Connect(h)) => {
                table.connect_middleware.push(h);
            }
            _ => {
                self.errors.push(format!(
                    "{origin} does not have the signature of {}",
                    role.describe()
                ));
                return;
            }
        }
        self.origins.insert(key, origin);
    }

    /// Guards the handler of `event` in `namespace` (`*`: the catch-all): the event reaches
    /// it only when `guard` lets it through (see [`handler::MessageGuard`](crate::handler::MessageGuard)).
    /// Flask's `@authenticated_only` decorator; `#[on("event", guard = g)]` does the same.
    ///
    /// ```
    /// use socketio::{Data, Session, Socket, SocketIo};
    ///
    /// #[derive(Clone)]
    /// struct User(String);
    ///
    /// async fn authenticated_only(user: Session<User>, socket: Socket) -> bool {
    ///     let known = user.get().is_some();
    ///     if !known {
    ///         socket.disconnect();
    ///     }
    ///     known
    /// }
    ///
    /// async fn my_event(socket: Socket, user: Session<User>, Data(text): Data<String>) {
    ///     let name = user.get().map(|u| u.0).unwrap_or_default();
    ///     socket.emit("my response", &format!("{name}: {text}"));
    /// }
    ///
    /// let io = SocketIo::builder()
    ///     .on("/", "my event", my_event)
    ///     .guard("/", "my event", authenticated_only)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn guard<G: MessageGuard<T>, T>(mut self, namespace: &str, event: &str, guard: G) -> Self {
        let guard = ErasedHandler::Guard(erase_guard(guard));
        self.install(namespace, Role::Guard(event), guard, builder_origin::<G>());
        self
    }

    /// Runs `guard` before the handler of every event of `namespace` (socket.io's
    /// `socket.use`), before the guards of each event.
    ///
    /// ```
    /// use socketio::{Event, SocketIo};
    ///
    /// async fn log_event(event: Event) -> bool {
    ///     println!("event {}", event.name());
    ///     true                                          // false stops the event here
    /// }
    ///
    /// let io = SocketIo::builder().event_middleware("/", log_event).build().unwrap();
    /// ```
    pub fn event_middleware<G: MessageGuard<T>, T>(mut self, namespace: &str, guard: G) -> Self {
        let guard = ErasedHandler::Guard(erase_guard(guard));
        self.install(
            namespace,
            Role::EventMiddleware,
            guard,
            builder_origin::<G>(),
        );
        self
    }

    /// Runs `middleware` (a connect handler) before the connect handler of `namespace`
    /// (socket.io's `io.use`): a refusal refuses the connection and the handler does not run.
    /// Several run in the order given.
    ///
    /// ```
    /// use socketio::{Handshake, SocketIo};
    ///
    /// async fn has_token(handshake: Handshake) -> bool {
    ///     handshake.headers.contains_key("authorization")
    /// }
    ///
    /// let io = SocketIo::builder().connect_middleware("/", has_token).build().unwrap();
    /// ```
    pub fn connect_middleware<H: ConnectHandler<T>, T>(
        mut self,
        namespace: &str,
        middleware: H,
    ) -> Self {
        let middleware = erase_connect(middleware);
        self.install(
            namespace,
            Role::ConnectMiddleware,
            middleware,
            builder_origin::<H>(),
        );
        self
    }

    /// Registers a class-based namespace: a value whose `impl` block carries
    /// `#[namespace("/path")]`, each `on_<event>` method a handler (Flask-SocketIO's
    /// `socketio.on_namespace(MyNamespace('/path'))`).
    ///
    /// ```
    /// use socketio::{namespace, Data, Socket, SocketIo};
    ///
    /// struct Chat {
    ///     greeting: String,
    /// }
    ///
    /// #[namespace("/chat")]
    /// impl Chat {
    ///     async fn on_connect(&self, socket: Socket) {
    ///         socket.emit("welcome", &self.greeting);
    ///     }
    ///
    ///     async fn on_my_event(&self, socket: Socket, Data(text): Data<String>) {
    ///         socket.everyone().emit("my response", &text);
    ///     }
    /// }
    ///
    /// let io = SocketIo::builder()
    ///     .on_namespace(Chat { greeting: "hello".into() })
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(io.handled_events("/chat"), ["connect", "my_event"]);
    /// ```
    pub fn on_namespace<N: ClassNamespace>(self, namespace: N) -> Self {
        Arc::new(namespace).register(self)
    }

    /// Installs a handler a class-based namespace erased (see [`ClassNamespace`]).
    pub(crate) fn install_erased(
        mut self,
        namespace: &str,
        role: Role<'_>,
        handler: ErasedHandler,
        origin: &str,
    ) -> Self {
        self.install(namespace, role, handler, origin.to_owned());
        self
    }

    /// Registers the handler of `event` in `namespace` (Flask-SocketIO's
    /// `@socketio.on(event, namespace=...)`; `#[on]` does the same).
    ///
    /// ```
    /// use socketio::{Data, SocketIo};
    ///
    /// async fn add(Data((a, b)): Data<(i64, i64)>) -> i64 {
    ///     a + b                                         // answers the client's acknowledgement
    /// }
    ///
    /// let io = SocketIo::builder().on("/math", "add", add).build().unwrap();
    /// ```
    pub fn on<H: MessageHandler<T>, T>(mut self, namespace: &str, event: &str, handler: H) -> Self {
        if event == "connect" || event == "disconnect" {
            self.errors.push(format!(
                "{event:?} is a lifecycle event: register it with `on_{event}`"
            ));
            return self;
        }
        if let Err(why) = check_event_name(event) {
            self.errors.push(format!("event {event:?}: {why}"));
            return self;
        }
        let handler = erase_message(handler);
        self.install(
            namespace,
            Role::Event(event),
            handler,
            builder_origin::<H>(),
        );
        self
    }

    /// Registers the catch-all handler of `namespace`: it receives every event that has no
    /// handler of its own (read the name with the [`Event`](crate::Event) extractor):
    /// Flask-SocketIO's `@socketio.on('*')`.
    ///
    /// ```
    /// use socketio::{Event, SocketIo};
    ///
    /// async fn unknown(event: Event) {
    ///     println!("no handler for {}", event.name());
    /// }
    ///
    /// let io = SocketIo::builder().on_any("/", unknown).build().unwrap();
    /// ```
    pub fn on_any<H: MessageHandler<T>, T>(mut self, namespace: &str, handler: H) -> Self {
        let handler = erase_message(handler);
        self.install(namespace, Role::CatchAll, handler, builder_origin::<H>());
        self
    }

    /// Registers the connect handler of `namespace` (Flask-SocketIO's `@socketio.on('connect')`);
    /// returning `Err` or `false` refuses the connection.
    ///
    /// ```
    /// use socketio::{Socket, SocketIo};
    ///
    /// async fn connect(socket: Socket) -> bool {
    ///     socket.handshake().cookie("session").is_some() // false refuses the connection
    /// }
    ///
    /// let io = SocketIo::builder().on_connect("/", connect).build().unwrap();
    /// ```
    pub fn on_connect<H: ConnectHandler<T>, T>(mut self, namespace: &str, handler: H) -> Self {
        let handler = erase_connect(handler);
        self.install(namespace, Role::Connect, handler, builder_origin::<H>());
        self
    }

    /// Registers the disconnect handler of `namespace` (Flask-SocketIO's
    /// `@socketio.on('disconnect')`).
    ///
    /// ```
    /// use socketio::{DisconnectReason, Sid, SocketIo};
    ///
    /// async fn disconnect(sid: Sid, reason: DisconnectReason) {
    ///     println!("{sid} left: {reason}");
    /// }
    ///
    /// let io = SocketIo::builder().on_disconnect("/", disconnect).build().unwrap();
    /// ```
    pub fn on_disconnect<H: DisconnectHandler<T>, T>(
        mut self,
        namespace: &str,
        handler: H,
    ) -> Self {
        let handler = erase_disconnect(handler);
        self.install(namespace, Role::Disconnect, handler, builder_origin::<H>());
        self
    }

    /// Registers the error handler of `namespace` (Flask-SocketIO's
    /// `@socketio.on_error(namespace)`): every failure there (extractor rejection, handler
    /// `Err`, panic, refused connection) reaches it, and its return value answers the client's
    /// pending acknowledgement.
    ///
    /// ```
    /// use socketio::{Error, SocketIo};
    ///
    /// async fn chat_error(error: Error) -> String {
    ///     format!("sorry: {error}")                     // the client's acknowledgement gets this
    /// }
    ///
    /// let io = SocketIo::builder().on_error("/chat", chat_error).build().unwrap();
    /// ```
    pub fn on_error<H: ErrorHandler<T>, T>(mut self, namespace: &str, handler: H) -> Self {
        let handler = erase_error(handler);
        self.install(namespace, Role::Error, handler, builder_origin::<H>());
        self
    }

    /// Registers the error handler of every namespace without one of its own (Flask-SocketIO's
    /// `@socketio.on_error_default`).
    ///
    /// ```
    /// use socketio::{Error, SocketIo};
    ///
    /// async fn log_error(error: Error) {
    ///     eprintln!("error: {error}");
    /// }
    ///
    /// let io = SocketIo::builder().on_error_default(log_error).build().unwrap();
    /// ```
    pub fn on_error_default<H: ErrorHandler<T>, T>(mut self, handler: H) -> Self {
        let handler = erase_error(handler);
        self.install("/", Role::ErrorDefault, handler, builder_origin::<H>());
        self
    }

    /// Adds the handlers that `#[on]`, `#[on_error]` and `#[on_error_default]` registered.
    fn collect_registry(mut self) -> Self {
        for registration in registry::collect() {
            let handler = (registration.make)().0;
            let origin = registration.location();
            self.install(registration.namespace, registration.role, handler, origin);
        }
        self
    }

    /// Builds the server, or lists every problem found.
    ///
    /// ```
    /// match socketio::SocketIo::builder().namespace("no-slash").build() {
    ///     Ok(io) => println!("serving {:?}", io.namespaces()),
    ///     Err(e) => eprintln!("bad configuration: {e}"),
    /// }
    /// ```
    pub fn build(self) -> Result<SocketIo, BuildError> {
        if !self.errors.is_empty() {
            return Err(BuildError(self.errors));
        }
        // The observer hears the rooms of this process, kept by the innermost adapter (under
        // recovery's and the message queue's).
        let adapter = match &self.observer {
            Some(observer) => observe(self.adapter, observer.clone()),
            None => self.adapter,
        };
        // With a message queue, each namespace's adapter is wrapped; the queue's adapter keeps
        // what recovery needs, with the other servers.
        let recovery = self.config.recovery;
        let (mut adapter, bus) = self
            .queue
            .wrap(adapter, recovery)
            .map_err(|p| BuildError(vec![p]))?;
        if let (Some(options), None) = (recovery, &bus) {
            // The recovery adapter keeps what the adapter set with `adapter` delivers here.
            let inner = adapter;
            adapter = Arc::new(move |path| {
                Arc::new(RecoveringAdapter::new(inner(path), options)) as Arc<dyn Adapter>
            });
        }
        if bus.is_none() && !self.server_events.is_empty() {
            return Err(BuildError(vec![
                "`on_server_event` is set but not `message_queue`: server events come from the other servers of a cluster".into(),
            ]));
        }
        let mut core = ServerCore::new(self.config, self.state, bus);
        if let Some(observer) = self.observer {
            core.set_observer(observer);
        }
        let core = Arc::new(core);
        if let Some(bus) = &core.queue {
            bus.serve_events(Arc::new(ServerEventTable {
                handlers: self.server_events,
                core: Arc::downgrade(&core),
                server: SocketIo::of_core,
            }));
        }
        let default_error = match self.default_error {
            Some(ErasedHandler::Error(handler)) => Some(handler),
            _ => None,
        };
        let mut patterns = Vec::new();
        let mut fixed = std::collections::HashMap::new();
        for (path, mut table) in self.namespaces {
            tracing::info!(
                namespace = %path,
                events = table.events.len(),
                connect = table.connect.is_some(),
                disconnect = table.disconnect.is_some(),
                catch_all = table.catch_all.is_some(),
                error_handler = table.error.is_some() || default_error.is_some(),
                "namespace ready"
            );
            if table.error.is_none() {
                table.error = default_error.clone();
            }
            let table = Arc::new(table.seal());
            if is_namespace_pattern(&path) {
                patterns.push(Pattern {
                    pattern: path,
                    handlers: table,
                });
            } else {
                let ns = Namespace::new(path.clone(), table, adapter(&path), core.clone(), None);
                fixed.insert(path, ns);
            }
        }
        let namespaces = NamespaceTable::new(fixed, patterns, adapter, core.clone());
        let engine_config = core.config.engine.clone();
        let dispatcher = Dispatcher { namespaces, core };
        let io = SocketIo::from_engine(Engine::new(engine_config, dispatcher));
        for on_built in self.on_built {
            on_built(&io);
        }
        Ok(io)
    }

    /// Sets what hears the server's connections, sockets, rooms and packets; one at most.
    #[cfg(feature = "admin-ui")]
    pub(crate) fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        if self.observer.replace(observer).is_some() {
            self.errors
                .push("`admin_ui` is set twice: a server has one Admin UI".into());
        }
        self
    }

    /// Runs `f` with the server once it is built.
    #[cfg(feature = "admin-ui")]
    pub(crate) fn on_built(mut self, f: OnBuilt) -> Self {
        self.on_built.push(f);
        self
    }

    /// Records a configuration problem, reported by `build()` with the others.
    #[cfg(feature = "admin-ui")]
    pub(crate) fn problem(mut self, problem: String) -> Self {
        self.errors.push(problem);
        self
    }
}

/// A class-based namespace: what `#[namespace("/path")]` implements for the type of its
/// `impl` block (see [`Builder::on_namespace`]). Not meant to be implemented by hand.
pub trait ClassNamespace: Send + Sync + 'static {
    /// Registers the type's `on_<event>` methods, on `self`, with `builder`.
    fn register(self: Arc<Self>, builder: Builder) -> Builder;
}

/// Where a handler registered with a builder method comes from: its function's path.
fn builder_origin<H>() -> String {
    format!("{} (a builder call)", std::any::type_name::<H>())
}

/// Message-queue options (Flask-SocketIO's `message_queue` and `channel`, and the channels of
/// Node's redis-emitter).
impl Builder {
    /// Runs this server as one of several processes connected by a message queue:
    /// `redis://[:password@]host[:port][/db]`, `rediss://` (TLS), `redis+unix:///path`,
    /// `amqp://user:password@host[:port][/vhost]` or `amqps://`. Every broadcast, room emit,
    /// socket-specific emit, `close_room`, server-side disconnect and join/leave of a socket by
    /// id then reaches the sockets of every process (see [`crate::queue`] for the delivery
    /// rules and the wire format).
    ///
    /// The scheme needs the matching cargo feature (`redis`, `amqp`, plus `mq-tls` for TLS).
    /// `build()` must then run on a tokio runtime; it does not wait for the broker: the server
    /// starts and serves its own sockets while the connection is retried in the background.
    /// The adapter set with [`adapter`](Self::adapter) keeps this process's rooms.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let io = socketio::SocketIo::builder()
    ///     .message_queue("redis://127.0.0.1:6379/")
    ///     .channel("chat-app")
    ///     .build()?;
    /// io.serve("127.0.0.1:5000").await?;
    /// # Ok(()) }
    /// ```
    pub fn message_queue(mut self, url: impl Into<String>) -> Self {
        self.queue.url = Some(url.into());
        self
    }

    /// The channel of the message queue: the Redis channel, or the AMQP exchange (default
    /// `flask-socketio`, as Flask-SocketIO). Processes of one application share it;
    /// independent applications on one broker use different ones.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socketio::BuildError> {
    /// let io = socketio::SocketIo::builder()
    ///     .message_queue("redis://127.0.0.1:6379/")
    ///     .channel("chat-app")
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.queue.channel = Some(channel.into());
        self
    }

    /// Also applies what Node processes publish with `@socket.io/redis-emitter` under `key`
    /// (its `key` option, `"socket.io"` by default): emits to the namespace, to rooms and to
    /// socket ids, `socketsJoin`, `socketsLeave` and `disconnectSockets`. The server then also
    /// subscribes to the Redis channels `<key>#*` and `<key>-request#*`. Redis only (the
    /// emitter has no AMQP version). What is covered and refused: [foreign
    /// emitters](crate::queue#foreign-emitters).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socketio::BuildError> {
    /// let io = socketio::SocketIo::builder()
    ///     .message_queue("redis://127.0.0.1:6379/")
    ///     .node_redis_emitter("socket.io")
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn node_redis_emitter(mut self, key: impl Into<String>) -> Self {
        self.queue.node_key = Some(key.into());
        self
    }

    /// Whether python-socketio or Flask-SocketIO servers share the channel (a mixed cluster;
    /// default `false`). With `true`, every broadcast, room emit, `close_room`, and
    /// join/leave/disconnect of socket ids is also published in python-socketio's format, so
    /// that their clients get it too; socketio-rs servers skip that copy (it is marked), so
    /// each socket gets each event once. Their own emits reach this server's sockets either
    /// way. Give both sides the same channel: Flask-SocketIO's default, `flask-socketio`, is
    /// this builder's; python-socketio's managers default to `socketio`.
    ///
    /// What python-socketio's format cannot say is counted
    /// ([`QueueStats::untranslated`](crate::queue::QueueStats::untranslated)) and logged: a
    /// join, leave or disconnect of rooms' members or of the whole namespace (python-socketio
    /// names sockets one by one), and cluster-wide requests (`fetch_sockets`,
    /// `emit_with_acks`), which python-socketio servers do not answer. See [mixed
    /// clusters](crate::queue#mixed-clusters).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socketio::BuildError> {
    /// // Next to Flask-SocketIO servers started with `SocketIO(app, message_queue=...)`.
    /// let io = socketio::SocketIo::builder()
    ///     .message_queue("redis://127.0.0.1:6379/")
    ///     .python_socketio_peers(true)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn python_socketio_peers(mut self, enabled: bool) -> Self {
        self.queue.python_peers = enabled;
        self
    }

    /// How often this server announces itself to the others of the cluster, and how long a
    /// server that stopped announcing itself still counts (default 5 s and 10 s, socket.io's
    /// `heartbeatInterval` and `heartbeatTimeout`). The servers that count are those a
    /// cluster-wide request ([`fetch_sockets`](crate::BroadcastOperator::fetch_sockets),
    /// [`emit_with_acks`](crate::BroadcastOperator::emit_with_acks),
    /// [`server_side_emit_with_ack`](crate::SocketIo::server_side_emit_with_ack)) expects an
    /// answer from: a server that died stops counting `timeout` after its last heartbeat; one
    /// that shuts down says goodbye and stops counting at once. `timeout` must be longer than
    /// `interval`; every server of a cluster should use the same values.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socketio::BuildError> {
    /// use std::time::Duration;
    /// let io = socketio::SocketIo::builder()
    ///     .message_queue("redis://127.0.0.1:6379/")
    ///     .queue_heartbeat(Duration::from_secs(2), Duration::from_secs(5))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn queue_heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.queue.timing.heartbeat_interval = interval;
        self.queue.timing.heartbeat_timeout = timeout;
        self
    }

    /// How long [`fetch_sockets`](crate::BroadcastOperator::fetch_sockets) waits for the
    /// other servers when no [`timeout`](crate::BroadcastOperator::timeout) is given
    /// (default 5 s, socket.io's `requestsTimeout`).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socketio::BuildError> {
    /// let io = socketio::SocketIo::builder()
    ///     .message_queue("redis://127.0.0.1:6379/")
    ///     .queue_requests_timeout(std::time::Duration::from_secs(2))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn queue_requests_timeout(mut self, timeout: Duration) -> Self {
        self.queue.timing.requests_timeout = timeout;
        self
    }

    /// Registers the handler of `event` sent by the other servers of the cluster with
    /// [`SocketIo::server_side_emit`] (socket.io's `io.on(event, ..)` for `serverSideEmit`).
    /// It receives this server and the [`ServerEvent`]; its return value is the
    /// acknowledgement, when the sender asked for one
    /// ([`SocketIo::server_side_emit_with_ack`]): `()` for none, a tuple for several
    /// arguments, anything else `Serialize` for one. Needs a
    /// [`message_queue`](Self::message_queue). A panic in the handler is logged and answered
    /// without an acknowledgement.
    ///
    /// ```no_run
    /// use socketio::{queue::ServerEvent, SocketIo};
    ///
    /// async fn count(io: SocketIo, _event: ServerEvent) -> usize {
    ///     io.sockets("/").len()
    /// }
    ///
    /// # async fn run() -> Result<(), socketio::BuildError> {
    /// let io = SocketIo::builder()
    ///     .message_queue("redis://127.0.0.1:6379/")
    ///     .on_server_event("count", count)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn on_server_event<F, Fut, R>(mut self, event: &str, handler: F) -> Self
    where
        F: Fn(SocketIo, ServerEvent) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = R> + Send + 'static,
        R: serde::Serialize + Send + 'static,
    {
        if let Err(why) = check_event_name(event) {
            self.errors.push(format!("server event {event:?}: {why}"));
            return self;
        }
        if self
            .server_events
            .insert(event.to_owned(), server_event::erase(handler))
            .is_some()
        {
            self.errors
                .push(format!("server event {event:?} has two handlers"));
        }
        self
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
