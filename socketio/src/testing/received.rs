//! What a test client received, and why one of its calls failed.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::engineio::CloseReason;
use crate::Args;

/// One event the server sent to a [`TestClient`](super::TestClient): Flask-SocketIO's
/// `{"name": ..., "args": [...], "namespace": ...}`.
///
/// ```
/// # async fn f(client: socketio::testing::TestClient) -> Result<(), Box<dyn std::error::Error>> {
/// let event = client.recv().await?;
/// assert_eq!(event.name(), "chat");
/// let (nick, text): (String, String) = event.data()?;
/// assert_eq!(event.values(), [serde_json::json!(nick), serde_json::json!(text)]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Received {
    pub(super) namespace: String,
    pub(super) name: String,
    pub(super) args: Args,
    pub(super) ack_id: Option<u64>,
}

impl Received {
    /// The event name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace it was sent in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The arguments, raw JSON plus binary attachments.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The arguments as `T`, mapped as for the [`Data`](crate::Data) extractor: a tuple takes
    /// them positionally, any other type the single argument (or the whole list when there
    /// are several). [`Binary`](crate::Binary) values receive their attachments.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.args.deserialize()
    }

    /// Each argument as a JSON value (a binary attachment shows as its placeholder
    /// `{"_placeholder":true,"num":0}`; read it with [`data`](Self::data) and
    /// [`Binary`](crate::Binary), or with [`args`](Self::args)).
    pub fn values(&self) -> Vec<Value> {
        self.args
            .raw()
            .map(|raw| serde_json::from_str(raw).unwrap_or(Value::Null))
            .collect()
    }

    /// Whether the server waits for an acknowledgement (it used `emit_with_ack`); answer it
    /// with [`TestClient::ack`](super::TestClient::ack).
    pub fn wants_ack(&self) -> bool {
        self.ack_id.is_some()
    }
}

/// Why a [`TestClient`](super::TestClient) call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum TestError {
    /// The server refused the namespace connection (its connect handler returned `Err`, an
    /// extractor refused, or the namespace does not exist): the CONNECT_ERROR's message and
    /// data.
    Refused {
        /// The message (`"Invalid namespace"`, or the connect handler's).
        message: String,
        /// The structured data, when the server sent some.
        data: Option<Value>,
    },
    /// The client is not connected to this namespace (it never connected, or it or the
    /// server disconnected it).
    NotConnected(String),
    /// The whole connection is closed.
    Closed(CloseReason),
    /// Nothing came within the client's timeout (see
    /// [`TestClientBuilder::timeout`](super::TestClientBuilder::timeout)).
    Timeout(Duration),
    /// The data could not be serialized to JSON, or the auth payload is not a JSON object.
    Serialize(serde_json::Error),
    /// The event name is reserved by Socket.IO (`connect`, `disconnect`, ...).
    ReservedEvent(String),
    /// A header, cookie or query parameter given to the builder is not valid HTTP.
    InvalidRequest(String),
    /// The engine refused the handshake (a connection limit): what an HTTP client gets as the
    /// error status and body.
    Handshake(crate::engineio::HttpError),
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestError::Refused { message, data } => {
                write!(f, "the server refused the connection: {message:?}")?;
                if let Some(data) = data {
                    write!(f, " (data: {data})")?;
                }
                Ok(())
            }
            TestError::NotConnected(ns) => {
                write!(f, "the test client is not connected to namespace {ns:?}")
            }
            TestError::Closed(reason) => write!(f, "the connection is closed ({reason})"),
            TestError::Timeout(after) => write!(f, "nothing arrived within {after:?}"),
            TestError::Serialize(e) => write!(f, "the data could not be serialized: {e}"),
            TestError::ReservedEvent(name) => {
                write!(f, "{name:?} is a reserved event name in Socket.IO")
            }
            TestError::InvalidRequest(why) => write!(f, "invalid handshake request: {why}"),
            TestError::Handshake(e) => write!(f, "the server refused the handshake: {e}"),
        }
    }
}

impl std::error::Error for TestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TestError::Serialize(e) => Some(e),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for TestError {
    fn from(e: serde_json::Error) -> Self {
        TestError::Serialize(e)
    }
}
