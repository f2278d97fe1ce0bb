//! Deployment, emitting from an external process: a program that serves nothing emits to the
//! clients of namespace `/news` on every server of the message queue, then exits.
//!
//! `REDIS_URL` names the queue (default `redis://`, Redis on localhost:6379); run
//! `seed_message_queue` (or any server on that queue with a `/news` namespace) to receive it.
//!
//! `cargo run -p examples --example seed_external_emit`

mod support;

use socketio::queue::QueueError;
use socketio::Emitter;

#[tokio::main]
async fn main() -> Result<(), QueueError> {
    let emitter = Emitter::connect(&support::redis_url()).await?;
    emitter.of("/news").emit("headline", "stop press").await
}
