//! What the `main` of every seed example shares: the address (127.0.0.1, port `PORT` or 5000),
//! the message-queue URL (`REDIS_URL` or `redis://`), and serving until Ctrl-C.

#![allow(dead_code)] // each example uses a part of it

use socketio::Builder;

/// `127.0.0.1:$PORT`, port 5000 unless `PORT` says otherwise.
pub fn addr() -> String {
    let port = std::env::var("PORT").unwrap_or_else(|_| "5000".into());
    format!("127.0.0.1:{port}")
}

/// The message queue: `REDIS_URL`, or `redis://` (Redis on localhost:6379, Flask's default).
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://".into())
}

/// Builds the server (with every `#[on]` handler of the binary) and serves it on [`addr`]
/// until Ctrl-C.
pub async fn serve(builder: Builder) -> std::io::Result<()> {
    builder.build()?.serve(addr()).await
}
