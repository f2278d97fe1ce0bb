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
//! - [`engineio`]: sessions, transports (polling, WebSocket, upgrade), heartbeats, limits.
//! - [`protocol`]: the Socket.IO packet codec, pure functions.
//! - The runtime: namespaces, [`Socket`]s, handlers with [extractors](extract), acks, rooms and
//!   broadcasts through an [`Adapter`](adapter::Adapter).
//! - [`testing`]: an in-process test client, Flask-SocketIO's `test_client`.
//! - [`queue`]: several server processes over Redis or RabbitMQ
//!   ([`Builder::message_queue`]), and the write-only [`Emitter`] for workers.
#![warn(missing_docs)]

extern crate self as socketio;

pub mod adapter;
pub mod engineio;
pub mod extract;
pub mod handler;
pub mod protocol;
pub mod queue;
pub mod testing;

mod ack;
mod args;
mod client;
mod encode;
mod error;
mod namespace;
mod operator;
mod reason;
mod registry;
mod server;
mod socket;

pub use ack::AckFuture;
pub use args::Args;
pub use client::{Client, ClientState};
pub use engineio::Handshake;
pub use engineio::Sid;
pub use error::{AckError, BoxError, EmitError, Error, ErrorKind};
pub use extract::{Auth, Bin, Data, DataError, Event, Session, State, TryData};
pub use handler::{Ack, ConnectError};
pub use operator::BroadcastOperator;
pub use protocol::Binary;
pub use queue::Emitter;
pub use reason::DisconnectReason;
pub use server::{BuildError, Builder, SocketIo};
pub use socket::Socket;
pub use socketio_macros::{on, on_error, on_error_default};

#[doc(hidden)]
pub use registry::__private;
