//! Receiving messages: an event with a name of the application's choosing; its argument may
//! be a string, a number or JSON (`Value` takes any of them).
//!
//! `cargo run -p examples --example seed_receive_custom`

mod support;

use serde_json::Value;
use socketio::{on, Data, SocketIo};

#[on("new order")]
async fn handle_new_order(Data(order): Data<Value>) {
    println!("new order: {order}");
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
