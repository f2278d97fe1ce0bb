//! The wire format of cross-process messages, version 1 (described in the [module
//! docs](super)). Pure functions: encoding, decoding and validation, no I/O.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use crate::adapter::Target;
use crate::engineio::{Frame, MessageBuf, Str};
use crate::packet::EncodedPacket;
use crate::protocol::{self, PacketKind};
use crate::{Args, Sid};

/// The version this code writes and reads.
pub(crate) const VERSION: u32 = 1;

/// A header longer than this is not looked for (the message is refused).
const MAX_HEADER: usize = 1 << 20;

/// At most this many body parts (a packet and its attachments).
const MAX_FRAMES: usize = 1 + 1024;

/// What a message asks the other processes to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Op {
    Broadcast,
    Join,
    Leave,
    Disconnect,
    CloseRoom,
    AckRequest,
    AckResponse,
    /// "I am alive": every server, every heartbeat interval.
    Heartbeat,
    /// A server that (re)subscribed asks the others to announce themselves at once.
    Hello,
    /// A server leaving cleanly: stop counting it now.
    Goodbye,
    /// Asks every server for its sockets that a target selects.
    FetchSockets,
    /// One server's answer to `fetch_sockets`: a JSON array of socket descriptions.
    FetchSocketsResponse,
    /// Asks every server to send an EVENT to the sockets a target selects, with
    /// acknowledgements.
    BroadcastAck,
    /// How many sockets one server sent a `broadcast_ack` to.
    BroadcastAckCount,
    /// One socket's acknowledgement of a `broadcast_ack`.
    BroadcastAckResponse,
    /// An event for the other servers' handlers (`server_side_emit`).
    ServerEvent,
    /// One server's acknowledgement of a `server_event`.
    ServerEventResponse,
    /// A socket's connection was lost: its session, for connection state recovery on any
    /// server (a JSON part).
    Session,
    /// A server recovered the session of the private id `sid`: the others forget it.
    SessionTaken,
}

impl Op {
    /// Whether the message answers a request of the server named by its `to`.
    pub(crate) fn is_response(self) -> bool {
        matches!(
            self,
            Op::FetchSocketsResponse
                | Op::BroadcastAckCount
                | Op::BroadcastAckResponse
                | Op::ServerEventResponse
        )
    }
}

/// The JSON header line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Header {
    pub(crate) v: u32,
    pub(crate) uid: String,
    pub(crate) op: Op,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) ns: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) rooms: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) except: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exclude: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) req: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) offset: Option<u64>,
    /// A volatile broadcast: dropped for a socket that cannot take it at once, and never kept
    /// for connection state recovery (absent before, which the receivers read as `false`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) volatile: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) frames: Vec<usize>,
}

impl Header {
    /// A header for `op` from the process `uid`, everything else empty.
    pub(crate) fn new(uid: &str, op: Op) -> Self {
        Header {
            v: VERSION,
            uid: uid.to_owned(),
            op,
            ns: String::new(),
            rooms: Vec::new(),
            except: Vec::new(),
            exclude: None,
            names: Vec::new(),
            sid: None,
            req: None,
            to: None,
            timeout_ms: None,
            error: None,
            count: None,
            offset: None,
            volatile: false,
            frames: Vec::new(),
        }
    }

    /// Sets the namespace and the target.
    pub(crate) fn target(mut self, ns: &str, target: &Target) -> Self {
        self.ns = ns.to_owned();
        self.rooms = target.rooms.clone();
        self.except = target.except.clone();
        self.exclude = target.exclude.map(|sid| sid.as_str().to_owned());
        self
    }

    /// The header of an answer to this request, from the server `uid`: addressed to the
    /// asking server (`to`), with its request number and namespace. `None` without a request
    /// number.
    pub(crate) fn answer(&self, uid: &str, op: Op) -> Option<Header> {
        let req = self.req?;
        let mut answer = Header::new(uid, op);
        answer.ns = self.ns.clone();
        answer.to = Some(self.uid.clone());
        answer.req = Some(req);
        Some(answer)
    }

    /// The target the header describes; an `exclude` that is not a socket id excludes nobody.
    pub(crate) fn to_target(&self) -> Target {
        Target {
            rooms: self.rooms.clone(),
            except: self.except.clone(),
            exclude: self.exclude.as_deref().and_then(|s| s.parse::<Sid>().ok()),
        }
    }
}

/// A decoded message: its header and the body parts the header's `frames` delimit.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) header: Header,
    pub(crate) parts: Vec<Bytes>,
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireError(pub(crate) String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(what: impl Into<String>) -> Result<T, WireError> {
    Err(WireError(what.into()))
}

/// Encodes a message: the header (whose `frames` is filled in here) as one JSON line, then the
/// parts back to back.
pub(crate) fn encode(mut header: Header, parts: &[&[u8]]) -> Bytes {
    header.frames = parts.iter().map(|p| p.len()).collect();
    // A struct of strings, integers and lists always serializes.
    let json = serde_json::to_vec(&header).unwrap_or_default();
    let body: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = BytesMut::with_capacity(json.len() + 1 + body);
    out.put_slice(&json);
    out.put_u8(b'\n');
    for part in parts {
        out.put_slice(part);
    }
    out.freeze()
}

/// Encodes a message carrying a Socket.IO packet: the packet text (without Engine.IO's `4`),
/// then its binary attachments; the header says whether the packet is volatile.
pub(crate) fn encode_packet(mut header: Header, packet: &EncodedPacket) -> Bytes {
    header.volatile = packet.is_volatile();
    let parts: Vec<&[u8]> = packet
        .frames()
        .iter()
        .map(|frame| match frame {
            Frame::Text(text) => text.as_str().strip_prefix('4').unwrap_or("").as_bytes(),
            Frame::Binary(bytes) => &bytes[..],
        })
        .collect();
    encode(header, &parts)
}

/// Encodes an acknowledgement's arguments: a JSON array, then the attachments.
pub(crate) fn encode_args(header: Header, args: &Args) -> Bytes {
    let mut json = String::from("[");
    for (i, item) in args.raw().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(item);
    }
    json.push(']');
    let mut parts: Vec<&[u8]> = vec![json.as_bytes()];
    parts.extend(args.attachments().iter().map(|a| &a[..]));
    encode(header, &parts)
}

#[derive(Deserialize)]
struct Version {
    v: u32,
}

/// Decodes a message. Never panics; every length is checked against the bytes received.
pub(crate) fn decode(message: Bytes) -> Result<Message, WireError> {
    let window = &message[..message.len().min(MAX_HEADER)];
    let Some(end) = window.iter().position(|&b| b == b'\n') else {
        return err("no header line");
    };
    let json = &message[..end];
    let version: Version =
        serde_json::from_slice(json).map_err(|e| WireError(format!("bad header: {e}")))?;
    if version.v != VERSION {
        return err(format!(
            "wire format version {} (this process reads {VERSION})",
            version.v
        ));
    }
    let header: Header =
        serde_json::from_slice(json).map_err(|e| WireError(format!("bad header: {e}")))?;
    if header.frames.len() > MAX_FRAMES {
        return err("too many parts");
    }
    let body = message.slice(end + 1..);
    let mut total: usize = 0;
    for len in &header.frames {
        total = total
            .checked_add(*len)
            .ok_or_else(|| WireError("part lengths overflow".into()))?;
    }
    if total != body.len() {
        return err(format!(
            "parts announce {total} bytes, the body has {}",
            body.len()
        ));
    }
    let mut parts = Vec::with_capacity(header.frames.len());
    let mut at = 0;
    for len in &header.frames {
        parts.push(body.slice(at..at + len));
        at += len;
    }
    Ok(Message { header, parts })
}

impl Message {
    /// The Socket.IO EVENT the message carries, as frames ready for this process's sockets:
    /// checked to be an EVENT or BINARY_EVENT of namespace `ns`, without acknowledgement id,
    /// with as many attachments as announced.
    pub(crate) fn packet(&self, ns: &str) -> Result<EncodedPacket, WireError> {
        let Some((text, attachments)) = self.parts.split_first() else {
            return err("no packet");
        };
        let text =
            std::str::from_utf8(text).map_err(|_| WireError("packet is not UTF-8".into()))?;
        let limits = protocol::Limits {
            max_attachments: MAX_FRAMES,
        };
        let packet =
            protocol::decode(text, &limits).map_err(|e| WireError(format!("bad packet: {e}")))?;
        if !matches!(packet.kind, PacketKind::Event | PacketKind::BinaryEvent) {
            return err(format!("a {} packet cannot be broadcast", packet.kind));
        }
        if packet.id.is_some() {
            return err("packet carries an acknowledgement id");
        }
        if packet.namespace != ns {
            return err(format!(
                "packet of namespace {:?} in a message for {ns:?}",
                packet.namespace
            ));
        }
        if packet.attachments != attachments.len() {
            return err("attachment count does not match the parts");
        }
        let mut buf = MessageBuf::with_capacity(text.len());
        buf.push_str(text);
        let mut frames = Vec::with_capacity(self.parts.len());
        frames.push(buf.into_frame());
        frames.extend(attachments.iter().cloned().map(Frame::binary));
        Ok(EncodedPacket::from_frames(frames).with_volatile(self.header.volatile))
    }

    /// The event name and arguments of the EVENT the message carries (a `server_event`),
    /// validated as [`packet`](Self::packet) does for namespace `ns`.
    pub(crate) fn event(&self, ns: &str) -> Result<(String, Args), WireError> {
        self.packet(ns)?;
        let (text, attachments) = self
            .parts
            .split_first()
            .ok_or_else(|| WireError("no packet".into()))?;
        let text =
            Str::from_utf8(text.clone()).map_err(|_| WireError("packet is not UTF-8".into()))?;
        let limits = protocol::Limits {
            max_attachments: MAX_FRAMES,
        };
        let packet =
            protocol::decode(&text, &limits).map_err(|e| WireError(format!("bad packet: {e}")))?;
        let payload = packet
            .payload
            .ok_or_else(|| WireError("an EVENT without payload".into()))?;
        let event =
            protocol::split_event(payload).map_err(|e| WireError(format!("bad event: {e}")))?;
        let items = event.args.iter().map(|raw| text.slice_ref(raw)).collect();
        Ok((
            event.name.into_owned(),
            Args::new(items, attachments.to_vec()),
        ))
    }

    /// The acknowledgement arguments of an `ack_response`.
    pub(crate) fn args(&self) -> Result<Args, WireError> {
        let Some((json, attachments)) = self.parts.split_first() else {
            return err("no arguments");
        };
        let json = Str::from_utf8(json.clone())
            .map_err(|_| WireError("arguments are not UTF-8".into()))?;
        Args::from_array(&json, attachments.to_vec())
            .map_err(|e| WireError(format!("bad arguments: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet;
    use crate::protocol::Binary;

    fn text(packet: &EncodedPacket) -> String {
        match &packet.frames()[0] {
            Frame::Text(t) => t.as_str().to_owned(),
            Frame::Binary(_) => panic!("binary first"),
        }
    }

    #[test]
    fn golden_broadcast() {
        let packet = packet::event("/", "tick", &serde_json::json!({"n": 1}), None).unwrap();
        let target = Target {
            rooms: vec!["news".into()],
            ..Target::default()
        };
        let header = Header::new("9f2c4e1a0b3d5e6f", Op::Broadcast).target("/", &target);
        let bytes = encode_packet(header, &packet);
        assert_eq!(
            &bytes[..],
            &b"{\"v\":1,\"uid\":\"9f2c4e1a0b3d5e6f\",\"op\":\"broadcast\",\"ns\":\"/\",\"rooms\":[\"news\"],\"frames\":[17]}\n2[\"tick\",{\"n\":1}]"[..]
        );
        let message = decode(bytes).unwrap();
        assert_eq!(message.header.op, Op::Broadcast);
        assert_eq!(message.header.to_target(), target);
        assert_eq!(
            text(&message.packet("/").unwrap()),
            "42[\"tick\",{\"n\":1}]"
        );
    }

    #[test]
    fn binary_attachments_survive_byte_for_byte() {
        let blob: Vec<u8> = (0..=255u8).cycle().take(900_000).collect();
        let packet = packet::event(
            "/chat",
            "file",
            &(
                Binary::from(blob.clone()),
                Binary::from(vec![0u8, b'\n', 0xff]),
            ),
            None,
        )
        .unwrap();
        let bytes = encode_packet(
            Header::new("a", Op::Broadcast).target("/chat", &Target::default()),
            &packet,
        );
        let message = decode(bytes).unwrap();
        let back = message.packet("/chat").unwrap();
        assert_eq!(back.frames(), packet.frames());
        assert!(message.packet("/").is_err(), "namespace is checked");
    }

    #[test]
    fn ack_arguments_round_trip() {
        let args = Args::new(
            vec![
                Str::from("\"ok\""),
                Str::from("{\"_placeholder\":true,\"num\":0}"),
            ]
            .into(),
            vec![Bytes::from_static(b"\x00\x01")],
        );
        let mut header = Header::new("a", Op::AckResponse);
        header.to = Some("b".into());
        header.req = Some(7);
        let message = decode(encode_args(header, &args)).unwrap();
        let back = message.args().unwrap();
        assert_eq!(
            back.raw().collect::<Vec<_>>(),
            args.raw().collect::<Vec<_>>()
        );
        assert_eq!(back.attachments(), args.attachments());
    }

    #[test]
    fn golden_cluster_messages() {
        let beat = encode(Header::new("9f2c4e1a0b3d5e6f", Op::Heartbeat), &[]);
        assert_eq!(
            &beat[..],
            &b"{\"v\":1,\"uid\":\"9f2c4e1a0b3d5e6f\",\"op\":\"heartbeat\"}\n"[..]
        );
        let target = Target {
            rooms: vec!["lobby".into()],
            ..Target::default()
        };
        let mut request = Header::new("a1", Op::FetchSockets).target("/chat", &target);
        request.req = Some(3);
        request.timeout_ms = Some(5000);
        let request = decode(encode(request, &[])).unwrap().header;
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"v":1,"uid":"a1","op":"fetch_sockets","ns":"/chat","rooms":["lobby"],"req":3,"timeout_ms":5000}"#
        );
        let mut count = request.answer("b2", Op::BroadcastAckCount).unwrap();
        count.count = Some(2);
        assert_eq!(
            serde_json::to_string(&count).unwrap(),
            r#"{"v":1,"uid":"b2","op":"broadcast_ack_count","ns":"/chat","req":3,"to":"a1","count":2}"#
        );
        assert!(Header::new("a1", Op::FetchSockets)
            .answer("b2", Op::FetchSocketsResponse)
            .is_none());
        assert!(Op::ServerEventResponse.is_response() && !Op::ServerEvent.is_response());
    }

    #[test]
    fn a_server_event_carries_its_name_and_arguments() {
        let packet = packet::event("/", "reload", &("v42", Binary::from(vec![7u8])), None).unwrap();
        let message = decode(encode_packet(Header::new("a", Op::ServerEvent), &packet)).unwrap();
        let (event, args) = message.event("/").unwrap();
        assert_eq!(event, "reload");
        assert_eq!(args.len(), 2);
        assert_eq!(args.first::<String>().unwrap().unwrap(), "v42");
        assert_eq!(&args.attachments()[0][..], &[7u8]);
        for bad in ["2[\"connect\"]", "2[]", "3[1]", "2/x,[\"e\"]"] {
            let message =
                decode(encode(Header::new("a", Op::ServerEvent), &[bad.as_bytes()])).unwrap();
            assert!(message.event("/").is_err(), "{bad}");
        }
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let long = vec![b'x'; 2 << 20];
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"garbage".to_vec(),
            b"garbage\n".to_vec(),
            b"{}\n".to_vec(),
            b"{\"v\":2,\"uid\":\"x\",\"op\":\"broadcast\"}\n".to_vec(),
            b"{\"v\":1,\"uid\":\"x\",\"op\":\"explode\"}\n".to_vec(),
            b"{\"v\":1,\"uid\":7,\"op\":\"broadcast\"}\n".to_vec(),
            b"{\"v\":1,\"uid\":\"x\",\"op\":\"broadcast\",\"frames\":[5]}\nabc".to_vec(),
            b"{\"v\":1,\"uid\":\"x\",\"op\":\"broadcast\",\"frames\":[18446744073709551615,2]}\nabc".to_vec(),
            format!("{deep}\n").into_bytes(),
            long,
        ];
        for case in cases {
            assert!(decode(Bytes::from(case)).is_err());
        }
        // Valid framing, invalid packets.
        for packet in [
            "",
            "0",
            "1",
            "3[1]",
            "21[\"x\"]",
            "2[\"connect\"]",
            "51-[\"x\"]",
            "2/chat,[\"x\"]",
            "\u{0}",
        ] {
            let bytes = encode(
                Header::new("x", Op::Broadcast).target("/", &Target::default()),
                &[packet.as_bytes()],
            );
            assert!(decode(bytes).unwrap().packet("/").is_err(), "{packet:?}");
        }
    }
}
