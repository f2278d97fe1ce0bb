//! Node's `@socket.io/redis-emitter` (5.x) on Redis, under its key prefix (`socket.io` unless
//! its `key` option says otherwise):
//!
//! - broadcasts on channel `<key>#<nsp>#`, or `<key>#<nsp>#<room>#` when exactly one room is
//!   targeted: msgpack (notepack.io) of `[uid, packet, opts]` where `uid` is `"emitter"`,
//!   `packet` is `{type: 2, data: [event, ...args], nsp}` (binary arguments as msgpack binary
//!   values) and `opts` is `{rooms: [...], except: [...], flags: {...}}`;
//! - requests on channel `<key>-request#<nsp>#`: JSON `{type, opts: {rooms, except}, rooms,
//!   close}` with `type` 2 (`socketsJoin`), 3 (`socketsLeave`), 4 (`disconnectSockets`) or 6
//!   (`serverSideEmit`, refused here).
//!
//! Broadcasts of Node servers using `@socket.io/redis-adapter` with the same key have the same
//! layout (their `uid` is the server's) and are applied too; their other requests (fetching
//! sockets, acknowledgements, server-side emits) are refused.

use bytes::Bytes;
use rmpv::Value;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::msgpack;
use super::{check_namespace, Format, Incoming};
use crate::protocol::{self, RESERVED_EVENTS};
use crate::queue::wire::{Header, Message, Op, WireError};

/// Socket.IO's EVENT and BINARY_EVENT packet types.
const EVENT: u64 = 2;
const BINARY_EVENT: u64 = 5;

/// The Redis patterns (PSUBSCRIBE) of the broadcast and request channels under `key`.
pub(crate) fn patterns(key: &str) -> [String; 2] {
    let key = escape_glob(key);
    [format!("{key}#*"), format!("{key}-request#*")]
}

/// `key` with Redis's glob characters escaped, so that it matches only itself.
fn escape_glob(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn err<T>(what: impl Into<String>) -> Result<T, WireError> {
    Err(WireError(what.into()))
}

/// Decodes a message received on `channel`, one of the channels [`patterns`] match.
pub(crate) fn decode(key: &str, channel: &str, payload: &[u8]) -> Result<Incoming, WireError> {
    if let Some(rest) = channel.strip_prefix(&format!("{key}-request#")) {
        let ns = rest.strip_suffix('#').unwrap_or(rest);
        return decode_request(ns, payload);
    }
    if channel.starts_with(&format!("{key}#")) {
        return decode_broadcast(payload);
    }
    err(format!("a message on unexpected channel {channel:?}"))
}

fn decode_broadcast(payload: &[u8]) -> Result<Incoming, WireError> {
    let value = msgpack::read(payload)?;
    let Value::Array(items) = &value else {
        return err("a broadcast that is not [uid, packet, opts]");
    };
    let [uid, packet, opts] = items.as_slice() else {
        return err("a broadcast that is not [uid, packet, opts]");
    };
    let kind = msgpack::get(packet, "type").and_then(Value::as_u64);
    if kind != Some(EVENT) && kind != Some(BINARY_EVENT) {
        return Ok(refused(format!("a broadcast of packet type {kind:?}")));
    }
    if msgpack::get(packet, "id").is_some_and(|id| !id.is_nil()) {
        return Ok(refused("a broadcast with an acknowledgement".into()));
    }
    let ns = match msgpack::get(packet, "nsp") {
        None => "/",
        Some(nsp) => nsp
            .as_str()
            .ok_or_else(|| WireError("nsp is not a string".into()))?,
    };
    check_namespace(ns)?;
    let Some(Value::Array(data)) = msgpack::get(packet, "data") else {
        return err("a packet without data");
    };
    let Some((event, args)) = data.split_first() else {
        return err("a packet without event name");
    };
    let Some(event) = event.as_str() else {
        return err("an event name that is not a string");
    };
    if RESERVED_EVENTS.contains(&event) {
        return err(format!("reserved event name {event:?}"));
    }
    let mut attachments = Vec::new();
    let mut raw = Vec::with_capacity(args.len());
    for arg in args {
        let mut json = String::new();
        msgpack::to_json(arg, &mut json, &mut attachments)?;
        raw.push(RawValue::from_string(json).map_err(|e| WireError(e.to_string()))?);
    }
    let raw: Vec<&str> = raw.iter().map(|r| r.get()).collect();
    let mut text = String::new();
    protocol::encode_raw_event(&mut text, ns, event, &raw, None, attachments.len());

    let mut header = Header::new(uid.as_str().unwrap_or_default(), Op::Broadcast);
    header.ns = ns.to_owned();
    header.rooms = msgpack::strings(msgpack::get(opts, "rooms"), "rooms")?;
    header.except = msgpack::strings(msgpack::get(opts, "except"), "except")?;
    let mut parts = Vec::with_capacity(1 + attachments.len());
    parts.push(Bytes::from(text));
    parts.extend(attachments);
    Ok(Incoming::Apply {
        message: Box::new(Message { header, parts }),
        format: Format::Node,
        note: None,
    })
}

#[derive(Deserialize)]
struct Request {
    #[serde(rename = "type")]
    kind: u64,
    #[serde(default)]
    opts: Option<Opts>,
    #[serde(default)]
    rooms: Option<Vec<String>>,
    #[serde(default)]
    close: Option<bool>,
}

#[derive(Deserialize)]
struct Opts {
    #[serde(default)]
    rooms: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
}

/// `disconnectSockets(true)` closes the whole connection in Node; here the sockets leave the
/// namespace.
const CLOSE_NOTE: &str = "disconnectSockets(true) from a node redis-emitter: the sockets are disconnected from the namespace, their connection stays";

fn decode_request(ns: &str, payload: &[u8]) -> Result<Incoming, WireError> {
    check_namespace(ns)?;
    if payload.first() != Some(&b'{') {
        return Ok(refused("a msgpack request (sent by a Node server)".into()));
    }
    let request: Request =
        serde_json::from_slice(payload).map_err(|e| WireError(format!("bad node request: {e}")))?;
    let op = match request.kind {
        2 => Op::Join,
        3 => Op::Leave,
        4 => Op::Disconnect,
        6 => return Ok(refused("serverSideEmit".into())),
        other => return Ok(refused(format!("request type {other}"))),
    };
    let opts = request.opts.unwrap_or(Opts {
        rooms: Vec::new(),
        except: Vec::new(),
    });
    let mut header = Header::new("", op);
    header.ns = ns.to_owned();
    header.rooms = opts.rooms;
    header.except = opts.except;
    let mut note = None;
    if op == Op::Disconnect {
        note = request.close.unwrap_or(false).then_some(CLOSE_NOTE);
    } else {
        header.names = request
            .rooms
            .ok_or_else(|| WireError("a join or leave without rooms".into()))?;
    }
    Ok(Incoming::Apply {
        message: Box::new(Message {
            header,
            parts: Vec::new(),
        }),
        format: Format::Node,
        note,
    })
}

fn refused(what: String) -> Incoming {
    Incoming::Refused {
        format: Format::Node,
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::Frame;

    fn apply(channel: &str, payload: &[u8]) -> (Message, Option<&'static str>) {
        match decode("socket.io", channel, payload).unwrap() {
            Incoming::Apply { message, note, .. } => (*message, note),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn patterns_escape_the_key() {
        assert_eq!(
            patterns("socket.io"),
            ["socket.io#*", "socket.io-request#*"]
        );
        assert_eq!(patterns("a*b")[0], "a\\*b#*");
    }

    #[test]
    fn golden_broadcast_to_one_room() {
        // What redis-emitter 5.1.0 publishes for
        // `emitter.of("/chat").to("news").emit("tick", {n: 1}, Buffer.from([1, 2]))`
        // (notepack.io 3.0.1), on channel `socket.io#/chat#news#`.
        let payload: &[u8] = &[
            0x93, 0xa7, b'e', b'm', b'i', b't', b't', b'e', b'r', // "emitter"
            0x83, // {type, data, nsp}
            0xa4, b't', b'y', b'p', b'e', 0x02, //
            0xa4, b'd', b'a', b't', b'a', 0x93, 0xa4, b't', b'i', b'c', b'k', 0x81, 0xa1, b'n',
            0x01, 0xc4, 0x02, 0x01, 0x02, //
            0xa3, b'n', b's', b'p', 0xa5, b'/', b'c', b'h', b'a', b't', //
            0x83, // {rooms, flags, except}
            0xa5, b'r', b'o', b'o', b'm', b's', 0x91, 0xa4, b'n', b'e', b'w', b's', //
            0xa5, b'f', b'l', b'a', b'g', b's', 0x80, //
            0xa6, b'e', b'x', b'c', b'e', b'p', b't', 0x90,
        ];
        let (message, _) = apply("socket.io#/chat#news#", payload);
        assert_eq!(message.header.ns, "/chat");
        assert_eq!(message.header.rooms, ["news"]);
        assert_eq!(
            message.packet("/chat").unwrap().frames(),
            [
                Frame::message(r#"51-/chat,["tick",{"n":1},{"_placeholder":true,"num":0}]"#),
                Frame::binary(Bytes::from_static(&[1, 2])),
            ]
        );
    }

    #[test]
    fn requests() {
        let (m, _) = apply(
            "socket.io-request#/#",
            br#"{"type":2,"opts":{"rooms":["a"],"except":["b"]},"rooms":["c"]}"#,
        );
        assert_eq!(m.header.op, Op::Join);
        assert_eq!(
            (m.header.rooms.as_slice(), m.header.except.as_slice()),
            (&["a".to_owned()][..], &["b".to_owned()][..])
        );
        assert_eq!(m.header.names, ["c"]);
        let (m, note) = apply(
            "socket.io-request#/chat#",
            br#"{"type":4,"opts":{"rooms":[],"except":[]},"close":true}"#,
        );
        assert_eq!(
            (m.header.op, m.header.ns.as_str(), note),
            (Op::Disconnect, "/chat", Some(CLOSE_NOTE))
        );
        for refused in [
            &br#"{"uid":"emitter","type":6,"data":["x"]}"#[..],
            br#"{"type":0,"requestId":"r"}"#,
            &[0x81, 0xa1, b't', 0x02],
        ] {
            assert!(matches!(
                decode("socket.io", "socket.io-request#/#", refused),
                Ok(Incoming::Refused { .. })
            ));
        }
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let cases: Vec<&[u8]> = vec![
            b"",
            b"garbage",
            &[0x93, 0xc0, 0xc0, 0xc0],
            &[0x92, 0xc0, 0xc0],
            &[0x93, 0xc0, 0x81, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xc0],
            &[
                0x93, 0xc0, 0x82, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa4, b'd', b'a', b't', b'a',
                0x91, 0xa7, b'c', b'o', b'n', b'n', b'e', b'c', b't', 0xc0,
            ],
        ];
        for case in cases {
            assert!(
                !matches!(
                    decode("socket.io", "socket.io#/#", case),
                    Ok(Incoming::Apply { .. })
                ),
                "{case:?}"
            );
        }
        assert!(decode("socket.io", "socket.io-request#/#", b"{\"type\":2}").is_err());
        assert!(decode("socket.io", "socket.io-request#chat#", b"{\"type\":4}").is_err());
        assert!(decode("socket.io", "elsewhere", b"{}").is_err());
    }
}
