//! The oracle for the message-queue wire format (`queue/wire.rs`).

use arbitrary::Unstructured;
use bytes::Bytes;
use serde_json::Value;

use super::alloc::bounded;
use super::values;
use crate::engineio::{Frame, Str};
use crate::packet;
use crate::protocol::{self, Limits, PacketKind};
use crate::queue::{
    decode_wire, encode_wire, encode_wire_args, encode_wire_packet, WireHeader, WireOp,
};
use crate::Args;

/// Heap per input byte the wire decoder may hold: the header parsed twice (its version, then
/// whole), where a list of empty strings costs 24 bytes per three-byte `"",`, doubled by growth;
/// the parts share the input.
const WIRE_BYTES_PER_BYTE: usize = 32;

const OPS: [WireOp; 7] = [
    WireOp::Broadcast,
    WireOp::Join,
    WireOp::Leave,
    WireOp::Disconnect,
    WireOp::CloseRoom,
    WireOp::AckRequest,
    WireOp::AckResponse,
];

/// One message from the bus (a Redis PUBLISH payload or an AMQP body).
///
/// - The input is decoded; a decoded message has version 1, as many parts as its header
///   announces, of the announced lengths, which together are exactly the bytes after the
///   header line; it encodes again into a message that decodes to the same header and parts,
///   and whose encoding is stable. Its packet, read for its own namespace, is an EVENT of that
///   namespace without id whose frames are the parts; its acknowledgement arguments are those of
///   the first part, with the other parts as attachments, and deserialize without panicking.
///   It holds at most 32 bytes of heap per input byte.
/// - The input as a recipe: a header (every field, arbitrary strings) with arbitrary parts, an
///   EVENT with JSON and binary arguments, and acknowledgement arguments, each encoded, decode
///   to the same header, parts, packet frames and arguments.
pub fn queue_wire(data: &[u8]) {
    let input = Bytes::copy_from_slice(data);
    let decoded = bounded("wire message", data.len(), WIRE_BYTES_PER_BYTE, || {
        decode_wire(input.clone())
    });
    if let Ok(message) = decoded {
        let lossy = String::from_utf8_lossy(data);
        assert_eq!(message.header.v, 1, "{lossy:?}");
        assert_eq!(
            message.header.frames.len(),
            message.parts.len(),
            "{lossy:?}"
        );
        let body_at = data.iter().position(|&b| b == b'\n').map_or(0, |nl| nl + 1);
        let mut at = body_at;
        for (part, &len) in message.parts.iter().zip(&message.header.frames) {
            assert_eq!(part.len(), len, "{lossy:?}");
            assert_eq!(&part[..], &data[at..at + len], "{lossy:?}");
            at += len;
        }
        assert_eq!(at, data.len(), "{lossy:?}");

        let parts: Vec<&[u8]> = message.parts.iter().map(|p| &p[..]).collect();
        let encoded = encode_wire(message.header.clone(), &parts);
        let again = decode_wire(encoded.clone())
            .unwrap_or_else(|e| panic!("{lossy:?} re-encoded as {encoded:?} is refused: {e}"));
        assert_eq!(again.header, message.header, "{lossy:?}");
        assert_eq!(again.parts, message.parts, "{lossy:?}");
        let stable = encode_wire(again.header.clone(), &parts);
        assert_eq!(stable, encoded, "{lossy:?}");

        check_packet(
            &message.header.ns,
            &message.parts,
            message.packet(&message.header.ns),
        );
        if let Ok(args) = message.args() {
            check_args(&args, &message.parts);
        }
    }

    let _ = round_trip(&mut Unstructured::new(data));
}

/// The packet a message carries for namespace `ns`, when it has one, is what `parts` hold.
fn check_packet<E>(ns: &str, parts: &[Bytes], packet: Result<packet::EncodedPacket, E>) {
    let Ok(packet) = packet else {
        return;
    };
    let frames = packet.frames();
    assert_eq!(frames.len(), parts.len(), "{parts:?}");
    let Some(Frame::Text(text)) = frames.first() else {
        panic!("a packet without its text frame: {frames:?}");
    };
    assert_eq!(
        text.as_str().strip_prefix('4').map(str::as_bytes),
        Some(&parts[0][..])
    );
    for (frame, part) in frames[1..].iter().zip(&parts[1..]) {
        assert_eq!(frame, &Frame::binary(part.clone()));
    }
    let limits = Limits {
        max_attachments: usize::MAX,
    };
    let decoded = protocol::decode(&text.as_str()[1..], &limits)
        .unwrap_or_else(|e| panic!("the packet {text:?} does not decode: {e}"));
    assert!(
        matches!(decoded.kind, PacketKind::Event | PacketKind::BinaryEvent)
            && decoded.id.is_none()
            && decoded.namespace == ns
            && decoded.attachments == parts.len() - 1,
        "{text:?} for {ns:?}"
    );
}

/// Acknowledgement arguments read from `parts`: the arguments of the first part's JSON array,
/// the other parts as attachments, deserializable without panicking.
fn check_args(args: &Args, parts: &[Bytes]) {
    let json = std::str::from_utf8(&parts[0]).unwrap_or_else(|_| panic!("{parts:?}"));
    let expected = protocol::split_args(json).unwrap_or_else(|e| panic!("{json:?}: {e}"));
    let raw: Vec<&str> = args.raw().collect();
    assert_eq!(raw, expected, "{json:?}");
    assert_eq!(args.attachments(), &parts[1..], "{json:?}");
    let _ = args.deserialize::<Value>();
    let _ = args.deserialize::<(Value, Value)>();
    let _ = args.deserialize::<Vec<protocol::Binary>>();
    let _ = args.get::<protocol::Binary>(0);
}

/// Messages built from the recipe decode to themselves.
fn round_trip(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let mut header = WireHeader::new(&values::string(u)?, *u.choose(&OPS)?);
    let strings = |u: &mut Unstructured<'_>| -> arbitrary::Result<Vec<String>> {
        (0..u.int_in_range(0..=3)?)
            .map(|_| values::string(u))
            .collect()
    };
    let optional = |u: &mut Unstructured<'_>| -> arbitrary::Result<Option<String>> {
        Ok(if u.arbitrary()? {
            Some(values::string(u)?)
        } else {
            None
        })
    };
    header.ns = values::namespace(u)?;
    header.rooms = strings(u)?;
    header.except = strings(u)?;
    header.exclude = optional(u)?;
    header.names = strings(u)?;
    header.sid = optional(u)?;
    header.req = u.arbitrary()?;
    header.to = optional(u)?;
    header.timeout_ms = u.arbitrary()?;
    header.error = optional(u)?;

    let parts: Vec<Vec<u8>> = (0..u.int_in_range(0..=4)?)
        .map(|_| u.arbitrary())
        .collect::<arbitrary::Result<_>>()?;
    let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let message = decode_wire(encode_wire(header.clone(), &slices))
        .unwrap_or_else(|e| panic!("{header:?} with {parts:?}: {e}"));
    let mut expected = header.clone();
    expected.frames = parts.iter().map(Vec::len).collect();
    assert_eq!(message.header, expected);
    assert_eq!(message.parts, parts);

    // A broadcast: an EVENT with JSON and binary arguments, encoded once.
    let name = values::string(u)?;
    let json = values::json(u, 0)?;
    let blobs: Vec<protocol::Binary> = (0..u.int_in_range(0..=3)?)
        .map(|_| Ok(protocol::Binary::from(u.arbitrary::<Vec<u8>>()?)))
        .collect::<arbitrary::Result<_>>()?;
    let Ok(event) = packet::event(&header.ns, &name, &(json, blobs), None) else {
        assert!(
            protocol::RESERVED_EVENTS.contains(&name.as_str()),
            "{name:?}"
        );
        return Ok(());
    };
    let message = decode_wire(encode_wire_packet(header.clone(), &event))
        .unwrap_or_else(|e| panic!("{event:?}: {e}"));
    let back = message
        .packet(&header.ns)
        .unwrap_or_else(|e| panic!("{event:?}: {e}"));
    assert_eq!(back.frames(), event.frames());

    // Acknowledgement arguments.
    let items: Vec<Str> = (0..u.int_in_range(0..=3)?)
        .map(|_| Ok(Str::from(values::json(u, 0)?.to_string())))
        .collect::<arbitrary::Result<_>>()?;
    let attachments: Vec<Bytes> = (0..u.int_in_range(0..=2)?)
        .map(|_| Ok(Bytes::from(u.arbitrary::<Vec<u8>>()?)))
        .collect::<arbitrary::Result<_>>()?;
    let args = Args::new(items.into(), attachments);
    let message = decode_wire(encode_wire_args(header, &args)).unwrap_or_else(|e| panic!("{e}"));
    let back = message.args().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        back.raw().collect::<Vec<_>>(),
        args.raw().collect::<Vec<_>>()
    );
    assert_eq!(back.attachments(), args.attachments());
    Ok(())
}
