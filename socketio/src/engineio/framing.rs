//! WebSocket framing (RFC 6455 §5) on the upgraded connection: the server's frames written
//! straight to the socket, the client's frames read and validated.
//!
//! A server frame is never masked, so its header depends on the opcode and the payload length
//! alone: it is made on the stack for each write and sent, with the payload that every
//! recipient of a broadcast shares, in one vectored write; a batch of at most 1 KiB is instead
//! copied into a buffer on the stack and sent with one plain write, which the kernel handles
//! for less. A connection keeps no write buffer.
//!
//! On the way in, a read goes into a buffer on the stack; only the bytes of a frame that has
//! not fully arrived (or of frames after the one returned) are kept, in a buffer released as
//! soon as it empties. An idle connection holds no read buffer.

use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::extract::ws::Utf8Bytes;
use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::inline_deque::InlineDeque;
use super::Frame;

const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xa;

/// Bytes read at once into the stack when nothing is buffered: a whole small message (an
/// event, an ack) arrives in one read and is parsed from there, never copied into the heap but
/// for its payload.
const STACK_READ: usize = 4096;

/// The largest buffer reserved at once for a frame still arriving: the buffer grows with the
/// bytes that come, never with what a header announces.
const MAX_RESERVE: usize = 64 * 1024;

/// Frames written by one vectored write (two slices each: header and payload).
const WRITE_BATCH: usize = 64;

/// Frames up to which a write sets up its headers and slices in arrays this small.
const SMALL_BATCH: usize = 8;

/// A batch of at most this many bytes (headers included) is copied into one buffer on the
/// stack and sent with a plain write: for small frames the kernel's vectored write costs more
/// than the copy.
const COPY_LIMIT: usize = 1024;

/// A batch of at most this many bytes (an ack, a short event) is copied into a smaller stack
/// buffer: zeroing the large one would cost more than the copy itself.
const SMALL_COPY: usize = 128;

/// A message from the client.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    Text(Utf8Bytes),
    Binary(Bytes),
    /// A ping, to answer with a pong carrying the same payload.
    Ping(Bytes),
    /// A close frame; the payload of the close frame that answers it (RFC 6455 §5.5.1): the
    /// client's own code and reason, 1002 for a code that may not be sent, nothing for nothing.
    Close(Bytes),
}

/// Why reading stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The connection ended or failed without a close frame: nothing can be answered.
    Gone,
    /// The client broke the protocol or a limit: the close code and reason that answer it
    /// (RFC 6455 §7.4.1).
    Violation(u16, &'static str),
}

const PROTOCOL: ReadError = ReadError::Violation(1002, "protocol error");
const TOO_BIG: ReadError = ReadError::Violation(1009, "message too big");
const NOT_UTF8: ReadError = ReadError::Violation(1007, "invalid utf-8");

/// A fragmented message being assembled.
#[derive(Debug)]
struct Partial {
    text: bool,
    data: BytesMut,
}

/// Reads the client's frames: validates them (masked, no reserved bits or opcodes, control
/// frames unfragmented and at most 125 bytes, fragments in order, text in UTF-8, close codes
/// that may be sent), unmasks them, reassembles fragmented messages, and bounds a message to
/// `max_message` bytes from its headers alone.
#[derive(Debug)]
pub(crate) struct FrameReader {
    /// Bytes read and not parsed yet; empty, with no allocation, between messages.
    buf: BytesMut,
    partial: Option<Partial>,
    max_message: usize,
    /// Bytes reserved per read while a frame spans several reads.
    read_size: usize,
}

impl FrameReader {
    pub(crate) fn new(max_message: usize, read_size: usize) -> Self {
        FrameReader {
            buf: BytesMut::new(),
            partial: None,
            max_message,
            read_size: read_size.max(1),
        }
    }

    /// Starts with `data`: bytes that arrived on the connection before it became this reader's
    /// (read by the HTTP server past the handshake).
    pub(crate) fn prefill(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next message (pongs are skipped). Reads only as much as it needs; whatever arrived
    /// after the message stays for the next call.
    pub(crate) fn poll_next<IO: AsyncRead + Unpin>(
        &mut self,
        io: &mut IO,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Incoming, ReadError>> {
        loop {
            if !self.buf.is_empty() {
                let (message, used) = parse(&mut self.partial, self.max_message, &self.buf)?;
                self.buf.advance(used);
                if self.buf.is_empty() {
                    // Release the buffer: the idle connection keeps none.
                    self.buf = BytesMut::new();
                }
                if let Some(message) = message {
                    return Poll::Ready(Ok(message));
                }
                // The frame at the front is incomplete: read the rest into the buffer.
                if !self.buf.is_empty() {
                    let want = missing(&self.buf).clamp(self.read_size, MAX_RESERVE);
                    self.buf.reserve(want);
                    let read = ready!(tokio_util::io::poll_read_buf(
                        Pin::new(&mut *io),
                        cx,
                        &mut self.buf
                    ));
                    if read.map_err(|_| ReadError::Gone)? == 0 {
                        return Poll::Ready(Err(ReadError::Gone));
                    }
                    continue;
                }
            }
            let mut stack = [MaybeUninit::<u8>::uninit(); STACK_READ];
            let mut read = ReadBuf::uninit(&mut stack);
            ready!(Pin::new(&mut *io).poll_read(cx, &mut read)).map_err(|_| ReadError::Gone)?;
            let data = read.filled();
            if data.is_empty() {
                return Poll::Ready(Err(ReadError::Gone));
            }
            let (message, used) = parse(&mut self.partial, self.max_message, data)?;
            self.buf.extend_from_slice(&data[used..]);
            if let Some(message) = message {
                return Poll::Ready(Ok(message));
            }
        }
    }
}

/// A frame header.
struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    /// Header bytes (mask included).
    len: usize,
    payload: usize,
}

/// Parses the header at the start of `data`, validating what the header alone shows;
/// `None` while it is incomplete. `max` bounds the payload.
fn header(data: &[u8], max: usize) -> Result<Option<Header>, ReadError> {
    let [b0, b1, ..] = *data else {
        return Ok(None);
    };
    let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0f);
    // No extension is negotiated, so every reserved bit must be 0.
    if b0 & 0x70 != 0 {
        return Err(PROTOCOL);
    }
    let control = match opcode {
        CONTINUATION | TEXT | BINARY => false,
        CLOSE | PING | PONG => true,
        _ => return Err(PROTOCOL),
    };
    // Every client frame is masked (§5.1).
    if b1 & 0x80 == 0 {
        return Err(PROTOCOL);
    }
    let (payload, at) = match b1 & 0x7f {
        126 => match data.get(2..4) {
            Some(&[a, b]) => (u64::from(u16::from_be_bytes([a, b])), 4),
            _ => return Ok(None),
        },
        127 => match data.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            // The most significant bit must be 0 (§5.2).
            Some(len) if len[0] & 0x80 != 0 => return Err(PROTOCOL),
            Some(len) => (u64::from_be_bytes(len), 10),
            None => return Ok(None),
        },
        len => (u64::from(len), 2),
    };
    if control && (!fin || payload > 125) {
        return Err(PROTOCOL);
    }
    let payload = match usize::try_from(payload) {
        Ok(payload) if payload <= max => payload,
        _ => return Err(TOO_BIG),
    };
    let Some(&[m0, m1, m2, m3]) = data.get(at..at + 4) else {
        return Ok(None);
    };
    Ok(Some(Header {
        fin,
        opcode,
        mask: [m0, m1, m2, m3],
        len: at + 4,
        payload,
    }))
}

/// Bytes still missing from the frame at the start of `data` (at least 1).
fn missing(data: &[u8]) -> usize {
    match header(data, usize::MAX) {
        Ok(Some(h)) => (h.len + h.payload).saturating_sub(data.len()).max(1),
        _ => 1,
    }
}

/// Parses frames from `data` until one completes a message or `data` ends in an incomplete
/// frame; returns that message, if any, and the bytes used.
fn parse(
    partial: &mut Option<Partial>,
    max: usize,
    data: &[u8],
) -> Result<(Option<Incoming>, usize), ReadError> {
    let mut used = 0;
    loop {
        let rest = &data[used..];
        // A fragment may bring the message only up to `max` in all.
        let room = max - partial.as_ref().map_or(0, |p| p.data.len());
        let Some(h) = header(rest, max)? else {
            return Ok((None, used));
        };
        if h.payload > room && h.opcode == CONTINUATION {
            return Err(TOO_BIG);
        }
        let Some(payload) = rest.get(h.len..h.len + h.payload) else {
            return Ok((None, used));
        };
        used += h.len + h.payload;
        let message = match h.opcode {
            PING => Some(Incoming::Ping(unmasked(payload, h.mask).freeze())),
            PONG => None,
            CLOSE => Some(Incoming::Close(close_reply(
                unmasked(payload, h.mask).freeze(),
            )?)),
            CONTINUATION => {
                let Some(p) = partial.as_mut() else {
                    return Err(PROTOCOL);
                };
                let start = p.data.len();
                p.data.extend_from_slice(payload);
                unmask(&mut p.data[start..], h.mask);
                if h.fin {
                    partial
                        .take()
                        .map(|p| message(p.text, p.data.freeze()))
                        .transpose()?
                } else {
                    None
                }
            }
            opcode => {
                if partial.is_some() {
                    return Err(PROTOCOL);
                }
                if h.fin {
                    Some(message(opcode == TEXT, message_payload(payload, h.mask))?)
                } else {
                    *partial = Some(Partial {
                        text: opcode == TEXT,
                        data: unmasked(payload, h.mask),
                    });
                    None
                }
            }
        };
        if message.is_some() {
            return Ok((message, used));
        }
    }
}

fn message(text: bool, data: Bytes) -> Result<Incoming, ReadError> {
    if text {
        Utf8Bytes::try_from(data)
            .map(Incoming::Text)
            .map_err(|_| NOT_UTF8)
    } else {
        Ok(Incoming::Binary(data))
    }
}

/// The answer to a close frame with this payload, or the violation it is.
fn close_reply(payload: Bytes) -> Result<Bytes, ReadError> {
    let Some(&[a, b]) = payload.get(..2) else {
        return if payload.is_empty() {
            Ok(payload)
        } else {
            Err(PROTOCOL)
        };
    };
    if std::str::from_utf8(&payload[2..]).is_err() {
        return Err(NOT_UTF8);
    }
    // The codes an endpoint may send (§7.4.1, §7.4.2 and the IANA registry): 1004-1006 and
    // 1015 are reserved, 1016-2999 unassigned, and nothing outside 1000-4999 exists.
    match u16::from_be_bytes([a, b]) {
        1000..=1003 | 1007..=1014 | 3000..=4999 => Ok(payload),
        _ => Ok(close_payload(1002, "protocol error")),
    }
}

/// A close frame's payload: the code, then the reason.
pub(crate) fn close_payload(code: u16, reason: &str) -> Bytes {
    let mut payload = Vec::with_capacity(2 + reason.len());
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(reason.as_bytes());
    payload.into()
}

/// The payload of a message in one frame, unmasked. A short one is copied into a block that
/// also holds its reference count: one allocation, where a `Vec`'s bytes would take a second
/// one when first shared (the Socket.IO arguments are slices of the payload).
fn message_payload(payload: &[u8], mask: [u8; 4]) -> Bytes {
    match payload.len() {
        0..=64 => inline_payload::<64>(payload, mask),
        65..=256 => inline_payload::<256>(payload, mask),
        _ => unmasked(payload, mask).freeze(),
    }
}

/// [`message_payload`] for a payload of at most `N` bytes.
fn inline_payload<const N: usize>(payload: &[u8], mask: [u8; 4]) -> Bytes {
    let mut bytes = [0u8; N];
    let data = &mut bytes[..payload.len()];
    data.copy_from_slice(payload);
    unmask(data, mask);
    Bytes::from_owner(InlinePayload {
        len: payload.len(),
        bytes,
    })
}

/// The first `len` of `bytes` (at most `N`) are a payload.
struct InlinePayload<const N: usize> {
    len: usize,
    bytes: [u8; N],
}

impl<const N: usize> AsRef<[u8]> for InlinePayload<N> {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

fn unmasked(payload: &[u8], mask: [u8; 4]) -> BytesMut {
    let mut data = BytesMut::from(payload);
    unmask(&mut data, mask);
    data
}

/// XORs `data`, the first bytes of a payload, with the mask.
fn unmask(data: &mut [u8], mask: [u8; 4]) {
    let mut chunks = data.chunks_exact_mut(4);
    for chunk in &mut chunks {
        for (byte, m) in chunk.iter_mut().zip(mask) {
            *byte ^= m;
        }
    }
    for (byte, m) in chunks.into_remainder().iter_mut().zip(mask) {
        *byte ^= m;
    }
}

/// Writes a server frame's header (FIN set, no mask) into `out`; returns its length.
fn write_header(out: &mut [u8; 10], opcode: u8, len: usize) -> usize {
    out[0] = 0x80 | opcode;
    match len {
        0..=125 => {
            out[1] = len as u8;
            2
        }
        126..=0xffff => {
            out[1] = 126;
            out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        }
        _ => {
            out[1] = 127;
            out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        }
    }
}

/// The frames waiting to be written, in order: data frames taken from the session's queue and
/// the control frames the transport adds (a pong, the close frame).
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    frames: InlineDeque<(u8, Bytes)>,
    /// Bytes of the first frame (header included) already written.
    written: usize,
    /// A close frame was queued: nothing goes out after it.
    closing: bool,
}

impl Outbox {
    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Queues an Engine.IO packet.
    pub(crate) fn push(&mut self, frame: Frame) {
        match frame {
            Frame::Text(text) => self.push_frame(TEXT, text.into()),
            Frame::Binary(data) => self.push_frame(BINARY, data),
        }
    }

    /// Queues the pong that answers a ping. A pong not yet started is replaced rather than
    /// followed by another (§5.5.3 allows answering only the latest ping): a client that
    /// floods pings while it reads nothing gets at most two pongs queued.
    pub(crate) fn pong(&mut self, payload: Bytes) {
        let started = usize::from(self.written > 0);
        let queued = (self.frames.iter_mut().skip(started)).find(|(opcode, _)| *opcode == PONG);
        match queued {
            Some(pong) => pong.1 = payload,
            None => self.push_frame(PONG, payload),
        }
    }

    /// Queues a close frame with this payload (see [`close_payload`]), the last frame this
    /// connection sends; `false` if one was queued already.
    pub(crate) fn close(&mut self, payload: Bytes) -> bool {
        if self.closing {
            return false;
        }
        self.push_frame(CLOSE, payload);
        self.closing = true;
        true
    }

    fn push_frame(&mut self, opcode: u8, payload: Bytes) {
        if !self.closing {
            self.frames.push_back((opcode, payload));
        }
    }

    /// Writes every queued frame, as few writes as the socket takes, then flushes.
    pub(crate) fn poll_write<IO: AsyncWrite + Unpin>(
        &mut self,
        io: &mut IO,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        while !self.frames.is_empty() {
            // The usual batch is a few frames (an ack, a broadcast or two): its headers and
            // slices fit small arrays, where room for 64 is a 2 KiB `memset` per write.
            if self.frames.len() <= SMALL_BATCH {
                ready!(self.poll_write_batch::<SMALL_BATCH, { 2 * SMALL_BATCH }, IO>(io, cx))?;
            } else {
                ready!(self.poll_write_batch::<WRITE_BATCH, { 2 * WRITE_BATCH }, IO>(io, cx))?;
            }
        }
        Pin::new(io).poll_flush(cx)
    }

    /// One vectored write of up to `N` frames (`S` = 2 `N` slices: header and payload each).
    fn poll_write_batch<const N: usize, const S: usize, IO: AsyncWrite + Unpin>(
        &mut self,
        io: &mut IO,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let mut headers = [[0u8; 10]; N];
        let mut lengths = [0usize; N];
        for ((header, length), (opcode, payload)) in
            headers.iter_mut().zip(&mut lengths).zip(self.frames.iter())
        {
            *length = write_header(header, *opcode, payload.len());
        }
        let mut slices = [IoSlice::new(&[]); S];
        let mut skip = self.written;
        let mut used = 0;
        for (i, (_, payload)) in self.frames.iter().take(N).enumerate() {
            for part in [&headers[i][..lengths[i]], &payload[..]] {
                let skipped = skip.min(part.len());
                let part = &part[skipped..];
                skip -= skipped;
                if !part.is_empty() {
                    slices[used] = IoSlice::new(part);
                    used += 1;
                }
            }
        }
        let slices = &slices[..used];
        let total: usize = slices.iter().map(|slice| slice.len()).sum();
        let n = if total <= SMALL_COPY {
            ready!(poll_write_copied::<SMALL_COPY, _>(io, cx, slices, total))?
        } else if total <= COPY_LIMIT {
            ready!(poll_write_copied::<COPY_LIMIT, _>(io, cx, slices, total))?
        } else {
            ready!(Pin::new(&mut *io).poll_write_vectored(cx, slices))?
        };
        if n == 0 {
            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
        }
        self.advance(n, &lengths);
        Poll::Ready(Ok(()))
    }

    /// Drops the `n` bytes just written from the front of the queue.
    fn advance(&mut self, mut n: usize, headers: &[usize]) {
        for &header in headers {
            let Some((_, payload)) = self.frames.front() else {
                return;
            };
            let left = header + payload.len() - self.written;
            if n < left {
                self.written += n;
                return;
            }
            n -= left;
            self.written = 0;
            self.frames.pop_front();
        }
    }
}

/// One plain write of `slices` (`total` bytes, at most `L`) from a copy on the stack.
fn poll_write_copied<const L: usize, IO: AsyncWrite + Unpin>(
    io: &mut IO,
    cx: &mut Context<'_>,
    slices: &[IoSlice<'_>],
    total: usize,
) -> Poll<io::Result<usize>> {
    let mut copy = [0u8; L];
    let mut at = 0;
    for slice in slices {
        copy[at..at + slice.len()].copy_from_slice(slice);
        at += slice.len();
    }
    Pin::new(io).poll_write(cx, &copy[..total])
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// A client frame: FIN and opcode, masked payload.
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::from(fin) << 7 | opcode];
        match payload.len() {
            n @ 0..=125 => out.push(0x80 | n as u8),
            n @ 126..=0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&MASK);
        let start = out.len();
        out.extend_from_slice(payload);
        unmask(&mut out[start..], MASK);
        out
    }

    fn parse_all(data: &[u8], max: usize) -> Result<Vec<Incoming>, ReadError> {
        let mut partial = None;
        let mut messages = Vec::new();
        let mut at = 0;
        loop {
            match parse(&mut partial, max, &data[at..])? {
                (Some(m), used) => {
                    messages.push(m);
                    at += used;
                }
                (None, used) => {
                    assert_eq!(at + used, data.len(), "trailing bytes");
                    return Ok(messages);
                }
            }
        }
    }

    #[test]
    fn reads_messages_fragments_and_control_frames() {
        let long = vec![b'x'; 70_000];
        let mut data = frame(true, TEXT, b"4hello");
        data.extend(frame(false, TEXT, b"4he"));
        data.extend(frame(true, PING, b"mid"));
        data.extend(frame(true, PONG, b""));
        data.extend(frame(false, CONTINUATION, b"l"));
        data.extend(frame(true, CONTINUATION, b"lo"));
        data.extend(frame(true, BINARY, &long));
        data.extend(frame(true, CLOSE, &close_payload(1000, "bye")));
        assert_eq!(
            parse_all(&data, 100_000),
            Ok(vec![
                Incoming::Text("4hello".into()),
                Incoming::Ping(Bytes::from_static(b"mid")),
                Incoming::Text("4hello".into()),
                Incoming::Binary(long.into()),
                Incoming::Close(close_payload(1000, "bye")),
            ])
        );
    }

    #[test]
    fn payloads_of_every_size_class_survive_slicing() {
        // Around the inline sizes (64, 256) and past them, text and binary.
        for len in [0, 1, 63, 64, 65, 255, 256, 257, 1_000] {
            let payload: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut data = frame(true, TEXT, &payload);
            data.extend(frame(true, BINARY, &payload));
            let messages = parse_all(&data, 100_000).unwrap();
            let [Incoming::Text(text), Incoming::Binary(binary)] = &messages[..] else {
                panic!("{messages:?}");
            };
            assert_eq!(text.as_bytes(), &payload[..], "text of {len} bytes");
            assert_eq!(&binary[..], &payload[..], "binary of {len} bytes");
            // A slice outlives the message it came from.
            let tail = binary.slice(len / 2..);
            drop(messages);
            assert_eq!(&tail[..], &payload[len / 2..]);
        }
    }

    #[test]
    fn waits_for_incomplete_frames() {
        let data = frame(true, TEXT, &[b'a'; 300]);
        for cut in 0..data.len() {
            assert_eq!(parse(&mut None, 1000, &data[..cut]).unwrap(), (None, 0));
        }
        assert_eq!(missing(&data[..1]), 1);
        assert_eq!(missing(&data[..10]), data.len() - 10);
    }

    #[test]
    fn rejects_protocol_violations() {
        let mut unmasked = frame(true, TEXT, b"4hi");
        unmasked[1] &= 0x7f;
        let mut rsv = frame(true, TEXT, b"4hi");
        rsv[0] |= 0x40;
        let mut huge = vec![0x82, 0xff];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        let mut too_long = vec![0x82, 0xff];
        too_long.extend_from_slice(&(1u64 << 40).to_be_bytes());
        let mut interleaved = frame(false, TEXT, b"4a");
        interleaved.extend(frame(true, TEXT, b"4b"));
        let mut over = frame(false, TEXT, &[b'a'; 60]);
        over.extend(frame(true, CONTINUATION, &[b'a'; 41]));
        let mut bad_later = frame(false, TEXT, b"4ok");
        bad_later.extend(frame(true, CONTINUATION, &[0xed, 0xa0, 0x80]));
        let cases = [
            (unmasked, PROTOCOL),
            (rsv, PROTOCOL),
            (frame(true, 0x3, b""), PROTOCOL),
            (frame(true, 0xb, b""), PROTOCOL),
            (frame(true, CONTINUATION, b"x"), PROTOCOL),
            (frame(false, PING, b""), PROTOCOL),
            (frame(true, PING, &[0; 126]), PROTOCOL),
            (frame(true, CLOSE, &[3]), PROTOCOL),
            (huge, PROTOCOL),
            (too_long, TOO_BIG),
            (frame(true, BINARY, &[0; 101]), TOO_BIG),
            (over, TOO_BIG),
            (interleaved, PROTOCOL),
            (frame(true, TEXT, &[0xc3, 0x28]), NOT_UTF8),
            (bad_later, NOT_UTF8),
            (frame(true, CLOSE, &[3, 0xe8, 0xff]), NOT_UTF8),
        ];
        for (data, expected) in cases {
            assert_eq!(parse_all(&data, 100), Err(expected), "{data:02x?}");
        }
    }

    #[test]
    fn answers_close_frames() {
        for (payload, reply) in [
            (Bytes::new(), Bytes::new()),
            (close_payload(1001, "away"), close_payload(1001, "away")),
            (close_payload(4000, ""), close_payload(4000, "")),
            (
                close_payload(1005, ""),
                close_payload(1002, "protocol error"),
            ),
            (
                close_payload(999, ""),
                close_payload(1002, "protocol error"),
            ),
            (
                close_payload(5000, ""),
                close_payload(1002, "protocol error"),
            ),
        ] {
            assert_eq!(close_reply(payload), Ok(reply));
        }
    }

    #[test]
    fn server_headers_use_the_shortest_length() {
        let mut out = [0u8; 10];
        assert_eq!(write_header(&mut out, TEXT, 5), 2);
        assert_eq!(out[..2], [0x81, 5]);
        assert_eq!(write_header(&mut out, BINARY, 126), 4);
        assert_eq!(out[..4], [0x82, 126, 0, 126]);
        assert_eq!(write_header(&mut out, TEXT, 70_000), 10);
        assert_eq!(out[..10], [0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    }

    /// A sink that takes at most `chunk` bytes per write, to split frames anywhere.
    struct Trickle {
        out: Vec<u8>,
        chunk: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.chunk);
            self.out.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn writes_frames_across_partial_writes() {
        for chunk in [1, 3, 7, 1000, 4000] {
            let mut outbox = Outbox::default();
            outbox.push(Frame::Text("4hi".into()));
            outbox.pong(Bytes::from_static(b"a"));
            outbox.pong(Bytes::from_static(b"b"));
            outbox.push(Frame::Binary(vec![7; 300].into()));
            // Past COPY_LIMIT: the batch goes out in vectored writes.
            outbox.push(Frame::Binary(vec![8; 2000].into()));
            assert!(outbox.close(close_payload(1000, "")));
            assert!(!outbox.close(close_payload(1001, "")));
            outbox.push(Frame::Text("4late".into()));
            let mut io = Trickle {
                out: Vec::new(),
                chunk,
            };
            let waker = std::task::Waker::noop();
            let polled = outbox.poll_write(&mut io, &mut Context::from_waker(waker));
            assert!(matches!(polled, Poll::Ready(Ok(()))));
            let mut expected = vec![0x81, 3, b'4', b'h', b'i', 0x8a, 1, b'b', 0x82, 126, 1, 44];
            expected.extend_from_slice(&[7; 300]);
            expected.extend_from_slice(&[0x82, 126, 0x07, 0xd0]);
            expected.extend_from_slice(&[8; 2000]);
            expected.extend_from_slice(&[0x88, 2, 0x03, 0xe8]);
            assert_eq!(io.out, expected, "chunk {chunk}");
            assert!(outbox.is_empty());
        }
    }
}
