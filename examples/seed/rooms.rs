//! Rooms: joining and leaving a room, with a notice to everyone in it (the sender too, if
//! still in it).
//!
//! `cargo run -p examples --example seed_rooms`

mod support;

use std::collections::HashMap;

use socketio::{on, Data, Socket, SocketIo};

#[on("join")]
async fn on_join(socket: Socket, Data(data): Data<HashMap<String, String>>) {
    let (name, room) = (&data["username"], &data["room"]);
    socket.join(room);
    socket.within(room).send(&format!("{name} joined {room}"));
}

#[on("leave")]
async fn on_leave(socket: Socket, Data(data): Data<HashMap<String, String>>) {
    let (name, room) = (&data["username"], &data["room"]);
    socket.leave(room);
    socket.within(room).send(&format!("{name} left {room}"));
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
