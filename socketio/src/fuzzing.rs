//! The decoders' fuzz oracles (feature `fuzzing`). Not a stable API: the fuzz targets in
//! `fuzz/` and their short run in the test suite (`tests/tests/fuzz_short.rs`) call it; see
//! `scripts/fuzz` and the "Fuzzing" section of `docs/reliability.md`.
//!
//! Each entry point takes any bytes, feeds them to one decoder and checks what the decoder
//! made of them, panicking (the fuzzer's crash) when a property fails:
//!
//! - **no panic** in the decoder itself;
//! - **bounded memory**: the heap the decoder holds while decoding stays within a fixed number
//!   of bytes per input byte (measured by [`CountingAllocator`], which the calling binary must
//!   install), and within the limits it is given (attachment count, buffered bytes);
//! - **no model mismatch**: what it accepts and what it returns agrees with a model of the
//!   protocol (a packet table, an independent base64 decoder, `serde_json`), and a decoded
//!   value encodes again into an input that decodes to the same value;
//! - **round trip**: the same bytes, read as a recipe through [`arbitrary`], build a value that
//!   the crate's encoder writes and the decoder reads back unchanged (`decode(encode(p)) == p`).
//!
//! Each entry point documents its own properties.

mod alloc;
mod engineio;
mod protocol;
mod values;
mod wire;

pub use alloc::CountingAllocator;
pub use engineio::{engineio_packet, engineio_payload};
pub use protocol::{binary_packet, socketio_packet};
pub use wire::queue_wire;

/// An oracle: feeds one input to a decoder, panics when a property fails.
pub type Oracle = fn(&[u8]);

/// Every oracle by name, as the fuzz targets and the seed corpus directories are named.
pub const TARGETS: [(&str, Oracle); 5] = [
    ("engineio_packet", engineio_packet),
    ("engineio_payload", engineio_payload),
    ("socketio_packet", socketio_packet),
    ("binary_packet", binary_packet),
    ("queue_wire", queue_wire),
];
