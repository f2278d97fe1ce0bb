//! The HTTP long-polling transport.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::packet::Inbound;
use super::session::{CloseReason, EngineSession, Transport};
use super::state::EngineState;
use super::EngineHandler;
use super::{payload, HttpError};

const TEXT_PLAIN: &str = "text/plain; charset=UTF-8";

/// The open packet that answers a handshake.
pub(crate) fn open_packet<H: EngineHandler>(
    inner: &EngineState<H>,
    session: &EngineSession<H::Data>,
    upgrades: bool,
) -> String {
    let config = &inner.config;
    let upgrades = if upgrades && config.allow_upgrades && config.websocket {
        r#"["websocket"]"#
    } else {
        "[]"
    };
    format!(
        r#"0{{"sid":"{}","upgrades":{upgrades},"pingInterval":{},"pingTimeout":{},"maxPayload":{}}}"#,
        session.sid(),
        config.ping_interval.as_millis(),
        config.ping_timeout.as_millis(),
        config.max_http_buffer_size,
    )
}

/// The response to a polling handshake.
pub(crate) fn handshake_response<H: EngineHandler>(
    inner: &EngineState<H>,
    session: &EngineSession<H::Data>,
) -> Response {
    text_response(open_packet(inner, session, true))
}

/// A 200 with a `text/plain` body. Built directly: the `IntoResponse` tuple copies the header
/// value into a new buffer and sets a `Content-Type` only to replace it.
fn text_response(body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN));
    response
}

/// A polling GET: waits for frames, then answers with up to `max_packets_per_poll` of them.
/// Only one GET may wait at a time; an overlapping one closes the session.
pub(crate) async fn get<H: EngineHandler>(
    inner: &EngineState<H>,
    session: &Arc<EngineSession<H::Data>>,
) -> Response {
    if session.transport() != Transport::Polling {
        return HttpError::BadRequest.into_response();
    }
    let Ok(_reading) = session.reader.try_lock() else {
        if session.transport() == Transport::Polling {
            tracing::debug!(sid = %session.sid(), "overlapping polling GET");
            session.close(CloseReason::TransportError);
        }
        return HttpError::BadRequest.into_response();
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
        return text_response(body);
    };
    let mut frames = vec![first];
    let more = inner.config.max_packets_per_poll.saturating_sub(1);
    session.queue.drain(more, |frame| frames.push(frame));
    for frame in &frames {
        crate::metrics::bytes_sent(frame.len());
    }
    text_response(payload::encode(&frames))
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
/// session.
pub(crate) async fn post<H: EngineHandler>(
    inner: &EngineState<H>,
    session: &Arc<EngineSession<H::Data>>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    if session.transport() != Transport::Polling {
        return HttpError::BadRequest.into_response();
    }
    if session
        .posting
        .swap(true, std::sync::atomic::Ordering::AcqRel)
    {
        tracing::debug!(sid = %session.sid(), "overlapping polling POST");
        session.close(CloseReason::TransportError);
        return HttpError::BadRequest.into_response();
    }
    let _done = PostingGuard(session);
    let binary_content = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/octet-stream"));
    if binary_content {
        // Engine.IO v4 polling bodies are text; binary travels base64-encoded.
        session.close(CloseReason::ParseError);
        return HttpError::BadRequest.into_response();
    }
    // A declared length over the limit is refused before any byte is read, as the reference
    // server does: waiting for the limit to be crossed would let a client park the request.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > inner.config.max_http_buffer_size as u64) {
        tracing::debug!(sid = %session.sid(), "declared polling body over max_http_buffer_size");
        session.close(CloseReason::ParseError);
        return HttpError::PayloadTooLarge.into_response();
    }
    let limited = Limited::new(body, inner.config.max_http_buffer_size);
    let collected = tokio::select! {
        // The body is most often all there: collecting it first spares registering with the
        // close signal.
        biased;
        collected = limited.collect() => collected,
        _ = session.closed() => return HttpError::BadRequest.into_response(),
    };
    let body = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            tracing::debug!(sid = %session.sid(), "polling body over max_http_buffer_size");
            session.close(CloseReason::ParseError);
            return HttpError::PayloadTooLarge.into_response();
        }
        Err(_) => {
            session.close(CloseReason::TransportError);
            return HttpError::BadRequest.into_response();
        }
    };
    let packets = match payload::decode(body) {
        Ok(packets) => packets,
        Err(e) => {
            tracing::debug!(sid = %session.sid(), error = %e, "malformed polling payload");
            session.close(CloseReason::ParseError);
            return HttpError::BadRequest.into_response();
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
    text_response("ok")
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
