//! Engine.IO v4: the transport layer under Socket.IO.
//!
//! It knows nothing of Socket.IO. It opens sessions over HTTP long-polling or WebSocket,
//! upgrades polling sessions to WebSocket, keeps them alive with heartbeats, bounds everything a
//! peer controls, and hands whole messages to an [`EngineHandler`].
//!
//! Specification: the README of the `socketio/engine.io-protocol` repository.

mod coarse_timer;
mod config;
mod cors;
mod engine;
mod error;
mod fold_hash;
mod framing;
mod handler;
mod headers;
mod in_process;
mod inline_deque;
mod packet;
mod payload;
mod polling;
mod polling_http;
mod query;
mod rewind;
mod serve;
mod session;
mod sid;
mod state;
mod text;
mod websocket;

pub use config::{AllowedOrigins, Cookie, EngineConfig};
pub use engine::Engine;
pub use error::HttpError;
pub use handler::EngineHandler;
pub use packet::{Frame, MessageBuf, PacketError};
pub(crate) use serve::serve_routes;
pub use serve::{serve, serve_with};
pub use session::{cookie, CloseReason, EngineSession, Handshake, SendError, Transport};
pub use sid::{InvalidSid, Sid};
pub use text::Str;

pub(crate) use fold_hash::FoldHash;

// The crate-private codecs, for the fuzz oracles (`crate::fuzzing`).
#[cfg(feature = "fuzzing")]
pub(crate) use packet::{decode_text, Inbound};
#[cfg(feature = "fuzzing")]
pub(crate) use payload::{decode as decode_payload, encode as encode_payload};
