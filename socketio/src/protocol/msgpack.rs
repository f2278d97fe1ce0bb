//! socket.io-msgpack-parser's wire format (feature `msgpack`), transcoded to and from the JSON
//! packet text the rest of the server speaks.
//!
//! With that parser a Socket.IO packet is one binary Engine.IO message: the MessagePack
//! encoding (by notepack.io) of the object `{type, nsp, data, id}`, where `type` is 0..=4 (no
//! BINARY_EVENT or BINARY_ACK: binary values travel inline as MessagePack `bin`), `nsp` the
//! namespace, `data` the payload and `id` the optional acknowledgement id. Clients add other
//! members (socket.io-client sends `options`), which are ignored.
//!
//! - [`decode_msgpack`] turns a received message into the packet text the JSON parser would
//!   have received (`2/chat,7["hello",{"_placeholder":true,"num":0}]`) and its attachments,
//!   in one streaming pass: no value tree is built and each binary value stays a slice of the
//!   message. The text then goes through [`decode_split`](super::decode_split) like any other,
//!   which validates it.
//! - [`encode_msgpack`] turns an encoded packet (text and attachments) into one message, the
//!   attachments inline where their placeholders were.
//!
//! JavaScript values that JSON has no word for are written as `JSON.stringify` writes them:
//! `undefined` is `null` in an array and left out of a map; a `Date` (a MessagePack timestamp,
//! or notepack's older ext type 0) is its ISO 8601 string; NaN and the infinities are `null`.
//! An `ArrayBuffer` (notepack's ext type 0) is binary like a `Buffer`; any other extension is
//! `[type, <binary>]`, as notepack decodes it.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use bytes::Bytes;
use rmp::Marker;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::decode::decode;
use super::error::DecodeError;
use super::json::{push_decimal, push_json_string, MAX_NESTING};
use super::packet::{Limits, PacketKind};

/// Milliseconds a JavaScript `Date` may be away from the epoch (ECMA-262 TimeClip).
const MAX_DATE_MS: f64 = 8.64e15;

fn bad<T>(why: &'static str) -> Result<T, DecodeError> {
    Err(DecodeError::MessagePack(why))
}

/// Decodes one binary Engine.IO message of a client using socket.io-msgpack-parser into the
/// Socket.IO packet text of the JSON format (without the Engine.IO `4`) and its attachments.
///
/// Each `bin` value (and `ArrayBuffer`) becomes the next attachment and a placeholder
/// `{"_placeholder":true,"num":n}` in the text, so an EVENT or ACK with binary values becomes
/// a BINARY_EVENT or BINARY_ACK; binary values in other packets are refused. At most
/// `limits.max_attachments` binary values are accepted, and `data` may nest at most
/// [`MAX_NESTING`] levels.
///
/// The input is untrusted: a truncated message, a declared length beyond its end, a nesting
/// too deep, a wrong type for `type`, `nsp` or `id`, and trailing bytes are errors. Runs in
/// time linear in the message, allocates at most a small multiple of its size, never panics.
///
/// ```
/// use bytes::Bytes;
/// use socketio::protocol::{decode_msgpack, Limits};
///
/// // {type: 2, nsp: "/", data: ["hi", <bin 01 02>]}
/// let frame = Bytes::from_static(b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x92\xa2hi\xc4\x02\x01\x02");
/// let (text, attachments) = decode_msgpack(&frame, &Limits::default()).unwrap();
/// assert_eq!(text, r#"51-["hi",{"_placeholder":true,"num":0}]"#);
/// assert_eq!(attachments, [Bytes::from_static(&[1, 2])]);
/// ```
pub fn decode_msgpack(frame: &Bytes, limits: &Limits) -> Result<(String, Vec<Bytes>), DecodeError> {
    let mut reader = Reader { frame, at: 0 };
    let Item::Map(members) = reader.item()? else {
        return bad("a packet that is not a map");
    };
    reader.expect_items(u64::from(members) * 2)?;
    let mut kind = None;
    let mut namespace = None;
    let mut id = None;
    let mut data = None;
    for _ in 0..members {
        let key = reader.item()?;
        let Item::Str(key) = key else {
            reader.skip_children(key, 1)?;
            reader.skip(1)?;
            continue;
        };
        match key {
            b"type" => {
                kind = Some(reader.item()?.integer().ok_or(DecodeError::MessagePack(
                    "a packet type that is not an integer",
                ))?)
            }
            b"nsp" => match reader.item()? {
                Item::Str(nsp) => namespace = Some(String::from_utf8_lossy(nsp)),
                _ => return bad("a namespace that is not a string"),
            },
            b"data" => {
                let mut json = Json {
                    reader: &mut reader,
                    out: String::new(),
                    attachments: Vec::new(),
                    max_attachments: limits.max_attachments,
                };
                data = json.value(0)?.then_some((json.out, json.attachments));
            }
            b"id" => {
                id = match reader.item()? {
                    Item::Nil | Item::Undefined => None,
                    item => Some(item.integer().ok_or(DecodeError::MessagePack(
                        "an acknowledgement id that is not a non-negative integer",
                    ))?),
                }
            }
            _ => reader.skip(1)?,
        }
    }
    if reader.at != frame.len() {
        return bad("bytes after the packet");
    }
    let (Some(kind), Some(namespace)) = (kind, namespace) else {
        return bad("a packet without a type or a namespace");
    };
    let (payload, attachments) = data.unwrap_or_default();
    let kind = match (kind, attachments.is_empty()) {
        (0, true) => PacketKind::Connect,
        (1, true) => PacketKind::Disconnect,
        (2, true) => PacketKind::Event,
        (3, true) => PacketKind::Ack,
        (4, true) => PacketKind::ConnectError,
        (2, false) => PacketKind::BinaryEvent,
        (3, false) => PacketKind::BinaryAck,
        (0..=4, false) => {
            return bad("binary data in a packet that is not an event or an acknowledgement")
        }
        _ => return bad("a packet type outside 0..=4"),
    };
    let mut text = String::with_capacity(payload.len() + namespace.len() + 24);
    text.push(kind.digit());
    if kind.is_binary() {
        push_decimal(&mut text, attachments.len() as u64);
        text.push('-');
    }
    if !namespace.is_empty() && namespace != "/" {
        if !namespace.starts_with('/') || namespace.contains(',') {
            return bad("a namespace that does not start with '/' or holds a ','");
        }
        text.push_str(&namespace);
        text.push(',');
    }
    if let Some(id) = id {
        push_decimal(&mut text, id);
    }
    text.push_str(&payload);
    Ok((text, attachments))
}

/// Encodes one Socket.IO packet of the JSON format (its text without the Engine.IO `4`, and
/// the attachments that follow it) as socket.io-msgpack-parser's one binary message: the map
/// `{type, data, nsp, id}` (`data` and `id` only when the packet has them), BINARY_EVENT and
/// BINARY_ACK written as EVENT and ACK with each placeholder replaced by its attachment.
///
/// Meant for packets this crate encoded; a text that does not decode, or whose attachment
/// count is not `attachments.len()`, is an error.
///
/// ```
/// use bytes::Bytes;
/// use socketio::protocol::encode_msgpack;
///
/// let frame = encode_msgpack(r#"51-["hi",{"_placeholder":true,"num":0}]"#, &[Bytes::from_static(&[7])]).unwrap();
/// assert_eq!(frame, b"\x83\xa4type\x02\xa4data\x92\xa2hi\xc4\x01\x07\xa3nsp\xa1/"[..]);
/// ```
pub fn encode_msgpack(text: &str, attachments: &[Bytes]) -> Result<Vec<u8>, DecodeError> {
    let limits = Limits {
        max_attachments: usize::MAX,
    };
    let packet = decode(text, &limits)?;
    if packet.attachments != attachments.len() {
        return bad("an attachment count that is not the number of attachments");
    }
    let kind = match packet.kind {
        PacketKind::BinaryEvent => PacketKind::Event,
        PacketKind::BinaryAck => PacketKind::Ack,
        kind => kind,
    };
    let data = match packet.payload {
        Some(payload) => {
            let seed = NodeSeed {
                attachments: attachments.len(),
            };
            Some(seed.deserialize(&mut serde_json::Deserializer::from_str(payload))?)
        }
        None => None,
    };
    let binary: usize = attachments.iter().map(Bytes::len).sum();
    let mut out = Vec::with_capacity(text.len() + binary + 32);
    let members = 2 + u32::from(data.is_some()) + u32::from(packet.id.is_some());
    write(rmp::encode::write_map_len(&mut out, members))?;
    write(rmp::encode::write_str(&mut out, "type"))?;
    write(rmp::encode::write_uint(&mut out, kind as u64))?;
    if let Some(data) = &data {
        write(rmp::encode::write_str(&mut out, "data"))?;
        data.write(&mut out, attachments)?;
    }
    write(rmp::encode::write_str(&mut out, "nsp"))?;
    write_str(&mut out, packet.namespace)?;
    if let Some(id) = packet.id {
        write(rmp::encode::write_str(&mut out, "id"))?;
        write(rmp::encode::write_uint(&mut out, id))?;
    }
    Ok(out)
}

/// One MessagePack item: a scalar, or the header of an array or a map (its members follow).
#[derive(Debug)]
enum Item<'a> {
    Nil,
    /// JavaScript's `undefined` (notepack's fixext 1 of type 0).
    Undefined,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Float(f64),
    /// UTF-8 as JavaScript reads it: invalid sequences become U+FFFD.
    Str(&'a [u8]),
    Bin(Bytes),
    Array(u32),
    Map(u32),
    /// A JavaScript `Date`, in milliseconds since the epoch.
    Date(f64),
    Ext(i8, Bytes),
}

impl Item<'_> {
    /// A non-negative integer (a float with an integral value too, as JavaScript's
    /// `Number.isInteger` says).
    fn integer(&self) -> Option<u64> {
        match *self {
            Item::Uint(n) => Some(n),
            Item::Int(n) => u64::try_from(n).ok(),
            Item::Float(f) if f.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&f) => {
                Some(f as u64)
            }
            _ => None,
        }
    }
}

/// A cursor over a received message.
struct Reader<'a> {
    frame: &'a Bytes,
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let frame: &'a [u8] = self.frame;
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= frame.len())
            .ok_or(DecodeError::MessagePack(
                "a length beyond the end of the message",
            ))?;
        let bytes = &frame[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    /// The next `n` bytes as a slice of the message (no copy).
    fn slice(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        let start = self.at;
        self.take(n)?;
        Ok(self.frame.slice(start..self.at))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn len(&mut self, bytes: usize) -> Result<usize, DecodeError> {
        let n = match bytes {
            1 => u32::from(self.u8()?),
            2 => u32::from(u16::from_be_bytes(self.array()?)),
            _ => u32::from_be_bytes(self.array()?),
        };
        usize::try_from(n).or(bad("a length this machine cannot address"))
    }

    /// Refuses a container announcing more members than bytes are left (each takes one at
    /// least), before reading any of them.
    fn expect_items(&self, count: u64) -> Result<(), DecodeError> {
        let left = (self.frame.len() - self.at) as u64;
        if count > left {
            return bad("a length beyond the end of the message");
        }
        Ok(())
    }

    /// An extension of `len` bytes (its type byte next), as notepack.io (2.x and 3.x) reads
    /// it; `fixed` for the fixext markers.
    fn ext(&mut self, len: usize, fixed: bool) -> Result<Item<'a>, DecodeError> {
        let kind = i8::from_be_bytes(self.array()?);
        Ok(match (kind, len, fixed) {
            (0, 1, true) => {
                self.u8()?;
                Item::Undefined
            }
            (0, _, false) => Item::Bin(self.slice(len)?),
            (0, 8, true) => {
                let hi = i32::from_be_bytes(self.array()?);
                let lo = u32::from_be_bytes(self.array()?);
                Item::Date(f64::from(hi) * 4_294_967_296.0 + f64::from(lo))
            }
            (-1, 4, true) => Item::Date(f64::from(u32::from_be_bytes(self.array()?)) * 1e3),
            (-1, 8, true) => {
                let hi = u32::from_be_bytes(self.array()?);
                let lo = u32::from_be_bytes(self.array()?);
                let seconds = f64::from(hi & 0x3) * 4_294_967_296.0 + f64::from(lo);
                Item::Date(seconds * 1e3 + f64::from(hi >> 2) / 1e6)
            }
            (-1, 12, false) => {
                let nanos = u32::from_be_bytes(self.array()?);
                let seconds = i64::from_be_bytes(self.array()?);
                Item::Date(seconds as f64 * 1e3 + f64::from(nanos) / 1e6)
            }
            _ => Item::Ext(kind, self.slice(len)?),
        })
    }

    fn item(&mut self) -> Result<Item<'a>, DecodeError> {
        Ok(match Marker::from_u8(self.u8()?) {
            Marker::FixPos(n) => Item::Uint(n.into()),
            Marker::FixNeg(n) => Item::Int(n.into()),
            Marker::Null => Item::Nil,
            Marker::True => Item::Bool(true),
            Marker::False => Item::Bool(false),
            Marker::U8 => Item::Uint(self.u8()?.into()),
            Marker::U16 => Item::Uint(u16::from_be_bytes(self.array()?).into()),
            Marker::U32 => Item::Uint(u32::from_be_bytes(self.array()?).into()),
            Marker::U64 => Item::Uint(u64::from_be_bytes(self.array()?)),
            Marker::I8 => Item::Int(i8::from_be_bytes(self.array()?).into()),
            Marker::I16 => Item::Int(i16::from_be_bytes(self.array()?).into()),
            Marker::I32 => Item::Int(i32::from_be_bytes(self.array()?).into()),
            Marker::I64 => Item::Int(i64::from_be_bytes(self.array()?)),
            Marker::F32 => Item::Float(f32::from_be_bytes(self.array()?).into()),
            Marker::F64 => Item::Float(f64::from_be_bytes(self.array()?)),
            Marker::FixStr(n) => Item::Str(self.take(n.into())?),
            Marker::Str8 => Item::Str({
                let n = self.len(1)?;
                self.take(n)?
            }),
            Marker::Str16 => Item::Str({
                let n = self.len(2)?;
                self.take(n)?
            }),
            Marker::Str32 => Item::Str({
                let n = self.len(4)?;
                self.take(n)?
            }),
            Marker::Bin8 => Item::Bin({
                let n = self.len(1)?;
                self.slice(n)?
            }),
            Marker::Bin16 => Item::Bin({
                let n = self.len(2)?;
                self.slice(n)?
            }),
            Marker::Bin32 => Item::Bin({
                let n = self.len(4)?;
                self.slice(n)?
            }),
            Marker::FixArray(n) => Item::Array(n.into()),
            Marker::Array16 => Item::Array(u16::from_be_bytes(self.array()?).into()),
            Marker::Array32 => Item::Array(u32::from_be_bytes(self.array()?)),
            Marker::FixMap(n) => Item::Map(n.into()),
            Marker::Map16 => Item::Map(u16::from_be_bytes(self.array()?).into()),
            Marker::Map32 => Item::Map(u32::from_be_bytes(self.array()?)),
            Marker::FixExt1 => self.ext(1, true)?,
            Marker::FixExt2 => self.ext(2, true)?,
            Marker::FixExt4 => self.ext(4, true)?,
            Marker::FixExt8 => self.ext(8, true)?,
            Marker::FixExt16 => self.ext(16, true)?,
            Marker::Ext8 => {
                let n = self.len(1)?;
                self.ext(n, false)?
            }
            Marker::Ext16 => {
                let n = self.len(2)?;
                self.ext(n, false)?
            }
            Marker::Ext32 => {
                let n = self.len(4)?;
                self.ext(n, false)?
            }
            Marker::Reserved => return bad("the reserved marker 0xc1"),
        })
    }

    /// Skips one value nested `depth` levels deep.
    fn skip(&mut self, depth: usize) -> Result<(), DecodeError> {
        let item = self.item()?;
        self.skip_children(item, depth)
    }

    /// Skips the members of `item` if it is an array or a map.
    fn skip_children(&mut self, item: Item<'_>, depth: usize) -> Result<(), DecodeError> {
        let members = match item {
            Item::Array(n) => u64::from(n),
            Item::Map(n) => u64::from(n) * 2,
            _ => return Ok(()),
        };
        let depth = nested(depth)?;
        self.expect_items(members)?;
        for _ in 0..members {
            self.skip(depth)?;
        }
        Ok(())
    }
}

/// `depth + 1`, the level of a container's members, if that is allowed.
fn nested(depth: usize) -> Result<usize, DecodeError> {
    if depth >= MAX_NESTING {
        return Err(DecodeError::TooDeep);
    }
    Ok(depth + 1)
}

/// Writes the values read by `reader` as JSON.
struct Json<'r, 'a> {
    reader: &'r mut Reader<'a>,
    out: String,
    attachments: Vec<Bytes>,
    max_attachments: usize,
}

impl Json<'_, '_> {
    /// Writes the next value, nested `depth` levels deep; `false` (nothing written) for
    /// `undefined`.
    fn value(&mut self, depth: usize) -> Result<bool, DecodeError> {
        match self.reader.item()? {
            Item::Undefined => return Ok(false),
            Item::Nil => self.out.push_str("null"),
            Item::Bool(b) => self.out.push_str(if b { "true" } else { "false" }),
            Item::Uint(n) => push_decimal(&mut self.out, n),
            Item::Int(n) => push_int(&mut self.out, n),
            Item::Float(f) => match serde_json::Number::from_f64(f) {
                Some(n) => {
                    let _ = write!(self.out, "{n}");
                }
                None => self.out.push_str("null"),
            },
            Item::Str(s) => push_json_string(&mut self.out, &String::from_utf8_lossy(s)),
            Item::Bin(bytes) => self.attachment(bytes)?,
            Item::Date(ms) => push_date(&mut self.out, ms),
            Item::Ext(kind, bytes) => {
                self.out.push('[');
                push_int(&mut self.out, kind.into());
                self.out.push(',');
                self.attachment(bytes)?;
                self.out.push(']');
            }
            Item::Array(n) => {
                let depth = nested(depth)?;
                self.reader.expect_items(n.into())?;
                self.out.push('[');
                for i in 0..n {
                    if i > 0 {
                        self.out.push(',');
                    }
                    if !self.value(depth)? {
                        self.out.push_str("null");
                    }
                }
                self.out.push(']');
            }
            Item::Map(n) => {
                let depth = nested(depth)?;
                self.reader.expect_items(u64::from(n) * 2)?;
                self.out.push('{');
                let mut empty = true;
                for _ in 0..n {
                    let start = self.out.len();
                    if !empty {
                        self.out.push(',');
                    }
                    self.key()?;
                    self.out.push(':');
                    if self.value(depth)? {
                        empty = false;
                    } else {
                        self.out.truncate(start);
                    }
                }
                self.out.push('}');
            }
        }
        Ok(true)
    }

    /// Writes a map key as a JSON string: a string, or an integer in decimal (JavaScript turns
    /// every key into a string).
    fn key(&mut self) -> Result<(), DecodeError> {
        match self.reader.item()? {
            Item::Str(s) => push_json_string(&mut self.out, &String::from_utf8_lossy(s)),
            Item::Uint(n) => {
                self.out.push('"');
                push_decimal(&mut self.out, n);
                self.out.push('"');
            }
            Item::Int(n) => {
                self.out.push('"');
                push_int(&mut self.out, n);
                self.out.push('"');
            }
            _ => return bad("a map key that is not a string or an integer"),
        }
        Ok(())
    }

    fn attachment(&mut self, bytes: Bytes) -> Result<(), DecodeError> {
        if self.attachments.len() >= self.max_attachments {
            return Err(DecodeError::TooManyAttachments {
                max: self.max_attachments,
            });
        }
        self.out.push_str("{\"_placeholder\":true,\"num\":");
        push_decimal(&mut self.out, self.attachments.len() as u64);
        self.out.push('}');
        self.attachments.push(bytes);
        Ok(())
    }
}

fn push_int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_decimal(out, n.unsigned_abs());
}

/// Appends what `Date.prototype.toJSON` gives for a date `ms` milliseconds from the epoch:
/// `"2023-11-14T22:13:20.123Z"` (years outside 0..=9999 as `+012345` or `-000001`), or `null`
/// for an invalid date.
fn push_date(out: &mut String, ms: f64) {
    if !ms.is_finite() || ms.abs() > MAX_DATE_MS {
        out.push_str("null");
        return;
    }
    // TimeClip: toward zero; the range check above keeps it within i64.
    let ms = ms.trunc() as i64;
    const DAY: i64 = 86_400_000;
    let (year, month, day) = civil_from_days(ms.div_euclid(DAY));
    let time = ms.rem_euclid(DAY);
    out.push('"');
    let _ = match year {
        0..=9999 => write!(out, "{year:04}"),
        _ if year < 0 => write!(out, "-{:06}", -year),
        _ => write!(out, "+{year:06}"),
    };
    let _ = write!(
        out,
        "-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z\"",
        time / 3_600_000,
        time / 60_000 % 60,
        time / 1000 % 60,
        time % 1000
    );
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A JSON value to write as MessagePack: a tree, since MessagePack writes each container's
/// length before its members. Map members keep their order.
#[derive(Debug)]
enum Node {
    Nil,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Float(f64),
    Str(String),
    /// The attachment a placeholder points at.
    Bin(usize),
    Array(Vec<Node>),
    Map(Vec<(String, Node)>),
}

fn write<T, E>(result: Result<T, E>) -> Result<T, DecodeError> {
    // Writing to a `Vec` cannot fail; a length over 4 GiB is refused before.
    result.or(bad("a value MessagePack cannot hold"))
}

/// A string, refused over MessagePack's 4 GiB limit (rmp would truncate its length).
fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), DecodeError> {
    u32::try_from(s.len()).or(bad("a string over 4 GiB"))?;
    write(rmp::encode::write_str(out, s))
}

fn length(n: usize) -> Result<u32, DecodeError> {
    u32::try_from(n).or(bad("a value over 4 GiB"))
}

impl Node {
    fn write(&self, out: &mut Vec<u8>, attachments: &[Bytes]) -> Result<(), DecodeError> {
        match self {
            Node::Nil => write(rmp::encode::write_nil(out)),
            Node::Bool(b) => write(rmp::encode::write_bool(out, *b)),
            Node::Uint(n) => write(rmp::encode::write_uint(out, *n)).map(drop),
            Node::Int(n) => write(rmp::encode::write_sint(out, *n)).map(drop),
            Node::Float(f) => write(rmp::encode::write_f64(out, *f)),
            Node::Str(s) => write_str(out, s),
            Node::Bin(i) => {
                let bytes = attachments
                    .get(*i)
                    .ok_or(DecodeError::MessagePack("a placeholder without attachment"))?;
                write(rmp::encode::write_bin_len(out, length(bytes.len())?))?;
                out.extend_from_slice(bytes);
                Ok(())
            }
            Node::Array(items) => {
                write(rmp::encode::write_array_len(out, length(items.len())?))?;
                items
                    .iter()
                    .try_for_each(|item| item.write(out, attachments))
            }
            Node::Map(members) => {
                write(rmp::encode::write_map_len(out, length(members.len())?))?;
                members.iter().try_for_each(|(key, value)| {
                    write_str(out, key)?;
                    value.write(out, attachments)
                })
            }
        }
    }
}

/// Reads a JSON value into a [`Node`]; with `attachments` > 0, a placeholder
/// `{"_placeholder":true,"num":n}` with `n < attachments` becomes [`Node::Bin`], as
/// socket.io-parser rebuilds a binary packet.
#[derive(Clone, Copy)]
struct NodeSeed {
    attachments: usize,
}

impl<'de> DeserializeSeed<'de> for NodeSeed {
    type Value = Node;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Nil)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Node, E> {
        Ok(Node::Bool(b))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Node, E> {
        Ok(Node::Uint(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Node, E> {
        Ok(Node::Int(n))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Node, E> {
        Ok(Node::Float(f))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Node, E> {
        Ok(Node::Str(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Node, E> {
        Ok(Node::Str(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let value = map.next_value_seed(self)?;
            members.push((key.into_owned(), value));
        }
        if self.attachments > 0 {
            if let Some(i) = placeholder(&members).filter(|&i| i < self.attachments) {
                return Ok(Node::Bin(i));
            }
        }
        Ok(Node::Map(members))
    }
}

/// The attachment index of a placeholder object.
fn placeholder(members: &[(String, Node)]) -> Option<usize> {
    let member = |name: &str| members.iter().find(|(key, _)| key == name).map(|(_, v)| v);
    match (member("_placeholder")?, member("num")?) {
        (Node::Bool(true), Node::Uint(n)) => usize::try_from(*n).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Bytes {
        let digits: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        Bytes::from(digits)
    }

    fn decoded(frame: &str) -> Result<(String, Vec<Bytes>), DecodeError> {
        decode_msgpack(&hex(frame), &Limits::default())
    }

    // The frames below are what socket.io-msgpack-parser 3.0.2 (notepack.io 2.2.0) encodes for
    // the packets in the comments, built as socket.io-client 4.8 and socket.io 4.8 build them.

    #[test]
    fn client_packets_become_json_packets() {
        // {type: 2, data: ["hello", {a: 1, b: [true, null]}, Buffer<01 02 03>],
        //  options: {compress: true}, id: 7, nsp: "/chat"}
        let (text, attachments) = decoded("85a47479706502a46461746193a568656c6c6f82a16101a16292c3c0c403010203a76f7074696f6e7381a8636f6d7072657373c3a2696407a36e7370a52f63686174").unwrap();
        assert_eq!(
            text,
            r#"51-/chat,7["hello",{"a":1,"b":[true,null]},{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(attachments, [Bytes::from_static(&[1, 2, 3])]);
        // {type: 0, nsp: "/", data: {token: "abc"}}
        let (text, attachments) =
            decoded("83a47479706500a36e7370a12fa46461746181a5746f6b656ea3616263").unwrap();
        assert_eq!(text, r#"0{"token":"abc"}"#);
        assert!(attachments.is_empty());
        // {type: 3, nsp: "/", id: 5, data: ["ok", 1.5, -3]}
        let (text, _) =
            decoded("84a47479706503a36e7370a12fa2696405a46461746193a26f6bcb3ff8000000000000fd")
                .unwrap();
        assert_eq!(text, r#"35["ok",1.5,-3]"#);
    }

    #[test]
    fn javascript_values_become_what_json_stringify_writes() {
        // {type: 2, nsp: "/", data: ["u", undefined, {k: undefined, v: 1}]}
        let (text, _) =
            decoded("83a47479706502a36e7370a12fa46461746193a175d4000082a16bd40000a17601").unwrap();
        assert_eq!(text, r#"2["u",null,{"v":1}]"#);
        // {type: 2, nsp: "/", data: ["d", new Date(1700000000123)]}
        let (text, _) =
            decoded("83a47479706502a36e7370a12fa46461746192a164d7000000018bcfe5687b").unwrap();
        assert_eq!(text, r#"2["d","2023-11-14T22:13:20.123Z"]"#);
        // {type: 2, nsp: "/", data: ["ab", new Uint8Array([9, 8]).buffer]}
        let (text, attachments) =
            decoded("83a47479706502a36e7370a12fa46461746192a26162c702000908").unwrap();
        assert_eq!(text, r#"51-["ab",{"_placeholder":true,"num":0}]"#);
        assert_eq!(attachments, [Bytes::from_static(&[9, 8])]);
    }

    #[test]
    fn dates_are_iso_strings() {
        let date = |ms: f64| {
            let mut out = String::new();
            push_date(&mut out, ms);
            out
        };
        assert_eq!(date(0.0), r#""1970-01-01T00:00:00.000Z""#);
        assert_eq!(date(-1.0), r#""1969-12-31T23:59:59.999Z""#);
        assert_eq!(date(951_782_400_000.0), r#""2000-02-29T00:00:00.000Z""#);
        assert_eq!(
            date(253_402_300_800_000.0),
            r#""+010000-01-01T00:00:00.000Z""#
        );
        assert_eq!(
            date(-62_198_755_200_000.0),
            r#""-000001-01-01T00:00:00.000Z""#
        );
        assert_eq!(date(MAX_DATE_MS), r#""+275760-09-13T00:00:00.000Z""#);
        assert_eq!(date(MAX_DATE_MS + 1.0), "null");
        assert_eq!(date(f64::NAN), "null");
    }

    #[test]
    fn server_packets_are_what_socket_io_writes() {
        // {type: 2, data: ["news", {n: 1}, Buffer<ff>], nsp: "/"}
        let frame = encode_msgpack(
            r#"51-["news",{"n":1},{"_placeholder":true,"num":0}]"#,
            &[Bytes::from_static(&[0xff])],
        )
        .unwrap();
        assert_eq!(
            Bytes::from(frame),
            hex("83a47479706502a46461746193a46e65777381a16e01c401ffa36e7370a12f")
        );
        // {type: 0, data: {sid: "abc"}, nsp: "/admin"}
        let frame = encode_msgpack(r#"0/admin,{"sid":"abc"}"#, &[]).unwrap();
        assert_eq!(
            Bytes::from(frame),
            hex("83a47479706500a46461746181a3736964a3616263a36e7370a62f61646d696e")
        );
        // {type: 1, nsp: "/"}
        let frame = encode_msgpack("1", &[]).unwrap();
        assert_eq!(Bytes::from(frame), hex("82a47479706501a36e7370a12f"));
    }

    #[test]
    fn round_trips_keep_order_ids_and_binary() {
        for (text, attachments) in [
            (r#"3/a,12["x",{"z":1,"a":[2.5,-7,null,false,"é\n"]}]"#, 0),
            (
                r#"62-/a,3[{"_placeholder":true,"num":1},{"k":{"_placeholder":true,"num":0}}]"#,
                2,
            ),
            (r#"4{"message":"no","data":{"code":3}}"#, 0),
            (r#"4"no""#, 0),
            // A placeholder-looking object of a packet without attachments is data.
            (r#"2["x",{"_placeholder":true,"num":0}]"#, 0),
        ] {
            let attachments: Vec<Bytes> = (0..attachments)
                .map(|i| Bytes::from(vec![i as u8; 3]))
                .collect();
            let frame = Bytes::from(encode_msgpack(text, &attachments).unwrap());
            let limits = Limits::default();
            let (back, back_attachments) = decode_msgpack(&frame, &limits).unwrap();
            let renumbered = text.replace(
                r#"{"_placeholder":true,"num":1},{"k":{"_placeholder":true,"num":0}}"#,
                r#"{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}}"#,
            );
            assert_eq!(back, renumbered, "{text}");
            if attachments.len() == 2 {
                assert_eq!(
                    back_attachments,
                    [attachments[1].clone(), attachments[0].clone()]
                );
            }
        }
    }

    #[test]
    fn malformed_messages_are_refused() {
        let refused = |frame: &[u8]| {
            decode_msgpack(&Bytes::copy_from_slice(frame), &Limits::default()).is_err()
        };
        let good = hex("83a47479706502a36e7370a12fa46461746192a26162c702000908");
        // Every truncation of a good packet.
        for end in 0..good.len() {
            assert!(refused(&good[..end]), "truncated at {end}");
        }
        // Trailing bytes.
        assert!(refused(&[&good[..], &[0xc0]].concat()));
        // Not a map; a reserved marker; no type; a type out of range; a negative id.
        assert!(refused(&[0x92, 0x01, 0x02]));
        assert!(refused(&[0xc1]));
        assert!(refused(&hex("81a36e7370a12f")));
        assert!(refused(&hex("82a47479706507a36e7370a12f")));
        assert!(refused(&hex("83a47479706502a36e7370a12fa26964ff")));
        // Huge declared lengths: an array, a map, a string, a binary value, an extension.
        for frame in [
            "83a47479706502a36e7370a12fa464617461ddffffffff",
            "83a47479706502a36e7370a12fa464617461dfffffffff",
            "83a47479706502a36e7370a12fa464617461dbffffffff61",
            "83a47479706502a36e7370a12fa464617461c6ffffffff00",
            "83a47479706502a36e7370a12fa464617461c9ffffffff0000",
            "dfffffffff",
        ] {
            assert!(refused(&hex(frame)), "{frame}");
        }
        // 100,000 nested arrays (and maps), in data or in an ignored member: refused by the
        // depth limit, without exhausting the stack.
        for nest in [0x91u8, 0x81] {
            let deep = [
                vec![0x83],
                b"\xa4type\x02\xa3nsp\xa1/\xa4data".to_vec(),
                vec![nest; 100_000],
            ]
            .concat();
            assert!(matches!(
                decode_msgpack(&Bytes::from(deep), &Limits::default()),
                Err(DecodeError::TooDeep | DecodeError::MessagePack(_))
            ));
            let deep = [
                vec![0x83],
                b"\xa4type\x02\xa3nsp\xa1/\xa1x".to_vec(),
                vec![nest; 100_000],
            ]
            .concat();
            assert!(refused(&deep));
        }
        // Binary data in a CONNECT, and more binary values than the limit.
        assert!(refused(&hex(
            "83a47479706500a36e7370a12fa46461746181a162c40101"
        )));
        let many = [
            hex("83a47479706502a36e7370a12fa4646174619b").to_vec(),
            [0xc4, 0x00].repeat(11),
        ]
        .concat();
        assert!(matches!(
            decode_msgpack(&Bytes::from(many), &Limits::default()),
            Err(DecodeError::TooManyAttachments { max: 10 })
        ));
        // A namespace the JSON text cannot carry.
        assert!(refused(&hex(
            "83a47479706502a36e7370a3612c62a46461746191a178"
        )));
    }

    #[test]
    fn nesting_up_to_the_limit_passes() {
        let nested = |depth: usize| {
            [
                vec![0x83],
                b"\xa4type\x02\xa3nsp\xa1/\xa4data".to_vec(),
                vec![0x91; depth],
                vec![0xc0],
            ]
            .concat()
        };
        assert!(decode_msgpack(&Bytes::from(nested(MAX_NESTING)), &Limits::default()).is_ok());
        assert!(matches!(
            decode_msgpack(&Bytes::from(nested(MAX_NESTING + 1)), &Limits::default()),
            Err(DecodeError::TooDeep)
        ));
    }
}
