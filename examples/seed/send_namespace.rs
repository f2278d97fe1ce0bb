//! Sending messages: from a handler of `/`, to the same client's socket in `/chat` (nothing is
//! sent if the client has not joined `/chat`).
//!
//! `main` declares `/chat`, which has no handlers of its own, so that clients may join it.
//!
//! `cargo run -p examples --example seed_send_namespace`

mod support;

use serde_json::Value;
use socketio::{on, Data, Socket, SocketIo};

#[on("message")]
async fn handle_message(socket: Socket, Data(message): Data<Value>) {
    if let Some(chat) = socket.of("/chat") {
        chat.send(&message);
    }
}

#[on("relay")]
async fn handle_relay(socket: Socket, Data(data): Data<Value>) {
    if let Some(chat) = socket.of("/chat") {
        chat.emit("relayed", &data);
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder().namespace("/chat")).await
}
