//! Sending messages: each handler answers its own client, with `send` (an unnamed message),
//! an unnamed `json` event, or `emit` (a named event).
//!
//! `cargo run -p examples --example seed_send_echo`

mod support;

use serde_json::Value;
use socketio::{on, Data, Socket, SocketIo};

#[on("message")]
async fn handle_message(socket: Socket, Data(message): Data<Value>) {
    socket.send(&message);
}

#[on("json")]
async fn handle_json(socket: Socket, Data(json): Data<Value>) {
    socket.emit("json", &json);
}

#[on("ping me")]
async fn handle_ping_me(socket: Socket, Data(data): Data<Value>) {
    socket.emit("pong", &data);
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
