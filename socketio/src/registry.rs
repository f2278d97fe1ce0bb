//! The handler registry the attribute macros submit to, collected once per server.

use crate::handler::{
    BoxFuture, ConnectContext, ConnectError, DisconnectContext, ErrorContext, MessageContext,
};

/// One handler registered by `#[on]`, `#[on_error]` or `#[on_error_default]`: constant data and
/// a non-generic function pointer.
#[doc(hidden)]
#[derive(Debug)]
pub struct Registration {
    /// The namespace (`*` for a default error handler).
    pub namespace: &'static str,
    /// The event name (`connect`, `disconnect`, `*` for the lifecycle and catch-all handlers).
    pub event: &'static str,
    /// The function's name.
    pub handler: &'static str,
    /// Where the attribute sits.
    pub file: &'static str,
    /// Where the attribute sits.
    pub line: u32,
    /// The generated entry point.
    pub call: Call,
}

/// A generated entry point, by handler role.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum Call {
    /// An event handler.
    Event(fn(MessageContext) -> BoxFuture<()>),
    /// A catch-all handler.
    CatchAll(fn(MessageContext) -> BoxFuture<()>),
    /// A connect handler.
    Connect(fn(ConnectContext) -> BoxFuture<Result<(), ConnectError>>),
    /// A disconnect handler.
    Disconnect(fn(DisconnectContext) -> BoxFuture<()>),
    /// A namespace's error handler.
    Error(fn(ErrorContext) -> BoxFuture<()>),
    /// The default error handler.
    ErrorDefault(fn(ErrorContext) -> BoxFuture<()>),
}

inventory::collect!(Registration);

impl Registration {
    /// Where the handler was declared, as `file:line`.
    pub(crate) fn location(&self) -> String {
        format!("{} ({}:{})", self.handler, self.file, self.line)
    }
}

/// Every registration linked into the binary, in a stable order (inventory's is unspecified).
pub(crate) fn collect() -> Vec<&'static Registration> {
    let mut all: Vec<&'static Registration> = inventory::iter::<Registration>.into_iter().collect();
    all.sort_by_key(|r| (r.namespace, r.event, r.file, r.line));
    all
}

/// What the generated code calls. Not a stable API: only the macros may use it.
#[doc(hidden)]
pub mod __private {
    use std::future::Future;
    use std::marker::PhantomData;

    pub use super::{Call, Registration};
    pub use crate::handler::BoxFuture;
    pub use inventory;

    use crate::error::{BoxError, Error, ErrorKind};
    use crate::extract::{FromConnectParts, FromDisconnectParts, FromErrorParts, FromMessageParts};
    use crate::handler::ConnectContext;
    use crate::handler::{
        fail, AckResponder, ConnectError, DisconnectContext, ErrorContext, IntoAck,
        IntoConnectResult, MessageContext, Site,
    };

    /// Names the type of one handler argument, for the extraction below.
    pub struct Part<T>(PhantomData<fn() -> T>);

    impl<T> Part<T> {
        /// A marker for the argument type `T`.
        #[allow(clippy::new_without_default)]
        pub fn new() -> Self {
            Part(PhantomData)
        }
    }

    /// Fails to compile, at the argument's type, unless it is an event extractor.
    pub fn assert_message_part<T: FromMessageParts>() {}

    /// Fails to compile, at the argument's type, unless it is a connect extractor.
    pub fn assert_connect_part<T: FromConnectParts>() {}

    /// Fails to compile, at the argument's type, unless it is a disconnect extractor.
    pub fn assert_disconnect_part<T: FromDisconnectParts>() {}

    /// Fails to compile, at the argument's type, unless it is an error-handler extractor.
    pub fn assert_error_part<T: FromErrorParts>() {}

    /// Defines, for one handler role, the extraction used when the argument type is an
    /// extractor, and a fallback (chosen by autoref when it is not) that type-checks quietly:
    /// the `assert_*_part` call at the argument's type is then the only error the user sees, on
    /// their own token, instead of a second one on the attribute.
    macro_rules! parts {
        ($trait:ident, $fallback:ident, $method:ident, $ctx:ty, $extractor:ident, $call:ident) => {
            /// Extraction for a type that is an extractor of this role.
            pub trait $trait<T> {
                /// Extracts the argument.
                fn $method<'a>(
                    &self,
                    ctx: &'a $ctx,
                ) -> impl Future<Output = Result<T, BoxError>> + Send + 'a;
            }

            impl<T: $extractor> $trait<T> for Part<T> {
                fn $method<'a>(
                    &self,
                    ctx: &'a $ctx,
                ) -> impl Future<Output = Result<T, BoxError>> + Send + 'a {
                    async move { T::$call(ctx).await.map_err(Into::into) }
                }
            }

            /// The quiet fallback for a type that is not (its bound check already failed).
            pub trait $fallback<T> {
                /// Never resolves; only reached in code that does not compile.
                fn $method(&self, ctx: &$ctx) -> std::future::Pending<Result<T, BoxError>>;
            }

            impl<T> $fallback<T> for &Part<T> {
                fn $method(&self, _ctx: &$ctx) -> std::future::Pending<Result<T, BoxError>> {
                    std::future::pending()
                }
            }
        };
    }

    parts!(
        MessagePart,
        MessagePartFallback,
        message_part,
        MessageContext,
        FromMessageParts,
        from_message_parts
    );
    parts!(
        ConnectPart,
        ConnectPartFallback,
        connect_part,
        ConnectContext,
        FromConnectParts,
        from_connect_parts
    );
    parts!(
        DisconnectPart,
        DisconnectPartFallback,
        disconnect_part,
        DisconnectContext,
        FromDisconnectParts,
        from_disconnect_parts
    );
    parts!(
        ErrorPart,
        ErrorPartFallback,
        error_part,
        ErrorContext,
        FromErrorParts,
        from_error_parts
    );

    /// Boxes a handler's future; a `!Send` handler fails to compile here.
    pub fn boxed<F, T>(future: F) -> BoxFuture<T>
    where
        F: Future<Output = T> + Send + 'static,
    {
        Box::pin(future)
    }

    /// Answers the event's acknowledgement with the handler's return value.
    pub fn reply<R: IntoAck>(ctx: &MessageContext, value: R) {
        value.into_ack(AckResponder::new(ctx));
    }

    /// Answers the pending acknowledgement with an error handler's return value.
    pub fn reply_error<R: IntoAck>(ctx: &ErrorContext, value: R) {
        value.into_ack(AckResponder::for_error(ctx));
    }

    /// A connect handler's verdict.
    pub fn connect_result<R: IntoConnectResult>(value: R) -> Result<(), ConnectError> {
        value.into_connect_result()
    }

    /// A disconnect handler returns nothing.
    pub fn disconnect_done<R: DisconnectOutput>(_value: R) {}

    /// A disconnect handler's return type.
    #[diagnostic::on_unimplemented(
        message = "a disconnect handler must return `()`, not `{Self}`",
        label = "nothing can receive this value"
    )]
    pub trait DisconnectOutput {}

    impl DisconnectOutput for () {}

    /// An event extractor refused.
    pub fn message_rejected(ctx: &MessageContext, error: BoxError) {
        fail(Site::message(ctx), Error::new(ErrorKind::Extract, error));
    }

    /// A connect extractor refused: the connection is refused with its message.
    pub fn connect_rejected(error: BoxError) -> Result<(), ConnectError> {
        Err(ConnectError::new(error.to_string()))
    }

    /// A disconnect extractor refused.
    pub fn disconnect_rejected(ctx: &DisconnectContext, error: BoxError) {
        fail(
            Site::socket(&ctx.socket),
            Error::new(ErrorKind::Extract, error),
        );
    }

    /// An error handler's extractor refused: logged, never re-entered.
    pub fn error_rejected(ctx: &ErrorContext, error: BoxError) {
        let error = Error::new(ErrorKind::Extract, error);
        tracing::warn!(%error, original = %ctx.error, "an error handler could not run");
    }
}
