//! The HTTP long-polling transport.

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, Response};
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Body as HttpBody;

use super::error::Reply;
use super::headers::RequestHeaders;
use super::packet::Inbound;
use super::session::{CloseReason, EngineSession, Transport};
use super::state::EngineState;
use super::{payload, EngineConfig, EngineHandler, Frame, HttpError, Sid};

const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=UTF-8");

/// The open packet that answers a handshake, but for its sid: written once per engine rather
/// than formatted for every session.
pub(crate) struct OpenPacket {
    /// What follows the sid, without and with the WebSocket upgrade offered.
    tails: [Box<str>; 2],
}

/// What precedes the sid in an open packet.
const OPEN_HEAD: &str = r#"0{"sid":""#;

impl OpenPacket {
    pub(crate) fn new(config: &EngineConfig) -> Self {
        let tail = |upgrades: &str| {
            format!(
                r#"","upgrades":{upgrades},"pingInterval":{},"pingTimeout":{},"maxPayload":{}}}"#,
                config.ping_interval.as_millis(),
                config.ping_timeout.as_millis(),
                config.max_http_buffer_size,
            )
            .into_boxed_str()
        };
        let upgrades = if config.allow_upgrades && config.websocket {
            r#"["websocket"]"#
        } else {
            "[]"
        };
        OpenPacket {
            tails: [tail("[]"), tail(upgrades)],
        }
    }

    /// The open packet for `sid`; `upgrades` offers the upgrade to WebSocket when the
    /// configuration allows it.
    pub(crate) fn text(&self, sid: Sid, upgrades: bool) -> String {
        let tail = &self.tails[usize::from(upgrades)];
        let sid = sid.as_str();
        // Exactly sized: the buffer becomes the response body or frame without a copy.
        let mut text = String::with_capacity(OPEN_HEAD.len() + sid.len() + tail.len());
        text.push_str(OPEN_HEAD);
        text.push_str(sid);
        text.push_str(tail);
        text
    }
}

/// A 200 with a `text/plain` body, its headers in `headers` (the request's map, emptied: see
/// `Engine::route`). Built directly: the `IntoResponse` tuple copies the header value into a
/// new buffer and sets a `Content-Type` only to replace it.
pub(crate) fn text_response(mut headers: HeaderMap, body: impl Into<Bytes>) -> Response<Reply> {
    headers.insert(header::CONTENT_TYPE, TEXT_PLAIN);
    let mut response = Response::new(Either::Left(Full::new(body.into())));
    *response.headers_mut() = headers;
    response
}

/// What a polling request on a live session is answered with, before it is an HTTP response.
pub(crate) enum PollAnswer {
    /// `200` with a `text/plain` body.
    Text(Bytes),
    Refused(HttpError),
}

impl PollAnswer {
    /// The HTTP response, its headers in `headers` (the request's map, emptied).
    fn into_response(self, headers: HeaderMap) -> Response<Reply> {
        match self {
            PollAnswer::Text(body) => text_response(headers, body),
            PollAnswer::Refused(e) => e.reply(),
        }
    }
}

/// A polling GET: waits for frames, then answers with up to `max_packets_per_poll` of them.
/// Only one GET may wait at a time; an overlapping one closes the session.
pub(crate) async fn get<H: EngineHandler>(
    inner: &EngineState<H>,
    session: &Arc<EngineSession<H::Data>>,
    headers: HeaderMap,
) -> Response<Reply> {
    get_answer(inner, session).await.into_response(headers)
}

/// [`get`]'s answer.
pub(crate) async fn get_answer<H: EngineHandler>(
    inner: &EngineState<H>,
    session: &Arc<EngineSession<H::Data>>,
) -> PollAnswer {
    if session.transport() != Transport::Polling {
        return PollAnswer::Refused(HttpError::BadRequest);
    }
    let Ok(_reading) = session.reader.try_lock() else {
        if session.transport() == Transport::Polling {
            tracing::debug!(sid = %session.sid(), "overlapping polling GET");
            session.close(CloseReason::TransportError);
        }
        return PollAnswer::Refused(HttpError::BadRequest);
    };
    // Dropped before the answer is ready: the client went away mid-poll.
    let mut abandoned = CloseOnDrop(Some(session));
    let first = tokio::select! {
        biased;
        frame = session.queue.recv() => Some(frame),
        _ = session.closed() => None,
    };
    abandoned.0 = None;
    let Some(first) = first else {
        // `1` tells the client the session is over; after its own close request it gets a noop.
        let body = match session.close_reason() {
            Some(CloseReason::TransportClose) => "6",
            _ => "1",
        };
        inner.remove(session);
        session.close_delivered.notify_one();
        return PollAnswer::Text(Bytes::from_static(body.as_bytes()));
    };
    crate::metrics::bytes_sent(first.len());
    let mut rest = Vec::new();
    let more = inner.config.max_packets_per_poll.saturating_sub(1);
    session.queue.drain(more, |frame| {
        crate::metrics::bytes_sent(frame.len());
        rest.push(frame);
    });
    let body = match first {
        // A lone text packet is the payload as it is: no copy.
        Frame::Text(text) if rest.is_empty() => Bytes::from(text),
        first => {
            rest.insert(0, first);
            Bytes::from(payload::encode(&rest))
        }
    };
    PollAnswer::Text(body)
}

struct CloseOnDrop<'a, D>(Option<&'a EngineSession<D>>);

impl<D> Drop for CloseOnDrop<'_, D> {
    fn drop(&mut self) {
        if let Some(session) = self.0.take() {
            session.close(CloseReason::TransportClose);
        }
    }
}

/// A polling POST: reads the payload (never more than `max_http_buffer_size` bytes) and hands
/// its packets over in order. Only one POST may run at a time; an overlapping one closes the
/// session. `request` is what was read of the request's headers, `headers` the emptied map for
/// the response's.
pub(crate) async fn post<H: EngineHandler, B: HttpBody<Data = Bytes>>(
    inner: &EngineState<H>,
    session: &Arc<EngineSession<H::Data>>,
    request: &RequestHeaders,
    headers: HeaderMap,
    body: B,
) -> Response<Reply> {
    post_answer(inner, session, request, body)
        .await
        .into_response(headers)
}

/// [`post`]'s answer.
pub(crate) async fn post_answer<H: EngineHandler, B: HttpBody<Data = Bytes>>(
    inner: &EngineState<H>,
    session: &Arc<EngineSession<H::Data>>,
    request: &RequestHeaders,
    body: B,
) -> PollAnswer {
    if session.transport() != Transport::Polling {
        return PollAnswer::Refused(HttpError::BadRequest);
    }
    if session
        .posting
        .swap(true, std::sync::atomic::Ordering::AcqRel)
    {
        tracing::debug!(sid = %session.sid(), "overlapping polling POST");
        session.close(CloseReason::TransportError);
        return PollAnswer::Refused(HttpError::BadRequest);
    }
    let _done = PostingGuard(session);
    if request.binary_body {
        // Engine.IO v4 polling bodies are text; binary travels base64-encoded.
        session.close(CloseReason::ParseError);
        return PollAnswer::Refused(HttpError::BadRequest);
    }
    // A declared length over the limit is refused before any byte is read, as the reference
    // server does: waiting for the limit to be crossed would let a client park the request.
    let limit = inner.config.max_http_buffer_size;
    if request.content_length.is_some_and(|n| n > limit as u64) {
        tracing::debug!(sid = %session.sid(), "declared polling body over max_http_buffer_size");
        session.close(CloseReason::ParseError);
        return PollAnswer::Refused(HttpError::PayloadTooLarge);
    }
    let read = tokio::select! {
        // The body is most often all there: reading it first spares registering with the
        // close signal.
        biased;
        read = read_body(body, limit) => read,
        _ = session.closed() => return PollAnswer::Refused(HttpError::BadRequest),
    };
    let body = match read {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            tracing::debug!(sid = %session.sid(), "polling body over max_http_buffer_size");
            session.close(CloseReason::ParseError);
            return PollAnswer::Refused(HttpError::PayloadTooLarge);
        }
        Err(BodyError::Failed) => {
            session.close(CloseReason::TransportError);
            return PollAnswer::Refused(HttpError::BadRequest);
        }
    };
    let packets = match payload::decode(body) {
        Ok(packets) => packets,
        Err(e) => {
            tracing::debug!(sid = %session.sid(), error = %e, "malformed polling payload");
            session.close(CloseReason::ParseError);
            return PollAnswer::Refused(HttpError::BadRequest);
        }
    };
    for packet in packets {
        // The next packet waits until the layer above has room for it (inbound back-pressure):
        // the POST is answered only then, so the client sends nothing more meanwhile.
        if session.is_closed() {
            break;
        }
        // The layer above most often has room: asking it first spares registering with the
        // close signal.
        let ready = std::future::poll_fn(|cx| inner.handler.poll_ready(session, cx));
        tokio::select! {
            biased;
            _ = ready => {}
            _ = session.closed() => break,
        }
        receive(inner, session, packet);
    }
    PollAnswer::Text(Bytes::from_static(b"ok"))
}

/// Why a request body could not be read.
#[derive(Debug)]
enum BodyError {
    /// Over the limit.
    TooLarge,
    /// The connection failed or the body was malformed.
    Failed,
}

/// Reads a whole request body of at most `limit` bytes. Most bodies come in one frame, which
/// is returned as it is: no buffer is allocated, and the read ends with it when the body says
/// it is complete (a known length reached) rather than with one more poll.
async fn read_body<B: HttpBody<Data = Bytes>>(body: B, limit: usize) -> Result<Bytes, BodyError> {
    let mut body = std::pin::pin!(body);
    let mut whole = Bytes::new();
    // The frames after the first, appended to it (only for bodies in several frames).
    let mut joined: Option<BytesMut> = None;
    let mut len = 0usize;
    while !body.is_end_stream() {
        let Some(frame) = body.frame().await else {
            break;
        };
        let Ok(data) = frame.map_err(|_| BodyError::Failed)?.into_data() else {
            continue; // trailers
        };
        len = len.saturating_add(data.len());
        if len > limit {
            return Err(BodyError::TooLarge);
        }
        match &mut joined {
            Some(joined) => joined.extend_from_slice(&data),
            None if whole.is_empty() => whole = data,
            None => {
                let mut buf = BytesMut::with_capacity(len);
                buf.extend_from_slice(&whole);
                buf.extend_from_slice(&data);
                joined = Some(buf);
            }
        }
    }
    Ok(joined.map_or(whole, BytesMut::freeze))
}

struct PostingGuard<'a, D>(&'a EngineSession<D>);

impl<D> Drop for PostingGuard<'_, D> {
    fn drop(&mut self) {
        self.0
            .posting
            .store(false, std::sync::atomic::Ordering::Release);
    }
}

/// Acts on one packet from the client, on either transport.
pub(crate) fn receive<H: EngineHandler>(
    inner: &EngineState<H>,
    session: &Arc<EngineSession<H::Data>>,
    packet: Inbound,
) {
    match packet {
        Inbound::Message(text) => inner.deliver_text(session, text),
        Inbound::Binary(data) => inner.deliver_binary(session, data),
        Inbound::Pong => session.on_pong(),
        Inbound::Noop => {}
        Inbound::Close => session.close(CloseReason::TransportClose),
        Inbound::Ping { .. } | Inbound::Upgrade => {
            // In Engine.IO v4 only the server pings, and upgrades happen on the new transport.
            tracing::debug!(sid = %session.sid(), ?packet, "packet out of place");
            session.close(CloseReason::ParseError);
        }
    }
}
