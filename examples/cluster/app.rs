//! One server of the cluster: every process runs these handlers with a Redis message queue, so
//! a message sent to one process reaches the sockets of all of them, and so do the ticks of an
//! emitter worker (a process that serves nothing). Shared by `main.rs` and
//! `tests/tests/example_cluster.rs`.
//!
//! - On connect a socket joins room [`ROOM`] and gets `hello` `{"server": name}`.
//! - `message` `"text"` goes to every socket of every server as `{"text", "via": name}`.
//! - The worker sends `tick` `{"n": 1}`, `{"n": 2}`, ... to room [`ROOM`] (as the
//!   `emitter_worker` example does).

#![allow(dead_code)] // each test binary that includes this module uses a part of it

use std::time::Duration;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::json;
use socketio::queue::QueueError;
use socketio::{on, Data, Emitter, Socket, SocketIo, State};

/// The room every socket joins, and the worker emits to.
pub const ROOM: &str = "news";

/// The name of this server, shown with what it relays.
#[derive(Debug, Clone)]
pub struct Node(pub String);

/// A message as every socket receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relayed {
    /// What was said.
    pub text: String,
    /// The server the sender is connected to.
    pub via: String,
}

#[on("connect")]
async fn connect(socket: Socket, State(Node(name)): State<Node>) {
    socket.join(ROOM);
    socket.emit("hello", &json!({ "server": name }));
}

#[on("message")]
async fn message(socket: Socket, State(Node(name)): State<Node>, Data(text): Data<String>) {
    let relayed = Relayed { text, via: name };
    socket.broadcast().emit("message", &relayed); // every server's sockets
    socket.emit("message", &relayed);
}

/// A server named `name` on the message queue at `url` (default channel `socketio`). Must run
/// on a tokio runtime; it does not wait for Redis.
pub fn socketio(url: &str, name: &str) -> Result<SocketIo, socketio::BuildError> {
    SocketIo::builder()
        .message_queue(url)
        .state(Node(name.to_owned()))
        .build()
}

/// The emitter worker: connects to `url` and sends `tick` `{"n": ..}` to [`ROOM`] every
/// `every`, forever. Fails if Redis does not answer at first.
pub async fn run_worker(url: &str, every: Duration) -> Result<(), QueueError> {
    let emitter = Emitter::connect(url).await?;
    let mut interval = tokio::time::interval(every);
    for n in 1u64.. {
        interval.tick().await;
        if let Err(e) = emitter.to(ROOM).emit("tick", &json!({ "n": n })).await {
            tracing::warn!(n, error = %e, "tick not published");
        }
    }
    Ok(())
}

const INDEX_HTML: &str = include_str!("index.html");

/// The page, at `/`.
pub fn pages() -> Router {
    Router::new().route("/", get(|| async { Html(INDEX_HTML) }))
}
