//! Encoders: each appends one Socket.IO packet to a caller-provided `String`
//! (which may already hold the Engine.IO `4` prefix or anything else).

use bytes::Bytes;
use serde::ser::{Error as _, Serialize, SerializeTuple, Serializer};
use serde_json::value::RawValue;

use super::binary::serialize_with_attachments;
use super::json::{push_decimal, push_json_string};
use super::packet::PacketKind;
use super::shape::{shape_of, Shape};

/// Pre-serialized arguments (e.g. the raw slices from
/// [`split_event`](super::split_event)) that serialize as a tuple: passed to
/// [`encode_event`]/[`encode_ack`], each slice becomes one argument, written
/// byte for byte. Each slice must be one JSON value: serializing fails otherwise.
///
/// Placeholders inside raw arguments are not attachments the encoders know
/// about: to forward a binary packet, use [`encode_raw_event`] /
/// [`encode_raw_ack`] with the attachment count.
#[derive(Debug, Clone, Copy)]
pub struct RawArgs<'a>(pub &'a [&'a str]);

impl Serialize for RawArgs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for arg in self.0 {
            // serde_json writes a `RawValue` verbatim; reading one checks that it is JSON.
            let raw: &RawValue = serde_json::from_str(arg).map_err(S::Error::custom)?;
            tuple.serialize_element(raw)?;
        }
        tuple.end()
    }
}

/// Appends a CONNECT packet answering a successful namespace connection:
/// `0{"sid":"<sid>"}` or `0/admin,{"sid":"<sid>"}`.
///
/// For every encoder, `namespace` is `"/"` (or `""`) for the main namespace,
/// which is then omitted; any other value must start with `/` and contain no
/// `,` (as namespaces returned by [`decode`](fn@super::decode) do).
pub fn encode_connect(buf: &mut String, namespace: &str, sid: &str) {
    write_header(buf, PacketKind::Connect, 0, namespace, None);
    buf.push_str("{\"sid\":");
    push_json_string(buf, sid);
    buf.push('}');
}

/// Appends the CONNECT answer of a server with connection state recovery (socket.io 4.6's
/// `connectionStateRecovery`): `0{"sid":"<sid>","pid":"<pid>"}`, where `pid` is the private
/// id the client sends back (with its last offset) to recover the session after a
/// disconnection.
pub fn encode_connect_with_pid(buf: &mut String, namespace: &str, sid: &str, pid: &str) {
    write_header(buf, PacketKind::Connect, 0, namespace, None);
    buf.push_str("{\"sid\":");
    push_json_string(buf, sid);
    buf.push_str(",\"pid\":");
    push_json_string(buf, pid);
    buf.push('}');
}

/// Appends `packet` (an encoded EVENT or BINARY_EVENT, without the Engine.IO prefix) with one
/// more argument at the end, the string `offset`: how a server with connection state
/// recovery tells the client which packet it received last (`2["news","hi"]` becomes
/// `2["news","hi","42"]`). Returns `false`, appending nothing, for any other packet, and for
/// an event with an acknowledgement id: the client hands the acknowledgement callback to
/// its listener as the last argument, so the offset would take its place (socket.io stores
/// no offset on such packets either).
///
/// The offset is written as is: it must need no JSON escaping (socket.io's are base64url-like,
/// ours decimal).
pub fn append_offset(buf: &mut String, packet: &str, offset: &str) -> bool {
    let Some(array) = event_arguments(packet) else {
        return false;
    };
    // `[]` has no event name: not an event a server sends.
    if array.len() <= 2 || !array.ends_with(']') {
        return false;
    }
    let head = &packet[..packet.len() - 1];
    buf.reserve(head.len() + offset.len() + 4);
    buf.push_str(head);
    buf.push_str(",\"");
    buf.push_str(offset);
    buf.push_str("\"]");
    true
}

/// The JSON array of an EVENT or BINARY_EVENT without acknowledgement id: the part after the
/// type, the attachment count and the namespace; `None` for another packet, or when an
/// acknowledgement id precedes the array.
fn event_arguments(packet: &str) -> Option<&str> {
    let rest = match packet.as_bytes().first()? {
        b'2' => &packet[1..],
        b'5' => {
            let (count, rest) = packet[1..].split_once('-')?;
            if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            rest
        }
        _ => return None,
    };
    let rest = if rest.starts_with('/') {
        rest.split_once(',')?.1
    } else {
        rest
    };
    rest.starts_with('[').then_some(rest)
}

/// Appends a CONNECT_ERROR packet: `4/admin,{"message":"Invalid namespace"}`,
/// with `,"data":<data>` after the message when `data` is given (use
/// `serde_json::value::to_raw_value` to build it from any `Serialize`).
pub fn encode_connect_error(
    buf: &mut String,
    namespace: &str,
    message: &str,
    data: Option<&RawValue>,
) {
    write_header(buf, PacketKind::ConnectError, 0, namespace, None);
    buf.push_str("{\"message\":");
    push_json_string(buf, message);
    if let Some(data) = data {
        buf.push_str(",\"data\":");
        buf.push_str(data.get());
    }
    buf.push('}');
}

/// Appends a DISCONNECT packet: `1` or `1/admin,`.
pub fn encode_disconnect(buf: &mut String, namespace: &str) {
    write_header(buf, PacketKind::Disconnect, 0, namespace, None);
}

/// Appends an EVENT packet `2/ns,<id>["<event>",<args>...]`, or a
/// BINARY_EVENT `5<n>-/ns,<id>[...]` when [`Binary`](super::Binary) values in
/// `args` became attachments; returns those attachments, to be sent as binary
/// messages right after the packet.
///
/// How `args` becomes the argument list is Python's rule (as in
/// Flask-SocketIO), decided by the serde shape of its top-level value:
/// - a tuple (including a 1-tuple `(x,)`, and a fixed-size array `[T; N]`,
///   which serde cannot tell from a tuple) or [`RawArgs`]: one argument per
///   element, so `&(1, "a")` gives `["event",1,"a"]`;
/// - `()` and `None`: no arguments, `["event"]`;
/// - `Some(x)` and a newtype struct: decided by the value they wrap;
/// - anything else, a list included (`Vec`, slice, `serde_json::Value::Array`,
///   numbers, strings, structs, maps, tuple structs, `serde_json::Value::Null`):
///   one argument, so `&vec![1, 2]` gives `["event",[1,2]]`.
///
/// The shape is found by a first, side-effect-free call to `args.serialize`
/// that stops at the first serializer method; the real serialization follows.
/// On error (from a `Serialize` impl, or e.g. a map with non-string keys),
/// `buf` is left unchanged.
pub fn encode_event<T: Serialize + ?Sized>(
    buf: &mut String,
    namespace: &str,
    event: &str,
    args: &T,
    id: Option<u64>,
) -> Result<Vec<Bytes>, serde_json::Error> {
    let kinds = (PacketKind::Event, PacketKind::BinaryEvent);
    encode_with_array(buf, kinds, namespace, id, Some(event), args)
}

/// Appends an ACK packet `3/ns,<id>[<args>...]` (or BINARY_ACK
/// `6<n>-/ns,<id>[...]`) and returns the attachments; `args` is spread as
/// described on [`encode_event`] (`()` gives `[]`).
pub fn encode_ack<T: Serialize + ?Sized>(
    buf: &mut String,
    namespace: &str,
    id: u64,
    args: &T,
) -> Result<Vec<Bytes>, serde_json::Error> {
    let kinds = (PacketKind::Ack, PacketKind::BinaryAck);
    encode_with_array(buf, kinds, namespace, Some(id), None, args)
}

/// Appends a packet of the first of `kinds` with its array ([`append_array`]), or of the
/// second (binary) kind when the arguments held attachments; on error `buf` is left unchanged.
fn encode_with_array<T: Serialize + ?Sized>(
    buf: &mut String,
    (kind, binary_kind): (PacketKind, PacketKind),
    namespace: &str,
    id: Option<u64>,
    event: Option<&str>,
    args: &T,
) -> Result<Vec<Bytes>, serde_json::Error> {
    let start = buf.len();
    write_header(buf, kind, 0, namespace, id);
    let header = buf.len();
    let attachments = match append_array(buf, event, args) {
        Ok(attachments) => attachments,
        Err(e) => {
            buf.truncate(start);
            return Err(e);
        }
    };
    if !attachments.is_empty() {
        let mut binary = String::new();
        write_header(&mut binary, binary_kind, attachments.len(), namespace, id);
        buf.replace_range(start..header, &binary);
    }
    Ok(attachments)
}

/// Appends an event built from raw JSON arguments, byte for byte; a
/// BINARY_EVENT announcing `attachments` attachments if that is not `0` (the
/// caller sends them, and is responsible for the placeholders in `args`).
///
/// Each argument must be one JSON value (as the slices of
/// [`split_event`](super::split_event) are): they are written unchecked.
pub fn encode_raw_event(
    buf: &mut String,
    namespace: &str,
    event: &str,
    args: &[&str],
    id: Option<u64>,
    attachments: usize,
) {
    let kind = if attachments == 0 {
        PacketKind::Event
    } else {
        PacketKind::BinaryEvent
    };
    write_header(buf, kind, attachments, namespace, id);
    buf.push('[');
    push_json_string(buf, event);
    for arg in args {
        buf.push(',');
        buf.push_str(arg);
    }
    buf.push(']');
}

/// Appends an acknowledgement built from raw JSON arguments, byte for byte;
/// a BINARY_ACK announcing `attachments` attachments if that is not `0`.
///
/// Each argument must be one JSON value (as the slices of
/// [`split_args`](super::split_args) are): they are written unchecked.
pub fn encode_raw_ack<I>(buf: &mut String, namespace: &str, id: u64, args: I, attachments: usize)
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let kind = if attachments == 0 {
        PacketKind::Ack
    } else {
        PacketKind::BinaryAck
    };
    write_header(buf, kind, attachments, namespace, Some(id));
    buf.push('[');
    for (i, arg) in args.into_iter().enumerate() {
        if i > 0 {
            buf.push(',');
        }
        buf.push_str(arg.as_ref());
    }
    buf.push(']');
}

/// `<type>[<attachments>-][<namespace>,][<id>]`
fn write_header(
    buf: &mut String,
    kind: PacketKind,
    attachments: usize,
    namespace: &str,
    id: Option<u64>,
) {
    buf.push(kind.digit());
    if kind.is_binary() {
        push_decimal(buf, attachments as u64);
        buf.push('-');
    }
    if !namespace.is_empty() && namespace != "/" {
        buf.push_str(namespace);
        buf.push(',');
    }
    if let Some(id) = id {
        push_decimal(buf, id);
    }
}

/// Appends the packet's array: the event name if there is one, then the arguments spread by
/// Python's rule ([`encode_event`]), serialized straight into `buf`, with no copy of the JSON.
/// On error `buf` may hold a partial array; the caller truncates it.
fn append_array<T: Serialize + ?Sized>(
    buf: &mut String,
    event: Option<&str>,
    args: &T,
) -> Result<Vec<Bytes>, serde_json::Error> {
    let spread = match shape_of(args) {
        Shape::Empty => {
            buf.push('[');
            if let Some(event) = event {
                push_json_string(buf, event);
            }
            buf.push(']');
            return Ok(Vec::new());
        }
        Shape::List => true,
        Shape::Single | Shape::Unit => false,
    };
    // A list without event name is its own array: `[a,b]` is written as is.
    if !spread || event.is_some() {
        buf.push('[');
    }
    if let Some(event) = event {
        push_json_string(buf, event);
        if !spread {
            buf.push(',');
        }
    }
    let json = buf.len();
    let attachments = append_json(buf, args)?;
    if spread {
        let written = &buf[json..];
        if written.starts_with('[') && written.ends_with(']') {
            if event.is_some() {
                // `["event"` + `[a,b]`: the list's own `[` becomes the separator.
                if written.len() == 2 {
                    buf.truncate(json);
                    buf.push(']');
                } else {
                    buf.replace_range(json..=json, ",");
                }
            }
            return Ok(attachments);
        }
        // A value that claimed a tuple's shape but did not write an array: one argument.
        buf.insert(json, if event.is_some() { ',' } else { '[' });
    }
    buf.push(']');
    Ok(attachments)
}

/// Appends the JSON of `value` (serde_json's output is UTF-8) and returns its attachments.
fn append_json<T: Serialize + ?Sized>(
    buf: &mut String,
    value: &T,
) -> Result<Vec<Bytes>, serde_json::Error> {
    let start = buf.len();
    let mut bytes = std::mem::take(buf).into_bytes();
    let result = serialize_with_attachments(value, &mut bytes);
    match String::from_utf8(bytes) {
        Ok(text) => {
            *buf = text;
            result
        }
        Err(not_utf8) => {
            let mut bytes = not_utf8.into_bytes();
            bytes.truncate(start);
            *buf = String::from_utf8_lossy(&bytes).into_owned();
            Err(serde::ser::Error::custom(
                "serialized arguments are not UTF-8",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Binary;
    use serde::Serialize;
    use serde_json::json;

    fn event<T: Serialize + ?Sized>(args: &T) -> String {
        let mut buf = String::from("4");
        let attachments = encode_event(&mut buf, "/", "e", args, None).unwrap();
        assert!(attachments.is_empty());
        buf
    }

    #[derive(Serialize)]
    struct Point {
        x: i32,
        y: i32,
    }

    #[derive(Serialize)]
    struct Pair(i32, &'static str);

    #[derive(Serialize)]
    struct Wrapper(Vec<i32>);

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    enum E {
        A,
        B(i32),
        C(i32, i32),
        D { z: i32 },
    }

    #[test]
    fn argument_shapes() {
        assert_eq!(event(&()), r#"42["e"]"#);
        assert_eq!(event(&42), r#"42["e",42]"#);
        assert_eq!(event("hi"), r#"42["e","hi"]"#);
        assert_eq!(event(&(1,)), r#"42["e",1]"#);
        assert_eq!(event(&(1, "2")), r#"42["e",1,"2"]"#);
        assert_eq!(event(&vec![1, 2]), r#"42["e",[1,2]]"#);
        assert_eq!(event(&[1, 2][..]), r#"42["e",[1,2]]"#);
        assert_eq!(event(&[1, 2]), r#"42["e",1,2]"#);
        assert_eq!(event(&Vec::<i32>::new()), r#"42["e",[]]"#);
        assert_eq!(event(&(vec![1, 2],)), r#"42["e",[1,2]]"#);
        assert_eq!(event(&(Vec::<i32>::new(),)), r#"42["e",[]]"#);
        assert_eq!(event(&((),)), r#"42["e",null]"#);
        assert_eq!(event(&Point { x: 1, y: 2 }), r#"42["e",{"x":1,"y":2}]"#);
        assert_eq!(event(&Pair(1, "a")), r#"42["e",[1,"a"]]"#);
        assert_eq!(event(&Wrapper(vec![3])), r#"42["e",[3]]"#);
        assert_eq!(event(&Unit), r#"42["e",null]"#);
        assert_eq!(event(&None::<i32>), r#"42["e"]"#);
        assert_eq!(event(&Some(5)), r#"42["e",5]"#);
        assert_eq!(event(&Some((1, 2))), r#"42["e",1,2]"#);
        assert_eq!(event(&E::A), r#"42["e","A"]"#);
        assert_eq!(event(&E::B(1)), r#"42["e",{"B":1}]"#);
        assert_eq!(event(&E::C(1, 2)), r#"42["e",{"C":[1,2]}]"#);
        assert_eq!(event(&E::D { z: 1 }), r#"42["e",{"D":{"z":1}}]"#);
        assert_eq!(event(&json!(null)), r#"42["e",null]"#);
        assert_eq!(
            event(&json!([1, {"b": 2, "a": 1}])),
            r#"42["e",[1,{"b":2,"a":1}]]"#
        );
        assert_eq!(event(&json!({"k": 1})), r#"42["e",{"k":1}]"#);
        let raw = serde_json::value::to_raw_value(&[1, 2]).unwrap();
        assert_eq!(event(&raw), r#"42["e",[1,2]]"#);
        assert_eq!(event(&RawArgs(&[])), r#"42["e"]"#);
    }

    fn ack<T: Serialize + ?Sized>(args: &T) -> String {
        let mut buf = String::new();
        let attachments = encode_ack(&mut buf, "/", 12, args).unwrap();
        assert!(attachments.is_empty());
        buf
    }

    #[test]
    fn ack_shapes() {
        assert_eq!(ack(&()), "312[]");
        assert_eq!(ack("bar"), r#"312["bar"]"#);
        assert_eq!(ack(&(1, 2)), "312[1,2]");
        assert_eq!(ack(&vec![json!(null)]), "312[[null]]");
        assert_eq!(ack(&json!(null)), "312[null]");
        assert_eq!(ack(&None::<String>), "312[]");
    }

    #[test]
    fn binary_becomes_attachments() {
        let mut buf = String::from("4");
        let attachments = encode_event(
            &mut buf,
            "/admin",
            "baz",
            &(Binary::from(vec![1, 2]), Binary::from(vec![3, 4])),
            None,
        )
        .unwrap();
        assert_eq!(
            buf,
            r#"452-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        );
        assert_eq!(attachments, [vec![1, 2], vec![3, 4]]);

        // A top-level Binary is one argument.
        let mut buf = String::new();
        let attachments =
            encode_event(&mut buf, "/", "baz", &Binary::from(vec![1]), Some(14)).unwrap();
        assert_eq!(buf, r#"51-14["baz",{"_placeholder":true,"num":0}]"#);
        assert_eq!(attachments.len(), 1);

        // Acks too, spread or not.
        let mut buf = String::new();
        let attachments = encode_ack(&mut buf, "/x", 3, &(1, Binary::from(vec![5]))).unwrap();
        assert_eq!(buf, r#"61-/x,3[1,{"_placeholder":true,"num":0}]"#);
        assert_eq!(attachments, [vec![5]]);
        let mut buf = String::new();
        encode_ack(&mut buf, "/", 3, &Binary::from(vec![5])).unwrap();
        assert_eq!(buf, r#"61-3[{"_placeholder":true,"num":0}]"#);
    }

    struct Failing;

    impl Serialize for Failing {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("nope"))
        }
    }

    #[test]
    fn errors_leave_the_buffer_alone() {
        let mut buf = String::from("4");
        assert!(encode_event(&mut buf, "/", "e", &(1, Failing), None).is_err());
        assert!(encode_event(&mut buf, "/", "e", &Failing, None).is_err());
        let mut map = std::collections::BTreeMap::new();
        map.insert(vec![1], 2);
        assert!(encode_ack(&mut buf, "/", 1, &(map,)).is_err());
        assert_eq!(buf, "4");
    }

    #[test]
    fn connect_error_with_data() {
        let mut buf = String::new();
        let data = serde_json::value::to_raw_value(&json!({"code": 3})).unwrap();
        encode_connect_error(&mut buf, "/", "Not authorized", Some(&data));
        assert_eq!(buf, r#"4{"message":"Not authorized","data":{"code":3}}"#);
    }

    #[test]
    fn connect_with_pid() {
        let mut buf = String::new();
        encode_connect_with_pid(&mut buf, "/chat", "s\"1", "p2");
        assert_eq!(buf, r#"0/chat,{"sid":"s\"1","pid":"p2"}"#);
    }

    #[test]
    fn offset_is_the_last_argument_of_events_without_ack_id() {
        let stamp = |packet: &str| {
            let mut buf = String::from("4");
            append_offset(&mut buf, packet, "17").then_some(buf)
        };
        assert_eq!(
            stamp(r#"2["news","hi"]"#).as_deref(),
            Some(r#"42["news","hi","17"]"#)
        );
        assert_eq!(
            stamp(r#"2/chat,["news"]"#).as_deref(),
            Some(r#"42/chat,["news","17"]"#)
        );
        assert_eq!(
            stamp(r#"51-/b,["f",{"_placeholder":true,"num":0}]"#).as_deref(),
            Some(r#"451-/b,["f",{"_placeholder":true,"num":0},"17"]"#)
        );
        for refused in [
            r#"212["news"]"#,
            r#"2/chat,3["news"]"#,
            r#"51-4["f",{"_placeholder":true,"num":0}]"#,
            r#"3["ack"]"#,
            r#"0{"sid":"x"}"#,
            "5-[]",
            "2[]",
            "2",
            "",
        ] {
            assert_eq!(stamp(refused), None, "{refused}");
        }
    }

    #[test]
    fn escapes_names_and_sids() {
        let mut buf = String::new();
        encode_connect(&mut buf, "", "a\"b");
        encode_disconnect(&mut buf, "");
        encode_event(&mut buf, "/", "new\nline", &(), None).unwrap();
        assert_eq!(buf, r#"0{"sid":"a\"b"}12["new\nline"]"#);
    }
}
