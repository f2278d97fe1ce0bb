//! [`DecodeError`]: everything that can be wrong with an incoming packet.

use std::fmt;

use super::packet::PacketKind;

/// Why an incoming Socket.IO packet (or one of its binary attachments) was refused.
///
/// Every variant means the peer broke the protocol; the Socket.IO specification
/// asks the receiver to close the connection in that case. The [`Display`](fmt::Display)
/// text is meant for logs.
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet text is empty.
    Empty,
    /// The packet text is not valid UTF-8 (only checked where the input is bytes).
    InvalidUtf8,
    /// The first byte is not a packet type digit `0`..=`6`.
    UnknownPacketType(u8),
    /// The attachment count of a binary packet is missing or malformed.
    InvalidAttachments(&'static str),
    /// The attachment count is larger than [`Limits::max_attachments`](super::Limits::max_attachments).
    TooManyAttachments {
        /// The configured maximum.
        max: usize,
    },
    /// The acknowledgement id does not fit in a `u64`.
    AckIdTooLong,
    /// An acknowledgement id was sent on a packet kind that cannot carry one.
    UnexpectedAckId(PacketKind),
    /// An ACK or BINARY_ACK packet came without an acknowledgement id.
    MissingAckId(PacketKind),
    /// The packet kind requires a payload and none was sent.
    MissingPayload(PacketKind),
    /// The packet kind forbids a payload and one was sent.
    UnexpectedPayload(PacketKind),
    /// The payload is valid JSON but has the wrong shape for its packet kind.
    InvalidPayload {
        /// The packet kind.
        kind: PacketKind,
        /// What was expected.
        reason: &'static str,
    },
    /// The event name is reserved by Socket.IO (e.g. `"connect"`).
    ReservedEventName(&'static str),
    /// The JSON payload nests arrays/objects deeper than [`MAX_NESTING`](super::MAX_NESTING).
    TooDeep,
    /// A JSON string contains a `\uD800`..`\uDFFF` escape that is not part of a
    /// surrogate pair; such strings cannot be represented as Rust strings.
    LoneSurrogate,
    /// The payload is not valid JSON (RFC 8259, as strict as `serde_json`).
    InvalidJson {
        /// The byte offset in the payload where the text stops being JSON.
        at: usize,
        /// What the JSON grammar allows there.
        expected: &'static str,
    },
    /// JSON that `serde_json` could not read: a binary packet's payload parsed for its
    /// placeholders (whose numbers must fit an `f64`), or a payload transcoded to MessagePack
    /// (`encode_msgpack`).
    Json(serde_json::Error),
    /// A binary placeholder object (`{"_placeholder":true,...}`) is malformed.
    InvalidPlaceholder(&'static str),
    /// The packet is not a binary packet (given to a binary-only API).
    NotBinary(PacketKind),
    /// A binary frame arrived while no attachment was expected.
    UnexpectedAttachment,
    /// The buffered packet text plus attachments would exceed the configured maximum.
    AttachmentsTooLarge {
        /// The configured maximum, in bytes.
        max: usize,
    },
    /// A message of socket.io-msgpack-parser's format is not a well-formed packet: not
    /// MessagePack, a packet that is not a `{type, nsp, data, id}` map, or a value the JSON
    /// packet text cannot carry.
    MessagePack(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty packet"),
            Self::InvalidUtf8 => f.write_str("packet text is not valid UTF-8"),
            Self::UnknownPacketType(b) if b.is_ascii_graphic() => {
                write!(f, "unknown packet type '{}'", char::from(*b))
            }
            Self::UnknownPacketType(b) => write!(f, "unknown packet type (byte 0x{b:02x})"),
            Self::InvalidAttachments(why) => write!(f, "invalid attachment count: {why}"),
            Self::TooManyAttachments { max } => {
                write!(f, "too many attachments (the maximum is {max})")
            }
            Self::AckIdTooLong => f.write_str("ack id too long (it must fit in 64 bits)"),
            Self::UnexpectedAckId(kind) => write!(f, "ack id not allowed in {kind} packets"),
            Self::MissingAckId(kind) => write!(f, "{kind} packet without ack id"),
            Self::MissingPayload(kind) => write!(f, "{kind} packet without payload"),
            Self::UnexpectedPayload(kind) => write!(f, "payload not allowed in {kind} packets"),
            Self::InvalidPayload { kind, reason } => {
                write!(f, "invalid {kind} payload: {reason}")
            }
            Self::ReservedEventName(name) => write!(f, "reserved event name \"{name}\""),
            Self::TooDeep => write!(
                f,
                "JSON payload nested more than {} levels deep",
                super::MAX_NESTING
            ),
            Self::LoneSurrogate => f.write_str("JSON string contains a lone UTF-16 surrogate"),
            Self::InvalidJson { at, expected } => {
                write!(f, "invalid JSON payload at byte {at}: expected {expected}")
            }
            Self::Json(e) => write!(f, "invalid JSON payload: {e}"),
            Self::InvalidPlaceholder(why) => write!(f, "invalid binary placeholder: {why}"),
            Self::NotBinary(kind) => write!(f, "{kind} packets have no binary attachments"),
            Self::UnexpectedAttachment => f.write_str("unexpected binary attachment"),
            Self::AttachmentsTooLarge { max } => {
                write!(f, "binary packet larger than the {max} bytes allowed")
            }
            Self::MessagePack(why) => write!(f, "invalid MessagePack packet: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Json(e) => Some(e),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for DecodeError {
    fn from(e: serde_json::Error) -> Self {
        Self::Json(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_readable() {
        assert_eq!(
            DecodeError::UnknownPacketType(b'7').to_string(),
            "unknown packet type '7'"
        );
        assert_eq!(
            DecodeError::UnknownPacketType(0).to_string(),
            "unknown packet type (byte 0x00)"
        );
        assert_eq!(
            DecodeError::MissingAckId(PacketKind::Ack).to_string(),
            "ACK packet without ack id"
        );
        assert_eq!(
            DecodeError::ReservedEventName("connect").to_string(),
            "reserved event name \"connect\""
        );
    }
}
