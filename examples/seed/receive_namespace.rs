//! Receiving messages: a handler in a namespace other than `/` (the same event on `/` is not
//! handled).
//!
//! `cargo run -p examples --example seed_receive_namespace`

mod support;

use serde_json::Value;
use socketio::{on, Data, SocketIo};

#[on("status", namespace = "/monitor")]
async fn handle_status(Data(status): Data<Value>) {
    println!("status on /monitor: {status}");
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
