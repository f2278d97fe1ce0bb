//! Binary packets: placeholder validation (CVE-2022-2421) and the
//! [`BinaryCollector`] that gathers the attachments following a
//! BINARY_EVENT/BINARY_ACK header.

use bytes::Bytes;
use serde_json::Value;

use super::decode::Header;
use super::error::DecodeError;
use super::json;
use super::packet::{Limits, Packet};

/// Checks every binary placeholder in a binary packet payload.
///
/// An object whose `"_placeholder"` member is the JSON boolean `true` is a
/// placeholder; its `"num"` member must be an integer in `0..attachments`
/// (`-1`, `1.5`, `"0"`, out-of-range values are refused, as is a missing
/// `num`). Objects whose `"_placeholder"` is anything else (`"true"`,
/// `false`, ...) are ordinary objects and are searched recursively like any
/// other value; the members of a valid placeholder are not searched. This
/// mirrors the fix of CVE-2022-2421 in the JavaScript parser.
///
/// Only meant for the binary path: it parses a `serde_json::Value` (with
/// serde_json's recursion limit) and walks it without recursion. Numbers out
/// of `f64` range (e.g. `1e400`) are refused anywhere in the payload, since
/// `serde_json::Value` cannot hold them.
pub fn validate_placeholders(payload: &str, attachments: usize) -> Result<(), DecodeError> {
    json::check(payload)?;
    let value: Value = serde_json::from_str(payload)?;
    let mut pending = vec![&value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => {
                let num = map
                    .get("num")
                    .ok_or(DecodeError::InvalidPlaceholder("missing \"num\""))?;
                let num = num.as_u64().ok_or(DecodeError::InvalidPlaceholder(
                    "\"num\" must be a non-negative integer",
                ))?;
                if usize::try_from(num).map_or(true, |n| n >= attachments) {
                    return Err(DecodeError::InvalidPlaceholder(
                        "\"num\" is not the index of an attachment of this packet",
                    ));
                }
            }
            Value::Object(map) => pending.extend(map.values()),
            _ => {}
        }
    }
    Ok(())
}

/// A received BINARY_EVENT or BINARY_ACK packet waiting for its attachments.
///
/// Usage: when a text message starts with `5` or `6`, create a collector from
/// it instead of calling [`decode`](fn@super::decode); feed it every following
/// binary message with [`push`](Self::push) until it reports completion; then
/// read [`packet`](Self::packet), split the payload with
/// [`split_event`](super::split_event)/[`split_args`](super::split_args), and
/// deserialize arguments with
/// [`deserialize_with_attachments`](super::deserialize_with_attachments) and
/// [`attachments`](Self::attachments). A text message arriving before
/// completion is a protocol error the caller should report.
#[derive(Debug, Clone)]
pub struct BinaryCollector {
    text: String,
    header: Header,
    received: Vec<Bytes>,
    buffered: usize,
    max_buffered: usize,
}

impl BinaryCollector {
    /// Decodes and validates a binary packet's text (Engine.IO `4` prefix
    /// removed), including its placeholders ([`validate_placeholders`]).
    ///
    /// `max_buffered` bounds the bytes held: the text plus every attachment.
    /// Fails with [`DecodeError::NotBinary`] for non-binary packets, and with
    /// [`DecodeError::InvalidUtf8`] if `text` is not UTF-8.
    pub fn new(text: Bytes, limits: &Limits, max_buffered: usize) -> Result<Self, DecodeError> {
        if text.len() > max_buffered {
            return Err(DecodeError::AttachmentsTooLarge { max: max_buffered });
        }
        let text = String::from_utf8(Vec::from(text)).map_err(|_| DecodeError::InvalidUtf8)?;
        let header = Header::parse(&text, limits)?;
        if !header.kind.is_binary() {
            return Err(DecodeError::NotBinary(header.kind));
        }
        if let Some(payload) = header.payload(&text) {
            validate_placeholders(payload, header.attachments)?;
        }
        Ok(Self {
            buffered: text.len(),
            text,
            header,
            received: Vec::new(),
            max_buffered,
        })
    }

    /// The decoded packet (its payload still holds the placeholders).
    pub fn packet(&self) -> Packet<'_> {
        self.header.packet(&self.text)
    }

    /// The number of attachments announced by the header.
    pub fn expected(&self) -> usize {
        self.header.attachments
    }

    /// `true` once every announced attachment has arrived (immediately for
    /// a packet announcing `0`).
    pub fn is_complete(&self) -> bool {
        self.received.len() == self.header.attachments
    }

    /// Adds the next binary message. Returns `Ok(true)` when it was the last
    /// one expected.
    ///
    /// Fails with [`DecodeError::UnexpectedAttachment`] if the packet was
    /// already complete, and with [`DecodeError::AttachmentsTooLarge`] if the
    /// total would exceed the `max_buffered` given to [`new`](Self::new); the
    /// collector is unchanged on error.
    pub fn push(&mut self, attachment: Bytes) -> Result<bool, DecodeError> {
        if self.is_complete() {
            return Err(DecodeError::UnexpectedAttachment);
        }
        let buffered = self
            .buffered
            .checked_add(attachment.len())
            .filter(|&total| total <= self.max_buffered)
            .ok_or(DecodeError::AttachmentsTooLarge {
                max: self.max_buffered,
            })?;
        self.buffered = buffered;
        self.received.push(attachment);
        Ok(self.is_complete())
    }

    /// The attachments received so far, in order (placeholder `num` indexes this).
    pub fn attachments(&self) -> &[Bytes] {
        &self.received
    }

    /// The packet text and the attachments, consuming the collector.
    pub fn into_parts(self) -> (String, Vec<Bytes>) {
        (self.text, self.received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{deserialize_with_attachments, split_event, Binary, PacketKind};

    const TWO: &str =
        r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;

    #[test]
    fn collects_then_completes() {
        let mut c = BinaryCollector::new(Bytes::from(TWO), &Limits::default(), 1 << 20).unwrap();
        assert_eq!(c.expected(), 2);
        assert!(!c.is_complete());
        assert_eq!(c.packet().kind, PacketKind::BinaryEvent);
        assert!(!c.push(Bytes::from_static(&[1, 2, 3])).unwrap());
        assert!(c.push(Bytes::from_static(&[4, 5, 6])).unwrap());
        assert!(c.is_complete());
        assert!(matches!(
            c.push(Bytes::from_static(b"extra")),
            Err(DecodeError::UnexpectedAttachment)
        ));
        let packet = c.packet();
        assert_eq!((packet.namespace, packet.id), ("/", None));
        let ev = split_event(packet.payload.unwrap()).unwrap();
        assert_eq!(ev.name, "message");
        let args: Vec<Binary> = ev
            .args
            .iter()
            .map(|a| deserialize_with_attachments(a, c.attachments()).unwrap())
            .collect();
        assert_eq!(
            args,
            [Binary::from(vec![1, 2, 3]), Binary::from(vec![4, 5, 6])]
        );
        let (text, attachments) = c.into_parts();
        assert_eq!(text, TWO);
        assert_eq!(attachments.len(), 2);
    }

    #[test]
    fn ack_with_namespace_and_id() {
        let text = r#"61-/admin,15["bar",{"_placeholder":true,"num":0}]"#;
        let mut c = BinaryCollector::new(Bytes::from(text), &Limits::default(), 1 << 20).unwrap();
        let p = c.packet();
        assert_eq!(
            (p.kind, p.namespace, p.id, p.attachments),
            (PacketKind::BinaryAck, "/admin", Some(15), 1)
        );
        assert!(c.push(Bytes::new()).unwrap());
    }

    #[test]
    fn zero_attachments_is_complete_at_once() {
        let c = BinaryCollector::new(Bytes::from(r#"50-["x"]"#), &Limits::default(), 100).unwrap();
        assert!(c.is_complete());
    }

    #[test]
    fn buffered_bytes_are_bounded() {
        let max = TWO.len() + 4;
        let mut c = BinaryCollector::new(Bytes::from(TWO), &Limits::default(), max).unwrap();
        assert!(!c.push(Bytes::from_static(&[1, 2, 3])).unwrap());
        assert!(matches!(
            c.push(Bytes::from_static(&[4, 5])),
            Err(DecodeError::AttachmentsTooLarge { .. })
        ));
        assert_eq!(c.attachments().len(), 1);
        assert!(c.push(Bytes::from_static(&[4])).unwrap());
        assert!(matches!(
            BinaryCollector::new(Bytes::from(TWO), &Limits::default(), TWO.len() - 1),
            Err(DecodeError::AttachmentsTooLarge { .. })
        ));
    }

    #[test]
    fn refuses_non_binary_and_bad_text() {
        let limits = Limits::default();
        assert!(matches!(
            BinaryCollector::new(Bytes::from(r#"2["x"]"#), &limits, 100),
            Err(DecodeError::NotBinary(PacketKind::Event))
        ));
        assert!(matches!(
            BinaryCollector::new(Bytes::from_static(b"51-[\"\xff\"]"), &limits, 100),
            Err(DecodeError::InvalidUtf8)
        ));
        assert!(BinaryCollector::new(Bytes::from("5"), &limits, 100).is_err());
        assert!(BinaryCollector::new(Bytes::new(), &limits, 100).is_err());
    }

    #[test]
    fn placeholder_validation() {
        let ok = |p: &str| validate_placeholders(p, 1);
        ok(r#"["x",{"_placeholder":true,"num":0}]"#).unwrap();
        // Not placeholders: searched as ordinary objects.
        ok(r#"["x",{"_placeholder":"true","num":"splice"}]"#).unwrap();
        ok(r#"["x",{"_placeholder":false,"num":99}]"#).unwrap();
        ok(r#"["x",{"_placeholder":1}]"#).unwrap();
        // A valid placeholder's other members are not searched.
        ok(r#"["x",{"_placeholder":true,"num":0,"y":{"_placeholder":true}}]"#).unwrap();
        for bad in [
            r#"["x",{"_placeholder":true,"num":"splice"}]"#,
            r#"["x",{"_placeholder":true,"num":1}]"#,
            r#"["x",{"_placeholder":true,"num":-1}]"#,
            r#"["x",{"_placeholder":true,"num":1.5}]"#,
            r#"["x",{"_placeholder":true,"num":0.0}]"#,
            r#"["x",{"_placeholder":true,"num":1e400}]"#,
            r#"["x",{"_placeholder":true,"num":null}]"#,
            r#"["x",{"_placeholder":true}]"#,
            r#"["x",{"_placeholder":"true","y":[{"_placeholder":true,"num":5}]}]"#,
            r#"["x",{"a":{"b":[{"_placeholder":true,"num":18446744073709551616}]}}]"#,
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
        assert!(validate_placeholders(r#"["x",{"_placeholder":true,"num":0}]"#, 0).is_err());
    }
}
