//! The benchmark contract server (`bench/CONTRACT.md` of the shared bench harness).
//!
//! On 127.0.0.1:$PORT (default 3000), default options, namespace `/` only:
//! - `echo` acknowledges with its argument, byte for byte;
//! - `ping_room` joins room `bench` and acknowledges with no arguments (if asked);
//! - `bcast` emits `bcast` with its argument to every socket of `/`, the sender included.
//!
//! No logging: nothing on the hot path but the handlers.
//!
//! ```sh
//! cargo build --release --example bench_server -p examples
//! PORT=3300 target/release/examples/bench_server
//! ```

use socketio::{Args, Event, Socket, SocketIo};

/// Acknowledges with the received arguments, byte for byte.
async fn echo(event: Event) -> Args {
    event.args().clone()
}

/// Joins room `bench`; the `()` return acknowledges with `[]` when the client asked.
async fn ping_room(socket: Socket) {
    socket.join("bench");
}

/// Sends the received arguments to every socket of `/` (`io.emit`: the sender included).
async fn bcast(io: SocketIo, event: Event) {
    io.emit("bcast", event.args());
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let io = SocketIo::builder()
        .on("/", "echo", echo)
        .on("/", "ping_room", ping_room)
        .on("/", "bcast", bcast)
        .build()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("bench server listening on 127.0.0.1:{port}");
    io.serve_with(listener, Default::default(), std::future::pending())
        .await
}
