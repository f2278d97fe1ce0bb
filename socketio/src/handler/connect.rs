//! A connect handler's return value.

use crate::error::ConnectError;

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
