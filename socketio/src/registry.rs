//! The handler registry the attribute macros submit to, collected once per server.
//!
//! `#[on]`, `#[on_error]` and `#[on_error_default]` each submit one [`Registration`]: constant
//! data and a function that erases the user's handler through the same path as the builder's
//! `.on(..)` (see `handler::erase_message` and its siblings). The builder collects them.

use crate::handler::ErasedHandler;

/// What a handler is registered for.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role<'a> {
    /// One event.
    Event(&'a str),
    /// Every event without a handler of its own.
    CatchAll,
    /// Connections.
    Connect,
    /// Disconnections.
    Disconnect,
    /// The namespace's failures.
    Error,
    /// The failures of every namespace without an error handler of its own.
    ErrorDefault,
    /// A guard of one event's handler (`*`: the catch-all's).
    Guard(&'a str),
    /// A guard of every event of the namespace.
    EventMiddleware,
    /// A step before the connect handler.
    ConnectMiddleware,
}

impl Role<'_> {
    /// The slot's description, to name both sides of a duplicate.
    pub(crate) fn describe(&self) -> String {
        match self {
            Role::Event(name) => format!("handlers for event {name:?}"),
            Role::CatchAll => "catch-all handlers".into(),
            Role::Connect => "connect handlers".into(),
            Role::Disconnect => "disconnect handlers".into(),
            Role::Error => "error handlers".into(),
            Role::ErrorDefault => "default error handlers".into(),
            Role::Guard(name) => format!("guards for event {name:?}"),
            Role::EventMiddleware => "event middleware".into(),
            Role::ConnectMiddleware => "connect middleware".into(),
        }
    }

    /// Whether a namespace holds at most one handler in this slot (guards and middleware
    /// stack up).
    pub(crate) fn is_unique(&self) -> bool {
        !matches!(
            self,
            Role::Guard(_) | Role::EventMiddleware | Role::ConnectMiddleware
        )
    }
}

/// A handler with its types erased, as a registration hands it over.
#[doc(hidden)]
pub struct Handler(pub(crate) ErasedHandler);

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handler")
    }
}

/// One handler registered by `#[on]`, `#[on_error]` or `#[on_error_default]`.
#[doc(hidden)]
#[derive(Debug)]
pub struct Registration {
    /// The namespace (ignored for [`Role::ErrorDefault`]).
    pub namespace: &'static str,
    /// What the handler is for.
    pub role: Role<'static>,
    /// The function's name.
    pub handler: &'static str,
    /// Where the attribute sits.
    pub file: &'static str,
    /// Where the attribute sits.
    pub line: u32,
    /// Erases the function (called once, when a server is built).
    pub make: fn() -> Handler,
}

inventory::collect!(Registration);

impl Registration {
    /// Where the handler was declared, as `name (file:line)`.
    pub(crate) fn location(&self) -> String {
        format!("{} ({}:{})", self.handler, self.file, self.line)
    }
}

/// Every registration linked into the binary, in a stable order (inventory's is unspecified).
pub(crate) fn collect() -> Vec<&'static Registration> {
    let mut all: Vec<&'static Registration> = inventory::iter::<Registration>.into_iter().collect();
    all.sort_by_key(|r| (r.namespace, r.role, r.file, r.line));
    all
}

/// What the generated code calls. Not a stable API: only the macros may use it.
///
/// The macros emit, for each handler, compile-time checks that carry the user's spans (each
/// argument is an extractor of the handler's role, the return type fits the role, the future is
/// `Send`, the names follow the protocol's rules) and a [`Registration`] whose `make` erases the
/// function with the runtime's own functions. When a check fails, the registration falls back
/// (by autoref) to a quiet placeholder, so the user sees one error, on their own token.
#[doc(hidden)]
pub mod __private {
    use std::future::Future;
    use std::marker::PhantomData;

    pub use super::{Handler, Registration, Role};
    pub use inventory;

    use crate::extract::{FromConnectParts, FromDisconnectParts, FromErrorParts, FromMessageParts};
    use crate::handler::{
        erase_connect, erase_disconnect, erase_error, erase_guard, erase_message, ConnectHandler,
        DisconnectHandler, ErasedHandler, ErrorHandler, IntoAck, IntoConnectResult, MessageGuard,
        MessageHandler,
    };
    use crate::protocol::{check_event_name, check_namespace};

    /// `namespace`, if it is a valid namespace; a compile-time error on the literal otherwise.
    pub const fn namespace(namespace: &'static str) -> &'static str {
        match check_namespace(namespace) {
            Ok(()) => namespace,
            Err(why) => panic!("{}", why),
        }
    }

    /// `event`, if a handler may be registered for it; a compile-time error on the literal
    /// otherwise.
    pub const fn event(event: &'static str) -> &'static str {
        match check_event_name(event) {
            Ok(()) => event,
            Err(why) => panic!("{}", why),
        }
    }

    /// Erases an event guard (`#[on(.., guard = g)]`); fails to compile, at `g`, unless it is
    /// one.
    pub fn message_guard<G: MessageGuard<T>, T>(guard: G) -> Handler {
        Handler(ErasedHandler::Guard(erase_guard(guard)))
    }

    /// Erases a connect middleware (`#[on("connect", guard = g)]`); fails to compile, at `g`,
    /// unless it is a connect handler.
    pub fn connect_guard<G: ConnectHandler<T>, T>(guard: G) -> Handler {
        Handler(erase_connect(guard))
    }

    /// Fails to compile, at the argument's type, unless it is an event extractor.
    pub fn assert_message_part<T: FromMessageParts>() {}

    /// Fails to compile, at the argument's type, unless it is a connect extractor.
    pub fn assert_connect_part<T: FromConnectParts>() {}

    /// Fails to compile, at the argument's type, unless it is a disconnect extractor.
    pub fn assert_disconnect_part<T: FromDisconnectParts>() {}

    /// Fails to compile, at the argument's type, unless it is an error-handler extractor.
    pub fn assert_error_part<T: FromErrorParts>() {}

    /// Fails to compile, at the return type, unless it can answer an acknowledgement.
    pub fn assert_ack<R: IntoAck>() {}

    /// Fails to compile, at the return type, unless it is a connect handler's verdict.
    pub fn assert_connect_result<R: IntoConnectResult>() {}

    /// Fails to compile, at the return type, unless it is `()`.
    pub fn assert_disconnect_output<R: DisconnectOutput>() {}

    /// A disconnect handler's return type.
    #[diagnostic::on_unimplemented(
        message = "a disconnect handler must return `()`, not `{Self}`",
        label = "nothing can receive this value"
    )]
    pub trait DisconnectOutput {}

    impl DisconnectOutput for () {}

    /// An `async fn` taking `Args` (a tuple of its argument types), and the future it returns.
    pub trait HandlerFn<Args> {
        /// The future the function returns.
        type Future;
    }

    macro_rules! handler_fn {
        ($($ty:ident),*) => {
            impl<F, Fut, $($ty,)*> HandlerFn<($($ty,)*)> for F
            where
                F: Fn($($ty),*) -> Fut,
            {
                type Future = Fut;
            }
        };
    }

    handler_fn!();
    handler_fn!(T1);
    handler_fn!(T1, T2);
    handler_fn!(T1, T2, T3);
    handler_fn!(T1, T2, T3, T4);
    handler_fn!(T1, T2, T3, T4, T5);
    handler_fn!(T1, T2, T3, T4, T5, T6);
    handler_fn!(T1, T2, T3, T4, T5, T6, T7);
    handler_fn!(T1, T2, T3, T4, T5, T6, T7, T8);

    /// Fails to compile, at the function's name, unless its future can move between threads.
    pub fn assert_send<Args, F: HandlerFn<Args>>(_function: &F)
    where
        F::Future: Future + Send + 'static,
    {
    }

    /// A user's function `F` with argument types `Args`, to be erased for its role.
    pub struct Function<F, Args>(F, PhantomData<fn() -> Args>);

    impl<F, Args> Function<F, Args> {
        /// Wraps `function`.
        pub fn new(function: F) -> Self {
            Function(function, PhantomData)
        }
    }

    /// Defines, for one handler role, the erasure used when the function has that role's
    /// signature, and a fallback (chosen by autoref when it has not) that type-checks quietly:
    /// the assertions above are then the only errors the user sees.
    macro_rules! roles {
        ($($trait:ident, $fallback:ident, $method:ident, $bound:ident, $erase:ident;)*) => {$(
            /// Erasure for a function with this role's signature.
            pub trait $trait {
                /// Erases the function.
                fn $method(&self) -> Handler;
            }

            impl<F: $bound<Args> + Clone, Args> $trait for Function<F, Args> {
                fn $method(&self) -> Handler {
                    Handler($erase(self.0.clone()))
                }
            }

            /// The quiet fallback for a function without this role's signature.
            pub trait $fallback {
                /// Never called: only reached in code that does not compile.
                fn $method(&self) -> Handler;
            }

            impl<F, Args> $fallback for &Function<F, Args> {
                fn $method(&self) -> Handler {
                    unreachable!("reached only in code that does not compile")
                }
            }
        )*};
    }

    roles! {
        MessageRole, MessageRoleFallback, message, MessageHandler, erase_message;
        ConnectRole, ConnectRoleFallback, connect, ConnectHandler, erase_connect;
        DisconnectRole, DisconnectRoleFallback, disconnect, DisconnectHandler, erase_disconnect;
        ErrorRole, ErrorRoleFallback, error, ErrorHandler, erase_error;
    }
}
