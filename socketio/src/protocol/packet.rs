//! Packet types: [`PacketKind`], the borrowed [`Packet`] view and decoder [`Limits`].

/// The seven Socket.IO v5 packet types.
///
/// The discriminant is the digit used on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// `0`: connection to a namespace (client request, server answer).
    Connect = 0,
    /// `1`: disconnection from a namespace.
    Disconnect = 1,
    /// `2`: an event without binary attachments.
    Event = 2,
    /// `3`: an acknowledgement without binary attachments.
    Ack = 3,
    /// `4`: refusal of a namespace connection (server to client only).
    ConnectError = 4,
    /// `5`: an event followed by binary attachments.
    BinaryEvent = 5,
    /// `6`: an acknowledgement followed by binary attachments.
    BinaryAck = 6,
}

impl PacketKind {
    /// Maps a wire digit (`b'0'..=b'6'`) to its kind; `None` for anything else.
    pub fn from_digit(byte: u8) -> Option<Self> {
        Some(match byte {
            b'0' => Self::Connect,
            b'1' => Self::Disconnect,
            b'2' => Self::Event,
            b'3' => Self::Ack,
            b'4' => Self::ConnectError,
            b'5' => Self::BinaryEvent,
            b'6' => Self::BinaryAck,
            _ => return None,
        })
    }

    /// The digit written on the wire for this kind (`'0'..='6'`).
    pub fn digit(self) -> char {
        char::from(b'0' + self as u8)
    }

    /// The protocol name of this kind, e.g. `"BINARY_EVENT"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Connect => "CONNECT",
            Self::Disconnect => "DISCONNECT",
            Self::Event => "EVENT",
            Self::Ack => "ACK",
            Self::ConnectError => "CONNECT_ERROR",
            Self::BinaryEvent => "BINARY_EVENT",
            Self::BinaryAck => "BINARY_ACK",
        }
    }

    /// `true` for [`BinaryEvent`](Self::BinaryEvent) and [`BinaryAck`](Self::BinaryAck),
    /// the kinds whose header carries an attachment count.
    pub fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }

    /// `true` for the kinds that may carry an acknowledgement id
    /// (events and acknowledgements, plain or binary).
    pub fn allows_id(self) -> bool {
        matches!(
            self,
            Self::Event | Self::Ack | Self::BinaryEvent | Self::BinaryAck
        )
    }
}

impl std::fmt::Display for PacketKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoded packet header plus its (validated, still raw) JSON payload,
/// borrowed from the text it was decoded from.
///
/// Produced by [`decode`](fn@super::decode) and [`BinaryCollector::packet`](super::BinaryCollector::packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The packet type.
    pub kind: PacketKind,
    /// The namespace; `"/"` when the packet does not name one.
    pub namespace: &'a str,
    /// The acknowledgement id, if any.
    pub id: Option<u64>,
    /// The number of binary attachments that follow; always `0` unless
    /// [`kind`](Self::kind) is binary.
    pub attachments: usize,
    /// The raw JSON payload text, `None` when the packet has none.
    ///
    /// Leading JSON whitespace, if the peer sent any, is kept.
    pub payload: Option<&'a str>,
}

/// Limits applied by the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest attachment count accepted in a binary packet header
    /// (default 10, like the `maxAttachments` default of the JavaScript parser).
    pub max_attachments: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_attachments: 10,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_round_trip() {
        for d in b'0'..=b'6' {
            let kind = PacketKind::from_digit(d).unwrap();
            assert_eq!(kind.digit(), char::from(d));
        }
        for d in [b'7', b'8', b'9', b'a', b'-', 0, 0xff] {
            assert_eq!(PacketKind::from_digit(d), None);
        }
    }

    #[test]
    fn default_limits() {
        assert_eq!(Limits::default().max_attachments, 10);
    }
}
