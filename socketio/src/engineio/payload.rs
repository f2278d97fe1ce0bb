//! Long-polling payloads: several packets in one HTTP body, separated by `\x1e`.

use base64::Engine as _;
use bytes::Bytes;

use super::packet::{decode_text, Inbound, PacketError};
use super::{Frame, Str};

const SEPARATOR: char = '\x1e';

/// Encodes the frames of one polling response. Binary frames become `b` + base64.
pub(crate) fn encode(frames: &[Frame]) -> String {
    let size: usize = frames
        .iter()
        .map(|f| match f {
            Frame::Text(t) => t.len() + 1,
            Frame::Binary(b) => b.len().div_ceil(3) * 4 + 2,
        })
        .sum();
    let mut out = String::with_capacity(size);
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        match frame {
            Frame::Text(t) => out.push_str(t.as_str()),
            Frame::Binary(b) => {
                out.push('b');
                base64::engine::general_purpose::STANDARD.encode_string(b, &mut out);
            }
        }
    }
    out
}

/// Decodes a polling request body into packets, in order, without copying text messages.
///
/// Every record must be a well-formed packet: an empty record (including one made by a trailing
/// separator) is an error, as is invalid base64 after `b` (padding is required, as browsers emit it).
pub(crate) fn decode(body: Bytes) -> Result<Packets, PacketError> {
    let body = Str::from_utf8(body).map_err(|_| PacketError("payload is not valid UTF-8"))?;
    let mut records = body.as_str().split(SEPARATOR);
    // `split` yields at least one record, if only an empty one.
    let first = decode_record(&body, records.next().unwrap_or_default())?;
    let rest = records
        .map(|record| decode_record(&body, record))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Packets {
        first: Some(first),
        rest: rest.into_iter(),
    })
}

/// One record of `body` (a slice of its text).
fn decode_record(body: &Str, record: &str) -> Result<Inbound, PacketError> {
    let record = body.slice_ref(record);
    match record.as_str().strip_prefix('b') {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map(|data| Inbound::Binary(Bytes::from(data)))
            .map_err(|_| PacketError("invalid base64 in a binary packet")),
        None => decode_text(record),
    }
}

/// The packets of a payload, in order. Most payloads hold one, which is kept inline: decoding
/// it allocates nothing.
#[derive(Debug)]
pub(crate) struct Packets {
    first: Option<Inbound>,
    rest: std::vec::IntoIter<Inbound>,
}

impl Iterator for Packets {
    type Item = Inbound;

    fn next(&mut self) -> Option<Inbound> {
        self.first.take().or_else(|| self.rest.next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_text_and_binary_records() {
        let frames = [
            Frame::message("hello"),
            Frame::binary(Bytes::from_static(&[1, 2, 3, 4])),
            Frame::PING,
        ];
        assert_eq!(encode(&frames), "4hello\x1ebAQIDBA==\x1e2");
    }

    #[test]
    fn decodes_the_spec_example() {
        let packets: Vec<_> = decode(Bytes::from_static(b"4hello\x1ebAQIDBA==\x1e3"))
            .unwrap()
            .collect();
        assert_eq!(
            packets,
            vec![
                Inbound::Message(Str::from("hello")),
                Inbound::Binary(Bytes::from_static(&[1, 2, 3, 4])),
                Inbound::Pong,
            ]
        );
    }

    #[test]
    fn rejects_bad_payloads() {
        let bad: [&[u8]; 10] = [
            b"",
            b"\x1e",
            b"\x1e\x1e\x1e",
            b"4hello\x1e",
            b"9hello",
            b"7",
            b"b!!!",
            b"bAQ",
            b"4\xff\xfe",
            b"abc",
        ];
        for body in bad {
            assert!(decode(Bytes::from_static(body)).is_err(), "{body:?}");
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..2_000 {
            let body: Vec<u8> = (0..len % 64)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    b"0123456b=/+A\x1e\xffprobe"[(state % 19) as usize]
                })
                .collect();
            let _ = decode(Bytes::from(body));
        }
    }
}
