//! Socket.IO v5 packet codec (pure functions, no I/O).
//!
//! Packets travel as Engine.IO text messages whose `4` prefix the engine
//! strips (on receive) and writes (on send):
//! `<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]`,
//! followed, for the binary kinds, by one Engine.IO binary message per
//! attachment.
//!
//! - Receiving: [`decode`](fn@decode) validates a text packet and returns a borrowed
//!   [`Packet`] whose payload is still raw JSON; [`split_event`] and
//!   [`split_args`] cut it into raw argument slices; binary packets go through
//!   a [`BinaryCollector`] until their attachments have arrived, then
//!   [`deserialize_with_attachments`] rebuilds the [`Binary`] values.
//! - Sending: the `encode_*` functions append a packet to a caller-provided
//!   `String` and return the attachments to send after it.
//!
//! - With [`Parser`]`::MessagePack` (feature `msgpack`), `decode_msgpack` and
//!   `encode_msgpack` transcode between socket.io-msgpack-parser's one binary message per
//!   packet and the text and attachments above, so the rest of the server sees one format.
//!
//! Encoded JSON is compact and keeps struct field order. Note that
//! `serde_json::Value` objects (a `BTreeMap` without serde_json's
//! `preserve_order` feature, which this crate does not enable) serialize with
//! sorted keys.

mod binary;
mod collector;
mod decode;
mod encode;
mod error;
mod event;
mod json;
#[cfg(feature = "msgpack")]
mod msgpack;
mod names;
mod packet;
mod parser;
mod shape;

#[cfg(test)]
mod tests;

pub use binary::{deserialize_with_attachments, serialize_with_attachments, Binary};
pub(crate) use binary::{placeholder_attachment, with_attachments};
pub use collector::{validate_placeholders, BinaryCollector};
pub use decode::{decode, decode_split, SplitPacket};
pub(crate) use decode::{decode_split_into, ArgSlices};
pub use encode::{
    append_offset, encode_ack, encode_connect, encode_connect_error, encode_connect_with_pid,
    encode_disconnect, encode_event, encode_raw_ack, encode_raw_event, RawArgs,
};
pub use error::DecodeError;
pub use event::{split_args, split_event, EventArgs, RESERVED_EVENTS};
pub use json::MAX_NESTING;
#[cfg(feature = "msgpack")]
pub use msgpack::{decode_msgpack, encode_msgpack};
pub use names::{check_event_name, check_namespace, is_namespace_pattern};
pub use packet::{Limits, Packet, PacketKind};
pub use parser::Parser;
