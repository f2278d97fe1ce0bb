//! Engine.IO v4 packets: what goes out ([`Frame`]) and what comes in ([`Inbound`]).
//!
//! A packet is a type digit followed by its data: `0` open, `1` close, `2` ping, `3` pong,
//! `4` message, `5` upgrade, `6` noop. Binary messages travel as WebSocket binary frames, or as
//! `b` + base64 in a polling payload.

use std::fmt;

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;

use super::Str;

/// One Engine.IO packet ready to be written, already encoded.
///
/// A text frame holds the complete packet text including its type digit, so the WebSocket
/// transport writes it as is and a broadcast shares one buffer among every recipient.
#[derive(Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text packet, type digit included (`"4hello"`, `"2"`).
    Text(Utf8Bytes),
    /// A binary message (the payload only).
    Binary(Bytes),
}

impl Frame {
    /// A message packet carrying `text` (copies it behind the `4` type digit).
    pub fn message(text: &str) -> Self {
        let mut buf = MessageBuf::with_capacity(text.len());
        buf.push_str(text);
        buf.into_frame()
    }

    /// A binary message packet.
    pub fn binary(data: Bytes) -> Self {
        Frame::Binary(data)
    }

    pub(crate) const PING: Frame = Frame::Text(Utf8Bytes::from_static("2"));
    pub(crate) const PONG_PROBE: Frame = Frame::Text(Utf8Bytes::from_static("3probe"));
    pub(crate) const NOOP: Frame = Frame::Text(Utf8Bytes::from_static("6"));

    /// Size of the encoded packet in bytes (binary payloads before any base64).
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(t) => t.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    /// Whether the encoded packet is empty (never true for a well-formed frame).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Text(t) => write!(f, "Text({:?})", t.as_str()),
            Frame::Binary(b) => write!(f, "Binary({} bytes)", b.len()),
        }
    }
}

/// A growable buffer for one outgoing message packet; it starts with the `4` type digit, so the
/// layer above can encode straight into it and turn it into a [`Frame`] without another copy.
///
/// ```
/// use socketio::engineio::{Frame, MessageBuf};
/// use std::fmt::Write;
///
/// let mut buf = MessageBuf::new();
/// write!(buf, "{}", 42).unwrap();
/// assert_eq!(buf.into_frame(), Frame::message("42"));
/// ```
#[derive(Debug, Clone)]
pub struct MessageBuf(String);

impl MessageBuf {
    /// An empty message.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty message with room for `capacity` bytes of text.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut s = String::with_capacity(capacity + 1);
        s.push('4');
        MessageBuf(s)
    }

    /// Appends text.
    pub fn push_str(&mut self, text: &str) {
        self.0.push_str(text);
    }

    /// The buffer behind the type digit, for encoders that append to a `String`. Only append:
    /// the first byte is the packet type.
    pub fn as_mut_string(&mut self) -> &mut String {
        &mut self.0
    }

    /// The message text written so far (without the type digit).
    pub fn as_str(&self) -> &str {
        self.0.get(1..).unwrap_or_default()
    }

    /// The finished packet.
    pub fn into_frame(self) -> Frame {
        Frame::Text(Utf8Bytes::from(self.0))
    }
}

impl Default for MessageBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for MessageBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.push_str(s);
        Ok(())
    }
}

/// A packet received from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inbound {
    Close,
    Ping { probe: bool },
    Pong,
    Message(Str),
    Binary(Bytes),
    Upgrade,
    Noop,
}

/// A packet that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketError(pub(crate) &'static str);

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for PacketError {}

/// Decodes one text packet (`text` is exactly one packet).
pub(crate) fn decode_text(text: Str) -> Result<Inbound, PacketError> {
    let Some(&kind) = text.as_bytes().first() else {
        return Err(PacketError("empty packet"));
    };
    // A first character outside ASCII is no packet type (and `[1..]` would split it).
    let Some(data) = text.as_str().get(1..) else {
        return Err(PacketError("unknown packet type"));
    };
    match kind {
        b'1' if data.is_empty() => Ok(Inbound::Close),
        b'2' if data.is_empty() => Ok(Inbound::Ping { probe: false }),
        b'2' if data == "probe" => Ok(Inbound::Ping { probe: true }),
        // Clients answer `2` with `3` and `2probe` with `3probe`; any pong refreshes the heartbeat.
        b'3' => Ok(Inbound::Pong),
        b'4' => Ok(Inbound::Message(text.into_slice(1..))),
        b'5' if data.is_empty() => Ok(Inbound::Upgrade),
        b'6' if data.is_empty() => Ok(Inbound::Noop),
        b'0' => Err(PacketError(
            "open packets only travel from server to client",
        )),
        b'1'..=b'6' => Err(PacketError("unexpected data after the packet type")),
        _ => Err(PacketError("unknown packet type")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_client_packet() {
        let cases = [
            ("1", Inbound::Close),
            ("2", Inbound::Ping { probe: false }),
            ("2probe", Inbound::Ping { probe: true }),
            ("3", Inbound::Pong),
            ("3probe", Inbound::Pong),
            ("4hello", Inbound::Message(Str::from("hello"))),
            ("4", Inbound::Message(Str::from(""))),
            ("5", Inbound::Upgrade),
            ("6", Inbound::Noop),
        ];
        for (text, expected) in cases {
            assert_eq!(decode_text(Str::from(text)), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_malformed_packets() {
        for text in [
            "", "abc", "7", "9hello", "b", "1x", "2ping", "5x", "6x", "0{}x", "\u{0}", "é", "😀4",
        ] {
            assert!(decode_text(Str::from(text)).is_err(), "{text:?}");
        }
    }

    #[test]
    fn message_frames_carry_the_type_digit() {
        assert_eq!(
            Frame::message("hi"),
            Frame::Text(Utf8Bytes::from_static("4hi"))
        );
    }
}
