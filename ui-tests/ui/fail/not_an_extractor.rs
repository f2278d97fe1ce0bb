use socketio::{on, Socket};

#[on("chat")]
async fn handler(socket: Socket, count: u32) {
    let _ = (socket, count);
}

fn main() {}
