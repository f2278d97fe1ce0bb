//! The WebSocket transport: direct sessions and the upgrade from polling.

use std::future::poll_fn;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::task::AtomicWaker;
use futures_util::{SinkExt, Stream};
use tokio::sync::{mpsc, MutexGuard};

use super::packet::{decode_text, Inbound};
use super::polling::{open_packet, receive};
use super::session::{CloseReason, EngineSession};
use super::state::EngineState;
use super::EngineHandler;
use super::{Frame, Str};

/// Frames written before one flush.
const MAX_BATCH: usize = 64;

/// A session that started on WebSocket: send the open packet, then run.
///
/// The socket comes boxed, here and in [`upgrade`]: an `async fn` keeps each argument both as
/// captured and as a local, so the WebSocket (368 bytes) passed by value down to [`pump`] took
/// four slots of the connection's task instead of one allocation.
pub(crate) async fn run_direct<H: EngineHandler>(
    inner: Arc<EngineState<H>>,
    session: Arc<EngineSession<H::Data>>,
    mut socket: Box<WebSocket>,
) {
    let open = open_packet(&inner, &session, false);
    if socket.send(Message::Text(open.into())).await.is_err() {
        session.close(CloseReason::TransportError);
        return;
    }
    let rx = session.rx.lock().await;
    pump(&inner, &session, socket, rx).await;
}

/// A polling session moving to WebSocket: `2probe` → `3probe`, release the pending poll with a
/// noop, wait for `5`, then take over the outbound queue. Fails (closing only this WebSocket)
/// when another upgrade is under way, on any other packet, or after `upgrade_timeout`.
pub(crate) async fn upgrade<H: EngineHandler>(
    inner: Arc<EngineState<H>>,
    session: Arc<EngineSession<H::Data>>,
    mut socket: Box<WebSocket>,
) {
    use std::sync::atomic::Ordering;
    let grace = inner.config.ping_timeout;
    if session.upgrading.swap(true, Ordering::AcqRel)
        || session.transport() == super::Transport::WebSocket
    {
        tracing::debug!(sid = %session.sid(), "second upgrade attempt refused");
        close(&mut socket, 1008, "upgrade already in progress", grace).await;
        return;
    }
    let probed = tokio::time::timeout(inner.config.upgrade_timeout, probe(&session, &mut socket));
    match probed.await {
        Ok(true) => {}
        Ok(false) | Err(_) => {
            tracing::debug!(sid = %session.sid(), "upgrade abandoned");
            session.upgrading.store(false, Ordering::Release);
            close(&mut socket, 1008, "upgrade failed", grace).await;
            return;
        }
    }
    session.set_websocket();
    // The pending poll, if any, was released by the noop; from here on polling requests get 400.
    let rx = session.rx.lock().await;
    tracing::debug!(sid = %session.sid(), "upgraded to websocket");
    inner.handler.on_upgrade(&session);
    pump(&inner, &session, socket, rx).await;
}

/// How often, once the probe is answered, a pending poll is released with a noop (as the
/// reference server does), so the client can pause polling and finish the upgrade.
const NOOP_INTERVAL: Duration = Duration::from_millis(100);

/// Runs the probe exchange; `true` once the client sent `5`.
///
/// After `3probe`, every [`NOOP_INTERVAL`] a polling GET that is still waiting gets a noop,
/// and only then: the reference server's timing, which the official client's own tests count
/// on (a noop sent at once reaches a client that has not yet paused its polling).
async fn probe<D>(session: &EngineSession<D>, socket: &mut WebSocket) -> bool {
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
            message = socket.recv() => message,
        };
        match message {
            Some(Ok(Message::Text(text))) => match text.as_str() {
                "2probe" => {
                    let Frame::Text(pong) = Frame::PONG_PROBE else {
                        return false;
                    };
                    if socket.send(Message::Text(pong)).await.is_err() {
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
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            _ => return false,
        }
    }
}

/// Answers a polling GET that is still waiting with a noop. The queue's reader is locked by
/// such a GET (the WebSocket writer takes it only after the upgrade).
fn release_poll<D>(session: &EngineSession<D>) {
    if session.rx.try_lock().is_err() {
        let _ = session.send(Frame::NOOP);
    }
}

/// Moves frames both ways until the session or the socket closes.
async fn pump<H: EngineHandler>(
    inner: &EngineState<H>,
    session: &Arc<EngineSession<H::Data>>,
    mut socket: Box<WebSocket>,
    mut rx: MutexGuard<'_, mpsc::Receiver<Frame>>,
) {
    let grace = inner.config.ping_timeout;
    let mut closed = pin!(session.closed());
    let reader = Reader::new();
    loop {
        tokio::select! {
            biased;
            _ = &mut closed => break,
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                // A client that stopped reading stalls the write; the session closing (by the
                // heartbeat, at the latest) must still end this task.
                let written = tokio::select! {
                    written = write_batch(&mut socket, frame, &mut rx) => written,
                    _ = &mut closed => break,
                };
                if written.is_err() {
                    session.close(CloseReason::TransportError);
                    break;
                }
            }
            message = poll_fn(|cx| {
                // Nothing is read while the layer above has no room (inbound back-pressure).
                std::task::ready!(inner.handler.poll_ready(session, cx));
                reader.poll_next(&mut socket, cx)
            }) => match message {
                Some(Ok(Message::Text(text))) => match decode_text(Str::whole(text)) {
                    Ok(Inbound::Message(text)) => inner.deliver_text(session, text),
                    Ok(packet) => receive(inner, session, packet),
                    Err(e) => {
                        tracing::debug!(sid = %session.sid(), error = %e, "malformed websocket packet");
                        session.close(CloseReason::ParseError);
                    }
                },
                Some(Ok(Message::Binary(data))) => inner.deliver_binary(session, data),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => session.close(CloseReason::TransportClose),
                Some(Err(e)) => {
                    let Some((code, reason)) = close_code(e) else {
                        // The peer went away without a close frame: nothing to answer, and
                        // (as for socket.io and python-socketio) the connection simply closed.
                        session.close(CloseReason::TransportClose);
                        return;
                    };
                    tracing::debug!(sid = %session.sid(), code, reason, "websocket error");
                    session.close(CloseReason::TransportError);
                    close(&mut socket, code, reason, grace).await;
                    return;
                }
            },
        }
    }
    match session.close_reason() {
        // The server ended the session: deliver what it queued last (a Socket.IO disconnect, say).
        Some(CloseReason::ForcedClose | CloseReason::ServerShutdown) => {
            let deliver = async {
                while let Ok(frame) = rx.try_recv() {
                    if socket.feed(to_message(frame)).await.is_err() {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(grace, deliver).await;
            let code = if session.close_reason() == Some(CloseReason::ServerShutdown) {
                1001
            } else {
                1000
            };
            close(&mut socket, code, "", grace).await;
        }
        Some(CloseReason::ParseError) => close(&mut socket, 1002, "invalid packet", grace).await,
        _ => close(&mut socket, 1000, "", grace).await,
    }
}

/// Reads the WebSocket only when its read side was woken since it last had nothing to read.
///
/// A read attempt is not free even when nothing arrived: tungstenite zero-fills its whole read
/// buffer (`ws_read_buffer_size`, 4 KiB) before each one. Polled on every turn of the pump, that
/// is after every outbound batch, it cost more than writing the batch (a broadcast to idle
/// clients paid it once per delivery).
struct Reader {
    signal: Arc<ReadSignal>,
    waker: Waker,
}

/// Set when the read side is woken; wakes the pump.
struct ReadSignal {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for ReadSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl Reader {
    fn new() -> Self {
        let signal = Arc::new(ReadSignal {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        let waker = Waker::from(signal.clone());
        Reader { signal, waker }
    }

    fn poll_next(
        &self,
        socket: &mut WebSocket,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, axum::Error>>> {
        self.signal.task.register(cx.waker());
        if !self.signal.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let polled = Pin::new(socket).poll_next(&mut Context::from_waker(&self.waker));
        if polled.is_ready() {
            // More messages may already be buffered: read again on the next turn.
            self.signal.woken.store(true, Ordering::Release);
        }
        polled
    }
}

/// Writes `first` and whatever else is already queued, then flushes once.
async fn write_batch(
    socket: &mut WebSocket,
    first: Frame,
    rx: &mut mpsc::Receiver<Frame>,
) -> Result<(), axum::Error> {
    socket.feed(to_message(first)).await?;
    for _ in 1..MAX_BATCH {
        match rx.try_recv() {
            Ok(frame) => socket.feed(to_message(frame)).await?,
            Err(_) => break,
        }
    }
    socket.flush().await
}

fn to_message(frame: Frame) -> Message {
    crate::metrics::bytes_sent(frame.len());
    match frame {
        Frame::Text(text) => Message::Text(text),
        Frame::Binary(data) => Message::Binary(data),
    }
}

/// Sends a close frame, giving a client that does not read at most `grace` to take it.
///
/// When the client closed first, tungstenite has queued the answer to its close frame and will
/// refuse ours: the flush sends that answer (RFC 6455 §5.5.1: the endpoint MUST reply).
async fn close(socket: &mut WebSocket, code: u16, reason: &'static str, grace: Duration) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let goodbye = async {
        let _ = socket.flush().await;
        let _ = socket.send(Message::Close(Some(frame))).await;
    };
    let _ = tokio::time::timeout(grace, goodbye).await;
}

/// The close code that answers a read error (RFC 6455 §7.4.1); `None` when the peer is gone
/// (the connection reset or ended without a close frame), so nothing can be answered.
fn close_code(error: axum::Error) -> Option<(u16, &'static str)> {
    use tungstenite::error::{CapacityError, Error, ProtocolError};
    Some(match error.into_inner().downcast::<Error>().map(|e| *e) {
        Ok(Error::Protocol(ProtocolError::ResetWithoutClosingHandshake))
        | Ok(Error::ConnectionClosed | Error::AlreadyClosed | Error::Io(_)) => return None,
        Ok(Error::Capacity(CapacityError::MessageTooLong { .. })) => (1009, "message too big"),
        Ok(Error::Capacity(_)) => (1009, "too big"),
        Ok(Error::Utf8(_)) => (1007, "invalid utf-8"),
        Ok(Error::Protocol(_)) => (1002, "protocol error"),
        _ => (1011, "transport error"),
    })
}
