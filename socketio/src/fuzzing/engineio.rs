//! Oracles for the Engine.IO decoders: one text packet, one long-polling payload.

use arbitrary::Unstructured;
use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;

use super::alloc::bounded;
use super::values;
use crate::engineio::{decode_payload, decode_text, encode_payload, Frame, Inbound, Str};

/// Heap per input byte a payload may cost: one `Inbound` (40 bytes) per two-byte record
/// (`6` and a separator), doubled by the vector's growth, plus the decoded binary data.
const PAYLOAD_BYTES_PER_BYTE: usize = 48;

/// One Engine.IO text packet (a WebSocket text message, or one record of a polling payload).
///
/// - The input, read as UTF-8 (invalid sequences replaced), is decoded by `decode_text` and
///   the result compared with a model written from the protocol's packet table: `1` close,
///   `2` or `2probe` ping, `3` and anything pong, `4` and anything a message (its text, shared
///   with the input), `5` upgrade, `6` noop; anything else, an `0` open included, refused. It
///   allocates nothing.
/// - The input as a recipe: a message text (without the record separator) encoded by
///   [`Frame::message`] decodes to the same message.
pub fn engineio_packet(data: &[u8]) {
    let text = Str::from(String::from_utf8_lossy(data).into_owned());
    let decoded = bounded("Engine.IO packet", data.len(), 0, || {
        decode_text(text.clone())
    });
    assert_eq!(decoded.ok(), model_packet(&text), "decoding {text:?}");

    let mut u = Unstructured::new(data);
    if let Ok(message) = values::string(&mut u) {
        let Frame::Text(frame) = Frame::message(&message) else {
            panic!("Frame::message made a binary frame");
        };
        assert_eq!(
            decode_text(Str::whole(frame)),
            Ok(Inbound::Message(Str::from(message.as_str()))),
            "the message {message:?} did not survive its encoding"
        );
    }
}

/// One long-polling request body (records separated by `\x1e`, binary ones as `b` + base64).
///
/// - The input is decoded by the payload decoder and compared with a model: valid UTF-8 split
///   at every `\x1e`, each record a text packet ([`engineio_packet`]'s model) or `b` and
///   canonical padded base64 (an independent decoder); any bad record refuses the whole body.
///   A decoded body re-encodes record by record to the input (pongs to their first byte, as
///   their data is dropped). It holds at most 48 bytes of heap per input byte.
/// - The input as a recipe: a list of client packets (messages without `\x1e`, binary data,
///   close, ping, probe, pong, upgrade, noop) encoded by the polling encoder decodes to the same
///   packets, in order.
pub fn engineio_payload(data: &[u8]) {
    let body = Bytes::copy_from_slice(data);
    let decoded = bounded(
        "polling payload",
        data.len(),
        PAYLOAD_BYTES_PER_BYTE,
        || decode_payload(body.clone()).map(Iterator::collect::<Vec<_>>),
    );
    let model = model_payload(data);
    let decoded = decoded.ok();
    assert_eq!(
        decoded,
        model,
        "decoding {:?}",
        String::from_utf8_lossy(data)
    );
    if let Some(packets) = &decoded {
        let text = String::from_utf8_lossy(data);
        for (record, packet) in text.split('\x1e').zip(packets) {
            let again = match packet {
                Inbound::Pong => "3".to_owned(),
                packet => encode_payload(&[frame_of(packet)]),
            };
            let expected = match packet {
                Inbound::Pong => &record[..1],
                _ => record,
            };
            assert_eq!(again, expected, "{packet:?} re-encoded");
        }
    }

    let mut u = Unstructured::new(data);
    let mut packets = Vec::new();
    let _ = u.arbitrary_loop(Some(1), Some(32), |u| {
        packets.push(client_packet(u)?);
        Ok(std::ops::ControlFlow::Continue(()))
    });
    if !packets.is_empty() {
        let frames: Vec<Frame> = packets.iter().map(frame_of).collect();
        let body = encode_payload(&frames);
        assert_eq!(
            decode_payload(Bytes::from(body.clone()))
                .ok()
                .map(Iterator::collect::<Vec<_>>),
            Some(packets),
            "{body:?} did not decode to what was encoded"
        );
    }
}

/// The packet table of the Engine.IO protocol, for client packets.
fn model_packet(text: &str) -> Option<Inbound> {
    let mut chars = text.chars();
    let kind = chars.next()?;
    let data = chars.as_str();
    Some(match (kind, data) {
        ('1', "") => Inbound::Close,
        ('2', "") => Inbound::Ping { probe: false },
        ('2', "probe") => Inbound::Ping { probe: true },
        ('3', _) => Inbound::Pong,
        ('4', message) => Inbound::Message(Str::from(message)),
        ('5', "") => Inbound::Upgrade,
        ('6', "") => Inbound::Noop,
        _ => return None,
    })
}

/// A polling body as the protocol describes it.
fn model_payload(body: &[u8]) -> Option<Vec<Inbound>> {
    std::str::from_utf8(body)
        .ok()?
        .split('\x1e')
        .map(|record| match record.strip_prefix('b') {
            Some(base64) => model_base64(base64).map(|data| Inbound::Binary(Bytes::from(data))),
            None => model_packet(record),
        })
        .collect()
}

/// Standard base64 as browsers write it: whole quads, `=` padding only at the end, no stray
/// bits in the last character.
fn model_base64(text: &str) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        Some(u32::from(value))
    }
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let quads = bytes.len() / 4;
    let mut out = Vec::with_capacity(quads * 3);
    for (i, quad) in bytes.chunks(4).enumerate() {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 != quads) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | sextet(c)?;
        }
        n <<= 6 * pad;
        let [_, a, b, c] = n.to_be_bytes();
        let decoded = [a, b, c];
        if decoded[3 - pad..].iter().any(|&stray| stray != 0) {
            return None;
        }
        out.extend_from_slice(&decoded[..3 - pad]);
    }
    Some(out)
}

/// A packet a client may send, from the recipe.
fn client_packet(u: &mut Unstructured<'_>) -> arbitrary::Result<Inbound> {
    Ok(match u.int_in_range(0..=7)? {
        0 => Inbound::Close,
        1 => Inbound::Ping { probe: false },
        2 => Inbound::Ping { probe: true },
        3 => Inbound::Pong,
        4 => Inbound::Upgrade,
        5 => Inbound::Noop,
        6 => Inbound::Binary(Bytes::from(u.arbitrary::<Vec<u8>>()?)),
        _ => Inbound::Message(Str::from(values::string(u)?.replace('\x1e', ""))),
    })
}

/// The frame that carries `packet`.
fn frame_of(packet: &Inbound) -> Frame {
    let text = match packet {
        Inbound::Message(message) => return Frame::message(message),
        Inbound::Binary(data) => return Frame::binary(data.clone()),
        Inbound::Close => "1",
        Inbound::Ping { probe: false } => "2",
        Inbound::Ping { probe: true } => "2probe",
        Inbound::Pong => "3",
        Inbound::Upgrade => "5",
        Inbound::Noop => "6",
    };
    Frame::Text(Utf8Bytes::from_static(text))
}
