//! # socketio
//!
//! A Socket.IO server framework for Rust: what Flask-SocketIO is to Python, on tokio and axum.
//! It speaks Engine.IO v4 and Socket.IO v5 over WebSocket and HTTP long-polling, so the official
//! JavaScript, Python, Swift, Java and C++ clients connect to it unchanged.
//!
//! ```no_run
//! use socketio::{Data, Socket, SocketIo};
//!
//! async fn message(socket: Socket, Data(text): Data<String>) -> String {
//!     let _ = socket.broadcast().send(&text); // everyone else gets it
//!     format!("received {text}")             // the return value answers the client's ack
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let io = SocketIo::builder().on("/", "message", message).build()?;
//!     io.serve("127.0.0.1:5000").await
//! }
//! ```
//!
//! ## Layers
//!
//! Bottom first; each layer uses only the ones below it (`docs/architecture.md`).
//!
//! - [`engineio`]: sessions, transports (polling, WebSocket, upgrade), heartbeats, limits.
//! - [`protocol`]: the Socket.IO packet codec and naming rules, pure functions.
//! - [`adapter`]: rooms and broadcasts behind the [`Adapter`](adapter::Adapter) contract, kept
//!   in memory by [`LocalAdapter`](adapter::LocalAdapter) or shared by several processes over
//!   Redis or RabbitMQ by the [`queue`] ([`Builder::message_queue`]), which also offers the
//!   write-only [`Emitter`] for workers.
//! - Dispatch: namespaces and [`Socket`]s, acks, [`BroadcastOperator`].
//! - [`extract`] and [`handler`]: handlers are `async fn`s whose arguments are extractors;
//!   `#[on]` registers them, or the [`Builder`] does.
//! - [`SocketIo`] and its [`Builder`]: the server.
//! - [`testing`]: an in-process test client, Flask-SocketIO's `test_client`.
#![warn(missing_docs)]

extern crate self as socketio;

// Layers, bottom first (docs/architecture.md; `scripts/check-layers` checks the imports).
mod sync;

pub mod engineio;
pub mod protocol;

mod ack;
mod args;
mod error;
mod packet;
mod reason;
mod typemap;

pub mod adapter;
pub mod queue;

mod dispatch;
pub mod extract;
pub mod handler;
mod registry;

mod server;
pub mod testing;

pub use ack::AckFuture;
pub use args::Args;
pub use dispatch::{BroadcastOperator, Socket};
pub use engineio::{AllowedOrigins, Handshake, Sid};
pub use error::{AckError, BoxError, ConnectError, EmitError, Error, ErrorKind};
pub use extract::{Auth, Bin, Data, Event, Session, State, TryData};
pub use handler::Ack;
pub use protocol::Binary;
pub use queue::Emitter;
pub use reason::DisconnectReason;
pub use server::{shutdown_signal, BuildError, Builder, ClassNamespace, SocketIo};
pub use socketio_macros::{namespace, on, on_error, on_error_default};

/// The README's code, compiled as doctests so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}

/// The multi-process guide's code, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/multi-process.md")]
mod multi_process_guide {}

/// What the generated code calls. Not a stable API: only the macros may use it.
#[doc(hidden)]
pub mod __private {
    pub use crate::registry::__private::*;
    pub use crate::server::class::install;
}
