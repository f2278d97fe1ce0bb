//! Two handlers for one event are refused at build time, naming both places.

use socketio::{on, SocketIo};

#[on("twice")]
async fn first() {}

#[on("twice")]
async fn second() {}

async fn third() {}

fn main() {
    let error = SocketIo::builder().build().expect_err("duplicates are refused");
    let message = error.to_string();
    assert!(message.contains("two handlers for event \"twice\""), "{message}");
    assert!(message.contains("first (") && message.contains("second ("), "{message}");
    assert!(message.contains("duplicates_refused.rs:"), "{message}");

    let error = SocketIo::builder()
        .on("/", "twice", third)
        .build()
        .expect_err("a builder handler for the same event is refused too");
    assert!(error.to_string().contains("a builder call"), "{error}");
}
