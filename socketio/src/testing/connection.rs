//! One in-process connection: the engine session, the task that reads what the server sends
//! (answering pings), and the client-side state the [`TestClient`](super::TestClient) handles
//! share.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{oneshot, Notify};
use tokio::task::AbortHandle;

use super::{Received, TestError};
use crate::args::Args;
use crate::dispatch::{Connection, Dispatcher};
use crate::engineio::Sid;
use crate::engineio::{CloseReason, Engine, Frame, MessageBuf, Str};
use crate::protocol::{self, BinaryCollector, Limits, Packet, PacketKind, Parser};
use crate::server::SocketIo;
use crate::sync::Mutex;

/// A text frame no server ever queues: a barrier the client sends itself through the session's
/// outbound queue (see [`ClientConnection::settle`]).
const BARRIER: char = '\0';

/// The client knows every attachment count the server may send.
const CLIENT_LIMITS: Limits = Limits {
    max_attachments: usize::MAX,
};

/// Where a namespace of the connection stands.
#[derive(Debug, Clone)]
pub(super) enum Status {
    /// CONNECT sent, no answer yet.
    Connecting,
    /// Accepted, with the socket id the server gave.
    Connected(Option<Sid>),
    /// CONNECT_ERROR received.
    Refused {
        message: String,
        data: Option<Value>,
    },
    /// Left (by either side) or never joined.
    Disconnected,
}

/// One namespace as the client sees it.
#[derive(Debug)]
pub(super) struct Namespace {
    pub(super) status: Status,
    pub(super) received: VecDeque<Received>,
}

impl Default for Namespace {
    fn default() -> Self {
        Namespace {
            status: Status::Disconnected,
            received: VecDeque::new(),
        }
    }
}

/// What the reader task learned, under one lock.
#[derive(Default)]
pub(super) struct State {
    pub(super) namespaces: HashMap<String, Namespace>,
    acks: HashMap<u64, oneshot::Sender<Args>>,
    /// The last barrier the reader went past.
    barrier: u64,
    /// A binary packet waiting for its attachments.
    pending_binary: Option<BinaryCollector>,
    /// Set once the session closed and the reader drained the queue.
    pub(super) closed: Option<CloseReason>,
}

impl State {
    pub(super) fn namespace(&mut self, namespace: &str) -> &mut Namespace {
        self.namespaces.entry(namespace.to_owned()).or_default()
    }
}

/// The state plus a signal raised on every change.
#[derive(Default)]
pub(super) struct Inbox {
    state: Mutex<State>,
    changed: Notify,
}

impl Inbox {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.lock());
        self.changed.notify_waiters();
    }
}

/// An open in-process connection; closed when the last [`TestClient`](super::TestClient)
/// handle is dropped.
pub(super) struct ClientConnection {
    pub(super) io: SocketIo,
    pub(super) session: Arc<Connection>,
    pub(super) inbox: Arc<Inbox>,
    pub(super) timeout: Duration,
    reader: AbortHandle,
    next_ack: AtomicU64,
    next_barrier: AtomicU64,
    /// The server's packet format, which the client speaks too.
    parser: Parser,
}

impl ClientConnection {
    /// Opens the engine session and starts the reader, unless the engine refuses it.
    pub(super) fn open(
        io: SocketIo,
        handshake: crate::engineio::Handshake,
        timeout: Duration,
        answer_pings: bool,
    ) -> Result<Self, TestError> {
        let engine = io.engine().clone();
        let session = engine
            .open_in_process(handshake)
            .map_err(TestError::Handshake)?;
        let parser = engine.handler().core.config.parser;
        let inbox = Arc::new(Inbox::default());
        let reader = tokio::spawn(read(
            engine,
            session.clone(),
            inbox.clone(),
            answer_pings,
            parser,
        ));
        Ok(ClientConnection {
            io,
            session,
            inbox,
            timeout,
            reader: reader.abort_handle(),
            next_ack: AtomicU64::new(0),
            next_barrier: AtomicU64::new(0),
            parser,
        })
    }

    /// Hands frames to the server, in order, as a transport would.
    pub(super) fn deliver(&self, frames: impl IntoIterator<Item = Frame>) {
        let engine = self.io.engine();
        for frame in frames {
            engine.receive_in_process(&self.session, frame);
        }
    }

    /// Sends one Socket.IO packet (text without the Engine.IO `4`) and its attachments, in the
    /// server's format.
    pub(super) fn send_packet(&self, buf: MessageBuf, attachments: Vec<Bytes>) {
        match self.parser {
            Parser::Json => {
                let frames = std::iter::once(buf.into_frame())
                    .chain(attachments.into_iter().map(Frame::Binary));
                self.deliver(frames);
            }
            #[cfg(feature = "msgpack")]
            Parser::MessagePack => match protocol::encode_msgpack(buf.as_str(), &attachments) {
                Ok(frame) => self.deliver([Frame::Binary(frame.into())]),
                Err(e) => tracing::warn!(error = %e, "test client: packet not sent as MessagePack"),
            },
        }
    }

    /// A fresh acknowledgement id and the receiver of its answer.
    pub(super) fn register_ack(&self) -> (u64, oneshot::Receiver<Args>) {
        let id = self.next_ack.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.inbox.lock().acks.insert(id, tx);
        (id, rx)
    }

    /// Forgets an acknowledgement nobody waits for any more.
    pub(super) fn forget_ack(&self, id: u64) {
        self.inbox.lock().acks.remove(&id);
    }

    /// Returns once the reader has taken in every frame the server queued for this client
    /// before the call: a barrier frame goes through the same queue, behind them.
    pub(super) async fn settle(&self) {
        let n = self.next_barrier.fetch_add(1, Ordering::Relaxed) + 1;
        let barrier = Frame::Text(Utf8Bytes::from(format!("{BARRIER}{n}")));
        if self.session.send(barrier).is_err() {
            // Closed: the reader drains what is left and stops.
            let _ = self.wait(|s| s.closed.map(|_| ())).await;
            return;
        }
        let _ = self
            .wait(|s| (s.barrier >= n || s.closed.is_some()).then_some(()))
            .await;
    }

    /// Waits until `check` returns a value, or the client's timeout passes.
    pub(super) async fn wait<T>(
        &self,
        mut check: impl FnMut(&mut State) -> Option<T>,
    ) -> Result<T, TestError> {
        let waiting = async {
            loop {
                let notified = self.inbox.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(value) = check(&mut self.inbox.lock()) {
                    return value;
                }
                notified.await;
            }
        };
        tokio::time::timeout(self.timeout, waiting)
            .await
            .map_err(|_| TestError::Timeout(self.timeout))
    }
}

impl Drop for ClientConnection {
    fn drop(&mut self) {
        self.session.close(CloseReason::TransportClose);
        self.reader.abort();
    }
}

/// The reader: takes every frame the server queues for the client, in order, like a
/// WebSocket writer would, and records it. Ends when the session closes.
async fn read(
    engine: Engine<Dispatcher>,
    session: Arc<Connection>,
    inbox: Arc<Inbox>,
    answer_pings: bool,
    parser: Parser,
) {
    let _reading = session.reader.lock().await;
    loop {
        let frame = tokio::select! {
            biased;
            frame = session.queue.recv() => Some(frame),
            _ = session.closed() => None,
        };
        let Some(frame) = frame else { break };
        if answer_pings && matches!(&frame, Frame::Text(text) if text.as_str() == "2") {
            engine.receive_in_process(&session, Frame::Text(Utf8Bytes::from_static("3")));
            continue;
        }
        inbox.update(|state| absorb(state, frame, parser));
    }
    // What the server queued before closing (a DISCONNECT, say) still counts.
    let reason = session
        .close_reason()
        .unwrap_or(CloseReason::TransportClose);
    inbox.update(|state| {
        session
            .queue
            .drain(usize::MAX, |frame| absorb(state, frame, parser));
        state.closed = Some(reason);
        state.acks.clear();
        for ns in state.namespaces.values_mut() {
            if matches!(ns.status, Status::Connecting | Status::Connected(_)) {
                ns.status = Status::Disconnected;
            }
        }
    });
}

/// Records one frame from the server.
fn absorb(state: &mut State, frame: Frame, parser: Parser) {
    match frame {
        Frame::Text(text) => {
            let text = text.as_str();
            if let Some(n) = text.strip_prefix(BARRIER) {
                state.barrier = state.barrier.max(n.parse().unwrap_or(0));
            } else if let Some(packet) = text.strip_prefix('4') {
                on_packet_text(state, packet);
            }
            // Anything else (`6` noop, an unanswered `2`) means nothing to the client.
        }
        Frame::Binary(data) => match parser {
            Parser::Json => on_attachment(state, data),
            #[cfg(feature = "msgpack")]
            Parser::MessagePack => on_msgpack(state, &data),
        },
    }
}

/// The next attachment of a binary packet (JSON parser).
fn on_attachment(state: &mut State, data: Bytes) {
    let Some(collector) = state.pending_binary.as_mut() else {
        tracing::warn!("test client: a binary frame without a binary packet");
        return;
    };
    match collector.push(data) {
        Ok(true) => {
            if let Some(collector) = state.pending_binary.take() {
                finish_binary(state, collector);
            }
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = %e, "test client: bad attachment");
            state.pending_binary = None;
        }
    }
}

/// A whole packet of socket.io-msgpack-parser.
#[cfg(feature = "msgpack")]
fn on_msgpack(state: &mut State, data: &Bytes) {
    let (text, attachments) = match protocol::decode_msgpack(data, &CLIENT_LIMITS) {
        Ok(packet) => packet,
        Err(e) => return tracing::warn!(error = %e, "test client: undecodable MessagePack packet"),
    };
    let text = Str::from(text);
    match protocol::decode(text.as_str(), &CLIENT_LIMITS) {
        Ok(packet) => apply(state, &text, packet, attachments),
        Err(e) => tracing::warn!(error = %e, packet = %text, "test client: undecodable packet"),
    }
}

fn on_packet_text(state: &mut State, text: &str) {
    if matches!(text.as_bytes().first(), Some(b'5' | b'6')) {
        match BinaryCollector::new(
            Bytes::copy_from_slice(text.as_bytes()),
            &CLIENT_LIMITS,
            usize::MAX,
        ) {
            Ok(collector) if collector.is_complete() => finish_binary(state, collector),
            Ok(collector) => state.pending_binary = Some(collector),
            Err(e) => tracing::warn!(error = %e, packet = text, "test client: undecodable packet"),
        }
        return;
    }
    let text = Str::from(text);
    match protocol::decode(text.as_str(), &CLIENT_LIMITS) {
        Ok(packet) => apply(state, &text, packet, Vec::new()),
        Err(e) => tracing::warn!(error = %e, packet = %text, "test client: undecodable packet"),
    }
}

fn finish_binary(state: &mut State, collector: BinaryCollector) {
    let (text, attachments) = collector.into_parts();
    let text = Str::from(text);
    match protocol::decode(text.as_str(), &CLIENT_LIMITS) {
        Ok(packet) => apply(state, &text, packet, attachments),
        Err(e) => tracing::warn!(error = %e, "test client: undecodable binary packet"),
    }
}

/// Acts on one decoded packet; `text` holds it, so arguments are slices of it.
fn apply(state: &mut State, text: &Str, packet: Packet<'_>, attachments: Vec<Bytes>) {
    let namespace = packet.namespace;
    match packet.kind {
        PacketKind::Connect => {
            let sid = packet
                .payload
                .and_then(|p| serde_json::from_str::<Value>(p).ok())
                .and_then(|v| v.get("sid").and_then(Value::as_str).map(str::to_owned))
                .and_then(|sid| sid.parse::<Sid>().ok());
            state.namespace(namespace).status = Status::Connected(sid);
        }
        PacketKind::ConnectError => {
            let payload = packet
                .payload
                .and_then(|p| serde_json::from_str::<Value>(p).ok())
                .unwrap_or(Value::Null);
            let (message, data) = match payload {
                Value::String(message) => (message, None),
                Value::Object(mut map) => (
                    map.remove("message")
                        .and_then(|m| m.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    map.remove("data"),
                ),
                _ => (String::new(), None),
            };
            state.namespace(namespace).status = Status::Refused { message, data };
        }
        PacketKind::Disconnect => state.namespace(namespace).status = Status::Disconnected,
        PacketKind::Event | PacketKind::BinaryEvent => {
            let Some(payload) = packet.payload else {
                return;
            };
            let Ok(event) = protocol::split_event(payload) else {
                tracing::warn!(payload, "test client: undecodable event");
                return;
            };
            let items = event.args.iter().map(|raw| text.slice_ref(raw)).collect();
            let received = Received {
                namespace: namespace.to_owned(),
                name: event.name.into_owned(),
                args: Args::new(items, attachments),
                ack_id: packet.id,
            };
            state.namespace(namespace).received.push_back(received);
        }
        PacketKind::Ack | PacketKind::BinaryAck => {
            let (Some(id), Some(payload)) = (packet.id, packet.payload) else {
                return;
            };
            let Ok(args) = Args::from_array(&text.slice_ref(payload), attachments) else {
                tracing::warn!(payload, "test client: undecodable acknowledgement");
                return;
            };
            if let Some(tx) = state.acks.remove(&id) {
                let _ = tx.send(args);
            }
        }
    }
}
