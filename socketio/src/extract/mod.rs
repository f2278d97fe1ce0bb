//! Extractors: the arguments of handlers.
//!
//! A handler is an `async fn` whose arguments each implement the extractor trait of its moment:
//! [`FromMessageParts`] for events, [`FromConnectParts`] for connections, [`FromDisconnectParts`]
//! for disconnections and [`FromErrorParts`] for error handlers. Each reads the moment's
//! context ([`MessageContext`], [`ConnectContext`], [`DisconnectContext`], [`ErrorContext`]);
//! argument order never matters: extractors only read the context.
//!
//! Write your own by implementing the trait (see the `CurrentUser` pattern in the examples).

/// Implements the four extractor traits (every moment) for a type read from the socket:
/// `from_socket!(T, |socket| value)` never fails; `from_socket!(T, Rejection, |socket| result)`
/// may.
macro_rules! from_socket {
    ($ty:ty, |$socket:ident| $body:expr) => {
        from_socket!($ty, Infallible, |$socket| Ok($body));
    };
    ($ty:ty, $rejection:ty, |$socket:ident| $result:expr) => {
        impl FromMessageParts for $ty {
            type Rejection = $rejection;
            async fn from_message_parts(ctx: &MessageContext) -> Result<Self, $rejection> {
                let $socket = &ctx.socket;
                $result
            }
        }
        impl FromConnectParts for $ty {
            type Rejection = $rejection;
            async fn from_connect_parts(ctx: &ConnectContext) -> Result<Self, $rejection> {
                let $socket = &ctx.socket;
                $result
            }
        }
        impl FromDisconnectParts for $ty {
            type Rejection = $rejection;
            async fn from_disconnect_parts(ctx: &DisconnectContext) -> Result<Self, $rejection> {
                let $socket = &ctx.socket;
                $result
            }
        }
        impl FromErrorParts for $ty {
            type Rejection = $rejection;
            async fn from_error_parts(ctx: &ErrorContext) -> Result<Self, $rejection> {
                let $socket = &ctx.socket;
                $result
            }
        }
    };
}

mod builtin;
mod context;
#[cfg(feature = "http-session")]
mod http_session;
mod session;

pub use builtin::{Auth, Bin, Data, DataError, Event, MissingState, NoEvent, State, TryData};
pub use context::{ConnectContext, DisconnectContext, ErrorContext, MessageContext};
#[cfg(feature = "http-session")]
pub use http_session::{HttpSession, HttpSessionError};
pub use session::Session;

use std::future::Future;

use crate::dispatch::Socket;
use crate::engineio::{Handshake, Sid};
use crate::error::{BoxError, Error};
use crate::reason::DisconnectReason;

/// Builds a handler argument from a received event.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of an event handler",
    label = "not an event extractor",
    note = "event handlers take `Socket`, `Sid`, `Data<T>`, `TryData<T>`, `Event`, `Bin`, `State<T>`, `Session<T>`, `Handshake`, `SocketIo`, or a type implementing `FromMessageParts`"
)]
pub trait FromMessageParts: Sized + Send + 'static {
    /// Why extraction failed; it reaches the error pipeline.
    type Rejection: Into<BoxError>;

    /// Extracts the argument.
    fn from_message_parts(
        ctx: &MessageContext,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

/// Builds a connect handler argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a connect handler",
    label = "not a connect extractor",
    note = "connect handlers take `Socket`, `Sid`, `Auth<T>`, `State<T>`, `Session<T>`, `Handshake`, or a type implementing `FromConnectParts`"
)]
pub trait FromConnectParts: Sized + Send + 'static {
    /// Why extraction failed; the connection is refused with this message.
    type Rejection: Into<BoxError>;

    /// Extracts the argument.
    fn from_connect_parts(
        ctx: &ConnectContext,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

/// Builds a disconnect handler argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a disconnect handler",
    label = "not a disconnect extractor",
    note = "disconnect handlers take `Socket`, `Sid`, `DisconnectReason`, `State<T>`, `Session<T>`, `Handshake`, or a type implementing `FromDisconnectParts`"
)]
pub trait FromDisconnectParts: Sized + Send + 'static {
    /// Why extraction failed; it reaches the error pipeline.
    type Rejection: Into<BoxError>;

    /// Extracts the argument.
    fn from_disconnect_parts(
        ctx: &DisconnectContext,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

/// Builds an error handler argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of an error handler",
    label = "not an error-handler extractor",
    note = "error handlers take `socketio::Error`, `Event`, `Socket`, `Sid`, `State<T>`, `Session<T>`, `Handshake`, or a type implementing `FromErrorParts`"
)]
pub trait FromErrorParts: Sized + Send + 'static {
    /// Why extraction failed; the failure is logged.
    type Rejection: Into<BoxError>;

    /// Extracts the argument.
    fn from_error_parts(
        ctx: &ErrorContext,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

/// Never fails.
#[derive(Debug, Clone, Copy)]
pub enum Infallible {}

impl std::fmt::Display for Infallible {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

impl std::error::Error for Infallible {}

from_socket!(Socket, |socket| socket.clone());
from_socket!(Sid, |socket| socket.id());
from_socket!(Handshake, |socket| socket.handshake().clone());

/// The server a socket belongs to could not be reached: it was dropped while a handler ran.
#[derive(Debug)]
pub struct ServerGone;

impl std::fmt::Display for ServerGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server was dropped while a handler ran")
    }
}

impl std::error::Error for ServerGone {}

impl FromErrorParts for Error {
    type Rejection = Infallible;
    async fn from_error_parts(ctx: &ErrorContext) -> Result<Self, Infallible> {
        Ok(ctx.error.clone())
    }
}

impl FromDisconnectParts for DisconnectReason {
    type Rejection = Infallible;
    async fn from_disconnect_parts(ctx: &DisconnectContext) -> Result<Self, Infallible> {
        Ok(ctx.reason)
    }
}

/// `Option<E>`: `None` when `E` is rejected.
impl<E: FromMessageParts> FromMessageParts for Option<E> {
    type Rejection = Infallible;
    async fn from_message_parts(ctx: &MessageContext) -> Result<Self, Infallible> {
        Ok(E::from_message_parts(ctx).await.ok())
    }
}

impl<E: FromConnectParts> FromConnectParts for Option<E> {
    type Rejection = Infallible;
    async fn from_connect_parts(ctx: &ConnectContext) -> Result<Self, Infallible> {
        Ok(E::from_connect_parts(ctx).await.ok())
    }
}

impl<E: FromDisconnectParts> FromDisconnectParts for Option<E> {
    type Rejection = Infallible;
    async fn from_disconnect_parts(ctx: &DisconnectContext) -> Result<Self, Infallible> {
        Ok(E::from_disconnect_parts(ctx).await.ok())
    }
}

impl<E: FromErrorParts> FromErrorParts for Option<E> {
    type Rejection = Infallible;
    async fn from_error_parts(ctx: &ErrorContext) -> Result<Self, Infallible> {
        Ok(E::from_error_parts(ctx).await.ok())
    }
}

/// `Result<E, E::Rejection>`: the rejection, to handle it yourself.
impl<E: FromMessageParts> FromMessageParts for Result<E, E::Rejection>
where
    E::Rejection: Send + 'static,
{
    type Rejection = Infallible;
    async fn from_message_parts(ctx: &MessageContext) -> Result<Self, Infallible> {
        Ok(E::from_message_parts(ctx).await)
    }
}

impl<E: FromConnectParts> FromConnectParts for Result<E, E::Rejection>
where
    E::Rejection: Send + 'static,
{
    type Rejection = Infallible;
    async fn from_connect_parts(ctx: &ConnectContext) -> Result<Self, Infallible> {
        Ok(E::from_connect_parts(ctx).await)
    }
}
