//! # socketio
//!
#![doc = include_str!("guide.md")]
#![warn(missing_docs)]

extern crate self as socketio;

// Layers, bottom first (docs/architecture.md; `scripts/check-layers` checks the imports).
pub mod metrics;
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

#[cfg(feature = "admin-ui")]
pub mod admin;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use ack::AckFuture;
pub use adapter::RecoveryOptions;
pub use adapter::Replies;
pub use args::Args;
pub use dispatch::{BroadcastOperator, RateLimitPolicy, RemoteSocket, Socket};
pub use engineio::{AllowedOrigins, Handshake, Sid};
pub use error::{AckError, BoxError, ConnectError, EmitError, Error, ErrorKind, JoinError};
#[cfg(feature = "http-session")]
pub use extract::HttpSession;
pub use extract::{Auth, Bin, Data, Event, Session, State, TryData};
pub use handler::Ack;
pub use protocol::{Binary, Parser};
pub use queue::Emitter;
pub use reason::DisconnectReason;
pub use server::{shutdown_signal, BuildError, Builder, ClassNamespace, SocketIo};
pub use socketio_macros::{namespace, on, on_error, on_error_default};
/// The session middleware [`HttpSession`] reads (feature `http-session`): use this version in
/// the application's routes and layer.
#[cfg(feature = "http-session")]
pub use tower_sessions;

/// The README's code, compiled as doctests so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}

/// The multi-process guide's code, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/multi-process.md")]
mod multi_process_guide {}

/// The logging guide's code, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/logging.md")]
mod logging_guide {}

/// The deployment guide's code, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/deployment.md")]
mod deployment_guide {}

/// The Admin UI guide's code, compiled as doctests (with the feature it documents).
#[cfg(all(doctest, feature = "admin-ui"))]
#[doc = include_str!("../../docs/admin-ui.md")]
mod admin_ui_guide {}

/// The migration guide's code, compiled as doctests (none yet: a Rust block added later is).
#[cfg(doctest)]
#[doc = include_str!("../../docs/from-flask-socketio.md")]
mod migration_guide {}

/// The troubleshooting page's code, compiled as doctests (none yet: a Rust block added later is).
#[cfg(doctest)]
#[doc = include_str!("../../docs/troubleshooting.md")]
mod troubleshooting_guide {}

/// What the generated code calls. Not a stable API: only the macros may use it.
#[doc(hidden)]
pub mod __private {
    pub use crate::registry::__private::*;
    pub use crate::server::class::install;
}
