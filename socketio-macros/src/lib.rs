//! Attribute macros for the `socketio` crate (`#[on]`, `#[on_error]`, `#[on_error_default]`).
//!
//! The macros are being built; this crate is a placeholder so the workspace has its final shape.
