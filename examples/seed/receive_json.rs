//! Receiving messages: the unnamed `json` event, whose argument is any JSON value.
//!
//! `cargo run -p examples --example seed_receive_json`

mod support;

use serde_json::Value;
use socketio::{on, Data, SocketIo};

#[on("json")]
async fn handle_json(Data(json): Data<Value>) {
    println!("json: {json}");
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
