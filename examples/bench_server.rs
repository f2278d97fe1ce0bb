//! The benchmark contract server (`bench/CONTRACT.md` of the shared bench harness).
//!
//! On 127.0.0.1:$PORT (default 3000), default options, namespace `/` only:
//! - `echo` acknowledges with its argument, byte for byte;
//! - `ping_room` joins room `bench` and acknowledges with no arguments (if asked);
//! - `bcast` emits `bcast` with its argument to every socket of `/`, the sender included.
//!
//! No logging: nothing on the hot path but the handlers.
//!
//! `RT=current` runs it on tokio's current-thread runtime (one thread, as the harness's
//! hand-framed floor `raw-ws-minimal` runs by default); otherwise, or with `RT=multi`, on the
//! multi-thread runtime that `#[tokio::main]` builds. `MAX_HTTP_BUFFER_SIZE` raises the largest
//! message from its default of 1,000,000 bytes (the 1 MiB binary echo of
//! `examples/binary_echo_load.rs`).
//!
//! ```sh
//! cargo build --release --example bench_server -p examples
//! PORT=3300 target/release/examples/bench_server
//! RT=current PORT=3300 target/release/examples/bench_server
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

fn main() -> std::io::Result<()> {
    let runtime = match std::env::var("RT").as_deref() {
        Ok("current") => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_io()
    .enable_time()
    .build()?;
    runtime.block_on(serve())
}

async fn serve() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let mut builder = SocketIo::builder();
    if let Some(max) = std::env::var("MAX_HTTP_BUFFER_SIZE")
        .ok()
        .and_then(|m| m.parse().ok())
    {
        builder = builder.max_http_buffer_size(max);
    }
    let io = builder
        .on("/", "echo", echo)
        .on("/", "ping_room", ping_room)
        .on("/", "bcast", bcast)
        .build()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("bench server listening on 127.0.0.1:{port}");
    io.serve_with(listener, Default::default(), std::future::pending())
        .await
}
