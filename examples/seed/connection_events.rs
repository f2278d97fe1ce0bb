//! Connection events: a greeting when a client joins `/chat`, a line on stdout when it leaves.
//!
//! `cargo run -p examples --example seed_connection_events`

mod support;

use serde_json::json;
use socketio::{on, Socket, SocketIo};

#[on("connect", namespace = "/chat")]
async fn on_connect(socket: Socket) {
    socket.emit("welcome", &json!({ "status": "connected" }));
}

#[on("disconnect", namespace = "/chat")]
async fn on_disconnect() {
    println!("a client left /chat");
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
