//! A background task started once, at startup, that emits `tick` to every client every second
//! (Flask-SocketIO's `socketio.start_background_task`). Shared by `main.rs` and
//! `tests/tests/example_background.rs`.

#![allow(dead_code)] // each test binary that includes this module uses a part of it

use std::time::Duration;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use socketio::{on, Socket, SocketIo};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// What every client receives every second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {
    /// Ticks since the server started: 1, 2, 3, ...
    pub count: u64,
    /// Clients connected when it was sent.
    pub clients: usize,
}

#[on("connect")]
async fn connect(socket: Socket) {
    socket.emit("status", "connected: a tick comes every second");
}

/// The Socket.IO server.
pub fn socketio() -> Result<SocketIo, socketio::BuildError> {
    SocketIo::builder().build()
}

/// Starts the ticker: every `every`, a [`Tick`] to every client of `/`. Call it once; it runs
/// until the returned handle is aborted (or the runtime stops).
pub fn start_ticker(io: SocketIo, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let start = tokio::time::Instant::now() + every;
        let mut interval = tokio::time::interval_at(start, every);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        for count in 1u64.. {
            interval.tick().await;
            let tick = Tick {
                count,
                clients: io.sockets("/").len(),
            };
            io.emit("tick", &tick);
        }
    })
}

const INDEX_HTML: &str = include_str!("index.html");

/// The page, at `/`.
pub fn pages() -> Router {
    Router::new().route("/", get(|| async { Html(INDEX_HTML) }))
}
