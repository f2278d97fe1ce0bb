//! Testing handlers in process, without sockets: Flask-SocketIO's `test_client`.
//!
//! A [`TestClient`] opens a real Engine.IO session on a [`SocketIo`] server, without HTTP, and
//! speaks the real Socket.IO protocol over it: every packet goes through the server's own
//! decoder, namespaces, extractors, error pipeline and adapter, exactly as a browser's would.
//! Several clients on one server see each other's rooms and broadcasts. A task reads what the
//! server sends and answers its pings, so a client stays connected for as long as a test runs,
//! also under `tokio::time::pause()`.
//!
//! ```
//! use socketio::testing::TestClient;
//! use socketio::{Data, Socket, SocketIo};
//!
//! async fn chat(socket: Socket, Data(text): Data<String>) -> String {
//!     let _ = socket.broadcast().emit("chat", &text);
//!     format!("got {text}")
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let io = SocketIo::builder().on("/", "chat", chat).build()?;
//! let alice = TestClient::connect(&io).await?;
//! let bob = TestClient::connect(&io).await?;
//!
//! let ack = alice.emit_with_ack("chat", "hello").await?; // the handler's return value
//! assert_eq!(ack.deserialize::<String>()?, "got hello");
//!
//! let received = bob.get_received().await;            // everything so far, in order
//! assert_eq!(received.len(), 1);
//! assert_eq!(received[0].name(), "chat");
//! assert_eq!(received[0].data::<String>()?, "hello");
//! assert!(alice.get_received().await.is_empty());      // a broadcast skips its sender
//! # Ok(()) }
//! ```
//!
//! # Flask-SocketIO → socketio-rs
//!
//! | Flask-SocketIO | socketio-rs |
//! |---|---|
//! | `client = socketio.test_client(app)` | `let client = TestClient::connect(&io).await?;` |
//! | `socketio.test_client(app, namespace='/chat', auth={...}, headers={...}, query_string='?a=1')` | `TestClient::builder(&io).namespace("/chat").auth(json!({..})).header(..).query("a", "1").cookie(..).connect().await?` |
//! | `client.connect('/chat', auth={...})` | `let chat = client.connect_to("/chat", Some(json!({..}))).await?;` |
//! | `client.emit('ev', 1, 2, namespace='/chat')` | `chat.emit("ev", &(1, 2)).await?;` |
//! | `client.emit('ev', data, callback=True)` | `client.emit_with_ack("ev", &data).await?` |
//! | `client.send('hi')` | `client.send("hi").await?;` |
//! | `client.get_received('/chat')` | `chat.get_received().await` (or `client.of("/chat").get_received().await`) |
//! | (wait for something a background task sends) | `client.recv().await?` |
//! | `client.is_connected('/chat')` | `chat.is_connected()` |
//! | `client.disconnect(namespace='/chat')` | `chat.disconnect().await;` (`client.close().await` ends the whole connection) |
//!
//! # Timing
//!
//! Handlers run as they do under a real transport: polled once when the packet arrives, and
//! spawned if they have to wait. [`emit`](TestClient::emit), [`send`](TestClient::send),
//! [`disconnect`](TestClient::disconnect) and [`get_received`](TestClient::get_received)
//! return once everything the server had queued for this client by then has been read, so
//! what handlers send without waiting is always there. For what comes later (a handler that
//! awaits, a background task, a timer), [`recv`](TestClient::recv) waits for the next event,
//! up to the client's [timeout](TestClientBuilder::timeout) (10 s by default). Under
//! `tokio::time::pause()` every wait is instant: tokio moves the clock forward whenever the
//! runtime has nothing else to do, so pings, `ping_timeout`, `ack_timeout` and timers run in
//! virtual time. Do not pause the clock while handlers wait on real I/O (a database, a file):
//! the clock would run ahead of it.

mod connection;
mod received;

pub use received::{Received, TestError};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Uri};
use serde::Serialize;
use serde_json::Value;

use connection::{ClientConnection, Status};

use crate::args::Args;
use crate::dispatch::Socket;
use crate::engineio::Sid;
use crate::engineio::{CloseReason, Frame, Handshake, MessageBuf};
use crate::protocol::{self, RESERVED_EVENTS};
use crate::server::SocketIo;

/// How long a test client waits for an answer by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// An in-process Socket.IO client for tests: Flask-SocketIO's `test_client`.
///
/// A handle on one connection, bound to one namespace: [`of`](Self::of) and
/// [`connect_to`](Self::connect_to) give handles on the same connection for other namespaces.
/// Handles are cheap to clone; the connection closes (as when a browser tab closes) when the
/// last one is dropped, or with [`close`](Self::close). See the [module docs](self) for an
/// example and the Flask-SocketIO mapping.
#[derive(Clone)]
pub struct TestClient {
    conn: Arc<ClientConnection>,
    namespace: Arc<str>,
}

impl TestClient {
    /// Opens a connection to `io` and connects to the namespace `/` without auth
    /// (Flask-SocketIO's `socketio.test_client(app)`).
    ///
    /// ```
    /// use socketio::{testing::TestClient, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// assert!(client.is_connected());
    /// # }
    /// ```
    pub async fn connect(io: &SocketIo) -> Result<TestClient, TestError> {
        Self::builder(io).connect().await
    }

    /// Configures a connection: namespace, auth, headers, cookies, query, timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use socketio::{testing::TestClient, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().namespace("/chat").build().unwrap();
    /// let client = TestClient::builder(&io)
    ///     .namespace("/chat")
    ///     .timeout(Duration::from_secs(1))
    ///     .connect()
    ///     .await
    ///     .unwrap();
    /// # }
    /// ```
    pub fn builder(io: &SocketIo) -> TestClientBuilder {
        TestClientBuilder::new(io.clone())
    }

    /// The namespace of this handle.
    ///
    /// ```
    /// use socketio::{testing::TestClient, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let io = SocketIo::builder().build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// assert_eq!(client.namespace(), "/");
    /// assert_eq!(client.of("/chat").namespace(), "/chat");
    /// # }
    /// ```
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// A handle on the same connection for `namespace`, not connected to it yet (see
    /// [`connect_to`](Self::connect_to)).
    ///
    /// ```
    /// use socketio::{testing::TestClient, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().namespace("/chat").build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// let chat = client.of("/chat");
    /// assert!(!chat.is_connected());                    // until connect_to("/chat", ..)
    /// assert!(chat.get_received().await.is_empty());
    /// # }
    /// ```
    pub fn of(&self, namespace: &str) -> TestClient {
        TestClient {
            conn: self.conn.clone(),
            namespace: namespace.into(),
        }
    }

    /// Connects this connection to another namespace (Flask's `client.connect(namespace,
    /// auth=...)`), and returns the handle for it. `auth` must be a JSON object.
    ///
    /// Fails with [`TestError::Refused`] when the server refuses.
    ///
    /// ```
    /// use socketio::{testing::TestClient, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().namespace("/chat").build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// let auth = serde_json::json!({ "token": "secret" });
    /// let chat = client.connect_to("/chat", Some(auth)).await.unwrap();
    /// assert!(chat.is_connected() && client.is_connected());
    /// # }
    /// ```
    pub async fn connect_to(
        &self,
        namespace: &str,
        auth: Option<Value>,
    ) -> Result<TestClient, TestError> {
        let client = self.of(namespace);
        client.join(auth.as_ref()).await?;
        Ok(client)
    }

    /// Whether this namespace is connected (Flask's `client.is_connected(namespace)`).
    ///
    /// ```
    /// use socketio::{testing::TestClient, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let io = SocketIo::builder().build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// assert!(client.is_connected());
    /// client.disconnect().await;
    /// assert!(!client.is_connected());
    /// # }
    /// ```
    pub fn is_connected(&self) -> bool {
        let mut state = self.conn.inbox.lock();
        state.closed.is_none()
            && matches!(
                state.namespace(&self.namespace).status,
                Status::Connected(_)
            )
    }

    /// The socket id the server gave this namespace's connection, once connected.
    ///
    /// ```
    /// use socketio::{testing::TestClient, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let io = SocketIo::builder().build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// let sid = client.sid().unwrap();
    /// assert!(io.socket(sid).is_some());
    /// # }
    /// ```
    pub fn sid(&self) -> Option<Sid> {
        match self.conn.inbox.lock().namespace(&self.namespace).status {
            Status::Connected(sid) => sid,
            _ => None,
        }
    }

    /// The server's [`Socket`] for this client in this namespace, while connected: to look at
    /// its rooms, or to emit to it from the test.
    ///
    /// ```
    /// use socketio::{testing::TestClient, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let io = SocketIo::builder().build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// let socket = client.socket().unwrap();
    /// socket.join("lobby");
    /// socket.emit("welcome", "to the lobby");
    /// assert_eq!(client.get_received().await[0].name(), "welcome");
    /// # }
    /// ```
    pub fn socket(&self) -> Option<Socket> {
        self.sid().and_then(|sid| self.conn.io.socket(sid))
    }

    /// Sends `event` with `data` (Flask's `client.emit`; a tuple sends several arguments, `()`
    /// none; a [`Binary`](crate::Binary) travels as an attachment), and returns once what the
    /// handler sent without waiting has arrived.
    ///
    /// ```
    /// use socketio::{testing::TestClient, Data, Socket, SocketIo};
    ///
    /// async fn join(socket: Socket, Data(room): Data<String>) {
    ///     socket.join(&room);
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().on("/", "join", join).build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// client.emit("join", "lobby").await.unwrap();
    /// assert!(client.socket().unwrap().rooms().contains(&"lobby".to_owned()));
    /// # }
    /// ```
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), TestError> {
        self.emit_packet(event, data, None)?;
        self.conn.settle().await;
        Ok(())
    }

    /// Sends `event` asking for an acknowledgement, and returns it: the handler's return value,
    /// or what the error handler returned (Flask's `emit(..., callback=True)`).
    ///
    /// Fails with [`TestError::Timeout`] when no answer comes within the client's timeout.
    ///
    /// ```
    /// use socketio::{testing::TestClient, Data, SocketIo};
    ///
    /// async fn add(Data((a, b)): Data<(i64, i64)>) -> i64 {
    ///     a + b
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().on("/", "add", add).build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// let ack = client.emit_with_ack("add", &(40, 2)).await.unwrap();
    /// assert_eq!(ack.deserialize::<i64>().unwrap(), 42);
    /// # }
    /// ```
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Args, TestError> {
        let (id, answer) = self.conn.register_ack();
        if let Err(e) = self.emit_packet(event, data, Some(id)) {
            self.conn.forget_ack(id);
            return Err(e);
        }
        match tokio::time::timeout(self.conn.timeout, answer).await {
            Ok(Ok(args)) => Ok(args),
            Ok(Err(_)) => Err(self.gone()),
            Err(_) => {
                self.conn.forget_ack(id);
                Err(TestError::Timeout(self.conn.timeout))
            }
        }
    }

    /// Sends a `message` event (Flask's `client.send`).
    ///
    /// ```
    /// use socketio::{testing::TestClient, Data, Socket, SocketIo};
    ///
    /// async fn echo(socket: Socket, Data(text): Data<String>) {
    ///     socket.send(&text);
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().on("/", "message", echo).build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// client.send("hello").await.unwrap();
    /// assert_eq!(client.get_received().await[0].data::<String>().unwrap(), "hello");
    /// # }
    /// ```
    pub async fn send<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), TestError> {
        self.emit("message", data).await
    }

    /// Answers an event for which the server waits for an acknowledgement
    /// ([`Socket::emit_with_ack`]); does nothing if it asked for none.
    ///
    /// ```
    /// use socketio::{testing::TestClient, Socket, SocketIo};
    ///
    /// async fn quiz(socket: Socket) {
    ///     if let Ok(answer) = socket.emit_with_ack("question", "6 x 7?").await {
    ///         socket.emit("verdict", &(answer.deserialize::<i64>().ok() == Some(42)));
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().on("/", "quiz", quiz).build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// client.emit("quiz", &()).await.unwrap();
    /// let question = client.recv().await.unwrap();
    /// client.ack(&question, &42).await.unwrap();
    /// assert!(client.recv().await.unwrap().data::<bool>().unwrap());
    /// # }
    /// ```
    pub async fn ack<T: Serialize + ?Sized>(
        &self,
        event: &Received,
        data: &T,
    ) -> Result<(), TestError> {
        let Some(id) = event.ack_id else {
            return Ok(());
        };
        let client = self.of(&event.namespace);
        client.ensure_connected()?;
        let mut buf = MessageBuf::new();
        let attachments = protocol::encode_ack(buf.as_mut_string(), &event.namespace, id, data)?;
        self.conn.send_packet(buf, attachments);
        self.conn.settle().await;
        Ok(())
    }

    /// Takes every event received so far in this namespace, oldest first (Flask's
    /// `get_received`): what the server queued for this client before the call, included.
    ///
    /// ```
    /// use socketio::{testing::TestClient, Socket, SocketIo};
    ///
    /// async fn greet(socket: Socket) {
    ///     socket.emit("hello", "one");
    ///     socket.emit("hello", "two");
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().on("/", "greet", greet).build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// client.emit("greet", &()).await.unwrap();
    /// let received = client.get_received().await;
    /// assert_eq!(received.len(), 2);
    /// assert_eq!(received[1].data::<String>().unwrap(), "two");
    /// assert!(client.get_received().await.is_empty());  // taken
    /// # }
    /// ```
    pub async fn get_received(&self) -> Vec<Received> {
        self.conn.settle().await;
        let mut state = self.conn.inbox.lock();
        state
            .namespace(&self.namespace)
            .received
            .drain(..)
            .collect()
    }

    /// Waits for the next event in this namespace and takes it: for what a handler that
    /// awaits, a background task or a timer sends.
    ///
    /// Fails with [`TestError::Timeout`] when nothing comes within the client's timeout, and
    /// at once when nothing can come any more (the namespace or the connection was closed
    /// and nothing is left to take).
    ///
    /// ```
    /// use std::time::Duration;
    /// use socketio::{testing::TestClient, Socket, SocketIo};
    ///
    /// async fn later(socket: Socket) {
    ///     tokio::time::sleep(Duration::from_millis(10)).await;
    ///     socket.emit("done", "at last");
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().on("/", "later", later).build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// client.emit("later", &()).await.unwrap();
    /// assert_eq!(client.recv().await.unwrap().name(), "done");
    /// # }
    /// ```
    pub async fn recv(&self) -> Result<Received, TestError> {
        self.conn
            .wait(|state| {
                let closed = state.closed;
                let ns = state.namespace(&self.namespace);
                if let Some(event) = ns.received.pop_front() {
                    return Some(Ok(event));
                }
                if let Some(reason) = closed {
                    return Some(Err(TestError::Closed(reason)));
                }
                match ns.status {
                    Status::Connected(_) | Status::Connecting => None,
                    _ => Some(Err(TestError::NotConnected(self.namespace.to_string()))),
                }
            })
            .await?
    }

    /// Leaves this namespace (Flask's `client.disconnect(namespace)`): the server runs its
    /// disconnect handler. The connection and its other namespaces stay.
    ///
    /// ```
    /// use socketio::{testing::TestClient, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().namespace("/chat").build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// let chat = client.connect_to("/chat", None).await.unwrap();
    /// chat.disconnect().await;
    /// assert!(!chat.is_connected() && client.is_connected());
    /// # }
    /// ```
    pub async fn disconnect(&self) {
        {
            let mut state = self.conn.inbox.lock();
            let ns = state.namespace(&self.namespace);
            if !matches!(ns.status, Status::Connected(_) | Status::Connecting) {
                return;
            }
            ns.status = Status::Disconnected;
        }
        let mut buf = MessageBuf::new();
        protocol::encode_disconnect(buf.as_mut_string(), &self.namespace);
        self.conn.send_packet(buf, Vec::new());
        self.conn.settle().await;
    }

    /// Closes the whole connection, as a closed browser tab does: the server sees `transport
    /// close` and runs the disconnect handler of every namespace. Returns once the server has
    /// forgotten the connection (or after the client's timeout).
    ///
    /// ```
    /// use socketio::{testing::TestClient, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let io = SocketIo::builder().build().unwrap();
    /// let client = TestClient::connect(&io).await.unwrap();
    /// client.close().await;
    /// assert_eq!(io.connection_count(), 0);
    /// # }
    /// ```
    pub async fn close(&self) {
        let session = &self.conn.session;
        self.conn
            .deliver([Frame::Text(Utf8Bytes::from_static("1"))]);
        let _ = self.conn.wait(|state| state.closed.map(|_| ())).await;
        let engine = self.conn.io.engine();
        let deadline = tokio::time::Instant::now() + self.conn.timeout;
        let mut turns = 0u32;
        while engine.session(session.sid()).is_some() && tokio::time::Instant::now() < deadline {
            // The heartbeat task forgets the session and runs the handlers; let it run.
            if turns < 64 {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            turns += 1;
        }
    }

    /// Connects this handle's namespace, with the CONNECT packet a client sends.
    async fn join(&self, auth: Option<&Value>) -> Result<(), TestError> {
        let namespace = &*self.namespace;
        check_connect(namespace, auth)?;
        {
            let mut state = self.conn.inbox.lock();
            if let Some(reason) = state.closed {
                return Err(TestError::Closed(reason));
            }
            let ns = state.namespace(namespace);
            match ns.status {
                Status::Connected(_) => return Ok(()),
                Status::Connecting => {}
                Status::Refused { .. } | Status::Disconnected => {
                    ns.status = Status::Connecting;
                    drop(state);
                    let mut buf = MessageBuf::new();
                    let text = buf.as_mut_string();
                    text.push('0');
                    if namespace != "/" {
                        text.push_str(namespace);
                        text.push(',');
                    }
                    if let Some(auth) = auth {
                        text.push_str(&auth.to_string());
                    }
                    self.conn.send_packet(buf, Vec::new());
                }
            }
        }
        self.conn
            .wait(|state| {
                let closed = state.closed;
                match &state.namespace(namespace).status {
                    Status::Connected(_) => Some(Ok(())),
                    Status::Refused { message, data } => Some(Err(TestError::Refused {
                        message: message.clone(),
                        data: data.clone(),
                    })),
                    _ if closed.is_some() => Some(Err(TestError::Closed(
                        closed.unwrap_or(CloseReason::TransportClose),
                    ))),
                    Status::Disconnected => {
                        Some(Err(TestError::NotConnected(namespace.to_owned())))
                    }
                    Status::Connecting => None,
                }
            })
            .await?
    }

    fn emit_packet<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
        id: Option<u64>,
    ) -> Result<(), TestError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(TestError::ReservedEvent(event.to_owned()));
        }
        self.ensure_connected()?;
        let mut buf = MessageBuf::new();
        let attachments =
            protocol::encode_event(buf.as_mut_string(), &self.namespace, event, data, id)?;
        self.conn.send_packet(buf, attachments);
        Ok(())
    }

    /// An event for a namespace the client has not joined would break the protocol (the server
    /// closes such a connection): refuse it here.
    fn ensure_connected(&self) -> Result<(), TestError> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(self.gone())
        }
    }

    fn gone(&self) -> TestError {
        match self.conn.inbox.lock().closed {
            Some(reason) => TestError::Closed(reason),
            None => TestError::NotConnected(self.namespace.to_string()),
        }
    }
}

impl std::fmt::Debug for TestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClient")
            .field("namespace", &self.namespace)
            .field("sid", &self.sid())
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// Configures a [`TestClient`]: what the handshake request carries (headers, cookies, query,
/// remote address), the first namespace and its auth, and how long to wait.
///
/// ```
/// # async fn f(io: socketio::SocketIo) -> Result<(), socketio::testing::TestError> {
/// use socketio::testing::TestClient;
///
/// let client = TestClient::builder(&io)
///     .namespace("/chat")
///     .auth(serde_json::json!({ "token": "secret" }))
///     .cookie("session", "abc123")
///     .header("user-agent", "tests")
///     .query("room", "lobby")
///     .connect()
///     .await?;
/// assert!(client.is_connected());
/// # Ok(()) }
/// ```
#[must_use = "call `connect()` to open the connection"]
pub struct TestClientBuilder {
    io: SocketIo,
    namespace: String,
    auth: Result<Option<Value>, String>,
    headers: HeaderMap,
    cookies: Vec<(String, String)>,
    query: String,
    remote_addr: Option<SocketAddr>,
    timeout: Duration,
    answer_pings: bool,
    invalid: Vec<String>,
}

impl TestClientBuilder {
    fn new(io: SocketIo) -> Self {
        TestClientBuilder {
            io,
            namespace: "/".to_owned(),
            auth: Ok(None),
            headers: HeaderMap::new(),
            cookies: Vec::new(),
            query: String::new(),
            remote_addr: None,
            timeout: DEFAULT_TIMEOUT,
            answer_pings: true,
            invalid: Vec::new(),
        }
    }

    /// The namespace to connect to (default `/`).
    ///
    /// ```
    /// use socketio::{testing::TestClient, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().namespace("/chat").build().unwrap();
    /// let chat = TestClient::builder(&io).namespace("/chat").connect().await.unwrap();
    /// assert_eq!(chat.namespace(), "/chat");
    /// # }
    /// ```
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The auth payload of the CONNECT packet (what [`Auth<T>`](crate::Auth) reads); it must
    /// serialize to a JSON object.
    ///
    /// ```
    /// use socketio::{testing::TestClient, Auth, SocketIo};
    ///
    /// async fn connect(Auth(auth): Auth<serde_json::Value>) -> bool {
    ///     auth["token"] == "secret"
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().on_connect("/", connect).build().unwrap();
    /// let token = serde_json::json!({ "token": "secret" });
    /// let client = TestClient::builder(&io).auth(token).connect().await.unwrap();
    /// # }
    /// ```
    pub fn auth<T: Serialize>(mut self, auth: T) -> Self {
        self.auth = serde_json::to_value(auth)
            .map(Some)
            .map_err(|e| e.to_string());
        self
    }

    /// Adds a header to the handshake request (what [`Handshake`] shows).
    ///
    /// ```
    /// use socketio::{testing::TestClient, Socket, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let io = SocketIo::builder().build().unwrap();
    /// let client = TestClient::builder(&io).header("user-agent", "ci").connect().await.unwrap();
    /// let socket = client.socket().unwrap();
    /// assert_eq!(socket.handshake().headers["user-agent"], "ci");
    /// # }
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => self
                .invalid
                .push(format!("header {name:?}: {value:?} is not valid HTTP")),
        }
        self
    }

    /// Adds a cookie to the handshake request's `Cookie` header.
    ///
    /// ```
    /// use socketio::{testing::TestClient, Socket, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let io = SocketIo::builder().build().unwrap();
    /// let client = TestClient::builder(&io).cookie("session", "abc123").connect().await.unwrap();
    /// let socket = client.socket().unwrap();
    /// assert_eq!(socket.handshake().cookie("session"), Some("abc123"));
    /// # }
    /// ```
    pub fn cookie(mut self, name: &str, value: &str) -> Self {
        let bad = |c: char| c.is_ascii_control() || matches!(c, ';' | ',' | ' ' | '"' | '\\');
        if name.is_empty() || name.contains(bad) || name.contains('=') || value.contains(bad) {
            self.invalid
                .push(format!("cookie {name:?}={value:?} is not a valid cookie"));
        } else {
            self.cookies.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Adds a parameter to the handshake request's query string (percent-encoded here).
    ///
    /// ```
    /// use socketio::{testing::TestClient, Socket, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let io = SocketIo::builder().build().unwrap();
    /// let client = TestClient::builder(&io).query("room", "lobby 1").connect().await.unwrap();
    /// let socket = client.socket().unwrap();
    /// assert_eq!(socket.handshake().query("room").as_deref(), Some("lobby 1"));
    /// # }
    /// ```
    pub fn query(mut self, key: &str, value: &str) -> Self {
        self.query.push('&');
        percent_encode(&mut self.query, key);
        self.query.push('=');
        percent_encode(&mut self.query, value);
        self
    }

    /// The peer address the server sees (default none, as for a server started without
    /// connect info).
    ///
    /// ```
    /// use socketio::{testing::TestClient, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let io = SocketIo::builder().build().unwrap();
    /// let client = TestClient::builder(&io)
    ///     .remote_addr("203.0.113.7:50000".parse().unwrap())
    ///     .connect()
    ///     .await
    ///     .unwrap();
    /// let addr = client.socket().unwrap().client_addr();
    /// assert_eq!(addr, Some("203.0.113.7".parse().unwrap()));
    /// # }
    /// ```
    pub fn remote_addr(mut self, addr: SocketAddr) -> Self {
        self.remote_addr = Some(addr);
        self
    }

    /// How long the client waits for the server: to accept the connection, to acknowledge,
    /// for [`recv`](TestClient::recv) (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use socketio::testing::{TestClient, TestError};
    /// # use socketio::SocketIo;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let io = SocketIo::builder().build().unwrap();
    /// let client = TestClient::builder(&io)
    ///     .timeout(Duration::from_millis(50))
    ///     .connect()
    ///     .await
    ///     .unwrap();
    /// assert!(matches!(client.recv().await, Err(TestError::Timeout(_))));  // nothing was sent
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether the client answers the server's pings (default true). Turn it off to test what
    /// happens on `ping_timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use socketio::{testing::TestClient, SocketIo};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let io = SocketIo::builder().build().unwrap();
    /// let client = TestClient::builder(&io).answer_pings(false).connect().await.unwrap();
    /// tokio::time::sleep(Duration::from_secs(60)).await; // paused clock: instant
    /// assert!(!client.is_connected());                  // ping_interval + ping_timeout passed
    /// # }
    /// ```
    pub fn answer_pings(mut self, answer: bool) -> Self {
        self.answer_pings = answer;
        self
    }

    /// Opens the connection and connects to the namespace.
    ///
    /// Fails with [`TestError::Refused`] when the server refuses; the connection is then
    /// closed (drop the error and build another client to retry).
    ///
    /// ```
    /// use socketio::testing::{TestClient, TestError};
    /// use socketio::SocketIo;
    ///
    /// async fn connect() -> bool {
    ///     false                                         // refuse everyone
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::builder().on_connect("/", connect).build().unwrap();
    /// let refused = TestClient::builder(&io).connect().await;
    /// assert!(matches!(refused, Err(TestError::Refused { .. })));
    /// # }
    /// ```
    pub async fn connect(mut self) -> Result<TestClient, TestError> {
        if !self.invalid.is_empty() {
            return Err(TestError::InvalidRequest(self.invalid.join("; ")));
        }
        let auth = self
            .auth
            .map_err(|e| TestError::Serialize(serde::ser::Error::custom(e)))?;
        check_connect(&self.namespace, auth.as_ref())?;
        if !self.cookies.is_empty() {
            let mut cookie: Vec<String> = self
                .headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            cookie.extend(self.cookies.iter().map(|(k, v)| format!("{k}={v}")));
            let value = HeaderValue::from_str(&cookie.join("; "))
                .map_err(|e| TestError::InvalidRequest(e.to_string()))?;
            self.headers.insert(header::COOKIE, value);
        }
        let path = self.io.engine().config().get_path().to_owned();
        let uri = format!("{path}?EIO=4&transport=websocket{}", self.query);
        let uri = Uri::try_from(uri).map_err(|e| TestError::InvalidRequest(e.to_string()))?;
        let handshake = Handshake {
            headers: self.headers,
            uri,
            remote_addr: self.remote_addr,
        };
        let conn = ClientConnection::open(self.io, handshake, self.timeout, self.answer_pings)?;
        let client = TestClient {
            conn: Arc::new(conn),
            namespace: self.namespace.into(),
        };
        client.join(auth.as_ref()).await?;
        Ok(client)
    }
}

impl std::fmt::Debug for TestClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClientBuilder")
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Refuses what would make the CONNECT packet invalid (the server would close the connection).
fn check_connect(namespace: &str, auth: Option<&Value>) -> Result<(), TestError> {
    if !namespace.starts_with('/') || namespace.contains(',') {
        return Err(TestError::InvalidRequest(format!(
            "namespace {namespace:?} must start with '/' and contain no ','"
        )));
    }
    if auth.is_some_and(|auth| !auth.is_object()) {
        return Err(TestError::Serialize(serde::ser::Error::custom(
            "the auth payload must be a JSON object",
        )));
    }
    Ok(())
}

/// Appends `text` percent-encoded for a query string (RFC 3986 unreserved characters stay).
fn percent_encode(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}
