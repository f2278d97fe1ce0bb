//! The engine's own HTTP/1.1 path for long-polling requests, ahead of hyper.
//!
//! A long-polling client makes two HTTP requests per round trip (a POST that carries its packet,
//! a GET that brings the answer back). Through hyper, its dispatcher, request body channel and
//! header map were well over half of the user-space CPU of a polling ack. [`serve`] reads the
//! requests of a connection itself while they are ones it knows: a `GET` or `POST` on the
//! engine's path, HTTP/1.1, without `Upgrade`, `Transfer-Encoding` or `Expect`, whose head and
//! whole body (as declared by a single `Content-Length`) were read in one go. At the first
//! request that is anything else (another path, a WebSocket upgrade, a head or body still
//! arriving, anything malformed), the connection goes to hyper for the rest of its life, with
//! the bytes read so far ([`Rewind`]): hyper stays the judge of every unusual request, and this
//! path only has to recognise the usual ones.
//!
//! Of those, the most frequent (a live session's GET or POST, no `Origin` to check) go to the
//! polling transport directly ([`polling::get_answer`], [`polling::post_answer`]): no request
//! or header map is built, and the `200` is written from a fixed head. The others (a handshake,
//! a request with an `Origin`, an unknown sid) get the request hyper would have built, handed to
//! the same [`Engine::handle_from`]. Either way the answer is the engine's, written in one
//! buffer with `content-length` and `date`.
//!
//! The header timeout runs while a connection waits for a request's first bytes; a head that
//! then arrives in pieces is hyper's, under its own header read timeout.

use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::{HeaderMap, Method, Request, Response, Uri};
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::coarse_timer::{CoarseSleep, CoarseTimer};
use super::error::Reply;
use super::headers::RequestHeaders;
use super::polling::{self, PollAnswer};
use super::rewind::Rewind;
use super::{Engine, EngineHandler, EngineSession};

/// The most headers a request on this path may have; one with more goes to hyper.
const MAX_HEADERS: usize = 32;

/// What is read at once: a polling request and its body most often fit.
const READ_SIZE: usize = 8 * 1024;

/// Response bodies up to this size are copied behind the head and written with it; larger ones
/// are written from their own buffer in the same vectored write.
const COPY_BODY_UP_TO: usize = 16 * 1024;

/// What [`serve`] needs of its server.
pub(super) struct PollingHttp<H: EngineHandler> {
    pub(super) engine: Engine<H>,
    /// The engine's path (see `engine::is_engine_path`).
    pub(super) path: Arc<str>,
    /// `EngineConfig::max_header_bytes`: a larger head goes to hyper, which refuses it.
    pub(super) max_head: usize,
    /// How long a client may take to send a request's head (as hyper's header read timeout).
    pub(super) header_timeout: Duration,
    pub(super) timer: CoarseTimer,
}

/// How [`serve`] ended.
pub(super) enum Ended {
    /// The connection is over.
    Closed,
    /// hyper is to serve the rest of the connection, starting with the bytes already read.
    HandOff(Rewind),
}

/// Serves the polling requests of connection `stream` from peer `remote` until it closes,
/// `stopping` changes (graceful shutdown: the request in progress is answered first), or a
/// request needs hyper.
pub(super) async fn serve<H: EngineHandler>(
    server: &PollingHttp<H>,
    mut stream: TcpStream,
    remote: SocketAddr,
    stopping: &mut watch::Receiver<()>,
) -> Ended {
    let mut buf = BytesMut::with_capacity(READ_SIZE);
    let mut out = BytesMut::new();
    let mut timeout = None;
    loop {
        if buf.is_empty() && !read_request(server, &mut stream, &mut buf, &mut timeout).await {
            return Ended::Closed;
        }
        let mut head = match Head::parse(server, &buf) {
            Some(head) if buf.len() - head.len >= head.content_length => head,
            _ => return Ended::HandOff(Rewind::new(buf.freeze(), stream)),
        };
        let mut close = head.close;
        let written = match head.session.take() {
            Some(session) => {
                let Some(answer) = poll(server, &head, &session, &mut stream, &mut buf).await
                else {
                    return Ended::Closed;
                };
                let response = match answer {
                    PollAnswer::Text(body) => Ok(body),
                    PollAnswer::Refused(e) => Err(e.reply()),
                };
                write(&mut stream, &mut out, response, close).await
            }
            None => {
                let Some(request) = head.request(&mut buf) else {
                    return Ended::HandOff(Rewind::new(buf.freeze(), stream));
                };
                let answer = server.engine.handle_from(request, Some(remote));
                let Some(response) = until_answered(answer, server, &mut stream, &mut buf).await
                else {
                    return Ended::Closed;
                };
                close |= wants_close(&response);
                write(&mut stream, &mut out, Err(response), close).await
            }
        };
        if written.is_err() {
            return Ended::Closed;
        }
        if close || stopping.has_changed().unwrap_or(true) {
            let _ = stream.shutdown().await;
            return Ended::Closed;
        }
    }
}

/// Waits for the next request's first bytes, for at most the header timeout. False when the
/// connection is over: closed by the peer, failed, timed out, or the server stopping (which
/// expires the timer: [`CoarseTimer::expire_all`]).
///
/// Reads go through `poll_read`, not `try_read`: tokio takes a read that did not fill the
/// buffer as proof that the socket is drained, which spares a read that would only fail with
/// `EAGAIN` before the next request.
async fn read_request<H: EngineHandler>(
    server: &PollingHttp<H>,
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    timeout: &mut Option<CoarseSleep>,
) -> bool {
    buf.reserve(READ_SIZE);
    // The connection's one sleep, moved to this wait's deadline.
    let timeout = match timeout {
        Some(sleep) => {
            sleep.reset_after(server.header_timeout);
            sleep
        }
        None => timeout.insert(server.timer.sleep_after(server.header_timeout)),
    };
    tokio::select! {
        biased;
        read = stream.read_buf(buf) => matches!(read, Ok(n) if n > 0),
        _ = timeout => false,
    }
}

/// A request head this path handles, at the start of the read buffer, for a session with data
/// `D`.
struct Head<D> {
    /// Its length, blank line included.
    len: usize,
    post: bool,
    /// The live session the engine answers the request on without an HTTP request built for
    /// it: that of the usual polling request ([`Engine::polling_session`]) without an `Origin`
    /// to check. `None`: [`Engine::handle_from`] answers.
    session: Option<Arc<EngineSession<D>>>,
    content_length: usize,
    /// `Content-Type` names `application/octet-stream` (as `RequestHeaders` reads it).
    binary_body: bool,
    /// An `Origin` header came: the CORS check is `Engine::handle_from`'s.
    origin: bool,
    /// `Connection: close`.
    close: bool,
}

impl<D> Head<D> {
    /// The head at the start of `buf` if it is complete and this path handles it.
    fn parse<H: EngineHandler<Data = D>>(server: &PollingHttp<H>, buf: &[u8]) -> Option<Self> {
        let mut parsed = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut parsed);
        let httparse::Status::Complete(len) = request.parse(buf).ok()? else {
            return None;
        };
        let method = request.method?;
        let post = match method {
            "GET" => false,
            "POST" => true,
            _ => return None,
        };
        let target = request.path?;
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if request.version != Some(1) || !super::engine::is_engine_path(&server.path, path) {
            return None;
        }
        let mut head = Head {
            len,
            post,
            session: None,
            content_length: 0,
            binary_body: false,
            origin: false,
            close: false,
        };
        // What `serve::head_bytes` counts of a request hyper parsed.
        let mut head_bytes = method.len() + target.len() + 12;
        let (mut lengths, mut content_types) = (0, 0);
        for header in request.headers.iter() {
            let (name, value) = (header.name, header.value);
            head_bytes += name.len() + value.len() + 4;
            match HeaderKind::of(name) {
                HeaderKind::ContentLength => {
                    lengths += 1;
                    head.content_length = parse_length(value)?;
                }
                HeaderKind::ContentType => {
                    content_types += 1;
                    head.binary_body |=
                        content_types == 1 && value.starts_with(b"application/octet-stream");
                }
                HeaderKind::Origin => head.origin = true,
                HeaderKind::Connection => {
                    head.close |= super::headers::lists_bytes(value, "close");
                }
                HeaderKind::Refused => return None,
                HeaderKind::Other => {}
            }
        }
        let max_body = server.engine.config().max_http_buffer_size;
        if lengths > 1 || head_bytes > server.max_head || head.content_length > max_body {
            return None;
        }
        if !head.origin {
            head.session = server.engine.polling_session(query);
        }
        Some(head)
    }

    /// The request whose head and body start `buf`, taken out of it, with the header map and
    /// URI sharing its bytes as hyper's do; `None` (with `buf` untouched) if hyper would refuse a
    /// part of it that the parser let through.
    fn request(&self, buf: &mut BytesMut) -> Option<Request<Full<Bytes>>> {
        let mut parsed = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut parsed);
        request.parse(buf).ok()?;
        let head = buf.get(..self.len)?;
        let offset = |part: &[u8]| offset_in(head, part);
        let target = request.path?;
        let target = (offset(target.as_bytes())?, target.len());
        let mut headers = [(0, 0, 0, 0); MAX_HEADERS];
        for (slot, header) in headers.iter_mut().zip(request.headers.iter()) {
            let name = header.name.as_bytes();
            *slot = (
                offset(name)?,
                name.len(),
                offset(header.value)?,
                header.value.len(),
            );
        }
        let count = request.headers.len();
        // The head's bytes, shared by the URI and the header values.
        let bytes = Bytes::copy_from_slice(head);
        let slice = |start: usize, len: usize| bytes.slice(start..start + len);
        let uri = Uri::from_maybe_shared(slice(target.0, target.1)).ok()?;
        let mut map = HeaderMap::with_capacity(count);
        for &(name, name_len, value, value_len) in headers.get(..count)? {
            let name = HeaderName::from_bytes(&bytes[name..name + name_len]).ok()?;
            map.append(
                name,
                HeaderValue::from_maybe_shared(slice(value, value_len)).ok()?,
            );
        }
        buf.advance(self.len);
        let body = buf.split_to(self.content_length).freeze();
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = if self.post { Method::POST } else { Method::GET };
        *request.uri_mut() = uri;
        *request.headers_mut() = map;
        Some(request)
    }
}

/// Answers the polling request `head` (whose head and body start `buf`, and are taken out of
/// it) on `session`; `None` if the peer closed the connection first.
async fn poll<H: EngineHandler>(
    server: &PollingHttp<H>,
    head: &Head<H::Data>,
    session: &Arc<EngineSession<H::Data>>,
    stream: &mut TcpStream,
    buf: &mut BytesMut,
) -> Option<PollAnswer> {
    let inner = &server.engine.inner;
    buf.advance(head.len);
    if head.post {
        let body = Full::new(buf.split_to(head.content_length).freeze());
        let request = RequestHeaders {
            binary_body: head.binary_body,
            content_length: Some(head.content_length as u64),
            ..RequestHeaders::default()
        };
        let answer = polling::post_answer(inner, session, &request, body);
        until_answered(answer, server, stream, buf).await
    } else {
        buf.advance(head.content_length);
        let answer = polling::get_answer(inner, session);
        until_answered(answer, server, stream, buf).await
    }
}

/// Where `part`, a slice of `buf` (as the parser's results are), starts in it; `None` for a
/// slice that is not wholly inside it.
fn offset_in(buf: &[u8], part: &[u8]) -> Option<usize> {
    let start = (part.as_ptr() as usize).checked_sub(buf.as_ptr() as usize)?;
    (start + part.len() <= buf.len()).then_some(start)
}

/// What [`Head::parse`] makes of a header name.
enum HeaderKind {
    ContentLength,
    ContentType,
    Origin,
    Connection,
    /// `Transfer-Encoding`, `Upgrade`, `Expect`: the request is hyper's.
    Refused,
    Other,
}

impl HeaderKind {
    /// Compares by length first: most names are then told apart without reading them.
    fn of(name: &str) -> HeaderKind {
        let is = |known: &str| name.eq_ignore_ascii_case(known);
        match name.len() {
            14 if is("content-length") => HeaderKind::ContentLength,
            12 if is("content-type") => HeaderKind::ContentType,
            6 if is("origin") => HeaderKind::Origin,
            10 if is("connection") => HeaderKind::Connection,
            17 if is("transfer-encoding") => HeaderKind::Refused,
            7 if is("upgrade") => HeaderKind::Refused,
            6 if is("expect") => HeaderKind::Refused,
            _ => HeaderKind::Other,
        }
    }
}

/// A `Content-Length` value: digits only, as hyper reads it.
fn parse_length(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    value.iter().try_fold(0usize, |n, &b| {
        let digit = b.is_ascii_digit().then(|| usize::from(b - b'0'))?;
        n.checked_mul(10)?.checked_add(digit)
    })
}

/// What `answer` resolves to; `None` if the peer closed the connection first (the engine's
/// work for the request is then dropped, as hyper drops it). Bytes that arrive meanwhile (a
/// pipelined request) are kept in `buf`.
async fn until_answered<H: EngineHandler, F: Future>(
    answer: F,
    server: &PollingHttp<H>,
    stream: &mut TcpStream,
    buf: &mut BytesMut,
) -> Option<F::Output> {
    let mut answer = std::pin::pin!(answer);
    // Watching for the peer's close ends at a request's worth of pipelined bytes.
    let mut watching = true;
    loop {
        buf.reserve(READ_SIZE);
        tokio::select! {
            biased;
            answered = answer.as_mut() => return Some(answered),
            read = stream.read_buf(buf), if watching => match read {
                Ok(0) | Err(_) => return None,
                Ok(_) => watching = buf.len() <= server.max_head,
            },
        }
    }
}

/// Whether the engine's answer closes the connection.
fn wants_close(response: &Response<Reply>) -> bool {
    response
        .headers()
        .get_all(CONNECTION)
        .iter()
        .any(|value| super::headers::lists_bytes(value.as_bytes(), "close"))
}

/// Writes a response: `Ok` the `200` with a `text/plain` body that answers most polling
/// requests (what `polling::text_response` builds), `Err` any other of the engine's. Head and
/// body go in one write (a vectored one for a large body); `connection: close` is added when
/// `close`. `out` is the connection's write buffer, kept between responses.
async fn write(
    stream: &mut TcpStream,
    out: &mut BytesMut,
    response: Result<Bytes, Response<Reply>>,
    close: bool,
) -> io::Result<()> {
    out.clear();
    let body = match response {
        Ok(text) => {
            out.extend_from_slice(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=UTF-8\r\n",
            );
            if close {
                out.extend_from_slice(b"connection: close\r\n");
            }
            text
        }
        Err(response) => {
            let (parts, body) = response.into_parts();
            out.extend_from_slice(b"HTTP/1.1 ");
            out.extend_from_slice(parts.status.as_str().as_bytes());
            out.extend_from_slice(b" ");
            out.extend_from_slice(parts.status.canonical_reason().unwrap_or("").as_bytes());
            out.extend_from_slice(b"\r\n");
            for (name, value) in &parts.headers {
                if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
                    continue;
                }
                out.extend_from_slice(name.as_str().as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            if close && !parts.headers.contains_key(CONNECTION) {
                out.extend_from_slice(b"connection: close\r\n");
            }
            body_bytes(body).await?
        }
    };
    // `BytesMut` is a `fmt::Write`: the length's digits go straight into the buffer.
    let _ = write!(out, "content-length: {}\r\ndate: ", body.len());
    http_date::now(|date| out.extend_from_slice(date));
    out.extend_from_slice(b"\r\n\r\n");
    if body.len() <= COPY_BODY_UP_TO {
        out.extend_from_slice(&body);
        stream.write_all(out).await
    } else {
        stream.write_all_buf(&mut Buf::chain(&out[..], body)).await
    }
}

/// The whole body of one of the engine's answers (a single buffer, most often).
async fn body_bytes(body: Reply) -> io::Result<Bytes> {
    let collected = body
        .collect()
        .await
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(collected.to_bytes())
}

/// The `Date` header's value, formatted once a second per thread.
mod http_date {
    use std::cell::RefCell;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
    const LEN: usize = 29;

    thread_local! {
        static CACHE: RefCell<(u64, [u8; LEN])> = const { RefCell::new((u64::MAX, [0; LEN])) };
    }

    /// Calls `with` with the current date.
    pub(super) fn now(with: impl FnOnce(&[u8])) {
        let now = SystemTime::now();
        let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.0 != second {
                let text = httpdate::fmt_http_date(now);
                if text.len() == LEN {
                    cache.1.copy_from_slice(text.as_bytes());
                    cache.0 = second;
                }
            }
            with(&cache.1);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_digits_only() {
        assert_eq!(parse_length(b"0"), Some(0));
        assert_eq!(parse_length(b"1234"), Some(1234));
        assert_eq!(parse_length(b""), None);
        assert_eq!(parse_length(b"+1"), None);
        assert_eq!(parse_length(b"1 "), None);
        assert_eq!(parse_length(b"1,1"), None);
        assert_eq!(parse_length(b"99999999999999999999"), None);
    }

    #[test]
    fn dates_are_imf_fixdates() {
        let mut date = Vec::new();
        http_date::now(|text| date.extend_from_slice(text));
        let text = std::str::from_utf8(&date).unwrap();
        assert!(text.ends_with(" GMT"), "{text}");
        assert!(httpdate::parse_http_date(text).is_ok(), "{text}");
    }
}
