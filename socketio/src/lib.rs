//! socketio: a Socket.IO server framework for Rust.
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod engineio;
pub mod protocol;
