//! Rooms (from the prose): every client starts in a room of its own, named by its sid, so the
//! server can reach one client from anywhere; `rooms()` lists a client's rooms and
//! `close_room` empties one.
//!
//! `cargo run -p examples --example seed_room_api`

mod support;

use socketio::{on, Data, Socket, SocketIo};

#[on("join")]
async fn on_join(socket: Socket, Data(room): Data<String>) -> Vec<String> {
    socket.join(room);
    socket.rooms()
}

#[on("close")]
async fn on_close(io: SocketIo, socket: Socket, Data(room): Data<String>) {
    io.close_room(socket.namespace(), &room);
}

#[on("whisper")]
async fn on_whisper(io: SocketIo, Data((sid, text)): Data<(String, String)>) {
    io.to(sid).emit("whisper", &text);
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
