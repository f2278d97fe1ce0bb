//! Sending messages: a tuple sends several arguments (here three, to the client's socket in
//! `/chat`).
//!
//! `main` declares `/chat`, which has no handlers of its own, so that clients may join it.
//!
//! `cargo run -p examples --example seed_send_tuple`

mod support;

use serde_json::Value;
use socketio::{on, Data, Socket, SocketIo};

#[on("score")]
async fn handle_score(socket: Socket, Data(score): Data<Value>) {
    if let Some(chat) = socket.of("/chat") {
        chat.emit("scored", &("home", "away", score));
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder().namespace("/chat")).await
}
