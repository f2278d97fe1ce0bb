//! The server the official protocol test suites expect (see `docs/conformance.md`).
//!
//! Serves a raw Engine.IO echo at `/engine.io/` on 127.0.0.1:$PORT (default 3000) with
//! `pingInterval` 300 ms, `pingTimeout` 200 ms, `maxPayload` 1,000,000 and any origin.
//!
//! ```sh
//! cargo run --release --example conformance
//! ```

use std::sync::Arc;
use std::time::Duration;

use socketio::engineio::{
    AllowedOrigins, CloseReason, Engine, EngineConfig, EngineHandler, Frame, Session, Str,
};

/// Echoes every message back unchanged.
struct Echo;

impl EngineHandler for Echo {
    type Data = ();

    fn on_open(&self, _session: &Arc<Session<()>>) {}

    fn on_message(&self, session: &Arc<Session<()>>, text: Str) {
        let _ = session.send(Frame::message(&text));
    }

    fn on_binary(&self, session: &Arc<Session<()>>, data: bytes::Bytes) {
        let _ = session.send(Frame::binary(data));
    }

    fn on_close(&self, _session: &Arc<Session<()>>, _reason: CloseReason) {}
}

fn suite_config() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_http_buffer_size(1_000_000)
        .cors_allowed_origins(AllowedOrigins::Any)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let engine = Engine::new(suite_config().path("/engine.io/"), Echo);
    let app = engine.router();
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("conformance server on http://127.0.0.1:{port} (Engine.IO echo at /engine.io/)");
    socketio::engineio::serve(engine, app, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
