//! Oracles for the Socket.IO packet decoder and the binary reassembly ([`BinaryCollector`]).

use std::collections::BTreeMap;

use arbitrary::Unstructured;
use bytes::Bytes;
use serde::ser::{Serialize, SerializeTuple, Serializer};
use serde_json::value::to_raw_value;
use serde_json::Value;

use super::alloc::bounded;
use super::values;
use crate::protocol::{
    self, decode, decode_split, deserialize_with_attachments, encode_ack, encode_connect,
    encode_connect_error, encode_disconnect, encode_event, encode_raw_ack, encode_raw_event,
    split_event, Binary, BinaryCollector, DecodeError, Limits, Packet, PacketKind, MAX_NESTING,
    RESERVED_EVENTS,
};

/// Heap per input byte the packet decoder may hold: the argument list (one 16-byte slice per
/// two-byte `0,`, doubled by growth) and an unescaped event name.
const PACKET_BYTES_PER_BYTE: usize = 24;

/// Heap per input byte of [`BinaryCollector::new`]: a copy of the text, and the
/// `serde_json::Value` tree its placeholders are checked on (up to about 100 bytes for a
/// two-byte `{}` in an object or array, with the growth of their containers).
const COLLECTOR_BYTES_PER_BYTE: usize = 160;

/// One Socket.IO packet, the text of an Engine.IO message.
///
/// - The input, read as UTF-8, is decoded with `max_attachments` = input length % 13 by both
///   [`decode`] and [`decode_split`], which must agree (the same packet or the same error).
///   A decoded packet respects the limits and the header grammar, its EVENT/ACK arguments
///   are what `serde_json` reads in the payload, and it re-encodes to a text that decodes to
///   the same packet (header rewritten canonically: no `/,`, no leading zeros; events and acks
///   also through [`encode_raw_event`]/[`encode_raw_ack`]). It holds at most 24 bytes of heap
///   per input byte.
/// - The input as a recipe: a packet (any kind but the binary ones, any namespace, id, event
///   name and JSON arguments, sometimes nested past [`MAX_NESTING`]) encoded by the public
///   encoders decodes to the same fields and arguments, or is refused exactly when it nests
///   too deep or names a reserved event.
pub fn socketio_packet(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let limits = Limits {
        max_attachments: data.len() % 13,
    };
    let (decoded, split) = bounded(
        "Socket.IO packet",
        data.len(),
        PACKET_BYTES_PER_BYTE,
        || (decode(&text, &limits), decode_split(&text, &limits)),
    );
    match (decoded, split) {
        (Ok(packet), Ok(split)) => {
            assert_eq!(packet, split.packet, "decode and decode_split of {text:?}");
            check_packet(&text, &limits, &packet);
            check_arguments(&text, &packet, split.event.as_deref(), &split.args);
            check_reencoding(&text, &limits, &packet, split.event.as_deref(), &split.args);
        }
        (Err(a), Err(b)) => assert_eq!(
            a.to_string(),
            b.to_string(),
            "decode and decode_split of {text:?}"
        ),
        (a, b) => panic!(
            "decode and decode_split disagree on {text:?}: {:?} / {:?}",
            a.err(),
            b.err()
        ),
    }

    let _ = round_trip(&mut Unstructured::new(data));
}

/// The header grammar and the limits, on a decoded packet.
fn check_packet(text: &str, limits: &Limits, packet: &Packet<'_>) {
    assert!(packet.attachments <= limits.max_attachments, "{text:?}");
    if !packet.kind.is_binary() {
        assert_eq!(packet.attachments, 0, "{text:?}");
    }
    assert!(
        packet.namespace == "/"
            || (packet.namespace.starts_with('/') && !packet.namespace.contains(',')),
        "namespace of {text:?}"
    );
    assert!(packet.payload != Some(""), "{text:?}");
    let payload_required = matches!(
        packet.kind,
        PacketKind::Event | PacketKind::BinaryEvent | PacketKind::Ack | PacketKind::BinaryAck
    );
    assert!(packet.payload.is_some() || !payload_required, "{text:?}");
    if matches!(packet.kind, PacketKind::Ack | PacketKind::BinaryAck) {
        assert!(packet.id.is_some(), "{text:?}");
    }
    if !packet.kind.allows_id() {
        assert!(packet.id.is_none(), "{text:?}");
    }
    if packet.kind == PacketKind::Disconnect {
        assert!(packet.payload.is_none(), "{text:?}");
    }
}

/// What `serde_json` reads in the payload of a decoded EVENT or ACK (when it can hold the
/// numbers: `1e400` is valid JSON that `serde_json::Value` refuses) is what the decoder split.
fn check_arguments(text: &str, packet: &Packet<'_>, event: Option<&str>, args: &[&str]) {
    let Some(Ok(Value::Array(items))) = packet.payload.map(serde_json::from_str::<Value>) else {
        return;
    };
    let (name, rest) = match packet.kind {
        PacketKind::Event | PacketKind::BinaryEvent => match items.split_first() {
            Some((Value::String(name), rest)) => (Some(name.as_str()), rest),
            other => panic!("{text:?} decoded as an event: {other:?}"),
        },
        PacketKind::Ack | PacketKind::BinaryAck => (None, &items[..]),
        _ => return,
    };
    assert_eq!(event, name, "event name of {text:?}");
    if let Some(name) = name {
        assert!(!RESERVED_EVENTS.contains(&name), "{text:?}");
    }
    let split: Vec<Value> = args
        .iter()
        .map(|raw| serde_json::from_str(raw))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("an argument of {text:?} does not parse: {e}"));
    assert_eq!(split, rest, "arguments of {text:?}");
}

/// A decoded packet, encoded again, decodes to the same packet.
fn check_reencoding(
    text: &str,
    limits: &Limits,
    packet: &Packet<'_>,
    event: Option<&str>,
    args: &[&str],
) {
    let mut canonical = String::new();
    canonical.push(packet.kind.digit());
    if packet.kind.is_binary() {
        canonical.push_str(&format!("{}-", packet.attachments));
    }
    if packet.namespace != "/" {
        canonical.push_str(packet.namespace);
        canonical.push(',');
    }
    if let Some(id) = packet.id {
        canonical.push_str(&id.to_string());
    }
    canonical.push_str(packet.payload.unwrap_or(""));
    match decode(&canonical, limits) {
        Ok(again) => assert_eq!(&again, packet, "{text:?} re-encoded as {canonical:?}"),
        Err(e) => panic!("{text:?} re-encoded as {canonical:?} is refused: {e}"),
    }

    let mut encoded = String::new();
    match (packet.kind, event, packet.id) {
        (PacketKind::Event | PacketKind::BinaryEvent, Some(name), id) => encode_raw_event(
            &mut encoded,
            packet.namespace,
            name,
            args,
            id,
            packet.attachments,
        ),
        (PacketKind::Ack | PacketKind::BinaryAck, None, Some(id)) => {
            encode_raw_ack(&mut encoded, packet.namespace, id, args, packet.attachments)
        }
        _ => return,
    }
    let again = decode_split(&encoded, limits)
        .unwrap_or_else(|e| panic!("{text:?} re-encoded as {encoded:?} is refused: {e}"));
    assert_eq!(
        (
            again.packet.namespace,
            again.packet.id,
            again.packet.attachments
        ),
        (packet.namespace, packet.id, packet.attachments),
        "{text:?} re-encoded as {encoded:?}"
    );
    assert_eq!(
        again.event.as_deref(),
        event,
        "{text:?} re-encoded as {encoded:?}"
    );
    assert_eq!(again.args, args, "{text:?} re-encoded as {encoded:?}");
}

/// A packet built from the recipe, encoded, decodes to itself.
fn round_trip(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let namespace = values::namespace(u)?;
    let mut buf = String::new();
    match u.int_in_range(0..=5)? {
        0 => {
            let sid = values::string(u)?;
            encode_connect(&mut buf, &namespace, &sid);
            let packet = decoded(&buf, PacketKind::Connect, &namespace);
            let payload: Value = serde_json::from_str(packet.payload.unwrap_or("null"))
                .unwrap_or_else(|e| panic!("{buf:?}: {e}"));
            assert_eq!(payload, serde_json::json!({ "sid": sid }), "{buf:?}");
        }
        1 => {
            let message = values::string(u)?;
            let data = if u.arbitrary()? {
                Some(values::json(u, 0)?)
            } else {
                None
            };
            let raw = data.as_ref().and_then(|d| to_raw_value(d).ok());
            encode_connect_error(&mut buf, &namespace, &message, raw.as_deref());
            let packet = decoded(&buf, PacketKind::ConnectError, &namespace);
            let payload: Value = serde_json::from_str(packet.payload.unwrap_or("null"))
                .unwrap_or_else(|e| panic!("{buf:?}: {e}"));
            let mut expected = serde_json::json!({ "message": message });
            if let Some(data) = data {
                expected["data"] = data;
            }
            assert_eq!(payload, expected, "{buf:?}");
        }
        2 => {
            encode_disconnect(&mut buf, &namespace);
            let packet = decoded(&buf, PacketKind::Disconnect, &namespace);
            assert_eq!(packet.payload, None, "{buf:?}");
        }
        kind => {
            let (args, deepest) = arguments(u)?;
            let raw: Vec<String> = args
                .iter()
                .map(|a| serde_json::to_string(a).unwrap_or_else(|e| panic!("{a:?}: {e}")))
                .collect();
            let raw: Vec<&str> = raw.iter().map(String::as_str).collect();
            let event = kind != 5;
            let name = values::event_name(u)?;
            let id = values::ack_id(u)?;
            let id = if event { id } else { Some(id.unwrap_or(0)) };
            if event {
                encode_event(&mut buf, &namespace, &name, &protocol::RawArgs(&raw), id)
                    .unwrap_or_else(|e| panic!("encoding {args:?}: {e}"));
            } else {
                encode_ack(
                    &mut buf,
                    &namespace,
                    id.unwrap_or(0),
                    &protocol::RawArgs(&raw),
                )
                .unwrap_or_else(|e| panic!("encoding {args:?}: {e}"));
            }
            let result = decode_split(&buf, &Limits::default());
            let too_deep = 1 + deepest > MAX_NESTING;
            let reserved = event && RESERVED_EVENTS.contains(&name.as_str());
            let split = match result {
                Err(DecodeError::TooDeep) if too_deep => return Ok(()),
                Err(DecodeError::ReservedEventName(r)) if reserved && !too_deep => {
                    assert_eq!(r, name, "{buf:?}");
                    return Ok(());
                }
                Ok(split) if !too_deep && !reserved => split,
                other => panic!(
                    "{buf:?} (too deep: {too_deep}, reserved: {reserved}): {:?}",
                    other.map(|s| s.packet)
                ),
            };
            let expected_kind = if event {
                PacketKind::Event
            } else {
                PacketKind::Ack
            };
            assert_eq!(split.packet.kind, expected_kind, "{buf:?}");
            assert_eq!(split.packet.namespace, namespace, "{buf:?}");
            assert_eq!(split.packet.id, id, "{buf:?}");
            assert_eq!(
                split.event.as_deref(),
                event.then_some(name.as_str()),
                "{buf:?}"
            );
            let back: Vec<Value> = split
                .args
                .iter()
                .map(|a| serde_json::from_str(a))
                .collect::<Result<_, _>>()
                .unwrap_or_else(|e| panic!("{buf:?}: {e}"));
            assert_eq!(back, args, "{buf:?}");
        }
    }
    Ok(())
}

/// `buf` decoded (it must be) as a packet of `kind` in `namespace`.
fn decoded<'a>(buf: &'a str, kind: PacketKind, namespace: &str) -> Packet<'a> {
    let packet = decode(buf, &Limits::default()).unwrap_or_else(|e| panic!("{buf:?}: {e}"));
    assert_eq!(
        (packet.kind, packet.namespace),
        (kind, namespace),
        "{buf:?}"
    );
    packet
}

/// Up to eight JSON arguments, one of them sometimes wrapped in up to 140 arrays; returns them
/// with the deepest nesting among them.
fn arguments(u: &mut Unstructured<'_>) -> arbitrary::Result<(Vec<Value>, usize)> {
    let mut args = Vec::new();
    u.arbitrary_loop(Some(0), Some(8), |u| {
        args.push(values::json(u, 0)?);
        Ok(std::ops::ControlFlow::Continue(()))
    })?;
    if !args.is_empty() && u.ratio(1, 8)? {
        let wraps = u.int_in_range(100..=140)?;
        for _ in 0..wraps {
            args[0] = Value::Array(vec![args[0].take()]);
        }
    }
    let deepest = args.iter().map(values::depth).max().unwrap_or(0);
    Ok((args, deepest))
}

/// One binary packet and its attachments, as a client sends them.
///
/// Input layout: byte 0 is `max_attachments` (mod 13), bytes 1-2 the collector's byte budget
/// (big-endian), then the packet text up to the first `0xff` byte (which UTF-8 never holds),
/// then the attachments, each a length byte and that many bytes.
///
/// - [`BinaryCollector::new`] accepts exactly the texts that [`decode`] accepts as a binary
///   packet within the limits, whose placeholders are valid, and that fit the budget; it
///   holds at most 160 bytes of heap per input byte. Every canonical placeholder of an
///   accepted packet resolves, through the [`Binary`] deserializer, to an attachment.
/// - Pushing the attachments follows the model: refused past completion or past the budget
///   (leaving the collector unchanged), complete exactly when the announced count arrived;
///   the buffered bytes never exceed the budget. A complete packet splits as the dispatcher
///   splits it.
/// - The input as a recipe: arguments mixing JSON and [`Binary`] values (alone, in lists, in
///   maps), encoded by [`encode_event`]/[`encode_ack`], collected with a budget, decode to the
///   same values with the same bytes, or are refused exactly when there are more than
///   `max_attachments` binaries or more bytes than the budget.
pub fn binary_packet(data: &[u8]) {
    let max_attachments = usize::from(data.first().copied().unwrap_or(0) % 13);
    let budget = data
        .get(1..3)
        .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
    let rest = data.get(3..).unwrap_or_default();
    let (text, mut tail) = match rest.iter().position(|&b| b == 0xff) {
        Some(end) => (&rest[..end], &rest[end + 1..]),
        None => (rest, &[][..]),
    };
    let mut attachments = Vec::new();
    while let Some((&len, more)) = tail.split_first() {
        let len = usize::from(len).min(more.len());
        attachments.push(Bytes::copy_from_slice(&more[..len]));
        tail = &more[len..];
    }
    let limits = Limits { max_attachments };
    collect(text, &limits, budget, &attachments);

    let _ = binary_round_trip(&mut Unstructured::new(data));
}

/// Feeds one binary packet to a collector and checks it against the model.
fn collect(text: &[u8], limits: &Limits, budget: usize, attachments: &[Bytes]) {
    let input = Bytes::copy_from_slice(text);
    let result = bounded(
        "BinaryCollector::new",
        text.len(),
        COLLECTOR_BYTES_PER_BYTE,
        || BinaryCollector::new(input.clone(), limits, budget),
    );
    let lossy = String::from_utf8_lossy(text);
    let mut collector = match result {
        Ok(collector) => collector,
        Err(e) => {
            let expected = if text.len() > budget {
                matches!(e, DecodeError::AttachmentsTooLarge { max } if max == budget)
            } else {
                match std::str::from_utf8(text) {
                    Err(_) => matches!(e, DecodeError::InvalidUtf8),
                    Ok(text) => match decode(text, limits) {
                        Err(refused) => refused.to_string() == e.to_string(),
                        Ok(p) if !p.kind.is_binary() => {
                            matches!(e, DecodeError::NotBinary(kind) if kind == p.kind)
                        }
                        // Only the placeholders are left to refuse (or a number `Value`
                        // cannot hold, like `1e400`).
                        Ok(_) => {
                            matches!(e, DecodeError::InvalidPlaceholder(_) | DecodeError::Json(_))
                        }
                    },
                }
            };
            assert!(expected, "{lossy:?} (budget {budget}) refused: {e}");
            return;
        }
    };
    assert!(text.len() <= budget, "{lossy:?} over the budget {budget}");
    let text = std::str::from_utf8(text).unwrap_or_else(|_| panic!("{lossy:?} is not UTF-8"));
    let packet = decode(text, limits).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(collector.packet(), packet, "{text:?}");
    assert!(packet.kind.is_binary(), "{text:?}");
    assert_eq!(collector.expected(), packet.attachments, "{text:?}");
    check_placeholders(text, packet.payload, packet.attachments);

    let mut buffered = text.len();
    let mut received: Vec<Bytes> = Vec::new();
    for attachment in attachments {
        let complete = received.len() == packet.attachments;
        let fits = buffered + attachment.len() <= budget;
        match collector.push(attachment.clone()) {
            Err(DecodeError::UnexpectedAttachment) if complete => {}
            Err(DecodeError::AttachmentsTooLarge { max }) if !complete && !fits => {
                assert_eq!(max, budget, "{text:?}")
            }
            Ok(done) if !complete && fits => {
                buffered += attachment.len();
                received.push(attachment.clone());
                assert_eq!(done, received.len() == packet.attachments, "{text:?}");
            }
            other => panic!(
                "{text:?}: pushing {} bytes ({buffered} buffered, budget {budget}, {} of {} \
                 received): {other:?}",
                attachment.len(),
                received.len(),
                packet.attachments
            ),
        }
        assert_eq!(collector.attachments(), &received[..], "{text:?}");
    }
    assert_eq!(
        collector.is_complete(),
        received.len() == packet.attachments,
        "{text:?}"
    );
    if collector.is_complete() {
        let (text, parts) = collector.into_parts();
        assert_eq!(parts, received, "{text:?}");
        let split = decode_split(&text, limits).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        for arg in &split.args {
            let _ = deserialize_with_attachments::<Value>(arg, &parts);
            let _ = deserialize_with_attachments::<Binary>(arg, &parts);
        }
    }
}

/// Every canonical placeholder (`{"_placeholder":true,"num":n}`, nothing else) in an accepted
/// payload resolves to an attachment.
fn check_placeholders(text: &str, payload: Option<&str>, attachments: usize) {
    let Some(Ok(value)) = payload.map(serde_json::from_str::<Value>) else {
        return;
    };
    let slots = vec![Bytes::new(); attachments];
    let mut pending = vec![&value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                let canonical = map.len() == 2
                    && map.get("_placeholder") == Some(&Value::Bool(true))
                    && map.contains_key("num");
                if canonical {
                    let json = value.to_string();
                    if let Err(e) = deserialize_with_attachments::<Binary>(&json, &slots) {
                        panic!("{text:?} was accepted, but its placeholder {json} is not: {e}");
                    }
                } else {
                    pending.extend(map.values());
                }
            }
            _ => {}
        }
    }
}

/// An argument of a binary packet.
#[derive(Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
enum Arg {
    Json(Value),
    Bin(Binary),
    List(Vec<Binary>),
    Map(BTreeMap<String, Binary>),
}

/// Arguments serialized one per element (as a tuple, which the encoders spread).
struct Spread<'a>(&'a [Arg]);

impl Serialize for Spread<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for arg in self.0 {
            tuple.serialize_element(arg)?;
        }
        tuple.end()
    }
}

/// Binary arguments built from the recipe go through the encoder and the collector unchanged.
fn binary_round_trip(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let bytes = |u: &mut Unstructured<'_>| -> arbitrary::Result<Binary> {
        Ok(Binary::from(u.arbitrary::<Vec<u8>>()?))
    };
    let mut args = Vec::new();
    u.arbitrary_loop(Some(0), Some(6), |u| {
        args.push(match u.int_in_range(0..=3)? {
            0 => Arg::Json(values::json(u, 0)?),
            1 => Arg::Bin(bytes(u)?),
            2 => Arg::List(
                (0..u.int_in_range(0..=4)?)
                    .map(|_| bytes(u))
                    .collect::<Result<_, _>>()?,
            ),
            _ => {
                let mut map = BTreeMap::new();
                for _ in 0..u.int_in_range(0..=3)? {
                    map.insert(values::string(u)?, bytes(u)?);
                }
                Arg::Map(map)
            }
        });
        Ok(std::ops::ControlFlow::Continue(()))
    })?;
    let namespace = values::namespace(u)?;
    let budget = usize::from(u.arbitrary::<u16>()?);
    let event = u.arbitrary::<bool>()?;
    let mut text = String::new();
    let attachments = if event {
        let name = values::string(u)?;
        let name = if RESERVED_EVENTS.contains(&name.as_str()) {
            format!("{name}!")
        } else {
            name
        };
        encode_event(
            &mut text,
            &namespace,
            &name,
            &Spread(&args),
            values::ack_id(u)?,
        )
    } else {
        encode_ack(&mut text, &namespace, u.arbitrary()?, &Spread(&args))
    }
    .unwrap_or_else(|e| panic!("encoding {args:?}: {e}"));

    let limits = Limits::default();
    let collector = BinaryCollector::new(Bytes::from(text.clone()), &limits, budget);
    let mut collector = match collector {
        Err(DecodeError::NotBinary(_)) if attachments.is_empty() => return Ok(()),
        Err(DecodeError::TooManyAttachments { .. })
            if attachments.len() > limits.max_attachments =>
        {
            return Ok(())
        }
        Err(DecodeError::AttachmentsTooLarge { .. }) if text.len() > budget => return Ok(()),
        Ok(c)
            if !attachments.is_empty()
                && attachments.len() <= limits.max_attachments
                && text.len() <= budget =>
        {
            c
        }
        other => panic!(
            "{text:?} with {} attachments, budget {budget}: {other:?}",
            attachments.len()
        ),
    };
    let mut buffered = text.len();
    for attachment in &attachments {
        buffered += attachment.len();
        match collector.push(attachment.clone()) {
            Err(DecodeError::AttachmentsTooLarge { .. }) if buffered > budget => return Ok(()),
            Ok(_) if buffered <= budget => {}
            other => panic!("{text:?}: pushing to {buffered} bytes (budget {budget}): {other:?}"),
        }
    }
    assert!(collector.is_complete(), "{text:?}");
    let payload = collector
        .packet()
        .payload
        .unwrap_or_else(|| panic!("{text:?} has no payload"));
    let raw = if event {
        split_event(payload).map(|e| e.args)
    } else {
        protocol::split_args(payload)
    }
    .unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(raw.len(), args.len(), "{text:?}");
    for (raw, arg) in raw.iter().zip(&args) {
        let json = *raw;
        let parts = collector.attachments();
        let back = match arg {
            Arg::Json(_) => deserialize_with_attachments(json, parts).map(Arg::Json),
            Arg::Bin(_) => deserialize_with_attachments(json, parts).map(Arg::Bin),
            Arg::List(_) => deserialize_with_attachments(json, parts).map(Arg::List),
            Arg::Map(_) => deserialize_with_attachments(json, parts).map(Arg::Map),
        };
        match back {
            Ok(back) => assert_eq!(&back, arg, "{text:?}"),
            Err(e) => panic!("{text:?}: argument {json} does not read back: {e}"),
        }
    }
    Ok(())
}
