//! python-socketio's pub/sub messages (`PubSubManager` of python-socketio 5.x, which
//! Flask-SocketIO's `message_queue`, `RedisManager` and `KombuManager` use): one JSON object
//! per message, `json.dumps` of a dict. Kombu's JSON serializer wraps that text in a JSON
//! string once more, which is unwrapped here.
//!
//! ```text
//! {"method": "emit", "event": "tick", "data": [1], "binary": false, "namespace": "/",
//!  "room": "news", "skip_sid": null, "callback": null, "host_id": "6f1c..."}
//! ```
//!
//! With binary data, `data` is `[<arguments with placeholders>, <base64 attachment>...]` and
//! `binary` is true. The other methods: `disconnect` (`sid`, `namespace`), `enter_room` and
//! `leave_room` (`sid`, `room`, `namespace`), `close_room` (`room`, `namespace`), and
//! `callback` (an answer for the python server `host_id`, not for us).
//!
//! A socketio-rs server with python-socketio peers publishes each operation twice: in its own
//! format for the socketio-rs servers, and in this one, marked `"socketio_rs_copy": true`, for
//! the python-socketio servers (which ignore fields they do not know). socketio-rs servers skip
//! the marked copies, so their sockets get each operation once.

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{check_namespace, Format, Incoming};
use crate::adapter::Target;
use crate::engineio::Frame;
use crate::packet::EncodedPacket;
use crate::protocol::{self, RESERVED_EVENTS};
use crate::queue::wire::{Header, Message, Op, WireError};

/// At most this many attachments in one binary emit (as the wire format's own limit).
const MAX_ATTACHMENTS: usize = 1024;

/// Logged when a python-socketio server asked for a callback.
const CALLBACK_NOTE: &str = "a callback (acknowledgement) requested by a python-socketio server is not supported: the event is delivered without one";

#[derive(Deserialize)]
struct Probe {
    method: Option<String>,
}

/// `room` and `skip_sid`: one name or several.
#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum Names {
    One(String),
    Many(Vec<String>),
}

impl Names {
    fn into_vec(self) -> Vec<String> {
        match self {
            Names::One(name) => vec![name],
            Names::Many(names) => names,
        }
    }

    fn from_slice(names: &[String]) -> Option<Names> {
        match names {
            [] => None,
            [one] => Some(Names::One(one.clone())),
            many => Some(Names::Many(many.to_vec())),
        }
    }
}

/// Every field of every method; absent ones are `None`.
#[derive(Deserialize)]
struct PyMessage<'a> {
    /// A copy for python-socketio servers of an operation published in socketio-rs's format
    /// too.
    #[serde(default)]
    socketio_rs_copy: bool,
    method: String,
    #[serde(default)]
    event: Option<String>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    binary: Option<bool>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    room: Option<Names>,
    #[serde(default)]
    skip_sid: Option<Names>,
    #[serde(default, borrow)]
    callback: Option<&'a RawValue>,
    #[serde(default)]
    host_id: Option<String>,
    #[serde(default)]
    sid: Option<String>,
}

fn err<T>(what: impl Into<String>) -> Result<T, WireError> {
    Err(WireError(what.into()))
}

/// Decodes a python-socketio message; `Ok(None)` when `payload` is not one (not a JSON object
/// with a string `method`), so that the caller can report its own format's error.
pub(crate) fn decode(payload: &[u8]) -> Result<Option<Incoming>, WireError> {
    let Ok(text) = std::str::from_utf8(payload) else {
        return Ok(None);
    };
    if text.trim_start().starts_with('"') {
        // Kombu's JSON serializer: the JSON text python-socketio made, as a JSON string.
        let Ok(inner) = serde_json::from_str::<String>(text) else {
            return Ok(None);
        };
        return decode_object(&inner);
    }
    decode_object(text)
}

fn decode_object(text: &str) -> Result<Option<Incoming>, WireError> {
    match serde_json::from_str::<Probe>(text) {
        Ok(Probe { method: Some(_) }) => {}
        _ => return Ok(None),
    }
    let message: PyMessage<'_> = serde_json::from_str(text)
        .map_err(|e| WireError(format!("bad python-socketio message: {e}")))?;
    to_incoming(message).map(Some)
}

fn to_incoming(m: PyMessage<'_>) -> Result<Incoming, WireError> {
    if m.socketio_rs_copy {
        return Ok(Incoming::Copy {
            uid: m.host_id.unwrap_or_default(),
        });
    }
    let ns = m.namespace.unwrap_or_else(|| "/".to_owned());
    check_namespace(&ns)?;
    let mut header = Header::new(m.host_id.as_deref().unwrap_or_default(), Op::Broadcast);
    header.ns = ns;
    let method = m.method.as_str();
    let sid = m
        .sid
        .ok_or_else(|| WireError(format!("{method} without sid")));
    let rooms = m.room.map(Names::into_vec);
    let room = match rooms.as_deref() {
        Some([room]) => Ok(room.clone()),
        _ => Err(WireError(format!("{method} without a room name"))),
    };
    let mut note = None;
    let mut parts = Vec::new();
    match method {
        "emit" => {
            header.rooms = match rooms {
                None => Vec::new(), // the whole namespace
                Some(rooms) if rooms.is_empty() => return err("emit to an empty list of rooms"),
                Some(rooms) => rooms,
            };
            header.except = m.skip_sid.map(Names::into_vec).unwrap_or_default();
            let Some(event) = &m.event else {
                return err("emit without event");
            };
            parts = event_parts(&header.ns, event, m.data, m.binary.unwrap_or(false))?;
            note = m.callback.is_some().then_some(CALLBACK_NOTE);
        }
        "disconnect" => {
            header.op = Op::Disconnect;
            header.rooms = vec![sid?];
        }
        "enter_room" | "leave_room" => {
            header.op = if method == "enter_room" {
                Op::Join
            } else {
                Op::Leave
            };
            header.rooms = vec![sid?];
            header.names = vec![room?];
        }
        "close_room" => {
            header.op = Op::CloseRoom;
            header.names = vec![room?];
        }
        "callback" => return Ok(Incoming::NotForUs),
        other => {
            return Ok(Incoming::Refused {
                format: Format::Python,
                what: format!("method {other:?}"),
            })
        }
    }
    Ok(Incoming::Apply {
        message: Box::new(Message { header, parts }),
        format: Format::Python,
        note,
    })
}

/// The Socket.IO EVENT packet (text without Engine.IO's `4`, then attachments) that an emit's
/// `event`, `data` and `binary` describe.
fn event_parts(
    ns: &str,
    event: &str,
    data: Option<&RawValue>,
    binary: bool,
) -> Result<Vec<Bytes>, WireError> {
    if RESERVED_EVENTS.contains(&event) {
        return err(format!("reserved event name {event:?}"));
    }
    let bad = |e: serde_json::Error| WireError(format!("bad data: {e}"));
    let (args_json, attachments) = match data {
        None => (None, Vec::new()),
        Some(data) if binary => {
            let items: Vec<&RawValue> = serde_json::from_str(data.get()).map_err(bad)?;
            let Some((args, encoded)) = items.split_first() else {
                return err("binary data without arguments");
            };
            if encoded.len() > MAX_ATTACHMENTS {
                return err("too many attachments");
            }
            let mut attachments = Vec::with_capacity(encoded.len());
            for item in encoded {
                let text: String = serde_json::from_str(item.get()).map_err(bad)?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|e| WireError(format!("bad base64 attachment: {e}")))?;
                attachments.push(Bytes::from(bytes));
            }
            protocol::validate_placeholders(args.get(), attachments.len())
                .map_err(|e| WireError(format!("bad placeholders: {e}")))?;
            (Some(*args), attachments)
        }
        Some(data) => (Some(data), Vec::new()),
    };
    // python-socketio sends a list of arguments; anything else is one argument. `[null]` is
    // an emit without data (`data=None` wrapped in a list), which python-socketio servers
    // deliver without arguments.
    let mut args: Vec<&RawValue> = match args_json {
        None => Vec::new(),
        Some(json) if json.get().trim_start().starts_with('[') => {
            serde_json::from_str(json.get()).map_err(bad)?
        }
        Some(json) => vec![json],
    };
    if let [only] = args.as_slice() {
        if only.get() == "null" {
            args.clear();
        }
    }
    let args: Vec<&str> = args.iter().map(|a| a.get()).collect();
    let mut text = String::new();
    protocol::encode_raw_event(&mut text, ns, event, &args, None, attachments.len());
    let mut parts = Vec::with_capacity(1 + attachments.len());
    parts.push(Bytes::from(text));
    parts.extend(attachments);
    Ok(parts)
}

/// Who publishes a message in python-socketio's format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sender<'a> {
    /// The publisher's uid, python-socketio's `host_id` (a python-socketio server ignores the
    /// messages of its own `host_id` only).
    pub(crate) uid: &'a str,
    /// A server that publishes the operation in socketio-rs's format too: the message is
    /// marked as a copy, which socketio-rs servers skip.
    pub(crate) copy: bool,
}

/// What python-socketio does to one socket by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketOp {
    Disconnect,
    EnterRoom,
    LeaveRoom,
}

impl SocketOp {
    /// The `method` of its message.
    pub(crate) fn method(self) -> &'static str {
        match self {
            SocketOp::Disconnect => "disconnect",
            SocketOp::EnterRoom => "enter_room",
            SocketOp::LeaveRoom => "leave_room",
        }
    }
}

/// An emit as python-socketio publishes it.
#[derive(Serialize)]
struct Emit<'a> {
    method: &'static str,
    event: &'a str,
    data: Box<RawValue>,
    binary: bool,
    namespace: &'a str,
    room: Option<Names>,
    skip_sid: Option<Names>,
    callback: Option<()>,
    host_id: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    socketio_rs_copy: bool,
}

/// The other methods, as python-socketio publishes them.
#[derive(Serialize)]
struct Other<'a> {
    method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<&'a str>,
    namespace: &'a str,
    host_id: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    socketio_rs_copy: bool,
}

/// Encodes an emit of `packet` (an EVENT this crate encoded) to `target` of namespace `ns`:
/// the target's rooms become `room`, its `except` rooms and excluded socket `skip_sid`
/// (python-socketio reads `skip_sid` as socket ids only).
pub(crate) fn encode_emit(
    sender: Sender<'_>,
    ns: &str,
    target: &Target,
    packet: &EncodedPacket,
) -> Result<Bytes, WireError> {
    let Some((Frame::Text(text), attachments)) = packet.frames().split_first() else {
        return err("no packet text");
    };
    let text = text.as_str().strip_prefix('4').unwrap_or_default();
    let limits = protocol::Limits {
        max_attachments: MAX_ATTACHMENTS,
    };
    let decoded = protocol::decode(text, &limits).map_err(|e| WireError(e.to_string()))?;
    let payload = decoded.payload.unwrap_or("[]");
    let event = protocol::split_event(payload).map_err(|e| WireError(e.to_string()))?;
    let mut args = String::from("[");
    for (i, arg) in event.args.iter().enumerate() {
        if i > 0 {
            args.push(',');
        }
        args.push_str(arg);
    }
    args.push(']');
    let binary = !attachments.is_empty();
    let data = if binary {
        let mut data = format!("[{args}");
        for attachment in attachments {
            let Frame::Binary(bytes) = attachment else {
                return err("a text frame among the attachments");
            };
            data.push_str(",\"");
            data.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
            data.push('"');
        }
        data.push(']');
        data
    } else {
        args
    };
    let data = RawValue::from_string(data).map_err(|e| WireError(e.to_string()))?;
    let mut skip: Vec<String> = target.except.clone();
    skip.extend(target.exclude.map(|sid| sid.as_str().to_owned()));
    let message = Emit {
        method: "emit",
        event: &event.name,
        data,
        binary,
        namespace: ns,
        room: Names::from_slice(&target.rooms),
        skip_sid: Names::from_slice(&skip),
        callback: None,
        host_id: sender.uid,
        socketio_rs_copy: sender.copy,
    };
    to_bytes(&message)
}

/// Encodes `close_room`.
pub(crate) fn encode_close_room(sender: Sender<'_>, ns: &str, room: &str) -> Bytes {
    encode_other(sender, "close_room", ns, None, Some(room))
}

/// Encodes `op` for the sockets `target` selects, one message per socket id (and per room of
/// `rooms` to enter or leave). python-socketio names sockets one by one: the target must name
/// socket ids (`rooms`), without `except`; otherwise `Err` says why.
pub(crate) fn encode_socket_ops(
    sender: Sender<'_>,
    op: SocketOp,
    ns: &str,
    target: &Target,
    rooms: &[String],
) -> Result<Vec<Bytes>, String> {
    let method = op.method();
    if target.rooms.is_empty() || !target.except.is_empty() {
        return Err(format!(
            "python-socketio's `{method}` names one socket: select socket ids with `to(sid)`, without `except`"
        ));
    }
    let encode = |sid: &str, room: Option<&str>| encode_other(sender, method, ns, Some(sid), room);
    Ok(match op {
        SocketOp::Disconnect => target.rooms.iter().map(|sid| encode(sid, None)).collect(),
        SocketOp::EnterRoom | SocketOp::LeaveRoom => target
            .rooms
            .iter()
            .flat_map(|sid| rooms.iter().map(move |room| encode(sid, Some(room))))
            .collect(),
    })
}

fn encode_other(
    sender: Sender<'_>,
    method: &'static str,
    ns: &str,
    sid: Option<&str>,
    room: Option<&str>,
) -> Bytes {
    let message = Other {
        method,
        sid,
        room,
        namespace: ns,
        host_id: sender.uid,
        socketio_rs_copy: sender.copy,
    };
    // Strings only: always serializes.
    to_bytes(&message).unwrap_or_default()
}

fn to_bytes<T: Serialize>(message: &T) -> Result<Bytes, WireError> {
    serde_json::to_vec(message)
        .map(Bytes::from)
        .map_err(|e| WireError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet;
    use crate::protocol::Binary;

    const ME: Sender<'static> = Sender {
        uid: "me",
        copy: false,
    };

    fn apply(json: &str) -> (Message, Option<&'static str>) {
        match decode(json.as_bytes()).unwrap().unwrap() {
            Incoming::Apply { message, note, .. } => (*message, note),
            other => panic!("{other:?}"),
        }
    }

    fn text(message: &Message, ns: &str) -> String {
        match &message.packet(ns).unwrap().frames()[0] {
            Frame::Text(t) => t.as_str().to_owned(),
            Frame::Binary(_) => panic!("binary first"),
        }
    }

    #[test]
    fn golden_emit_to_a_room() {
        // As python-socketio 5.18.1's RedisManager publishes it (json.dumps of the dict).
        let (message, note) = apply(
            r#"{"method": "emit", "event": "tick", "data": [{"n": 1}, "two"], "binary": false, "namespace": "/chat", "room": "news", "skip_sid": ["a", "b"], "callback": null, "host_id": "6f1c2d"}"#,
        );
        assert_eq!(note, None);
        let h = &message.header;
        assert_eq!(
            (h.op, h.ns.as_str(), h.uid.as_str()),
            (Op::Broadcast, "/chat", "6f1c2d")
        );
        assert_eq!(h.rooms, ["news"]);
        assert_eq!(h.except, ["a", "b"]);
        assert_eq!(
            text(&message, "/chat"),
            r#"42/chat,["tick",{"n": 1},"two"]"#
        );
    }

    #[test]
    fn golden_binary_emit_and_kombus_string_wrapping() {
        let inner = r#"{"method": "emit", "event": "file", "data": [[{"_placeholder": true, "num": 0}, 7], "AAEC"], "binary": true, "namespace": "/", "room": null, "skip_sid": null, "callback": null, "host_id": "x"}"#;
        let wrapped = serde_json::to_string(inner).unwrap();
        for json in [inner, wrapped.as_str()] {
            let (message, _) = apply(json);
            assert!(message.header.rooms.is_empty());
            let packet = message.packet("/").unwrap();
            assert_eq!(
                packet.frames(),
                [
                    Frame::message(r#"51-["file",{"_placeholder": true, "num": 0},7]"#),
                    Frame::binary(Bytes::from_static(&[0, 1, 2])),
                ]
            );
        }
    }

    #[test]
    fn the_other_methods() {
        let (m, _) =
            apply(r#"{"method": "disconnect", "sid": "S1", "namespace": "/", "host_id": "h"}"#);
        assert_eq!(
            (m.header.op, m.header.rooms.as_slice()),
            (Op::Disconnect, &["S1".to_owned()][..])
        );
        let (m, _) = apply(
            r#"{"method": "enter_room", "sid": "S1", "room": "r", "namespace": "/", "host_id": "h"}"#,
        );
        assert_eq!(
            (m.header.op, m.header.names.as_slice()),
            (Op::Join, &["r".to_owned()][..])
        );
        let (m, _) =
            apply(r#"{"method": "leave_room", "sid": "S1", "room": "r", "namespace": "/"}"#);
        assert_eq!(m.header.op, Op::Leave);
        let (m, _) = apply(r#"{"method": "close_room", "room": "r", "namespace": "/x"}"#);
        assert_eq!((m.header.op, m.header.ns.as_str()), (Op::CloseRoom, "/x"));
        let (_, note) = apply(
            r#"{"method": "emit", "event": "q", "data": [1], "room": "S1", "callback": ["S1", "/", 3]}"#,
        );
        assert_eq!(note, Some(CALLBACK_NOTE));
        let (m, _) =
            apply(r#"{"method": "emit", "event": "bare", "data": [null], "namespace": "/"}"#);
        assert_eq!(text(&m, "/"), r#"42["bare"]"#);
        assert!(matches!(
            decode(br#"{"method": "callback", "host_id": "h", "sid": "S1", "id": 1, "args": []}"#),
            Ok(Some(Incoming::NotForUs))
        ));
        assert!(matches!(
            decode(br#"{"method": "frobnicate"}"#),
            Ok(Some(Incoming::Refused { .. }))
        ));
    }

    #[test]
    fn not_python_and_garbage() {
        for payload in [
            &b""[..],
            b"garbage",
            b"[1]",
            b"{}",
            b"\"x\"",
            b"{\"method\": 3}",
            b"\xff",
        ] {
            assert!(decode(payload).unwrap().is_none(), "{payload:?}");
        }
        let deep = format!(
            r#"{{"method": "emit", "event": "e", "data": {}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        for bad in [
            r#"{"method": "emit"}"#,
            r#"{"method": "emit", "event": "connect", "data": []}"#,
            r#"{"method": "emit", "event": "e", "data": [], "namespace": "chat"}"#,
            r#"{"method": "emit", "event": "e", "data": [], "room": 5}"#,
            r#"{"method": "emit", "event": "e", "data": [[1], "!!"], "binary": true}"#,
            r#"{"method": "emit", "event": "e", "data": [[{"_placeholder": true, "num": 1}], "AA=="], "binary": true}"#,
            r#"{"method": "emit", "event": "e", "data": [], "binary": true}"#,
            r#"{"method": "disconnect"}"#,
            r#"{"method": "enter_room", "sid": "s", "room": ["a", "b"]}"#,
            r#"{"method": "emit", "event": "e", "data": [], "room": []}"#,
            &deep,
        ] {
            let outcome = decode(bad.as_bytes());
            let refused = match outcome {
                Err(_) => true,
                Ok(Some(Incoming::Apply { message, .. })) => {
                    message.packet(&message.header.ns).is_err()
                }
                Ok(_) => false,
            };
            assert!(refused, "{}", &bad[..bad.len().min(80)]);
        }
    }

    #[test]
    fn encoded_emits_decode_back() {
        let packet = packet::event(
            "/chat",
            "file",
            &(Binary::from(vec![9u8, 8]), "caption"),
            None,
        )
        .unwrap();
        let target = Target {
            rooms: vec!["news".into()],
            except: vec!["muted".into()],
            exclude: None,
        };
        let bytes = encode_emit(ME, "/chat", &target, &packet).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "method": "emit", "event": "file",
                "data": [[{"_placeholder": true, "num": 0}, "caption"], "CQg="],
                "binary": true, "namespace": "/chat", "room": "news", "skip_sid": "muted",
                "callback": null, "host_id": "me"
            })
        );
        let (message, _) = apply(std::str::from_utf8(&bytes).unwrap());
        assert_eq!(message.packet("/chat").unwrap().frames(), packet.frames());

        let close = encode_close_room(ME, "/", "r");
        assert_eq!(
            &close[..],
            br#"{"method":"close_room","room":"r","namespace":"/","host_id":"me"}"#
        );
        let sockets = Target {
            rooms: vec!["S1".into(), "S2".into()],
            ..Target::default()
        };
        let rooms = ["r".to_owned(), "q".to_owned()];
        let joins = encode_socket_ops(ME, SocketOp::EnterRoom, "/", &sockets, &rooms).unwrap();
        let joined: Vec<(Op, String, String)> = joins
            .iter()
            .map(|join| {
                let (m, _) = apply(std::str::from_utf8(join).unwrap());
                (
                    m.header.op,
                    m.header.rooms[0].clone(),
                    m.header.names[0].clone(),
                )
            })
            .collect();
        assert_eq!(
            joined,
            [("S1", "r"), ("S1", "q"), ("S2", "r"), ("S2", "q")].map(|(sid, room)| (
                Op::Join,
                sid.to_owned(),
                room.to_owned()
            ))
        );
        let kicks = encode_socket_ops(ME, SocketOp::Disconnect, "/", &sockets, &[]).unwrap();
        assert_eq!(
            &kicks[1][..],
            br#"{"method":"disconnect","sid":"S2","namespace":"/","host_id":"me"}"#
        );
        for target in [
            Target::default(),
            Target {
                except: vec!["x".into()],
                ..sockets
            },
        ] {
            assert!(encode_socket_ops(ME, SocketOp::LeaveRoom, "/", &target, &rooms).is_err());
        }
    }

    #[test]
    fn copies_are_marked_and_skipped() {
        let copy = Sender {
            uid: "srv",
            copy: true,
        };
        let close = encode_close_room(copy, "/", "r");
        assert_eq!(
            &close[..],
            br#"{"method":"close_room","room":"r","namespace":"/","host_id":"srv","socketio_rs_copy":true}"#
        );
        let packet = packet::event("/", "tick", &1, None).unwrap();
        let emit = encode_emit(copy, "/", &Target::default(), &packet).unwrap();
        for payload in [emit, close] {
            assert!(
                matches!(decode(&payload), Ok(Some(Incoming::Copy { ref uid })) if uid == "srv"),
                "{payload:?}"
            );
        }
    }
}
