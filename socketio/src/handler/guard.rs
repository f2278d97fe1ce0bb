//! Guards: `async fn`s that decide whether an event reaches its handler (Flask's
//! `@authenticated_only` decorator, socket.io's `socket.use` middleware).
//!
//! A guard takes extractors, as a handler does, and returns a verdict: `true` (or `()`, or
//! `Ok(())`) lets the event through, `false` stops it quietly, `Err(e)` stops it and hands `e`
//! to the error handlers (whose return value answers the client's ack). Attach one to an event
//! with `#[on("event", guard = my_guard)]` or [`Builder::guard`](crate::Builder::guard), to
//! every event of a namespace with [`Builder::event_middleware`](crate::Builder::event_middleware).
//! Connections have their own middleware, which are connect handlers
//! ([`Builder::connect_middleware`](crate::Builder::connect_middleware)).

use std::future::Future;
use std::sync::Arc;

use crate::dispatch::BoxFuture;
use crate::error::{BoxError, Error, ErrorKind};
use crate::extract::{FromMessageParts, MessageContext};

/// A guard's answer: whether the event goes on to its handler.
#[diagnostic::on_unimplemented(
    message = "a guard cannot return `{Self}`",
    label = "return `bool`, `()` or `Result<(), E>`"
)]
pub trait IntoVerdict: Send {
    /// `Ok(true)` lets the event through, `Ok(false)` stops it, `Err` stops it as a failure.
    fn into_verdict(self) -> Result<bool, BoxError>;
}

impl IntoVerdict for bool {
    fn into_verdict(self) -> Result<bool, BoxError> {
        Ok(self)
    }
}

impl IntoVerdict for () {
    fn into_verdict(self) -> Result<bool, BoxError> {
        Ok(true)
    }
}

impl<E: Into<BoxError> + Send> IntoVerdict for Result<(), E> {
    fn into_verdict(self) -> Result<bool, BoxError> {
        self.map(|()| true).map_err(Into::into)
    }
}

impl<E: Into<BoxError> + Send> IntoVerdict for Result<bool, E> {
    fn into_verdict(self) -> Result<bool, BoxError> {
        self.map_err(Into::into)
    }
}

/// An `async fn` usable as an event guard: every argument implements [`FromMessageParts`] and
/// the return value implements [`IntoVerdict`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event guard",
    label = "not an event guard",
    note = "a guard is an `async fn` whose arguments implement `FromMessageParts` and which returns `bool`, `()` or `Result<(), E>`"
)]
pub trait MessageGuard<T>: Clone + Send + Sync + 'static {
    /// Decides for one event: `Ok(true)` lets it through.
    fn check(&self, ctx: MessageContext) -> BoxFuture<Result<bool, Error>>;
}

macro_rules! impl_guard {
    ($($ty:ident $var:ident),*) => {
        impl<F, Fut, R, $($ty,)*> MessageGuard<($($ty,)*)> for F
        where
            F: Fn($($ty),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoVerdict,
            $($ty: FromMessageParts,)*
        {
            #[allow(unused_variables)]
            fn check(&self, ctx: MessageContext) -> BoxFuture<Result<bool, Error>> {
                let f = self.clone();
                Box::pin(async move {
                    $(
                        let $var = $ty::from_message_parts(&ctx)
                            .await
                            .map_err(|e| Error::new(ErrorKind::Extract, e))?;
                    )*
                    f($($var),*)
                        .await
                        .into_verdict()
                        .map_err(|e| Error::new(ErrorKind::Handler, e))
                })
            }
        }
    };
}

impl_guard!();
impl_guard!(T1 t1);
impl_guard!(T1 t1, T2 t2);
impl_guard!(T1 t1, T2 t2, T3 t3);
impl_guard!(T1 t1, T2 t2, T3 t3, T4 t4);
impl_guard!(T1 t1, T2 t2, T3 t3, T4 t4, T5 t5);
impl_guard!(T1 t1, T2 t2, T3 t3, T4 t4, T5 t5, T6 t6);

/// An event guard with its types erased.
pub(crate) type ErasedMessageGuard =
    Arc<dyn Fn(MessageContext) -> BoxFuture<Result<bool, Error>> + Send + Sync>;

/// Erases a guard's types (the one path for `#[on(.., guard = ..)]` and the builder).
pub(crate) fn erase_guard<G: MessageGuard<T>, T>(guard: G) -> ErasedMessageGuard {
    Arc::new(move |ctx| guard.check(ctx))
}
