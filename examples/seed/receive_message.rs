//! Receiving messages: unnamed messages (what a client's `send` emits), here carrying text.
//!
//! `cargo run -p examples --example seed_receive_message`

mod support;

use socketio::{on, Data, SocketIo};

#[on("message")]
async fn handle_message(Data(text): Data<String>) {
    println!("message: {text}");
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
