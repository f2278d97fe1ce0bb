//! [`HttpSession`]: the HTTP session of `tower-sessions`, shared by the axum routes and the
//! socket handlers (feature `http-session`).
//!
//! A Socket.IO connection starts with an HTTP request. When the application serves the
//! Socket.IO routes inside a `tower_sessions::SessionManagerLayer`, that request carries the
//! visitor's session; the engine keeps the request's extensions on the connection, and this
//! module reads the session from there.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Mutex as AsyncMutex;
use tower_sessions::session::{Error as StoreError, Id};

use super::context::{ConnectContext, DisconnectContext, ErrorContext, MessageContext};
use super::{FromConnectParts, FromDisconnectParts, FromErrorParts, FromMessageParts};
use crate::dispatch::Socket;
use crate::error::ConnectError;

/// The visitor's HTTP session, live: Flask-SocketIO's `manage_session=False`. Every read
/// reloads it from the session store and every write saves it there at once, so the axum routes
/// and the socket handlers see each other's changes (a logout over HTTP is seen by the next
/// event; a value a handler writes is in the next HTTP request's session).
///
/// Flask's default (`manage_session=True`, the socket works on a copy taken at connect) is
/// [`copy_to_session`](Self::copy_to_session): the socket's [`Session<T>`](crate::Session)
/// starts as a copy of the HTTP session's value, and from then on is the connection's own.
///
/// The session is the one of the request that opened the connection: serve the Socket.IO
/// routes inside the application's `SessionManagerLayer` (`.merge(io.router())` *then*
/// `.layer(..)`, served by [`SocketIo::serve_app`](crate::SocketIo::serve_app)). Without it
/// the extractor is rejected with [`HttpSessionError::NoLayer`], which refuses a connection;
/// take `Option<HttpSession>` to decide yourself. The crate re-exports `tower-sessions` as
/// [`socketio::tower_sessions`](crate::tower_sessions): use that version in the routes.
///
/// ```no_run
/// use serde::Deserialize;
/// use socketio::tower_sessions::{MemoryStore, SessionManagerLayer};
/// use socketio::extract::HttpSessionError;
/// use socketio::{on, ConnectError, Data, HttpSession, Session, SocketIo};
///
/// // `manage_session=False`: the live session, read and written by the socket.
/// #[on("connect")]
/// async fn connect(http: HttpSession) -> Result<(), ConnectError> {
///     match http.get::<String>("user").await? {
///         Some(_) => Ok(()),
///         None => Err(ConnectError::new("log in first")), // an anonymous visitor is refused
///     }
/// }
///
/// #[on("theme")]
/// async fn theme(http: HttpSession, Data(theme): Data<String>) -> Result<(), HttpSessionError> {
///     http.insert("theme", &theme).await?; // the next page load sees it
///     Ok(())
/// }
///
/// // Flask's default: the socket's own copy of a value, taken at connect.
/// #[derive(Clone, Deserialize)]
/// struct UserId(u64);
///
/// #[on("connect", namespace = "/chat")]
/// async fn join(http: HttpSession) -> Result<(), ConnectError> {
///     match http.copy_to_session::<UserId>("user_id").await? {
///         Some(_) => Ok(()),
///         None => Err(ConnectError::new("log in first")),
///     }
/// }
///
/// #[on("whoami", namespace = "/chat")]
/// async fn whoami(user: Session<UserId>) -> Option<u64> {
///     user.get().map(|UserId(id)| id) // still there after an HTTP logout, as in Flask
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let io = SocketIo::builder().build()?;
/// let app = axum::Router::new()
///     // .route("/login", post(login)): routes that take a `tower_sessions::Session`
///     .merge(io.router())
///     .layer(SessionManagerLayer::new(MemoryStore::default()));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// io.serve_app(listener, app, socketio::shutdown_signal()).await
/// # }
/// ```
///
/// A session that ends on the HTTP side (deleted, expired) is gone for the socket too: reads
/// give `None` and writes [`HttpSessionError::NoSession`]. Writes need a session that exists
/// in the store (one an HTTP response gave a cookie for, at login say), since a socket cannot
/// set a cookie. Writes are whole-record saves, as tower-sessions' own: the handlers of one
/// connection take turns, but an HTTP request that runs at the same time and saves after a
/// handler wins, as it would against another request.
#[derive(Clone)]
pub struct HttpSession {
    session: tower_sessions::Session,
    socket: Socket,
    turns: Arc<AsyncMutex<()>>,
}

/// The lock by which the handlers of one connection take turns on its HTTP session.
#[derive(Clone, Default)]
struct Turns(Arc<AsyncMutex<()>>);

/// Marks that the connection took its copy of the HTTP session's `T`.
struct Copied<T>(PhantomData<fn() -> T>);

impl HttpSession {
    /// The HTTP session of `socket`'s connection: for your own extractors (a `current_user`).
    pub fn of(socket: &Socket) -> Result<Self, HttpSessionError> {
        let session = socket
            .connection()
            .extensions()
            .get::<tower_sessions::Session>()
            .cloned()
            .ok_or(HttpSessionError::NoLayer)?;
        let turns = {
            let mut values = socket.values();
            match values.get::<Turns>() {
                Some(turns) => turns.0.clone(),
                None => {
                    let turns = Turns::default();
                    values.insert(turns.clone());
                    turns.0
                }
            }
        };
        Ok(HttpSession {
            session,
            socket: socket.clone(),
            turns,
        })
    }

    /// The value under `key`, read from the store now; `None` when it is absent or the visitor
    /// has no session.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, HttpSessionError> {
        let _turn = self.turns.lock().await;
        if !self.reload().await? {
            return Ok(None);
        }
        Ok(self.session.get(key).await?)
    }

    /// Sets `key` to `value` and saves the session to the store.
    pub async fn insert(&self, key: &str, value: impl Serialize) -> Result<(), HttpSessionError> {
        let _turn = self.turns.lock().await;
        if !self.reload().await? {
            return Err(HttpSessionError::NoSession);
        }
        self.session.insert(key, value).await?;
        self.save().await
    }

    /// Removes `key`, saves the session to the store, and returns what it held.
    pub async fn remove<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, HttpSessionError> {
        let _turn = self.turns.lock().await;
        if !self.reload().await? {
            return Ok(None);
        }
        let value = self.session.remove(key).await?;
        self.save().await?;
        Ok(value)
    }

    /// Flask's default (`manage_session=True`): the connection's [`Session<T>`](crate::Session)
    /// becomes a copy of the HTTP session's value under `key`, and stays the connection's own:
    /// later changes on either side do not reach the other. Call it in a connect handler; the
    /// first call of a connection copies, later ones (another namespace's connect handler) keep
    /// the copy it has, as Flask forks the session once per connection. Returns the
    /// connection's value.
    pub async fn copy_to_session<T>(&self, key: &str) -> Result<Option<T>, HttpSessionError>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let copied = self.socket.values().get::<Copied<T>>().is_some();
        if !copied {
            let value = self.get::<T>(key).await?;
            let mut values = self.socket.values();
            if values.get::<Copied<T>>().is_none() {
                values.insert(Copied::<T>(PhantomData));
                match value {
                    Some(value) => values.insert(value),
                    None => drop(values.remove::<T>()),
                }
            }
        }
        let value = self.socket.values().get::<T>().cloned();
        Ok(value)
    }

    /// The session id, `None` when the visitor has no session.
    pub fn id(&self) -> Option<Id> {
        self.session.id()
    }

    /// The `tower_sessions::Session` itself, for what this type does not wrap (expiry,
    /// `cycle_id`, `flush`). Its writes reach the store only when you call its `save`.
    pub fn inner(&self) -> &tower_sessions::Session {
        &self.session
    }

    /// Reloads the record from the store; `false` when the visitor has no session.
    async fn reload(&self) -> Result<bool, StoreError> {
        if self.session.id().is_none() {
            return Ok(false);
        }
        self.session.load().await?;
        Ok(true)
    }

    /// Saves the record, unless the session ended meanwhile: tower-sessions then forgets its
    /// id, and saving would create a session that no cookie names.
    async fn save(&self) -> Result<(), HttpSessionError> {
        if self.session.id().is_none() {
            return Err(HttpSessionError::NoSession);
        }
        Ok(self.session.save().await?)
    }
}

impl std::fmt::Debug for HttpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSession")
            .field("has_id", &self.session.id().is_some()) // the id itself is a credential
            .field("socket", &self.socket.id())
            .finish()
    }
}

/// Why the HTTP session could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum HttpSessionError {
    /// The request that opened the connection carried no HTTP session: no
    /// `SessionManagerLayer` wrapped the Socket.IO routes (or the client is the in-process
    /// test client, which makes no HTTP request).
    NoLayer,
    /// The visitor has no session in the store (it never got one, or it ended), so there is
    /// nothing to write to.
    NoSession,
    /// The session store failed, or a value did not (de)serialize.
    Store(StoreError),
}

impl std::fmt::Display for HttpSessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpSessionError::NoLayer => f.write_str(
                "no HTTP session: serve the Socket.IO routes inside tower_sessions' \
                 SessionManagerLayer (`app.merge(io.router()).layer(..)`, `io.serve_app`)",
            ),
            HttpSessionError::NoSession => f.write_str("the visitor has no HTTP session"),
            HttpSessionError::Store(e) => write!(f, "HTTP session: {e}"),
        }
    }
}

impl std::error::Error for HttpSessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HttpSessionError::Store(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StoreError> for HttpSessionError {
    fn from(e: StoreError) -> Self {
        HttpSessionError::Store(e)
    }
}

/// Refuses the connection with the error's message; a store failure is logged and refused
/// without its details, which are the server's business.
impl From<HttpSessionError> for ConnectError {
    fn from(e: HttpSessionError) -> Self {
        match e {
            HttpSessionError::Store(e) => {
                tracing::warn!(error = %e, "HTTP session store failure; connection refused");
                ConnectError::new("the HTTP session is unavailable")
            }
            e => ConnectError::new(e.to_string()),
        }
    }
}

from_socket!(HttpSession, HttpSessionError, |socket| HttpSession::of(
    socket
));

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{header, Request};
    use axum::routing::{get, post};
    use axum::Router;
    use http_body_util::BodyExt;
    use serde::Deserialize;
    use tower_service::Service;
    use tower_sessions::{MemoryStore, Session as Tower, SessionManagerLayer};

    use super::*;
    use crate::testing::{TestClient, TestError};
    use crate::{Data, Session, SocketIo};

    const WAIT: Duration = Duration::from_secs(10);

    #[derive(Clone, Deserialize)]
    struct User(String);

    async fn connect_live(http: HttpSession) -> Result<(), ConnectError> {
        match http.get::<String>("user").await? {
            Some(_) => Ok(()),
            None => Err(ConnectError::new("log in first")),
        }
    }

    async fn whoami(http: HttpSession) -> Result<Option<String>, HttpSessionError> {
        http.get("user").await
    }

    async fn note(http: HttpSession, Data(text): Data<String>) -> String {
        match http.insert("note", text).await {
            Ok(()) => "saved".into(),
            Err(e) => e.to_string(),
        }
    }

    async fn forget(http: HttpSession) -> Result<Option<String>, HttpSessionError> {
        http.remove("note").await
    }

    async fn connect_copy(http: HttpSession) -> Result<(), ConnectError> {
        match http.copy_to_session::<User>("user").await? {
            Some(_) => Ok(()),
            None => Err(ConnectError::new("log in first")),
        }
    }

    async fn copied(user: Session<User>) -> Option<String> {
        user.get().map(|User(name)| name)
    }

    async fn rename(user: Session<User>, Data(name): Data<String>) {
        user.set(User(name));
    }

    fn server() -> SocketIo {
        SocketIo::builder()
            .on_connect("/", connect_live)
            .on("/", "whoami", whoami)
            .on("/", "note", note)
            .on("/", "forget", forget)
            .on_connect("/copy", connect_copy)
            .on_connect("/copy2", connect_copy)
            .on("/copy", "copied", copied)
            .on("/copy", "rename", rename)
            .on("/copy2", "copied", copied)
            .on("/open", "note", note)
            .build()
            .unwrap()
    }

    /// The Socket.IO routes and three HTTP routes, inside the session layer.
    fn site(io: &SocketIo) -> Router {
        Router::new()
            .route(
                "/login",
                post(|s: Tower| async move { s.insert("user", "alice").await.unwrap() }),
            )
            .route("/logout", post(|s: Tower| async move { s.clear().await }))
            .route(
                "/get/{key}",
                get(
                    |s: Tower, axum::extract::Path(key): axum::extract::Path<String>| async move {
                        s.get::<String>(&key).await.unwrap().unwrap_or_default()
                    },
                ),
            )
            .merge(io.router())
            .layer(SessionManagerLayer::new(MemoryStore::default()))
    }

    /// One HTTP request through the site: the body, and the cookie it set.
    async fn call(
        app: &Router,
        method: &str,
        uri: &str,
        cookie: Option<&str>,
        body: &str,
    ) -> (String, Option<String>) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let request = request.body(Body::from(body.to_owned())).unwrap();
        let response = tokio::time::timeout(WAIT, app.clone().call(request))
            .await
            .expect("a response in time")
            .unwrap();
        let set_cookie = response
            .headers()
            .get(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (String::from_utf8(body.to_vec()).unwrap(), set_cookie)
    }

    /// Logs in over HTTP; returns the session cookie.
    async fn login(app: &Router) -> String {
        call(app, "POST", "/login", None, "")
            .await
            .1
            .expect("a session cookie")
    }

    /// An Engine.IO connection over HTTP long-polling, as a browser's first transport.
    struct Client {
        app: Router,
        cookie: Option<String>,
        path: String,
        inbox: VecDeque<String>,
        next_ack: u64,
    }

    impl Client {
        async fn open(app: &Router, cookie: Option<&str>) -> Client {
            let (open, _) = call(
                app,
                "GET",
                "/socket.io/?EIO=4&transport=polling",
                cookie,
                "",
            )
            .await;
            let open: serde_json::Value =
                serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
            let sid = open["sid"].as_str().unwrap();
            Client {
                app: app.clone(),
                cookie: cookie.map(str::to_owned),
                path: format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
                inbox: VecDeque::new(),
                next_ack: 0,
            }
        }

        async fn post(&self, packet: &str) {
            let (ok, _) = call(
                &self.app,
                "POST",
                &self.path,
                self.cookie.as_deref(),
                packet,
            )
            .await;
            assert_eq!(ok, "ok");
        }

        async fn recv(&mut self) -> String {
            while self.inbox.is_empty() {
                let (body, _) =
                    call(&self.app, "GET", &self.path, self.cookie.as_deref(), "").await;
                self.inbox.extend(
                    body.split('\u{1e}')
                        .filter(|p| *p != "2")
                        .map(str::to_owned),
                );
            }
            self.inbox.pop_front().unwrap()
        }

        /// Joins `ns`: `Ok` or the refusal's message.
        async fn join(&mut self, ns: &str) -> Result<(), String> {
            let prefix = if ns == "/" {
                String::new()
            } else {
                format!("{ns},")
            };
            self.post(&format!("40{prefix}")).await;
            let answer = self.recv().await;
            match answer.split_at(2) {
                ("40", _) => Ok(()),
                ("44", json) => {
                    let json = json.strip_prefix(&prefix).unwrap();
                    let error: serde_json::Value = serde_json::from_str(json).unwrap();
                    Err(error["message"].as_str().unwrap().to_owned())
                }
                _ => panic!("unexpected answer {answer:?}"),
            }
        }

        /// Emits `event` (with `arg`, if any) to `ns` and returns the acknowledgement's arguments.
        async fn call(&mut self, ns: &str, event: &str, arg: Option<&str>) -> serde_json::Value {
            let prefix = if ns == "/" {
                String::new()
            } else {
                format!("{ns},")
            };
            let id = self.next_ack;
            self.next_ack += 1;
            let args = match arg {
                Some(arg) => serde_json::json!([event, arg]),
                None => serde_json::json!([event]),
            };
            self.post(&format!("42{prefix}{id}{args}")).await;
            let answer = self.recv().await;
            let json = answer
                .strip_prefix(&format!("43{prefix}{id}"))
                .unwrap_or_else(|| panic!("expected the ack {id}, got {answer:?}"));
            serde_json::from_str(json).unwrap()
        }
    }

    #[tokio::test]
    async fn the_socket_reads_and_writes_the_live_http_session() {
        let io = server();
        let app = site(&io);
        let cookie = login(&app).await;
        let mut client = Client::open(&app, Some(&cookie)).await;
        client.join("/").await.unwrap();
        assert_eq!(
            client.call("/", "whoami", None).await,
            serde_json::json!(["alice"])
        );

        // A write from the socket is in the next HTTP request's session.
        assert_eq!(
            client.call("/", "note", Some("hello")).await,
            serde_json::json!(["saved"])
        );
        assert_eq!(
            call(&app, "GET", "/get/note", Some(&cookie), "").await.0,
            "hello"
        );
        assert_eq!(
            client.call("/", "forget", None).await,
            serde_json::json!(["hello"])
        );
        assert_eq!(
            call(&app, "GET", "/get/note", Some(&cookie), "").await.0,
            ""
        );

        // A logout over HTTP is seen by the next event.
        call(&app, "POST", "/logout", Some(&cookie), "").await;
        assert_eq!(
            client.call("/", "whoami", None).await,
            serde_json::json!([])
        );
    }

    #[tokio::test]
    async fn an_anonymous_visitor_is_refused_and_cannot_write() {
        let io = server();
        let app = site(&io);
        let mut client = Client::open(&app, None).await;
        assert_eq!(client.join("/").await, Err("log in first".to_owned()));
        client.join("/open").await.unwrap();
        assert_eq!(
            client.call("/open", "note", Some("hi")).await,
            serde_json::json!(["the visitor has no HTTP session"])
        );
    }

    #[tokio::test]
    async fn the_flask_default_copies_the_session_once_per_connection() {
        let io = server();
        let app = site(&io);
        let cookie = login(&app).await;
        let mut client = Client::open(&app, Some(&cookie)).await;
        client.join("/copy").await.unwrap();
        client.join("/").await.unwrap();
        assert_eq!(
            client.call("/copy", "copied", None).await,
            serde_json::json!(["alice"])
        );

        // The copy is the connection's own: its changes stay there...
        client.call("/copy", "rename", Some("bob")).await;
        assert_eq!(
            client.call("/copy", "copied", None).await,
            serde_json::json!(["bob"])
        );
        assert_eq!(
            client.call("/", "whoami", None).await,
            serde_json::json!(["alice"])
        );
        assert_eq!(
            call(&app, "GET", "/get/user", Some(&cookie), "").await.0,
            "alice"
        );

        // ... and the HTTP side's do not reach it, in a namespace joined later too.
        call(&app, "POST", "/logout", Some(&cookie), "").await;
        assert_eq!(
            client.call("/", "whoami", None).await,
            serde_json::json!([])
        );
        client.join("/copy2").await.unwrap();
        assert_eq!(
            client.call("/copy2", "copied", None).await,
            serde_json::json!(["bob"])
        );

        // A new connection takes a new copy.
        let mut again = Client::open(&app, Some(&cookie)).await;
        assert_eq!(again.join("/copy").await, Err("log in first".to_owned()));
    }

    #[tokio::test]
    async fn without_the_session_layer_the_extractor_refuses() {
        let io = server();
        match TestClient::connect(&io).await {
            Err(TestError::Refused { message, .. }) => {
                assert!(message.contains("SessionManagerLayer"), "{message}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
