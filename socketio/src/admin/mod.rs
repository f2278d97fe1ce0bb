//! The server side of the official [Socket.IO Admin UI](https://socket.io/docs/v4/admin-ui/)
//! (`@socket.io/admin-ui`), cargo feature `admin-ui`: what socket.io's `instrument(io, options)`
//! does for a Node server.
//!
//! [`Builder::admin_ui`] adds the namespace the UI connects to (`/admin` by default) and lets
//! it watch the server: the UI, logged in with the username and password given here, shows the
//! server's stats (connections, polling and WebSocket clients, sockets per namespace, the
//! connection and byte histograms), every socket with its handshake and rooms, the rooms, the
//! clients, and the events as they happen (connections, disconnections, room joins and
//! leaves, events received and sent). Unless it is [read-only](AdminUi::readonly), the UI can
//! also emit to a namespace or room, make sockets join or leave a room, and disconnect them.
//!
//! ```
//! use socketio::admin::AdminUi;
//!
//! // The bcrypt hash of the password ("changeit" here), made once with `hash_password` (or
//! // `bcrypt.hash` in Node): keep the hash in the configuration, never the password.
//! let hash = "$2a$10$mUAY0cyFOFDCJtOAdnA0N.ZMSRxc5bpSXzKuF1pBFbHFeruiUYi9W";
//! let io = socketio::SocketIo::builder()
//!     .admin_ui(AdminUi::basic_auth("admin", hash))
//!     .build()
//!     .unwrap();
//! assert_eq!(io.namespaces(), ["/", "/admin"]);
//! ```
//!
//! The UI itself is a static web page: the npm package ships it built (`ui/dist`), so serve that
//! folder with your application (the `admin` example does, at `/admin-ui/`), or use the hosted
//! one at <https://admin.socket.io>. In its connection form give the server's URL (without
//! `/admin`), the username and the password; a page served from another origin than the
//! server's needs [`cors_allowed_origins`](crate::Builder::cors_allowed_origins) to name that
//! origin. See `docs/admin-ui.md` for the whole guide.
//!
//! **Modes.** In [`Mode::Development`] (the default, as in socket.io) every socket, room and
//! event is reported to the UI as it happens; each event then costs an extra message to the
//! admin sockets. [`Mode::Production`] reports only the aggregated stats every two seconds,
//! and the UI shows its dashboard and servers pages.
//!
//! **Several processes.** With a [message queue](crate::Builder::message_queue), every
//! process reports to the admin sockets of every process (each appears on the UI's servers
//! page under its [server id](AdminUi::server_id)), and the list of sockets sent when the UI
//! connects is gathered from the whole cluster. A process publishes its stats and reports to
//! the others only while its broker connection is up. The login sessions of the UI are kept per
//! process: a UI that reconnects to another process logs in again.

mod auth;
mod clock;
mod commands;
mod monitor;
mod serialize;

use std::sync::Arc;

use crate::error::ConnectError;
use crate::extract::{Auth, Event};
use crate::protocol::check_namespace;
use crate::server::Builder;
use crate::Socket;

use auth::Credentials;
use monitor::Monitor;

/// The Admin UI's options (socket.io's `instrument(io, options)`): how it logs in, its
/// namespace, whether it may act on the sockets, how this server is named and how much it
/// reports. Give them to [`Builder::admin_ui`].
///
/// ```
/// use socketio::admin::{AdminUi, Mode};
///
/// let admin = AdminUi::basic_auth("admin", "$2a$10$mUAY0cyFOFDCJtOAdnA0N.ZMSRxc5bpSXzKuF1pBFbHFeruiUYi9W")
///     .readonly(true)
///     .server_id("eu-west-1")
///     .mode(Mode::Production);
/// let io = socketio::SocketIo::builder().admin_ui(admin).build().unwrap();
/// ```
#[derive(Debug, Clone)]
#[must_use = "give the options to `Builder::admin_ui`"]
pub struct AdminUi {
    credentials: Credentials,
    namespace: String,
    readonly: bool,
    server_id: Option<String>,
    mode: Mode,
}

/// How much the server reports to the Admin UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Everything as it happens: sockets, rooms, events (socket.io's `mode: "development"`).
    #[default]
    Development,
    /// Only the aggregated stats, every two seconds (socket.io's `mode: "production"`).
    Production,
}

impl AdminUi {
    /// The UI logs in with `username` and the password whose bcrypt hash is `password_hash`
    /// (socket.io's `auth: { type: "basic", username, password }`). Make the hash with
    /// [`hash_password`] or any bcrypt tool; a string that is not a bcrypt hash is reported by
    /// `build()`.
    ///
    /// ```
    /// let hash = socketio::admin::hash_password("changeit").unwrap();
    /// let admin = socketio::admin::AdminUi::basic_auth("admin", hash);
    /// ```
    pub fn basic_auth(username: impl Into<String>, password_hash: impl Into<String>) -> Self {
        Self::with(Credentials::Basic {
            username: username.into(),
            hash: password_hash.into(),
        })
    }

    /// Anyone who reaches the server may use the UI (socket.io's `auth: false`): for a server
    /// on a private network or behind an authenticating proxy only.
    ///
    /// ```
    /// let admin = socketio::admin::AdminUi::without_auth().readonly(true);
    /// ```
    pub fn without_auth() -> Self {
        Self::with(Credentials::None)
    }

    fn with(credentials: Credentials) -> Self {
        AdminUi {
            credentials,
            namespace: "/admin".to_owned(),
            readonly: false,
            server_id: None,
            mode: Mode::Development,
        }
    }

    /// The namespace the UI connects to (default `/admin`; the UI's "namespace" field under
    /// its advanced options).
    ///
    /// ```
    /// let admin = socketio::admin::AdminUi::without_auth().namespace("/ops");
    /// ```
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Whether the UI may only watch (default false): read-only, it cannot emit, make
    /// sockets join or leave rooms, or disconnect them; such requests are refused and logged.
    ///
    /// ```
    /// let admin = socketio::admin::AdminUi::without_auth().readonly(true);
    /// ```
    pub fn readonly(mut self, readonly: bool) -> Self {
        self.readonly = readonly;
        self
    }

    /// The name of this server on the UI's servers page (default: the host name). Give each
    /// process of a cluster its own.
    ///
    /// ```
    /// let admin = socketio::admin::AdminUi::without_auth().server_id("worker-2");
    /// ```
    pub fn server_id(mut self, id: impl Into<String>) -> Self {
        self.server_id = Some(id.into());
        self
    }

    /// How much the server reports (default [`Mode::Development`]).
    ///
    /// ```
    /// use socketio::admin::{AdminUi, Mode};
    /// let admin = AdminUi::without_auth().mode(Mode::Production);
    /// ```
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
}

/// The bcrypt hash of `password` (cost 10, as socket.io's documentation makes it), for
/// [`AdminUi::basic_auth`]. Fails only when the system's random source (for the salt) does.
///
/// ```
/// let hash = socketio::admin::hash_password("changeit")?;
/// assert!(hash.starts_with("$2b$10$"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn hash_password(password: &str) -> std::io::Result<String> {
    bcrypt::hash(password, 10).map_err(std::io::Error::other)
}

impl Builder {
    /// Serves the official Socket.IO Admin UI's namespace and reports this server to it
    /// (socket.io's `instrument(io, options)`; cargo feature `admin-ui`). See [`crate::admin`].
    ///
    /// ```
    /// use socketio::admin::AdminUi;
    ///
    /// let io = socketio::SocketIo::builder()
    ///     .admin_ui(AdminUi::without_auth().readonly(true))
    ///     .build()
    ///     .unwrap();
    /// assert!(io.namespaces().contains(&"/admin".to_owned()));
    /// ```
    pub fn admin_ui(mut self, options: AdminUi) -> Self {
        let namespace = options.namespace.clone();
        if let Err(why) = check_namespace(&namespace) {
            return self.problem(format!("admin_ui: namespace {namespace:?}: {why}"));
        }
        if let Err(why) = options.credentials.check() {
            self = self.problem(format!("admin_ui: {why}"));
        }
        if options.credentials == Credentials::None {
            tracing::warn!(
                namespace = %namespace,
                "the Admin UI has no authentication: anyone who reaches the server can use it"
            );
        }
        let monitor = Arc::new(Monitor::new(options));
        let on_connect = {
            let monitor = monitor.clone();
            move |socket: Socket, Auth(auth): Auth<Option<serde_json::Value>>| {
                let monitor = monitor.clone();
                async move { monitor.admit(socket, auth).await }
            }
        };
        let on_command = {
            let monitor = monitor.clone();
            move |event: Event| {
                let monitor = monitor.clone();
                async move { monitor.command(&event) }
            }
        };
        let started = monitor.clone();
        let mut builder = self
            .observer(monitor)
            .on_built(Box::new(move |io| started.start(io)))
            .on_connect(&namespace, on_connect);
        for command in commands::NAMES {
            builder = builder.on(&namespace, command, on_command.clone());
        }
        builder
    }
}

/// Refusal of an Admin UI login, as the UI expects it.
fn invalid_credentials() -> ConnectError {
    ConnectError::new("invalid credentials")
}
