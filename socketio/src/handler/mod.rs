//! Handlers: `async fn`s whose arguments are extractors, registered once per server.

mod connect;
mod failure;
mod guard;
mod reply;
mod table;

pub use crate::dispatch::BoxFuture;
pub use connect::IntoConnectResult;
pub(crate) use failure::{fail, Site};
pub(crate) use guard::erase_guard;
pub use guard::{IntoVerdict, MessageGuard};
pub use reply::{Ack, AckResponder, IntoAck};
pub(crate) use table::{ErasedHandler, HandlerTable};

use std::future::Future;

use crate::error::{ConnectError, Error, ErrorKind};
use crate::extract::{
    ConnectContext, DisconnectContext, ErrorContext, FromConnectParts, FromDisconnectParts,
    FromErrorParts, FromMessageParts, MessageContext,
};

/// An `async fn` usable as an event handler: every argument implements [`FromMessageParts`]
/// and the return value implements [`IntoAck`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event handler",
    label = "not an event handler",
    note = "an event handler is an `async fn` whose arguments implement `FromMessageParts` and whose return type implements `IntoAck`"
)]
pub trait MessageHandler<T>: Clone + Send + Sync + 'static {
    /// Runs the handler for one event.
    fn call(&self, ctx: MessageContext) -> BoxFuture<()>;
}

/// An `async fn` usable as a connect handler: arguments implement [`FromConnectParts`], the
/// return value [`IntoConnectResult`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a connect handler",
    label = "not a connect handler",
    note = "a connect handler is an `async fn` whose arguments implement `FromConnectParts` and which returns `()` or `Result<(), impl Into<ConnectError>>`"
)]
pub trait ConnectHandler<T>: Clone + Send + Sync + 'static {
    /// Runs the handler for one connection request.
    fn call(&self, ctx: ConnectContext) -> BoxFuture<Result<(), ConnectError>>;
}

/// An `async fn` usable as an error handler: arguments implement [`FromErrorParts`] (take the
/// failure with a `socketio::Error`); the return value answers the client's pending
/// acknowledgement, as in Flask-SocketIO.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an error handler",
    label = "not an error handler",
    note = "an error handler is an `async fn` whose arguments implement `FromErrorParts` (e.g. `socketio::Error`, `Event`, `Socket`) and whose return type implements `IntoAck`"
)]
pub trait ErrorHandler<T>: Clone + Send + Sync + 'static {
    /// Runs the handler for one failure.
    fn call(&self, ctx: ErrorContext) -> BoxFuture<()>;
}

/// An `async fn` usable as a disconnect handler: arguments implement [`FromDisconnectParts`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a disconnect handler",
    label = "not a disconnect handler",
    note = "a disconnect handler is an `async fn` returning `()` whose arguments implement `FromDisconnectParts`"
)]
pub trait DisconnectHandler<T>: Clone + Send + Sync + 'static {
    /// Runs the handler for one disconnection.
    fn call(&self, ctx: DisconnectContext) -> BoxFuture<()>;
}

/// Sends an extractor's rejection into the error pipeline.
fn rejected(site: Site, e: impl Into<crate::error::BoxError>) {
    fail(site, Error::new(ErrorKind::Extract, e));
}

macro_rules! impl_handlers {
    ($($ty:ident $var:ident),*) => {
        impl<F, Fut, R, $($ty,)*> MessageHandler<($($ty,)*)> for F
        where
            F: Fn($($ty),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoAck,
            $($ty: FromMessageParts,)*
        {
            #[allow(unused_variables)]
            fn call(&self, ctx: MessageContext) -> BoxFuture<()> {
                let f = self.clone();
                Box::pin(async move {
                    $(
                        let $var = match $ty::from_message_parts(&ctx).await {
                            Ok(value) => value,
                            Err(e) => return rejected(Site::message(&ctx), e),
                        };
                    )*
                    f($($var),*).await.into_ack(AckResponder::new(&ctx));
                })
            }
        }

        impl<F, Fut, R, $($ty,)*> ConnectHandler<($($ty,)*)> for F
        where
            F: Fn($($ty),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoConnectResult,
            $($ty: FromConnectParts,)*
        {
            #[allow(unused_variables)]
            fn call(&self, ctx: ConnectContext) -> BoxFuture<Result<(), ConnectError>> {
                let f = self.clone();
                Box::pin(async move {
                    $(
                        let $var = match $ty::from_connect_parts(&ctx).await {
                            Ok(value) => value,
                            Err(e) => return Err(ConnectError::new(e.into().to_string())),
                        };
                    )*
                    f($($var),*).await.into_connect_result()
                })
            }
        }

        impl<F, Fut, R, $($ty,)*> ErrorHandler<($($ty,)*)> for F
        where
            F: Fn($($ty),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoAck,
            $($ty: FromErrorParts,)*
        {
            #[allow(unused_variables)]
            fn call(&self, ctx: ErrorContext) -> BoxFuture<()> {
                let f = self.clone();
                Box::pin(async move {
                    $(
                        let $var = match $ty::from_error_parts(&ctx).await {
                            Ok(value) => value,
                            Err(e) => {
                                let failure = Error::new(ErrorKind::Extract, e);
                                tracing::warn!(error = %failure, original = %ctx.error, "an error handler could not run");
                                return;
                            }
                        };
                    )*
                    f($($var),*).await.into_ack(AckResponder::for_error(&ctx));
                })
            }
        }

        impl<F, Fut, $($ty,)*> DisconnectHandler<($($ty,)*)> for F
        where
            F: Fn($($ty),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($ty: FromDisconnectParts,)*
        {
            #[allow(unused_variables)]
            fn call(&self, ctx: DisconnectContext) -> BoxFuture<()> {
                let f = self.clone();
                Box::pin(async move {
                    $(
                        let $var = match $ty::from_disconnect_parts(&ctx).await {
                            Ok(value) => value,
                            Err(e) => return rejected(Site::socket(&ctx.socket), e),
                        };
                    )*
                    f($($var),*).await
                })
            }
        }
    };
}

impl_handlers!();
impl_handlers!(T1 t1);
impl_handlers!(T1 t1, T2 t2);
impl_handlers!(T1 t1, T2 t2, T3 t3);
impl_handlers!(T1 t1, T2 t2, T3 t3, T4 t4);
impl_handlers!(T1 t1, T2 t2, T3 t3, T4 t4, T5 t5);
impl_handlers!(T1 t1, T2 t2, T3 t3, T4 t4, T5 t5, T6 t6);
impl_handlers!(T1 t1, T2 t2, T3 t3, T4 t4, T5 t5, T6 t6, T7 t7);
impl_handlers!(T1 t1, T2 t2, T3 t3, T4 t4, T5 t5, T6 t6, T7 t7, T8 t8);

/// Erases an event handler's types: the one path from a user's `async fn` to what a namespace
/// stores, for the builder's `.on(..)` and for `#[on]` alike.
pub(crate) fn erase_message<H: MessageHandler<T>, T>(handler: H) -> ErasedHandler {
    ErasedHandler::Message(std::sync::Arc::new(move |ctx| handler.call(ctx)))
}

/// Erases a connect handler's types (see [`erase_message`]).
pub(crate) fn erase_connect<H: ConnectHandler<T>, T>(handler: H) -> ErasedHandler {
    ErasedHandler::Connect(std::sync::Arc::new(move |ctx| handler.call(ctx)))
}

/// Erases a disconnect handler's types (see [`erase_message`]).
pub(crate) fn erase_disconnect<H: DisconnectHandler<T>, T>(handler: H) -> ErasedHandler {
    ErasedHandler::Disconnect(std::sync::Arc::new(move |ctx| handler.call(ctx)))
}

/// Erases an error handler's types (see [`erase_message`]).
pub(crate) fn erase_error<H: ErrorHandler<T>, T>(handler: H) -> ErasedHandler {
    ErasedHandler::Error(std::sync::Arc::new(move |ctx| handler.call(ctx)))
}
