//! A connect handler's return value.

use crate::error::ConnectError;

/// A connect handler's return value: `()` and `true` accept, `false` refuses, `Result<(), E>`
/// refuses with `E`.
#[diagnostic::on_unimplemented(
    message = "a connect handler cannot return `{Self}`",
    label = "return `()`, `bool` or `Result<(), impl Into<ConnectError>>`"
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

/// `false` refuses the connection, as a Flask-SocketIO connect handler returning `False`.
impl IntoConnectResult for bool {
    fn into_connect_result(self) -> Result<(), ConnectError> {
        if self {
            Ok(())
        } else {
            Err(ConnectError::new(ConnectError::REJECTED))
        }
    }
}

impl<E: Into<ConnectError> + Send> IntoConnectResult for Result<(), E> {
    fn into_connect_result(self) -> Result<(), ConnectError> {
        self.map_err(Into::into)
    }
}
