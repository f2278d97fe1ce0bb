//! Sending messages: an emit that asks the client for an acknowledgement; the code after the
//! `await` is Flask-SocketIO's callback, run once the client answered (with its answer).
//!
//! `cargo run -p examples --example seed_send_callback`

mod support;

use serde_json::{json, Value};
use socketio::{on, Data, Socket, SocketIo};

#[on("question")]
async fn handle_question(socket: Socket, Data(question): Data<Value>) {
    if let Ok(answer) = socket.emit_with_ack("quiz", &question).await {
        println!("quiz received, answer: {}", json!(answer));
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
