//! Deployment, several workers: a server connected to a message queue, so that emits and
//! broadcasts reach the clients of every server process on the same queue, and processes that
//! serve nothing can emit (see `seed_external_emit`).
//!
//! `REDIS_URL` names the queue (default `redis://`, Redis on localhost:6379).
//!
//! `cargo run -p examples --example seed_message_queue`

mod support;

use socketio::{BuildError, SocketIo};

fn socketio(queue: &str) -> Result<SocketIo, BuildError> {
    SocketIo::builder().message_queue(queue).build()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    socketio(&support::redis_url())?
        .serve(support::addr())
        .await
}
