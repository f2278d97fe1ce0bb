//! [`EncodedPacket`]: an outgoing Socket.IO packet, encoded once into the Engine.IO frames
//! every recipient shares.

use serde::Serialize;

use crate::engineio::{Frame, MessageBuf};
use crate::error::EmitError;
use crate::protocol::{self, Parser};

/// One encoded packet (its text frame and any binary attachments), shared by every recipient:
/// cloning it clones reference counts, never bytes.
#[derive(Debug, Clone, Default)]
pub struct EncodedPacket {
    frames: Frames,
    /// Dropped for a recipient that is not ready to write it (see
    /// [`BroadcastOperator::volatile`](crate::BroadcastOperator::volatile)).
    pub(crate) volatile: bool,
    /// The packet as socket.io-msgpack-parser's one binary frame, transcoded from `frames` by
    /// the first recipient that needs it and shared by the others (`None`: it cannot be).
    #[cfg(feature = "msgpack")]
    msgpack: std::sync::OnceLock<Option<Frame>>,
}

impl EncodedPacket {
    /// A packet of these frames, text first, attachments after.
    pub(crate) fn from_frames(frames: Vec<Frame>) -> Self {
        Self::new(Frames::Many(frames))
    }

    fn new(frames: Frames) -> Self {
        EncodedPacket {
            frames,
            volatile: false,
            #[cfg(feature = "msgpack")]
            msgpack: std::sync::OnceLock::new(),
        }
    }

    /// The frames, text first, attachments after.
    pub fn frames(&self) -> &[Frame] {
        match &self.frames {
            Frames::One(frame) => std::slice::from_ref(frame),
            Frames::Many(frames) => frames,
        }
    }

    /// The frames, taken out: for a packet that has one recipient, whose frames then move
    /// into its queue instead of being shared.
    pub(crate) fn into_frames(self) -> impl Iterator<Item = Frame> {
        let (one, many) = match self.frames {
            Frames::One(frame) => (Some(frame), Vec::new()),
            Frames::Many(frames) => (None, frames),
        };
        one.into_iter().chain(many)
    }

    /// The frames a client of `parser` receives: [`frames`](Self::frames) for JSON; for
    /// MessagePack one binary frame, transcoded once per packet whatever the number of
    /// recipients (none, with a warning, if the packet cannot be transcoded).
    pub(crate) fn frames_for(&self, parser: Parser) -> &[Frame] {
        match parser {
            Parser::Json => self.frames(),
            #[cfg(feature = "msgpack")]
            Parser::MessagePack => self
                .msgpack
                .get_or_init(|| msgpack_frame(self.frames()))
                .as_slice(),
        }
    }

    /// Whether a recipient that is not ready to write it skips it.
    pub fn is_volatile(&self) -> bool {
        self.volatile
    }

    /// The same packet, volatile if `volatile`.
    pub(crate) fn with_volatile(mut self, volatile: bool) -> Self {
        self.volatile = volatile;
        self
    }
}

/// The JSON frames of a packet as socket.io-msgpack-parser's one binary frame.
#[cfg(feature = "msgpack")]
fn msgpack_frame(frames: &[Frame]) -> Option<Frame> {
    let Some((Frame::Text(text), attachments)) = frames.split_first() else {
        return None;
    };
    let attachments: Vec<bytes::Bytes> = attachments
        .iter()
        .filter_map(|frame| match frame {
            Frame::Binary(bytes) => Some(bytes.clone()),
            Frame::Text(_) => None,
        })
        .collect();
    let text = text.as_str().strip_prefix('4').unwrap_or_default();
    match protocol::encode_msgpack(text, &attachments) {
        Ok(frame) => Some(Frame::binary(frame.into())),
        Err(error) => {
            tracing::warn!(%error, packet = text, "packet not sent: it cannot be written as MessagePack");
            None
        }
    }
}

/// The frames of a packet: a text packet's one frame is kept inline, with no vector.
#[derive(Debug, Clone)]
enum Frames {
    One(Frame),
    Many(Vec<Frame>),
}

impl Default for Frames {
    fn default() -> Self {
        Frames::Many(Vec::new())
    }
}

/// Room for the arguments of a typical packet, reserved with its header so that encoding it
/// takes one allocation.
const ARGUMENTS_GUESS: usize = 64;

/// A buffer for a packet of this namespace and event name.
fn packet_buf(namespace: &str, event: &str) -> MessageBuf {
    MessageBuf::with_capacity(24 + namespace.len() + event.len() + ARGUMENTS_GUESS)
}

fn finish(buf: MessageBuf, attachments: Vec<bytes::Bytes>) -> EncodedPacket {
    if attachments.is_empty() {
        return EncodedPacket::new(Frames::One(buf.into_frame()));
    }
    let mut frames = Vec::with_capacity(1 + attachments.len());
    frames.push(buf.into_frame());
    frames.extend(attachments.into_iter().map(Frame::binary));
    EncodedPacket::from_frames(frames)
}

/// A packet whose text frame is `text` and whose attachments are those of `packet`.
fn with_text_of(packet: &EncodedPacket, text: MessageBuf) -> EncodedPacket {
    let attachments = packet.frames().iter().skip(1);
    if attachments.len() == 0 {
        return EncodedPacket::new(Frames::One(text.into_frame()));
    }
    let mut frames = Vec::with_capacity(1 + attachments.len());
    frames.push(text.into_frame());
    frames.extend(attachments.cloned());
    EncodedPacket::from_frames(frames)
}

/// An EVENT (or BINARY_EVENT) packet.
pub(crate) fn event<T: Serialize + ?Sized>(
    namespace: &str,
    event: &str,
    data: &T,
    id: Option<u64>,
) -> Result<EncodedPacket, EmitError> {
    if protocol::RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::ReservedEvent(event.to_owned()));
    }
    let mut buf = packet_buf(namespace, event);
    let attachments = protocol::encode_event(buf.as_mut_string(), namespace, event, data, id)?;
    Ok(finish(buf, attachments))
}

/// An ACK (or BINARY_ACK) packet.
pub(crate) fn ack<T: Serialize + ?Sized>(
    namespace: &str,
    id: u64,
    data: &T,
) -> Result<EncodedPacket, EmitError> {
    let mut buf = packet_buf(namespace, "");
    let attachments = protocol::encode_ack(buf.as_mut_string(), namespace, id, data)?;
    Ok(finish(buf, attachments))
}

/// An ACK of raw JSON arguments without attachments, copied as they are: the caller vouches
/// that each is one JSON value (received arguments are: the decoder validated them).
pub(crate) fn raw_ack<'a>(
    namespace: &str,
    id: u64,
    args: impl Iterator<Item = &'a str> + Clone,
) -> EncodedPacket {
    // The exact size (`3<namespace>,<id>[<arg>,<arg>]`), so that the frame takes the buffer as
    // it is, without a separate allocation for its reference count.
    let namespace_part = if namespace == "/" {
        0
    } else {
        namespace.len() + 1
    };
    let digits = id.checked_ilog10().unwrap_or(0) as usize + 1;
    let commas = args.clone().count().saturating_sub(1);
    let text: usize = args.clone().map(str::len).sum();
    let mut buf = MessageBuf::with_capacity(1 + namespace_part + digits + 2 + commas + text);
    protocol::encode_raw_ack(buf.as_mut_string(), namespace, id, args, 0);
    finish(buf, Vec::new())
}

/// The CONNECT answer `{"sid": ...}`, with the private id of connection state recovery when
/// the server has it on (`{"sid": ..., "pid": ...}`).
pub(crate) fn connect(namespace: &str, sid: &str, pid: Option<&str>) -> EncodedPacket {
    // Room for `0{"sid":"<sid>"}`, `<namespace>,` after the `0` but for the main namespace,
    // and `,"pid":"<pid>"`: the text is written without growing its buffer, and (unless a
    // string needed escapes) fills it exactly, so the frame takes the buffer as it is.
    let namespace_len = match namespace {
        "" | "/" => 0,
        namespace => namespace.len() + 1,
    };
    let capacity = 11 + namespace_len + sid.len() + pid.map_or(0, |pid| pid.len() + 9);
    let mut buf = MessageBuf::with_capacity(capacity);
    match pid {
        Some(pid) => protocol::encode_connect_with_pid(buf.as_mut_string(), namespace, sid, pid),
        None => protocol::encode_connect(buf.as_mut_string(), namespace, sid),
    }
    finish(buf, Vec::new())
}

/// The same EVENT (or BINARY_EVENT) with `offset` as its last argument (connection state
/// recovery); the attachments are shared, only the text frame is copied. `None` if `packet`
/// is not an event without acknowledgement id.
pub(crate) fn with_offset(packet: &EncodedPacket, offset: &str) -> Option<EncodedPacket> {
    let Some(Frame::Text(text)) = packet.frames().first() else {
        return None;
    };
    let text = text.as_str().strip_prefix('4')?;
    let mut buf = MessageBuf::with_capacity(text.len() + offset.len() + 3);
    if !protocol::append_offset(buf.as_mut_string(), text, offset) {
        return None;
    }
    Some(with_text_of(packet, buf).with_volatile(packet.volatile))
}

/// A CONNECT_ERROR with a message and optional data.
pub(crate) fn connect_error(
    namespace: &str,
    message: &str,
    data: Option<&serde_json::Value>,
) -> EncodedPacket {
    let mut buf = MessageBuf::new();
    let data = data.and_then(|d| serde_json::value::to_raw_value(d).ok());
    protocol::encode_connect_error(buf.as_mut_string(), namespace, message, data.as_deref());
    finish(buf, Vec::new())
}

/// A DISCONNECT packet.
pub(crate) fn disconnect(namespace: &str) -> EncodedPacket {
    let mut buf = MessageBuf::new();
    protocol::encode_disconnect(buf.as_mut_string(), namespace);
    finish(buf, Vec::new())
}

/// The same EVENT (or BINARY_EVENT) carrying acknowledgement id `id`. A packet that another
/// process encoded without an id gets one here, from the socket that will wait for the answer;
/// `None` if `packet` is not an EVENT without id.
pub(crate) fn with_ack_id(packet: &EncodedPacket, id: u64) -> Option<EncodedPacket> {
    let Some(Frame::Text(text)) = packet.frames().first() else {
        return None;
    };
    let text = text.as_str().strip_prefix('4')?;
    let limits = protocol::Limits {
        max_attachments: usize::MAX,
    };
    let decoded = protocol::decode(text, &limits).ok()?;
    let kind = decoded.kind;
    if !matches!(
        kind,
        protocol::PacketKind::Event | protocol::PacketKind::BinaryEvent
    ) || decoded.id.is_some()
    {
        return None;
    }
    let payload = decoded.payload?;
    let mut buf = MessageBuf::with_capacity(text.len() + 24);
    let out = buf.as_mut_string();
    out.push(kind.digit());
    if kind.is_binary() {
        out.push_str(&decoded.attachments.to_string());
        out.push('-');
    }
    if decoded.namespace != "/" {
        out.push_str(decoded.namespace);
        out.push(',');
    }
    out.push_str(&id.to_string());
    out.push_str(payload);
    Some(with_text_of(packet, buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(packet: &EncodedPacket) -> &str {
        match &packet.frames()[0] {
            Frame::Text(t) => t.as_str(),
            Frame::Binary(_) => panic!("binary first frame"),
        }
    }

    #[test]
    fn raw_ack_writes_what_serializing_the_arguments_writes() {
        let cases: [&[&str]; 3] = [&[], &["1"], &["1", "\"a\"", "{\"b\" : [null]}"]];
        for raw in cases {
            let items = raw.iter().map(|s| crate::engineio::Str::from(*s)).collect();
            let args = crate::Args::new(items, Vec::new());
            assert_eq!(
                text(&raw_ack("/admin", 7, args.raw())),
                text(&ack("/admin", 7, &args).unwrap())
            );
        }
        assert_eq!(text(&raw_ack("/", 3, ["1", "[]"].into_iter())), "433[1,[]]");
    }

    #[test]
    fn offset_shares_the_attachments() {
        let binary = event("/b", "q", &crate::Binary::from(vec![1, 2]), None).unwrap();
        let stamped = with_offset(&binary.clone().with_volatile(true), "9").unwrap();
        assert_eq!(
            text(&stamped),
            r#"451-/b,["q",{"_placeholder":true,"num":0},"9"]"#
        );
        assert!(stamped.is_volatile());
        match (&stamped.frames()[1], &binary.frames()[1]) {
            (Frame::Binary(a), Frame::Binary(b)) => assert_eq!(a.as_ptr(), b.as_ptr()),
            _ => panic!("attachment expected"),
        }
        let asked = with_ack_id(&event("/", "q", &(), None).unwrap(), 1).unwrap();
        assert!(
            with_offset(&asked, "9").is_none(),
            "an ack id keeps its place"
        );
        assert!(with_offset(&connect("/", "s", Some("p")), "9").is_none());
        assert_eq!(
            text(&connect("/", "s", Some("p"))),
            r#"40{"sid":"s","pid":"p"}"#
        );
        assert_eq!(text(&connect("/", "s", None)), r#"40{"sid":"s"}"#);
    }

    #[test]
    fn ack_id_is_spliced_after_the_namespace() {
        let plain = event("/", "q", &(1, "a"), None).unwrap();
        assert_eq!(text(&with_ack_id(&plain, 7).unwrap()), r#"427["q",1,"a"]"#);
        let chat = event("/chat", "q", &(), None).unwrap();
        assert_eq!(text(&with_ack_id(&chat, 12).unwrap()), r#"42/chat,12["q"]"#);
        let binary = event("/b", "q", &crate::Binary::from(vec![1, 2]), None).unwrap();
        let spliced = with_ack_id(&binary, 3).unwrap();
        assert_eq!(
            text(&spliced),
            r#"451-/b,3["q",{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(spliced.frames().len(), 2);
        assert_eq!(
            with_ack_id(&spliced, 4).map(|p| p.frames().len()),
            None,
            "already has an id"
        );
        assert!(with_ack_id(&disconnect("/"), 1).is_none());
    }

    #[cfg(feature = "msgpack")]
    #[test]
    fn a_packet_is_transcoded_once_for_every_msgpack_recipient() {
        let packet = event("/b", "q", &(1, crate::Binary::from(vec![1, 2])), None).unwrap();
        assert_eq!(packet.frames_for(Parser::Json), packet.frames());
        let first = packet.frames_for(Parser::MessagePack);
        let [Frame::Binary(bytes)] = first else {
            panic!("one binary frame: {first:?}");
        };
        let (text, attachments) =
            protocol::decode_msgpack(bytes, &protocol::Limits::default()).unwrap();
        assert_eq!(text, r#"51-/b,["q",1,{"_placeholder":true,"num":0}]"#);
        assert_eq!(attachments, [vec![1, 2]]);
        // A second recipient (and a clone of the packet) shares the same bytes.
        for again in [
            packet.frames_for(Parser::MessagePack),
            packet
                .clone()
                .frames_for(Parser::MessagePack)
                .to_vec()
                .as_slice(),
        ] {
            let [Frame::Binary(other)] = again else {
                panic!("one binary frame");
            };
            assert_eq!(other.as_ptr(), bytes.as_ptr());
        }
    }
}
