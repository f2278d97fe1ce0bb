//! Error handling: the error handler of `/`, the one of `/chat`, and the default one for
//! every other namespace. Each receives the failure; these bodies are empty, so a failure that
//! reaches one is dropped instead of printed.
//!
//! Declaring `/chat`'s error handler declares the namespace: clients may join it.
//!
//! `cargo run -p examples --example seed_error_handlers`

mod support;

use socketio::{on_error, on_error_default, Error, SocketIo};

#[on_error]
async fn error_handler(_error: Error) {}

#[on_error(namespace = "/chat")]
async fn error_handler_chat(_error: Error) {}

#[on_error_default]
async fn default_error_handler(_error: Error) {}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
