//! A worker that serves no clients and emits to a room of the Socket.IO servers every second,
//! through Redis (Flask-SocketIO's "emitting from an external process").
//!
//! ```sh
//! REDIS_URL=redis://127.0.0.1:6379/ ROOM=news cargo run -p examples --example emitter_worker
//! ```
//!
//! Servers started with `SocketIo::builder().message_queue(REDIS_URL)` deliver each `tick` to
//! the sockets in `ROOM`, whichever server they are connected to. While Redis is unreachable
//! the ticks fail (and are logged); the emitter reconnects by itself.

use std::time::Duration;

use socketio::Emitter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let room = std::env::var("ROOM").unwrap_or_else(|_| "news".into());
    let emitter = Emitter::connect(&url).await?;
    tracing::info!(room = %room, "emitting a tick every second; Ctrl-C stops");

    let mut every_second = tokio::time::interval(Duration::from_secs(1));
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = every_second.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        n += 1;
        let tick = serde_json::json!({ "n": n });
        match emitter.to(room.as_str()).emit("tick", &tick).await {
            Ok(()) => tracing::info!(n, "tick"),
            Err(e) => tracing::warn!(n, error = %e, "tick not published"),
        }
    }
    Ok(())
}
