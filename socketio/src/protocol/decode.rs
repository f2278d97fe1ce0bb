//! [`decode`]: parse and validate one Socket.IO text packet.

use std::borrow::Cow;
use std::ops::Range;

use super::error::DecodeError;
use super::event::{walk_args, walk_event};
use super::json;
use super::packet::{Limits, Packet, PacketKind};

/// At most this many digits are read for an attachment count or an ack id:
/// enough for any `u64`, and it keeps hostile headers from being scanned at length.
const MAX_DIGITS: usize = 20;

/// Decodes one Socket.IO packet from the text of an Engine.IO message
/// (the Engine.IO `4` prefix already removed).
///
/// Format: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]`.
///
/// The header is parsed strictly and the payload is validated for its kind
/// without building a `serde_json::Value`:
///
/// | kind | attachments | ack id | payload |
/// |---|---|---|---|
/// | CONNECT | no | no | absent or a JSON object |
/// | DISCONNECT | no | no | absent |
/// | EVENT | no | optional | non-empty array, first element a non-reserved string |
/// | ACK | no | required | array |
/// | CONNECT_ERROR | no | no | absent, a JSON object or a JSON string |
/// | BINARY_EVENT | required | optional | as EVENT |
/// | BINARY_ACK | required | required | as ACK |
///
/// Further rules:
/// - the namespace is present only if the text after the header starts with
///   `/`; it ends at the first `,` (consumed) or at the end of the text
///   (so `0/admin` is accepted); when absent it is `"/"`;
/// - the attachment count is one or more ASCII digits followed by `-`, at
///   most [`Limits::max_attachments`]; `0` is accepted;
/// - the ack id is ASCII digits and must fit in a `u64`;
/// - payloads may nest at most [`MAX_NESTING`](super::MAX_NESTING) levels
///   and may not contain lone UTF-16 surrogate escapes (`"\ud800"`): Rust
///   strings cannot hold them, so such packets are refused as a whole;
/// - event names must be JSON strings. The JavaScript parser also accepts
///   numbers; this decoder does not.
///
/// CONNECT_ERROR packets are decoded (so the codec is symmetric and can be
/// tested by round trip), although only a server sends them: a server must
/// refuse one coming from a client.
///
/// For binary kinds this does not look at the placeholders; use
/// [`BinaryCollector`](super::BinaryCollector), which does.
///
/// Runs in time linear in `text.len()`, allocates nothing proportional to the
/// counts declared in the header, and never panics.
pub fn decode<'a>(text: &'a str, limits: &Limits) -> Result<Packet<'a>, DecodeError> {
    Ok(Header::parse(text, limits)?.packet(text))
}

/// A packet decoded by [`decode_split`]: the packet, and for EVENT/ACK kinds its arguments.
#[derive(Debug)]
pub struct SplitPacket<'a, A = Vec<&'a str>> {
    /// The packet, exactly as [`decode`] returns it.
    pub packet: Packet<'a>,
    /// The event name, for EVENT and BINARY_EVENT packets.
    pub event: Option<Cow<'a, str>>,
    /// The raw arguments of an EVENT (after the name) or an ACK, each the exact JSON text the
    /// peer sent (validated, without surrounding whitespace); empty for other kinds.
    pub args: A,
}

/// [`decode`] and [`split_event`](super::split_event)/[`split_args`](super::split_args) in one
/// pass: the same validation, but the payload is walked once, not twice (the server's hot path).
pub fn decode_split<'a>(text: &'a str, limits: &Limits) -> Result<SplitPacket<'a>, DecodeError> {
    decode_split_into(text, limits)
}

/// [`decode_split`], with the arguments collected into `A` (the server's own decoding keeps
/// the usual few on the stack: [`ArgSlices`]).
pub(crate) fn decode_split_into<'a, A: Default + Extend<&'a str>>(
    text: &'a str,
    limits: &Limits,
) -> Result<SplitPacket<'a, A>, DecodeError> {
    let header = Header::parse_parts(text, limits)?;
    let packet = header.packet(text);
    let mut args = A::default();
    let event = validate_payload(packet.kind, packet.id, packet.payload, Some(&mut args))?;
    Ok(SplitPacket {
        packet,
        event,
        args,
    })
}

/// Argument slices, the first [`ArgSlices::INLINE`] of them without an allocation.
#[derive(Debug)]
pub(crate) enum ArgSlices<'a> {
    /// Up to `INLINE` slices: the first `len` are arguments.
    Inline(usize, [&'a str; ArgSlices::INLINE]),
    /// More.
    Spilled(Vec<&'a str>),
}

impl ArgSlices<'_> {
    /// Most events carry at most this many arguments.
    const INLINE: usize = 4;
}

impl Default for ArgSlices<'_> {
    fn default() -> Self {
        ArgSlices::Inline(0, [""; ArgSlices::INLINE])
    }
}

impl<'a> std::ops::Deref for ArgSlices<'a> {
    type Target = [&'a str];

    fn deref(&self) -> &[&'a str] {
        match self {
            ArgSlices::Inline(len, slices) => &slices[..*len],
            ArgSlices::Spilled(slices) => slices,
        }
    }
}

impl<'a> Extend<&'a str> for ArgSlices<'a> {
    fn extend<I: IntoIterator<Item = &'a str>>(&mut self, items: I) {
        for item in items {
            match self {
                ArgSlices::Inline(len, slices) if *len < ArgSlices::INLINE => {
                    slices[*len] = item;
                    *len += 1;
                }
                ArgSlices::Inline(_, slices) => {
                    let mut spilled = slices.to_vec();
                    spilled.push(item);
                    *self = ArgSlices::Spilled(spilled);
                }
                ArgSlices::Spilled(slices) => slices.push(item),
            }
        }
    }
}

/// A decoded header as offsets into the packet text, so that owners of the
/// text (see [`BinaryCollector`](super::BinaryCollector)) can keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) kind: PacketKind,
    /// Byte range of the namespace, `None` for the default namespace.
    namespace: Option<Range<usize>>,
    pub(crate) id: Option<u64>,
    pub(crate) attachments: usize,
    /// Byte offset of the payload; equal to the text length if there is none.
    payload_at: usize,
}

impl Header {
    /// Parses and validates `text` (see [`decode`]).
    pub(crate) fn parse(text: &str, limits: &Limits) -> Result<Self, DecodeError> {
        let header = Self::parse_parts(text, limits)?;
        validate_payload::<Vec<_>>(header.kind, header.id, header.payload(text), None)?;
        Ok(header)
    }

    /// The header fields, with the payload not yet validated.
    fn parse_parts(text: &str, limits: &Limits) -> Result<Self, DecodeError> {
        let b = text.as_bytes();
        let first = *b.first().ok_or(DecodeError::Empty)?;
        let kind = PacketKind::from_digit(first).ok_or(DecodeError::UnknownPacketType(first))?;
        let mut i = 1;

        let mut attachments = 0;
        if kind.is_binary() {
            (attachments, i) = parse_attachments(b, i, limits.max_attachments)?;
        }

        let mut namespace = None;
        if b.get(i) == Some(&b'/') {
            let end = b[i..]
                .iter()
                .position(|&c| c == b',')
                .map_or(b.len(), |p| i + p);
            namespace = Some(i..end);
            i = if end < b.len() { end + 1 } else { end };
        }

        let mut id = None;
        if b.get(i).is_some_and(u8::is_ascii_digit) {
            if !kind.allows_id() {
                return Err(DecodeError::UnexpectedAckId(kind));
            }
            let (n, next) = parse_id(b, i)?;
            id = Some(n);
            i = next;
        }

        let header = Self {
            kind,
            namespace,
            id,
            attachments,
            payload_at: i,
        };
        Ok(header)
    }

    /// The payload of `text`, the string this header was parsed from.
    pub(crate) fn payload<'a>(&self, text: &'a str) -> Option<&'a str> {
        // `payload_at` indexes an ASCII byte or the end: a char boundary.
        text.get(self.payload_at..).filter(|p| !p.is_empty())
    }

    /// The packet view of `text`, the string this header was parsed from.
    pub(crate) fn packet<'a>(&self, text: &'a str) -> Packet<'a> {
        Packet {
            kind: self.kind,
            // The range starts at a `/` and ends at a `,` or the end: char boundaries.
            namespace: self
                .namespace
                .clone()
                .and_then(|r| text.get(r))
                .unwrap_or("/"),
            id: self.id,
            attachments: self.attachments,
            payload: self.payload(text),
        }
    }
}

/// Parses `<digits>-` at `b[i..]`; returns the count and the index after `-`.
fn parse_attachments(b: &[u8], mut i: usize, max: usize) -> Result<(usize, usize), DecodeError> {
    let start = i;
    let mut n = 0usize;
    while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
        if i - start == MAX_DIGITS {
            return Err(DecodeError::TooManyAttachments { max });
        }
        n = n.saturating_mul(10).saturating_add(usize::from(d - b'0'));
        i += 1;
    }
    if i == start {
        return Err(DecodeError::InvalidAttachments(
            "a binary packet needs an attachment count after its type",
        ));
    }
    if b.get(i) != Some(&b'-') {
        return Err(DecodeError::InvalidAttachments(
            "the attachment count must be followed by '-'",
        ));
    }
    if n > max {
        return Err(DecodeError::TooManyAttachments { max });
    }
    Ok((n, i + 1))
}

/// Parses the ack id digits at `b[i..]`; returns it and the index after it.
fn parse_id(b: &[u8], mut i: usize) -> Result<(u64, usize), DecodeError> {
    let start = i;
    let mut n = 0u64;
    while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
        if i - start == MAX_DIGITS {
            return Err(DecodeError::AckIdTooLong);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or(DecodeError::AckIdTooLong)?;
        i += 1;
    }
    Ok((n, i))
}

/// Validates the payload for `kind`; for EVENT and ACK kinds, pushes the raw arguments into
/// `args` when given, and returns the event name of an EVENT.
fn validate_payload<'a, A: Extend<&'a str>>(
    kind: PacketKind,
    id: Option<u64>,
    payload: Option<&'a str>,
    args: Option<&mut A>,
) -> Result<Option<Cow<'a, str>>, DecodeError> {
    match kind {
        PacketKind::Connect => match payload {
            None => Ok(None),
            Some(p) => check_value(p, kind, b"{", "expected a JSON object").map(|()| None),
        },
        PacketKind::Disconnect => match payload {
            None => Ok(None),
            Some(_) => Err(DecodeError::UnexpectedPayload(kind)),
        },
        PacketKind::ConnectError => match payload {
            None => Ok(None),
            Some(p) => {
                check_value(p, kind, b"{\"", "expected a JSON object or string").map(|()| None)
            }
        },
        PacketKind::Event | PacketKind::BinaryEvent => {
            let p = payload.ok_or(DecodeError::MissingPayload(kind))?;
            walk_event(p, kind, args).map(Some)
        }
        PacketKind::Ack | PacketKind::BinaryAck => {
            if id.is_none() {
                return Err(DecodeError::MissingAckId(kind));
            }
            let p = payload.ok_or(DecodeError::MissingPayload(kind))?;
            walk_args(p, kind, args).map(|()| None)
        }
    }
}

/// Checks that `payload` is one valid JSON value starting with one of `starts`.
fn check_value(
    payload: &str,
    kind: PacketKind,
    starts: &[u8],
    reason: &'static str,
) -> Result<(), DecodeError> {
    if !json::first_byte(payload).is_some_and(|b| starts.contains(&b)) {
        return Err(DecodeError::InvalidPayload { kind, reason });
    }
    json::check(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Packet<'_> {
        decode(text, &Limits::default()).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn header_fields() {
        let p = ok("0");
        assert_eq!(
            (p.kind, p.namespace, p.id, p.payload),
            (PacketKind::Connect, "/", None, None)
        );
        let p = ok("0/admin,");
        assert_eq!((p.namespace, p.payload), ("/admin", None));
        let p = ok("0/random");
        assert_eq!((p.namespace, p.payload), ("/random", None));
        let p = ok(r#"0/admin,{"token":"123"}"#);
        assert_eq!(p.payload, Some(r#"{"token":"123"}"#));
        let p = ok(r#"2/admin,13["foo"]"#);
        assert_eq!(
            (p.kind, p.namespace, p.id),
            (PacketKind::Event, "/admin", Some(13))
        );
        let p = ok(r#"51-/admin,14["foo",{"_placeholder":true,"num":0}]"#);
        assert_eq!(
            (p.kind, p.attachments, p.namespace, p.id),
            (PacketKind::BinaryEvent, 1, "/admin", Some(14))
        );
        let p = ok(r#"50-["foo"]"#);
        assert_eq!(p.attachments, 0);
        let p = ok(r#"218446744073709551615["x"]"#);
        assert_eq!(p.id, Some(u64::MAX));
        let p = ok(r#"2/ns/ü,["x"]"#);
        assert_eq!(p.namespace, "/ns/ü");
    }

    #[test]
    fn connect_error_payloads() {
        ok(r#"4{"message":"Not authorized"}"#);
        ok(r#"4"Not authorized""#);
        ok("4");
        assert!(decode("4abc", &Limits::default()).is_err());
        assert!(decode("4[]", &Limits::default()).is_err());
    }

    #[test]
    fn attachment_limit_is_configurable() {
        let limits = Limits { max_attachments: 2 };
        assert!(decode(r#"52-["x"]"#, &limits).is_ok());
        assert!(matches!(
            decode(r#"53-["x"]"#, &limits),
            Err(DecodeError::TooManyAttachments { max: 2 })
        ));
    }
}
