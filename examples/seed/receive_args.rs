//! Receiving messages: an event with several arguments, taken as one tuple.
//!
//! `cargo run -p examples --example seed_receive_args`

mod support;

use socketio::{on, Data, SocketIo};

#[on("move")]
async fn handle_move(Data((piece, from, to)): Data<(String, String, String)>) {
    println!("move: {piece} from {from} to {to}");
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
