//! Handlers: `async fn`s whose arguments are extractors, registered once per server.

mod connect;
mod context;
mod failure;
mod reply;

pub use connect::{ConnectError, IntoConnectResult};
pub use context::{ConnectContext, DisconnectContext, ErrorContext, MessageContext};
pub(crate) use failure::{fail, Site};
pub use reply::{Ack, AckResponder, IntoAck};

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Waker};

use futures_util::FutureExt;

use crate::error::{Error, ErrorKind};
use crate::extract::{FromConnectParts, FromDisconnectParts, FromErrorParts, FromMessageParts};

/// A boxed, `Send` future, as handlers return them once their types are erased.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An event handler with its types erased; one per event per namespace.
pub(crate) type ErasedMessageHandler = Arc<dyn Fn(MessageContext) -> BoxFuture<()> + Send + Sync>;
/// A connect handler with its types erased; `Err` refuses the connection.
pub(crate) type ErasedConnectHandler =
    Arc<dyn Fn(ConnectContext) -> BoxFuture<Result<(), ConnectError>> + Send + Sync>;
/// An error handler with its types erased.
pub(crate) type ErasedErrorHandler = Arc<dyn Fn(ErrorContext) -> BoxFuture<()> + Send + Sync>;
/// A disconnect handler with its types erased.
pub(crate) type ErasedDisconnectHandler =
    Arc<dyn Fn(DisconnectContext) -> BoxFuture<()> + Send + Sync>;

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

pub(crate) fn erase_message<H: MessageHandler<T>, T>(handler: H) -> ErasedMessageHandler {
    Arc::new(move |ctx| handler.call(ctx))
}

pub(crate) fn erase_error<H: ErrorHandler<T>, T>(handler: H) -> ErasedErrorHandler {
    Arc::new(move |ctx| handler.call(ctx))
}

pub(crate) fn erase_connect<H: ConnectHandler<T>, T>(handler: H) -> ErasedConnectHandler {
    Arc::new(move |ctx| handler.call(ctx))
}

pub(crate) fn erase_disconnect<H: DisconnectHandler<T>, T>(handler: H) -> ErasedDisconnectHandler {
    Arc::new(move |ctx| handler.call(ctx))
}

/// Runs a handler's future: polled once right here (most handlers finish without waiting, so
/// they cost no task), and spawned only if it has to wait. A panic is caught and goes to the
/// error pipeline; it never reaches the connection.
pub(crate) fn run(future: BoxFuture<()>, site: Site) {
    let mut guarded = Box::pin(AssertUnwindSafe(future).catch_unwind().map(move |result| {
        if let Err(panic) = result {
            fail(site, Error::new(ErrorKind::Panic, panic_message(&*panic)));
        }
    }));
    let mut cx = Context::from_waker(Waker::noop());
    if guarded.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(guarded);
    }
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a handler panicked".to_owned())
}

/// Runs an error handler; its own failures are only logged, so the pipeline cannot loop.
pub(crate) fn run_error_handler(future: BoxFuture<()>) {
    let mut guarded = Box::pin(AssertUnwindSafe(future).catch_unwind().map(|result| {
        if let Err(panic) = result {
            tracing::error!(panic = %panic_message(&*panic), "an error handler panicked");
        }
    }));
    let mut cx = Context::from_waker(Waker::noop());
    if guarded.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(guarded);
    }
}
