//! The server the official protocol test suites expect (see `docs/conformance.md`).
//!
//! On 127.0.0.1:$PORT (default 3000), with `pingInterval` 300 ms, `pingTimeout` 200 ms,
//! `maxPayload` 1,000,000 and any origin:
//! - a raw Engine.IO echo at `/engine.io/` (the engine.io-protocol suite);
//! - Socket.IO at `/socket.io/` with namespaces `/` and `/custom`, `connectTimeout` 1 s (the
//!   socket.io-protocol suite): each connection gets an `auth` event echoing its auth payload,
//!   `message` is answered with `message-back` and `message-with-ack` is acknowledged, both with
//!   the same arguments.
//!
//! ```sh
//! cargo run --release --example conformance
//! ```

use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use socketio::engineio::{
    AllowedOrigins, CloseReason, Engine, EngineConfig, EngineHandler, EngineSession, Frame, Str,
};
use socketio::extract::ConnectContext;
use socketio::extract::FromConnectParts;
use socketio::{on, Args, Event, Socket, SocketIo};

/// Echoes every message back unchanged.
struct Echo;

impl EngineHandler for Echo {
    type Data = ();

    fn on_open(&self, _session: &Arc<EngineSession<()>>) {}

    fn on_message(&self, session: &Arc<EngineSession<()>>, text: Str) {
        let _ = session.send(Frame::message(&text));
    }

    fn on_binary(&self, session: &Arc<EngineSession<()>>, data: bytes::Bytes) {
        let _ = session.send(Frame::binary(data));
    }

    fn on_close(&self, _session: &Arc<EngineSession<()>>, _reason: CloseReason) {}
}

fn suite_config() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_http_buffer_size(1_000_000)
        .cors_allowed_origins(AllowedOrigins::Any)
}

/// The raw auth payload of a connection (`{}` when none was sent), echoed byte for byte.
struct RawAuth(Box<RawValue>);

impl FromConnectParts for RawAuth {
    type Rejection = serde_json::Error;

    async fn from_connect_parts(ctx: &ConnectContext) -> Result<Self, Self::Rejection> {
        RawValue::from_string(ctx.auth().unwrap_or("{}").to_owned()).map(RawAuth)
    }
}

#[on("connect")]
async fn connect_main(socket: Socket, RawAuth(auth): RawAuth) {
    socket.emit("auth", &(auth,));
}

#[on("connect", namespace = "/custom")]
async fn connect_custom(socket: Socket, RawAuth(auth): RawAuth) {
    socket.emit("auth", &(auth,));
}

#[on("message")]
async fn message(socket: Socket, event: Event) {
    socket.emit("message-back", event.args());
}

#[on("message-with-ack")]
async fn message_with_ack(event: Event) -> Args {
    event.args().clone()
}

fn socketio_server() -> Result<SocketIo, socketio::BuildError> {
    SocketIo::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_http_buffer_size(1_000_000)
        .cors_allowed_origins(AllowedOrigins::Any)
        .connect_timeout(Duration::from_millis(1000))
        .build()
}

// One thread, as the reference server's event loop: two of the Engine.IO suite's tests send an
// HTTP request right behind WebSocket frames on another connection and expect the frames to
// have been handled first (docs/conformance.md), which worker threads racing each other do not
// promise.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let engine = Engine::new(suite_config().path("/engine.io/"), Echo);
    let io = socketio_server()?;
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("conformance server on http://127.0.0.1:{port} (Engine.IO echo at /engine.io/)");
    // The Engine.IO echo's requests go straight to it, its long-polling ones on the engine's
    // own HTTP/1.1 path (the transport the Engine.IO suite judges); the Socket.IO server's
    // through axum.
    socketio::engineio::serve_with(engine, io.router(), listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
