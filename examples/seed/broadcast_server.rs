//! Broadcasting: the server speaks first, outside any handler: `announce` emits to every
//! client of `/`, and `main` calls it every second from a background task.
//!
//! `cargo run -p examples --example seed_broadcast_server`

mod support;

use std::time::Duration;

use serde_json::json;
use socketio::SocketIo;

fn announce(io: &SocketIo, count: u64) {
    io.emit("tick", &json!({ "count": count }));
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let io = SocketIo::builder().build()?;
    let ticker = io.clone();
    tokio::spawn(async move {
        for count in 1.. {
            tokio::time::sleep(Duration::from_secs(1)).await;
            announce(&ticker, count);
        }
    });
    io.serve(support::addr()).await
}
