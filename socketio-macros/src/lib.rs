//! Attribute macros for the `socketio` crate; use them through `socketio::{on, on_error,
//! on_error_default}`.
//!
//! Each macro re-emits the user's function untouched and submits a registry entry (a plain fn
//! pointer plus its namespace, event, name, file and line) that `SocketIo::builder()` collects.
//! Every extractor call in the generated code carries the span of the argument type it comes
//! from, and the return conversion the span of the return type, so a wrong signature is reported
//! on the user's own token.

mod args;
mod class;
mod errors;
mod expand;

use proc_macro::TokenStream;

/// Registers an `async fn` as the handler of an event: `#[on("chat")]`,
/// `#[on("chat", namespace = "/room")]`, `#[on("connect")]`, `#[on("disconnect")]`, or
/// `#[on("*")]` for the catch-all. `guard = f` runs the guard `f` first (an `async fn` taking
/// extractors and returning `bool`, `()` or `Result<(), E>`; for `"connect"`, a connect
/// handler that runs before this one). `crate = path` names a renamed `socketio` dependency.
#[proc_macro_attribute]
pub fn on(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::handler(expand::Kind::On, attr.into(), item.into()).into()
}

/// Registers an `async fn` as the error handler of a namespace (`/` unless
/// `namespace = "/x"` is given). It must take a `socketio::Error` argument; its return value
/// answers the client's pending acknowledgement.
#[proc_macro_attribute]
pub fn on_error(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::handler(expand::Kind::OnError, attr.into(), item.into()).into()
}

/// Registers an `async fn` as the error handler of every namespace that has none of its own.
#[proc_macro_attribute]
pub fn on_error_default(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::handler(expand::Kind::OnErrorDefault, attr.into(), item.into()).into()
}

/// Makes an `impl` block a class-based namespace (Flask-SocketIO's `Namespace` class):
/// `#[namespace("/chat")]`. Each `async fn on_<event>(&self, ..)` method handles `<event>`
/// (`on_connect` and `on_disconnect` the lifecycle), with the same extractors as `#[on]`;
/// other methods are left alone. Register a value with `Builder::on_namespace(value)`; its
/// state is shared by every socket, through `&self`.
#[proc_macro_attribute]
pub fn namespace(attr: TokenStream, item: TokenStream) -> TokenStream {
    class::namespace(attr.into(), item.into()).into()
}
