//! Sending messages: the values a handler returns are the arguments of the client's
//! acknowledgement callback (here three).
//!
//! `cargo run -p examples --example seed_send_ack_values`

mod support;

use socketio::{on, Data, SocketIo};

#[on("register")]
async fn handle_register(Data(name): Data<String>) -> (&'static str, usize, String) {
    ("registered", name.chars().count(), name)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
