//! Refusing a connection: [`ConnectError`] and the connect handler's return value.

use std::fmt;

use serde_json::Value;

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

/// A connect handler's return value: `()` accepts, `Result<(), E>` refuses with `E`.
#[diagnostic::on_unimplemented(
    message = "a connect handler cannot return `{Self}`",
    label = "return `()` or `Result<(), impl Into<ConnectError>>`"
)]
pub trait IntoConnectResult: Send {
    /// The verdict.
    fn into_connect_result(self) -> Result<(), ConnectError>;
}

impl IntoConnectResult for () {
    fn into_connect_result(self) -> Result<(), ConnectError> {
        Ok(())
    }
}

impl<E: Into<ConnectError> + Send> IntoConnectResult for Result<(), E> {
    fn into_connect_result(self) -> Result<(), ConnectError> {
        self.map_err(Into::into)
    }
}
