//! The errors handlers and the runtime report.

use std::fmt;

use serde_json::Value;

/// A boxed error from user code.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, in broad strokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An extractor refused the packet (e.g. the payload did not match `Data<T>`).
    Extract,
    /// A handler returned `Err`.
    Handler,
    /// A connect handler refused the connection.
    ConnectRefused,
    /// An acknowledgement did not arrive in time.
    AckTimeout,
    /// A handler panicked.
    Panic,
    /// An event came over the socket's rate limit and was not dispatched
    /// ([`Builder::max_events_per_second`](crate::Builder::max_events_per_second) with
    /// [`RateLimitPolicy::Drop`](crate::RateLimitPolicy::Drop)).
    RateLimited,
}

impl ErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Extract => "extractor rejected the packet",
            ErrorKind::Handler => "handler returned an error",
            ErrorKind::ConnectRefused => "connection refused",
            ErrorKind::AckTimeout => "acknowledgement timed out",
            ErrorKind::Panic => "handler panicked",
            ErrorKind::RateLimited => "event over the rate limit",
        }
    }
}

/// A failure while handling a socket's packet, with where it happened.
///
/// Every failure (extractor rejection, handler `Err`, refused connect, ack timeout, panic) becomes
/// one of these and is reported through `tracing` with its namespace, event and socket id.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    pub(crate) namespace: Option<String>,
    pub(crate) event: Option<String>,
    pub(crate) sid: Option<crate::Sid>,
    pub(crate) handler: Option<std::sync::Arc<str>>,
    source: std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>,
}

impl Error {
    /// An error of `kind` caused by `source`.
    pub fn new(kind: ErrorKind, source: impl Into<BoxError>) -> Self {
        Error {
            kind,
            namespace: None,
            event: None,
            sid: None,
            handler: None,
            source: std::sync::Arc::from(source.into()),
        }
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The namespace of the socket, when known.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The event being handled, when there was one.
    pub fn event(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// The socket id, when known.
    pub fn sid(&self) -> Option<crate::Sid> {
        self.sid
    }

    /// The handler that failed (its function's name and where it was declared), when known.
    pub fn handler(&self) -> Option<&str> {
        self.handler.as_deref()
    }

    /// The underlying error.
    pub fn source_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }

    pub(crate) fn at(mut self, namespace: &str, event: Option<&str>, sid: crate::Sid) -> Self {
        self.namespace.get_or_insert_with(|| namespace.to_owned());
        if self.event.is_none() {
            self.event = event.map(str::to_owned);
        }
        self.sid.get_or_insert(sid);
        self
    }

    /// Reports the error through `tracing` (the built-in error handler). Refused connections
    /// are routine and logged at debug level, as are events over the rate limit (the limit
    /// logged them at warn already). When the application installed no `tracing` subscriber, a
    /// failure is still printed, as one line on stderr (Flask prints the exception): a failing
    /// handler is never silent.
    pub(crate) fn report(&self) {
        if self.kind == ErrorKind::RateLimited {
            tracing::debug!(
                namespace = self.namespace.as_deref().unwrap_or("?"),
                event = self.event.as_deref().unwrap_or("-"),
                sid = %self.sid.map(|s| s.to_string()).unwrap_or_default(),
                "event over the rate limit dropped"
            );
            return;
        }
        if !tracing::dispatcher::has_been_set() {
            if self.kind != ErrorKind::ConnectRefused {
                eprintln!("socketio: {self} (install a tracing subscriber to route these)");
            }
            return;
        }
        if self.kind == ErrorKind::ConnectRefused {
            tracing::debug!(namespace = self.namespace.as_deref().unwrap_or("?"), error = %self.source, "connection refused");
            return;
        }
        tracing::warn!(
            kind = ?self.kind,
            handler = self.handler.as_deref().unwrap_or("-"),
            namespace = self.namespace.as_deref().unwrap_or("?"),
            event = self.event.as_deref().unwrap_or("-"),
            sid = %self.sid.map(|s| s.to_string()).unwrap_or_default(),
            error = %self.source,
            "{}",
            self.kind.as_str()
        );
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind.as_str())?;
        if let Some(handler) = &self.handler {
            write!(f, " in {handler}")?;
        }
        if let Some(event) = &self.event {
            write!(f, " in event {event:?}")?;
        }
        if let Some(ns) = &self.namespace {
            write!(f, " on namespace {ns:?}")?;
        }
        write!(f, ": {}", self.source)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// Why an emit failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum EmitError {
    /// The data could not be serialized to JSON.
    Serialize(serde_json::Error),
    /// The socket is disconnected.
    Disconnected,
    /// The client stopped reading and its queue filled up; it was disconnected.
    QueueFull,
    /// No such namespace on this server.
    UnknownNamespace(String),
    /// The event name is reserved by the protocol (`connect`, `disconnect`, ...).
    ReservedEvent(String),
    /// `emit_with_ack` on a broadcast must address exactly one socket, by id (`to(sid)`);
    /// [`BroadcastOperator::emit_with_acks`](crate::BroadcastOperator::emit_with_acks)
    /// collects the answers of a room.
    AckNeedsOneSocket,
    /// The message queue could not take the message (it was needed to reach another process).
    MessageQueue(String),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Serialize(e) => write!(f, "the data could not be serialized to JSON: {e}"),
            EmitError::Disconnected => f.write_str("the socket is disconnected"),
            EmitError::QueueFull => f.write_str(
                "the client stopped reading and its outbound queue filled up; it was disconnected",
            ),
            EmitError::UnknownNamespace(ns) => write!(
                f,
                "no namespace {ns:?} on this server: register a handler for it or declare it with `.namespace({ns:?})` on the builder"
            ),
            EmitError::ReservedEvent(name) => write!(
                f,
                "{name:?} is a reserved event name in Socket.IO; pick another name"
            ),
            EmitError::AckNeedsOneSocket => f.write_str(
                "emit_with_ack on a broadcast needs exactly one socket id as target: use `to(sid)`, or `emit_with_acks` to collect the answers of several sockets",
            ),
            EmitError::MessageQueue(why) => write!(f, "the message queue is unavailable: {why}"),
        }
    }
}

impl std::error::Error for EmitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EmitError::Serialize(e) => Some(e),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for EmitError {
    fn from(e: serde_json::Error) -> Self {
        EmitError::Serialize(e)
    }
}

impl From<crate::engineio::SendError> for EmitError {
    fn from(e: crate::engineio::SendError) -> Self {
        match e {
            crate::engineio::SendError::Closed => EmitError::Disconnected,
            crate::engineio::SendError::QueueFull => EmitError::QueueFull,
        }
    }
}

/// Why an acknowledgement did not arrive.
#[derive(Debug)]
#[non_exhaustive]
pub enum AckError {
    /// No answer within the timeout.
    Timeout,
    /// The socket disconnected before answering.
    Disconnected,
    /// The emit itself failed.
    Emit(EmitError),
    /// The answer did not match the requested type.
    Decode(serde_json::Error),
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AckError::Timeout => f.write_str("the client did not acknowledge in time"),
            AckError::Disconnected => f.write_str("the socket disconnected before acknowledging"),
            AckError::Emit(e) => write!(f, "the emit failed: {e}"),
            AckError::Decode(e) => write!(f, "the acknowledgement has an unexpected shape: {e}"),
        }
    }
}

impl std::error::Error for AckError {}

/// Why [`Socket::try_join`](crate::Socket::try_join) refused a room.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoinError {
    /// The socket is in `limit` rooms already (its own room left out):
    /// [`Builder::max_rooms_per_socket`](crate::Builder::max_rooms_per_socket).
    TooManyRooms {
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::TooManyRooms { limit } => write!(
                f,
                "the socket is in {limit} rooms already (max_rooms_per_socket)"
            ),
        }
    }
}

impl std::error::Error for JoinError {}

/// Refuses a namespace connection (Flask-SocketIO's `ConnectionRefusedError`): the client gets
/// a CONNECT_ERROR carrying the message and optional data.
///
/// ```
/// use socketio::ConnectError;
///
/// let refused = ConnectError::new("not allowed").data(serde_json::json!({"code": 401}));
/// assert_eq!(refused.message(), "not allowed");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    message: String,
    data: Option<Value>,
}

impl ConnectError {
    /// The message of a refusal that gives none (python-socketio's).
    pub const REJECTED: &'static str = "Connection rejected by server";

    /// A refusal with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds structured data to the refusal.
    #[must_use]
    pub fn data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The data, if any.
    pub fn get_data(&self) -> Option<&Value> {
        self.data.as_ref()
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection refused: {}", self.message)
    }
}

impl std::error::Error for ConnectError {}

/// Refuses with data, as Flask-SocketIO's `ConnectionRefusedError(data)`: a string becomes the
/// message; any other value the data, with python-socketio's message.
impl From<Value> for ConnectError {
    fn from(value: Value) -> Self {
        match value {
            Value::String(message) => ConnectError::new(message),
            data => ConnectError::new(ConnectError::REJECTED).data(data),
        }
    }
}

impl From<&str> for ConnectError {
    fn from(message: &str) -> Self {
        ConnectError::new(message)
    }
}

impl From<String> for ConnectError {
    fn from(message: String) -> Self {
        ConnectError::new(message)
    }
}
