//! The WebSocket transport: direct sessions and the upgrade from polling.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode, Version};
use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http_body_util::{Either, Full};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;
use tokio_util::either::Either as IoEither;

use super::error::Reply;
use super::framing::{close_payload, FrameReader, Incoming, Outbox, ReadError};
use super::headers::RequestHeaders;
use super::packet::{decode_text, Inbound};
use super::polling::receive;
use super::rewind::Rewind;
use super::session::{CloseReason, EngineSession};
use super::state::EngineState;
use super::{EngineConfig, EngineHandler, HttpError};
use super::{Frame, Str};

/// Frames taken from the session's queue for one write.
const MAX_BATCH: usize = 64;

/// Accepts a WebSocket handshake (RFC 6455 §4.2): the `Sec-WebSocket-Accept` value for the
/// answer ([`switching_protocols`]), and the connection once hyper hands it over. `headers` is
/// what was read of the request's; the caller checked `Sec-WebSocket-Key`.
pub(crate) fn accept(
    parts: &mut axum::http::request::Parts,
    headers: &RequestHeaders,
) -> Result<(HeaderValue, OnUpgrade), HttpError> {
    if parts.method != Method::GET
        || parts.version > Version::HTTP_11
        || !headers.connection_upgrade
        || !headers.upgrade_websocket
        || !headers.websocket_version_13
    {
        return Err(HttpError::BadRequest);
    }
    let Some(Ok(key)) = &headers.websocket_key else {
        return Err(HttpError::BadRequest);
    };
    let accept = tungstenite::handshake::derive_accept_key(key);
    let accept = HeaderValue::try_from(accept).map_err(|_| HttpError::BadRequest)?;
    let on_upgrade = parts
        .extensions
        .remove::<OnUpgrade>()
        .ok_or(HttpError::BadRequest)?;
    Ok((accept, on_upgrade))
}

const UPGRADE: HeaderValue = HeaderValue::from_static("upgrade");
const WEBSOCKET: HeaderValue = HeaderValue::from_static("websocket");

/// The `101 Switching Protocols` answer to an accepted handshake, its headers in `headers`
/// (the request's map, emptied: see `Engine::route`).
pub(crate) fn switching_protocols(mut headers: HeaderMap, accept: HeaderValue) -> Response<Reply> {
    headers.insert(header::CONNECTION, UPGRADE);
    headers.insert(header::UPGRADE, WEBSOCKET);
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    let mut response = Response::new(Either::Left(Full::new(Bytes::new())));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *response.headers_mut() = headers;
    response
}

/// An upgraded connection: the socket, what is read from it, what waits to be written.
struct Conn {
    io: ConnIo,
    reader: FrameReader,
    out: Outbox,
}

impl Conn {
    fn new(upgraded: Upgraded, config: &EngineConfig) -> Self {
        let mut reader = FrameReader::new(config.max_http_buffer_size, config.ws_read_buffer_size);
        let io = match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                // What hyper read past the handshake's request is the start of the frames.
                reader.prefill(&parts.read_buf);
                IoEither::Left(parts.io.into_inner())
            }
            // A connection whose first requests were long-polling ones ([`serve`]'s own path),
            // handed to hyper with what was read of it then.
            Err(upgraded) => match upgraded.downcast::<TokioIo<Rewind>>() {
                Ok(parts) => {
                    let (unread, stream) = parts.io.into_inner().into_parts();
                    reader.prefill(&parts.read_buf);
                    reader.prefill(&unread);
                    IoEither::Left(stream)
                }
                Err(upgraded) => IoEither::Right(TokioIo::new(upgraded)),
            },
        };
        Conn {
            io,
            reader,
            out: Outbox::default(),
        }
    }

    /// The next message. Cancel-safe: what was read stays in the reader.
    async fn recv(&mut self) -> Result<Incoming, ReadError> {
        poll_fn(|cx| self.reader.poll_next(&mut self.io, cx)).await
    }

    /// Writes every queued frame.
    async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.out.poll_write(&mut self.io, cx)).await
    }

    async fn send(&mut self, frame: Frame) -> io::Result<()> {
        self.out.push(frame);
        self.flush().await
    }

    /// Sends a close frame (unless one went already: the answer to the client's) and ends the
    /// connection, giving a client that does not read at most `grace` to take what is queued.
    async fn close(&mut self, code: u16, reason: &'static str, grace: Duration) {
        self.out.close(close_payload(code, reason));
        let goodbye = async {
            self.flush().await?;
            poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)).await
        };
        let _ = tokio::time::timeout(grace, goodbye).await;
    }
}

/// The socket under a WebSocket connection. When the engine serves the connection itself
/// ([`serve`](super::serve)), hyper hands back the TCP stream it was given and frames go to it
/// directly (left); otherwise (an axum app's server, say) through hyper's upgraded connection,
/// whose boxed, buffered layers every read and write would cross (right).
type ConnIo = IoEither<TcpStream, TokioIo<Upgraded>>;

/// A session that started on WebSocket: once hyper hands over the connection, send the open
/// packet, then run.
pub(crate) async fn run_direct<H: EngineHandler>(
    inner: Arc<EngineState<H>>,
    session: Arc<EngineSession<H::Data>>,
    on_upgrade: OnUpgrade,
) {
    let Ok(upgraded) = on_upgrade.await else {
        session.close(CloseReason::TransportError);
        return;
    };
    let mut conn = Conn::new(upgraded, &inner.config);
    let open = inner.open_packet.text(session.sid(), false);
    crate::metrics::bytes_sent(open.len());
    if conn.send(Frame::Text(open.into())).await.is_err() {
        session.close(CloseReason::TransportError);
        return;
    }
    let _reading = session.reader.lock().await;
    pump(&inner, &session, &mut conn).await;
}

/// A polling session moving to WebSocket: `2probe` → `3probe`, release the pending poll with a
/// noop, wait for `5`, then take over the outbound queue. Fails (closing only this WebSocket)
/// when another upgrade is under way, on any other packet, or after `upgrade_timeout`.
pub(crate) async fn upgrade<H: EngineHandler>(
    inner: Arc<EngineState<H>>,
    session: Arc<EngineSession<H::Data>>,
    on_upgrade: OnUpgrade,
) {
    use std::sync::atomic::Ordering;
    let Ok(upgraded) = on_upgrade.await else {
        return;
    };
    let mut conn = Conn::new(upgraded, &inner.config);
    let grace = inner.config.ping_timeout;
    if session.upgrading.swap(true, Ordering::AcqRel)
        || session.transport() == super::Transport::WebSocket
    {
        tracing::debug!(sid = %session.sid(), "second upgrade attempt refused");
        conn.close(1008, "upgrade already in progress", grace).await;
        return;
    }
    let probed = tokio::time::timeout(inner.config.upgrade_timeout, probe(&session, &mut conn));
    match probed.await {
        Ok(true) => {}
        Ok(false) | Err(_) => {
            tracing::debug!(sid = %session.sid(), "upgrade abandoned");
            session.upgrading.store(false, Ordering::Release);
            conn.close(1008, "upgrade failed", grace).await;
            return;
        }
    }
    session.set_websocket();
    // The pending poll, if any, was released by the noop; from here on polling requests get 400.
    let _reading = session.reader.lock().await;
    tracing::debug!(sid = %session.sid(), "upgraded to websocket");
    inner.handler.on_upgrade(&session);
    pump(&inner, &session, &mut conn).await;
}

/// How often, once the probe is answered, a pending poll is released with a noop (as the
/// reference server does), so the client can pause polling and finish the upgrade.
const NOOP_INTERVAL: Duration = Duration::from_millis(100);

/// Runs the probe exchange; `true` once the client sent `5`.
///
/// After `3probe`, every [`NOOP_INTERVAL`] a polling GET that is still waiting gets a noop,
/// and only then: the reference server's timing, which the official client's own tests count
/// on (a noop sent at once reaches a client that has not yet paused its polling).
async fn probe<D>(session: &EngineSession<D>, conn: &mut Conn) -> bool {
    let mut noops: Option<tokio::time::Interval> = None;
    loop {
        let tick = async {
            match noops.as_mut() {
                Some(interval) => interval.tick().await,
                None => std::future::pending().await,
            }
        };
        let message = tokio::select! {
            _ = session.closed() => return false,
            _ = tick => {
                release_poll(session);
                continue;
            }
            message = conn.recv() => message,
        };
        match message {
            Ok(Incoming::Text(text)) => match text.as_str() {
                "2probe" => {
                    if conn.send(Frame::PONG_PROBE).await.is_err() {
                        return false;
                    }
                    let start = tokio::time::Instant::now() + NOOP_INTERVAL;
                    noops = Some(tokio::time::interval_at(start, NOOP_INTERVAL));
                }
                "5" => {
                    // A client that did not wait for its poll to end (python-engineio's): the
                    // WebSocket writer cannot take the queue before that poll is answered.
                    release_poll(session);
                    return true;
                }
                _ => return false,
            },
            Ok(Incoming::Ping(payload)) => {
                conn.out.pong(payload);
                if conn.flush().await.is_err() {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Answers a polling GET that is still waiting with a noop. The queue's reader is locked by
/// such a GET (the WebSocket writer takes it only after the upgrade).
fn release_poll<D>(session: &EngineSession<D>) {
    if session.reader.try_lock().is_err() {
        let _ = session.send(Frame::NOOP);
    }
}

/// What ended a turn of the pump.
enum Turn {
    /// The session closed.
    Closed,
    WriteFailed,
    Read(Result<Incoming, ReadError>),
}

/// Moves frames both ways until the session or the socket closes.
///
/// One task does both, in one poll: it writes what the session queued (up to [`MAX_BATCH`]
/// frames per write), and reads while the layer above has room (inbound back-pressure). A
/// client that stops reading stalls only the writing; the session closing (by the heartbeat,
/// at the latest) still ends the task.
async fn pump<H: EngineHandler>(
    inner: &EngineState<H>,
    session: &Arc<EngineSession<H::Data>>,
    conn: &mut Conn,
) {
    let grace = inner.config.ping_timeout;
    let read_wake = Arc::new(ReadWake::default());
    let read_waker = Waker::from(read_wake.clone());
    // A read found the socket empty: the socket wakes `read_wake` once it has more.
    let mut read_armed = false;
    loop {
        let turn = poll_fn(|cx| {
            // One atomic load; the close wake-up is registered only below, when this task is
            // about to wait.
            if session.is_closed() {
                return Poll::Ready(Turn::Closed);
            }
            // Whether this poll registered for the queue's wake-up and took all it held: then
            // a frame queued since has woken the task already (or will), and draining again
            // would only find the queue empty.
            let mut drained = false;
            loop {
                if conn.out.is_empty() {
                    if drained {
                        break;
                    }
                    let taken = session.queue.poll_drain(cx, MAX_BATCH, |frame| {
                        take(&mut conn.out, frame);
                    });
                    match taken {
                        Poll::Pending => break,
                        Poll::Ready(count) => drained = count < MAX_BATCH,
                    }
                }
                match conn.out.poll_write(&mut conn.io, cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => return Poll::Ready(Turn::WriteFailed),
                    Poll::Pending => break,
                }
            }
            // Nothing is read while the layer above has no room (inbound back-pressure), nor
            // while the socket has not announced more since a read found it empty: a turn
            // woken by a queued frame (every delivery of a broadcast) only writes.
            read_wake.task.register(cx.waker());
            let read = match inner.handler.poll_ready(session, cx) {
                Poll::Ready(()) if read_armed && !read_wake.woken.swap(false, Ordering::AcqRel) => {
                    Poll::Pending
                }
                Poll::Ready(()) => {
                    let mut read_cx = Context::from_waker(&read_waker);
                    let read = conn.reader.poll_next(&mut conn.io, &mut read_cx);
                    read_armed = read.is_pending();
                    read.map(Turn::Read)
                }
                Poll::Pending => Poll::Pending,
            };
            if read.is_pending() && session.poll_closed(cx).is_ready() {
                return Poll::Ready(Turn::Closed);
            }
            read
        })
        .await;
        if matches!(
            turn,
            Turn::Read(Ok(Incoming::Text(_) | Incoming::Binary(_)))
        ) {
            // The next turn drains the queue before waiting: the reply the handler queues
            // needs no wake-up of this task.
            session.queue.forget_reader();
        }
        match turn {
            Turn::Closed => break,
            Turn::WriteFailed => {
                session.close(CloseReason::TransportError);
                break;
            }
            Turn::Read(Ok(Incoming::Text(text))) => match decode_text(Str::whole(text)) {
                Ok(Inbound::Message(text)) => inner.deliver_text(session, text),
                Ok(packet) => receive(inner, session, packet),
                Err(e) => {
                    tracing::debug!(sid = %session.sid(), error = %e, "malformed websocket packet");
                    session.close(CloseReason::ParseError);
                }
            },
            Turn::Read(Ok(Incoming::Binary(data))) => inner.deliver_binary(session, data),
            // Written on the next turn, with whatever else is queued.
            Turn::Read(Ok(Incoming::Ping(payload))) => conn.out.pong(payload),
            Turn::Read(Ok(Incoming::Close(reply))) => {
                // Answered in kind (RFC 6455 §5.5.1); nothing is sent after the answer.
                conn.out.close(reply);
                session.close(CloseReason::TransportClose);
            }
            Turn::Read(Err(ReadError::Gone)) => {
                // The peer went away without a close frame: nothing to answer, and (as for
                // socket.io and python-socketio) the connection simply closed.
                session.close(CloseReason::TransportClose);
                return;
            }
            Turn::Read(Err(ReadError::Violation(code, reason))) => {
                tracing::debug!(sid = %session.sid(), code, reason, "websocket error");
                session.close(CloseReason::TransportError);
                conn.close(code, reason, grace).await;
                return;
            }
        }
    }
    match session.close_reason() {
        // The server ended the session: deliver what it queued last (a Socket.IO disconnect, say).
        Some(CloseReason::ForcedClose | CloseReason::ServerShutdown) => {
            session
                .queue
                .drain(usize::MAX, |frame| take(&mut conn.out, frame));
            let _ = tokio::time::timeout(grace, conn.flush()).await;
            let code = if session.close_reason() == Some(CloseReason::ServerShutdown) {
                1001
            } else {
                1000
            };
            conn.close(code, "", grace).await;
        }
        Some(CloseReason::ParseError) => conn.close(1002, "invalid packet", grace).await,
        _ => conn.close(1000, "", grace).await,
    }
}

/// The waker the pump reads the socket with: it records that the socket woke the task, so
/// that turns woken for anything else skip the read (through hyper's upgraded-connection
/// layers and the runtime's readiness check, half the pump's work per broadcast delivery).
#[derive(Default)]
struct ReadWake {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for ReadWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// Queues a frame taken from the session's queue.
fn take(out: &mut Outbox, frame: Frame) {
    crate::metrics::bytes_sent(frame.len());
    out.push(frame);
}
