//! Error handling: the error handler reads which event failed and with what arguments (Flask's
//! `request.event`) through the `Event` extractor.
//!
//! `cargo run -p examples --example seed_error_event`

mod support;

use serde_json::json;
use socketio::{on, on_error_default, BoxError, Error, Event, SocketIo};

#[on("explode")]
async fn on_explode() -> Result<(), BoxError> {
    Err("it went off".into())
}

#[on_error_default]
async fn default_error_handler(_error: Error, event: Event) {
    println!("{} failed with {}", event.name(), json!(event.args()));
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
