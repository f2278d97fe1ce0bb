//! Handlers: `async fn`s whose arguments are extractors, registered once per server.

mod connect;
mod context;
mod reply;

pub use connect::{ConnectError, IntoConnectResult};
pub use context::{ConnectContext, DisconnectContext, MessageContext};
pub use reply::{Ack, AckResponder, IntoAck};

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Waker};

use futures_util::FutureExt;

use crate::error::{Error, ErrorKind};
use crate::extract::{FromConnectParts, FromDisconnectParts, FromMessageParts};

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An event handler with its types erased; one per event per namespace.
pub(crate) type ErasedMessageHandler = Arc<dyn Fn(MessageContext) -> BoxFuture<()> + Send + Sync>;
/// A connect handler with its types erased; `Err` refuses the connection.
pub(crate) type ErasedConnectHandler =
    Arc<dyn Fn(ConnectContext) -> BoxFuture<Result<(), ConnectError>> + Send + Sync>;
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

fn reject(
    ctx_socket: &crate::Socket,
    event: Option<&str>,
    kind: ErrorKind,
    e: impl Into<crate::error::BoxError>,
) {
    Error::new(kind, e)
        .at(ctx_socket.namespace(), event, ctx_socket.id())
        .report();
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
                            Err(e) => return reject(&ctx.socket, Some(&ctx.event), ErrorKind::Extract, e),
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
                            Err(e) => return reject(&ctx.socket, None, ErrorKind::Extract, e),
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

pub(crate) fn erase_connect<H: ConnectHandler<T>, T>(handler: H) -> ErasedConnectHandler {
    Arc::new(move |ctx| handler.call(ctx))
}

pub(crate) fn erase_disconnect<H: DisconnectHandler<T>, T>(handler: H) -> ErasedDisconnectHandler {
    Arc::new(move |ctx| handler.call(ctx))
}

/// Runs a handler's future: polled once right here (most handlers finish without waiting, so
/// they cost no task), and spawned only if it has to wait. A panic is caught and reported; it
/// never reaches the connection.
pub(crate) fn run(future: BoxFuture<()>, socket: &crate::Socket, event: Option<&str>) {
    let namespace = socket.namespace().to_owned();
    let sid = socket.id();
    let event = event.map(str::to_owned);
    let mut guarded = Box::pin(AssertUnwindSafe(future).catch_unwind().map(move |result| {
        if let Err(panic) = result {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a handler panicked".to_owned());
            Error::new(ErrorKind::Panic, message)
                .at(&namespace, event.as_deref(), sid)
                .report();
        }
    }));
    let mut cx = Context::from_waker(Waker::noop());
    if guarded.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(guarded);
    }
}
