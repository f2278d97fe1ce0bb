//! Engine.IO options, with Flask-SocketIO's names and defaults.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Which origins may open a session from a browser (the `Origin` request header).
///
/// The check guards both the polling requests and the WebSocket handshake: CORS headers alone do
/// not protect a WebSocket (CVE-2019-13611).
#[derive(Clone, Default)]
pub enum AllowedOrigins {
    /// Only the server's own origin (`http(s)://<Host header>`); requests without an `Origin`
    /// header (non-browser clients) are always accepted. The default, as in python-engineio.
    #[default]
    SameOrigin,
    /// Any origin (`"*"`). CORS responses then carry `Access-Control-Allow-Origin: *` without
    /// credentials.
    Any,
    /// Exactly these origins (e.g. `"https://example.com"`), compared as strings. CORS responses
    /// echo the origin and allow credentials.
    List(Arc<[String]>),
}

impl AllowedOrigins {
    /// A list of exact origins.
    pub fn list<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AllowedOrigins::List(origins.into_iter().map(Into::into).collect())
    }
}

impl std::fmt::Debug for AllowedOrigins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AllowedOrigins::SameOrigin => f.write_str("SameOrigin"),
            AllowedOrigins::Any => f.write_str("Any(\"*\")"),
            AllowedOrigins::List(list) => f.debug_tuple("List").field(list).finish(),
        }
    }
}

/// The session cookie set on the handshake response, for load balancers that route by cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// Cookie name (`io` by default).
    pub name: String,
    /// `Path` attribute (`/`).
    pub path: String,
    /// `HttpOnly` attribute (on).
    pub http_only: bool,
    /// `SameSite` attribute (`Lax`); `None` leaves it out.
    pub same_site: Option<String>,
    /// `Secure` attribute (off).
    pub secure: bool,
}

impl Default for Cookie {
    fn default() -> Self {
        Cookie {
            name: "io".into(),
            path: "/".into(),
            http_only: true,
            same_site: Some("Lax".into()),
            secure: false,
        }
    }
}

/// Engine.IO server options.
///
/// ```
/// use std::time::Duration;
/// use socketio::engineio::EngineConfig;
///
/// let config = EngineConfig::default()
///     .ping_interval(Duration::from_secs(10))
///     .max_http_buffer_size(100_000);
/// assert_eq!(config.get_ping_interval(), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) max_http_buffer_size: usize,
    pub(crate) upgrade_timeout: Duration,
    pub(crate) polling: bool,
    pub(crate) websocket: bool,
    pub(crate) allow_upgrades: bool,
    pub(crate) cors_allowed_origins: AllowedOrigins,
    pub(crate) cookie: Option<Cookie>,
    pub(crate) path: String,
    pub(crate) max_queued_packets: usize,
    pub(crate) max_packets_per_poll: usize,
    pub(crate) ws_read_buffer_size: usize,
    pub(crate) max_header_bytes: usize,
    pub(crate) trusted_proxies: Arc<[IpAddr]>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_connections_per_address: Option<usize>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            max_http_buffer_size: 1_000_000,
            upgrade_timeout: Duration::from_secs(10),
            polling: true,
            websocket: true,
            allow_upgrades: true,
            cors_allowed_origins: AllowedOrigins::SameOrigin,
            cookie: None,
            path: "/socket.io/".into(),
            max_queued_packets: 1024,
            max_packets_per_poll: 16,
            ws_read_buffer_size: 4096,
            max_header_bytes: 64 * 1024,
            trusted_proxies: Arc::new([]),
            max_connections: None,
            max_connections_per_address: None,
        }
    }
}

macro_rules! setters {
    ($( $(#[$doc:meta])* $name:ident / $getter:ident : $ty:ty ),* $(,)?) => {
        impl EngineConfig {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }

                #[doc = concat!("The current `", stringify!($name), "`.")]
                pub fn $getter(&self) -> $ty {
                    self.$name.clone()
                }
            )*
        }
    };
}

setters! {
    /// How often the server sends a ping (default 25 s).
    ping_interval / get_ping_interval: Duration,
    /// How long the server waits for the pong before closing the session (default 20 s).
    ping_timeout / get_ping_timeout: Duration,
    /// The largest message, WebSocket frame or polling request body accepted, in bytes
    /// (default 1,000,000). Advertised to clients as `maxPayload`.
    max_http_buffer_size / get_max_http_buffer_size: usize,
    /// How long a polling session may take to complete its upgrade to WebSocket (default 10 s).
    upgrade_timeout / get_upgrade_timeout: Duration,
    /// Whether clients may upgrade from polling to WebSocket (default on).
    allow_upgrades / get_allow_upgrades: bool,
    /// Which browser origins are accepted (default: same origin only).
    cors_allowed_origins / get_cors_allowed_origins: AllowedOrigins,
    /// The session cookie for sticky load balancers (default: none).
    cookie / get_cookie: Option<Cookie>,
    /// Packets a session may have queued for sending before it is closed as a slow consumer
    /// (default 1024).
    max_queued_packets / get_max_queued_packets: usize,
    /// Packets in one polling response (default 16: python-socketio clients refuse more).
    max_packets_per_poll / get_max_packets_per_poll: usize,
    /// Bytes read from a WebSocket at a time once a message spans several reads (default
    /// 4 KiB). A connection keeps this buffer only while a message is arriving: a read goes to
    /// the stack first, and an idle connection holds no read buffer.
    ws_read_buffer_size / get_ws_read_buffer_size: usize,
    /// The largest request head (request line and headers) that [`serve`](super::serve)
    /// accepts, in bytes (default 64 KiB, hyper's own limit for a URI): a larger one is
    /// answered 431, whatever the timing of its arrival.
    max_header_bytes / get_max_header_bytes: usize,
}

impl EngineConfig {
    /// The HTTP path the engine answers on (default `/socket.io/`). A trailing slash is added
    /// when missing.
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        self.path = path;
        self
    }

    /// The HTTP path the engine answers on.
    pub fn get_path(&self) -> &str {
        &self.path
    }

    /// Which transports are enabled (default both). At least one must be.
    #[must_use]
    pub fn transports(mut self, polling: bool, websocket: bool) -> Self {
        self.polling = polling;
        self.websocket = websocket;
        self
    }

    /// The reverse proxies whose `X-Forwarded-For` header is believed (default none): see
    /// [`Handshake::client_addr`](super::Handshake::client_addr). The per-address connection
    /// limit counts the address it gives.
    #[must_use]
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// The reverse proxies whose `X-Forwarded-For` header is believed.
    pub fn get_trusted_proxies(&self) -> &[IpAddr] {
        &self.trusted_proxies
    }

    /// At most `max` sessions open at once (default: no limit). A handshake beyond it is
    /// answered `503 Service Unavailable` with `{"code":4,"message":"Too many connections"}`
    /// and logged at warn level. A session counts from its handshake until it closes.
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = Some(max);
        self
    }

    /// The limit on open sessions, if any.
    pub fn get_max_connections(&self) -> Option<usize> {
        self.max_connections
    }

    /// At most `max` sessions open at once from one client address (default: no limit), the
    /// address being [`Handshake::client_addr`](super::Handshake::client_addr) with the
    /// [`trusted_proxies`](Self::trusted_proxies). A handshake beyond it is answered
    /// `429 Too Many Requests` with `{"code":4,"message":"Too many connections from this
    /// address"}` and logged at warn level. Sessions without a peer address (in process) are
    /// not counted.
    #[must_use]
    pub fn max_connections_per_address(mut self, max: usize) -> Self {
        self.max_connections_per_address = Some(max);
        self
    }

    /// The limit on open sessions per client address, if any.
    pub fn get_max_connections_per_address(&self) -> Option<usize> {
        self.max_connections_per_address
    }
}
