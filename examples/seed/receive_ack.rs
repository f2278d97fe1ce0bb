//! Receiving messages: the handler's return value answers the client's acknowledgement; a
//! tuple gives the client's callback several arguments (here two).
//!
//! `cargo run -p examples --example seed_receive_ack`

mod support;

use socketio::{on, Data, SocketIo};

#[on("add")]
async fn handle_add(Data((a, b)): Data<(i64, i64)>) -> (&'static str, i64) {
    println!("add: {a} + {b}");
    ("sum", a + b)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
