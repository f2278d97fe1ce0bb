//! Broadcasting: an emit to every client of the namespace, the sender included.
//!
//! `cargo run -p examples --example seed_broadcast`

mod support;

use serde_json::Value;
use socketio::{on, Data, Socket, SocketIo};

#[on("shout")]
async fn handle_shout(socket: Socket, Data(data): Data<Value>) {
    socket.everyone().emit("shouted", &data);
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
