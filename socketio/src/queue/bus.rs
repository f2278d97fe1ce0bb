//! The bus: one publishing task and one subscribing task per server (or emitter), on top of a
//! [`Backend`]. It owns everything the backends share: reconnection with back-off, the bounded
//! publish queue and its fail-fast rule, ignoring this process's own messages, surviving
//! malformed ones, counters, and the table of acknowledgements awaited from other processes.
//!
//! A server's bus also keeps the cluster's membership: a heartbeat task announces the server
//! (a `hello` after each subscription, then a `heartbeat` every interval, a `goodbye` when it
//! leaves), and [`Members`] counts the servers heard from within the heartbeat timeout, the
//! expected responders of cluster-wide [`Request`]s. Server events
//! ([`Bus::server_emit`]) are handled here, for the whole server.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::backend::{
    Backend, Backoff, Delivery, Publisher, Subscription, CONNECT_TIMEOUT, PUBLISH_TIMEOUT,
};
use super::foreign::{self, Accept, Format, Incoming};
use super::members::{Members, Timing};
use super::request::{Request, Requests};
use super::server_event::{ServerEvent, ServerEvents};
use super::wire::{self, Header, Message, Op, WireError};
use super::{QueueError, QueueStats};
use crate::ack::{AckFuture, DEFAULT_ACK_TIMEOUT};
use crate::adapter::{ClusterFuture, Replies};
use crate::args::Args;
use crate::error::{BoxError, EmitError};
use crate::packet::EncodedPacket;
use crate::sync::{Mutex, RwLock};

/// How often an idle subscription is checked with a PING (where the backend has one).
const HEALTH_EVERY: Duration = Duration::from_secs(10);
/// How long that PING may take.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);
/// The publish queue holds at most this many messages...
pub(crate) const MAX_QUEUED: usize = 16_384;
/// ... and at most this many bytes.
pub(crate) const MAX_QUEUED_BYTES: usize = 64 << 20;
/// One publish round trip carries at most this many messages...
const MAX_BATCH: usize = 256;
/// ... or about this many bytes.
const MAX_BATCH_BYTES: usize = 1 << 20;
/// An acknowledgement request from another process waits at most this long, whatever it asks.
const MAX_REMOTE_ACK_TIMEOUT: Duration = Duration::from_secs(600);
/// At most one log line per this interval for each repeated condition.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Receives the messages addressed to one namespace (the namespace's queue adapter).
pub(crate) trait Route: Send + Sync {
    /// Applies a message from another process.
    fn on_message(&self, message: Message) -> Result<(), WireError>;
}

/// A message waiting to be published, and who waits for the outcome.
struct Outgoing {
    payload: Bytes,
    done: Option<oneshot::Sender<Result<(), QueueError>>>,
    /// A heartbeat, `hello` or `goodbye`: kept out of the counters (`published`,
    /// `publish_failed`), which count the application's messages; a lost one is a missed
    /// heartbeat, not a lost message.
    membership: bool,
}

/// What a received message was, for the counters.
enum Traffic {
    /// The application's (or a request's): counted in `received`.
    Data,
    /// A heartbeat, `hello` or `goodbye`: not counted.
    Membership,
}

/// Logs a repeated condition at most once per [`LOG_EVERY`], counting what it held back.
#[derive(Default)]
struct LogLimiter {
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl LogLimiter {
    /// `Some(held back since the last line)` when a line may be logged now.
    fn allow(&self) -> Option<u64> {
        let mut last = self.last.lock();
        if last.is_some_and(|t| t.elapsed() < LOG_EVERY) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(Instant::now());
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

/// What the bus and its tasks share.
pub(crate) struct BusState {
    pub(crate) uid: String,
    endpoint: String,
    connected: watch::Sender<bool>,
    subscribed: AtomicBool,
    published: AtomicU64,
    publish_failed: AtomicU64,
    received: AtomicU64,
    own_ignored: AtomicU64,
    malformed: AtomicU64,
    foreign: AtomicU64,
    refused: AtomicU64,
    untranslated: AtomicU64,
    reconnects: AtomicU64,
    connect_failures: AtomicU64,
    last_error: Mutex<Option<String>>,
    queued_bytes: AtomicUsize,
    routes: RwLock<HashMap<String, Weak<dyn Route>>>,
    acks: Mutex<HashMap<u64, oneshot::Sender<Args>>>,
    next_req: AtomicU64,
    fail_log: LogLimiter,
    malformed_log: LogLimiter,
    refused_log: LogLimiter,
    untranslated_log: LogLimiter,
    /// What the subscription accepts besides this crate's format.
    accept: Accept,
    /// The publish queue's sending end.
    tx: mpsc::Sender<Outgoing>,
    /// A server's bus (it subscribes, announces itself and answers requests), not an
    /// emitter's.
    server: bool,
    timing: Timing,
    /// The other servers, from their heartbeats.
    members: Members,
    /// This server's cluster-wide requests waiting for answers.
    requests: Arc<Requests>,
    /// The handlers of server events, once the server is built.
    server_events: OnceLock<Arc<dyn ServerEvents>>,
    /// The server said goodbye: it no longer announces itself.
    left: AtomicBool,
    /// A `hello` is due (after each new subscription).
    hello_due: AtomicBool,
    /// Wakes the heartbeat task early (a new subscription, a new publishing connection).
    beat_now: Notify,
}

impl BusState {
    fn is_connected(&self) -> bool {
        *self.connected.borrow()
    }

    fn set_connected(&self, up: bool) {
        let changed = self.connected.send_if_modified(|state| {
            let changed = *state != up;
            *state = up;
            changed
        });
        if changed && up {
            self.beat_now.notify_one();
        }
    }

    /// Queues `payload` for publication without waiting. Fails at once (counted and logged)
    /// while the broker is unreachable or the queue is full.
    fn enqueue(
        &self,
        payload: Bytes,
        done: Option<oneshot::Sender<Result<(), QueueError>>>,
    ) -> Result<(), QueueError> {
        self.queue(Outgoing {
            payload,
            done,
            membership: false,
        })
    }

    /// Queues `message`; a failure of an application message is counted and logged.
    fn queue(&self, message: Outgoing) -> Result<(), QueueError> {
        let membership = message.membership;
        let count_failed = |why| {
            if !membership {
                self.count_failed(1, why);
            }
        };
        if !self.is_connected() {
            count_failed("not connected");
            let last = self.last_error.lock().clone();
            return Err(QueueError::Unavailable(
                last.unwrap_or_else(|| "not connected yet".into()),
            ));
        }
        let len = message.payload.len();
        let before = self.queued_bytes.fetch_add(len, Ordering::AcqRel);
        if before + len > MAX_QUEUED_BYTES || self.tx.try_send(message).is_err() {
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            count_failed("publish queue full");
            return Err(QueueError::QueueFull);
        }
        Ok(())
    }

    /// Publishes a message of `op` without body (`heartbeat`, `hello`, `goodbye`).
    fn announce(&self, op: Op) -> Result<(), QueueError> {
        self.queue(Outgoing {
            payload: wire::encode(Header::new(&self.uid, op), &[]),
            done: None,
            membership: true,
        })
    }

    /// One heartbeat: forgets the servers silent for longer than the timeout, then announces
    /// this one (a `hello` when one is due, so that the others answer at once).
    fn beat(&self) {
        for uid in self.members.prune() {
            tracing::info!(
                endpoint = %self.endpoint,
                server = %uid,
                timeout_ms = self.timing.heartbeat_timeout.as_millis() as u64,
                "message queue: a server stopped counting (no heartbeat within the timeout)"
            );
        }
        if self.left.load(Ordering::Acquire) || !self.is_connected() {
            return;
        }
        let hello =
            self.subscribed.load(Ordering::Acquire) && self.hello_due.swap(false, Ordering::AcqRel);
        let op = if hello { Op::Hello } else { Op::Heartbeat };
        if self.announce(op).is_err() && hello {
            self.hello_due.store(true, Ordering::Release);
        }
    }

    /// Says goodbye (once): the other servers stop counting this one at once.
    fn leave(&self) {
        if self.server && !self.left.swap(true, Ordering::AcqRel) && self.is_connected() {
            let _ = self.announce(Op::Goodbye);
        }
    }

    fn record_error(&self, error: &dyn std::fmt::Display) {
        *self.last_error.lock() = Some(error.to_string());
    }

    /// Counts `n` publishes that did not reach the broker, and says so (rate-limited).
    fn count_failed(&self, n: u64, why: &str) {
        self.publish_failed.fetch_add(n, Ordering::Relaxed);
        crate::metrics::publish_failed(n);
        if let Some(held_back) = self.fail_log.allow() {
            tracing::warn!(
                endpoint = %self.endpoint,
                messages = n,
                earlier_failures_not_logged = held_back,
                total_failed = self.publish_failed.load(Ordering::Relaxed),
                "message queue: publish failed ({why}); other processes miss these messages, local sockets were served"
            );
        }
    }

    fn lock_acks(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Args>>> {
        self.acks.lock()
    }

    /// Counts a foreign message (or a part of one) that is not applied, and says so
    /// (rate-limited).
    fn refuse(&self, format: Format, what: &str) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        if let Some(held_back) = self.refused_log.allow() {
            tracing::warn!(
                endpoint = %self.endpoint,
                format = format.name(),
                earlier_not_logged = held_back,
                "message queue: refused from a foreign emitter: {what} (see docs/multi-process.md, \"Foreign emitters\")"
            );
        }
    }

    /// Handles one received message; whatever it contains, this returns (a panic in the code
    /// that applies it is caught and counted, so the listener never dies).
    fn dispatch(self: &Arc<Self>, delivery: Delivery) {
        let size = delivery.payload.len();
        let outcome = catch_unwind(AssertUnwindSafe(|| self.apply(delivery)));
        if !matches!(outcome, Ok(Ok(Traffic::Membership))) {
            self.received.fetch_add(1, Ordering::Relaxed);
        }
        let problem = match outcome {
            Ok(Ok(_)) => return,
            Ok(Err(e)) => e.0,
            Err(_) => "applying it panicked".to_owned(),
        };
        self.malformed.fetch_add(1, Ordering::Relaxed);
        if let Some(held_back) = self.malformed_log.allow() {
            tracing::warn!(
                endpoint = %self.endpoint,
                size,
                earlier_not_logged = held_back,
                "message queue: ignored a message: {problem}"
            );
        }
    }

    fn apply(self: &Arc<Self>, delivery: Delivery) -> Result<Traffic, WireError> {
        let message = match foreign::decode(delivery, &self.accept)? {
            Incoming::Apply {
                message,
                format: Format::Native,
                ..
            } => *message,
            Incoming::Apply {
                message,
                format,
                note,
            } => {
                if message.header.uid == self.uid {
                    // Published by this server in python-socketio's format.
                    self.own_ignored.fetch_add(1, Ordering::Relaxed);
                    return Ok(Traffic::Data);
                }
                self.route(*message)?;
                self.foreign.fetch_add(1, Ordering::Relaxed);
                if let Some(note) = note {
                    self.refuse(format, note);
                }
                return Ok(Traffic::Data);
            }
            Incoming::NotForUs => return Ok(Traffic::Data),
            Incoming::Copy { uid } => {
                if uid == self.uid {
                    self.own_ignored.fetch_add(1, Ordering::Relaxed);
                }
                return Ok(Traffic::Data);
            }
            Incoming::Refused { format, what } => {
                self.refuse(format, &format!("{what} is not supported"));
                return Ok(Traffic::Data);
            }
        };
        let op = message.header.op;
        if matches!(op, Op::Heartbeat | Op::Hello | Op::Goodbye) {
            if message.header.uid != self.uid {
                self.on_membership(op, &message.header.uid);
            }
            return Ok(Traffic::Membership);
        }
        if message.header.uid == self.uid {
            self.own_ignored.fetch_add(1, Ordering::Relaxed);
            return Ok(Traffic::Data);
        }
        if op == Op::AckResponse || op.is_response() {
            if message.header.to.as_deref() == Some(self.uid.as_str()) {
                self.answer(message)?;
            }
            return Ok(Traffic::Data);
        }
        match op {
            Op::ServerEvent => self.on_server_event(message)?,
            _ => self.route(message)?,
        }
        Ok(Traffic::Data)
    }

    /// Another server announced itself, or left.
    fn on_membership(&self, op: Op, uid: &str) {
        match op {
            Op::Goodbye => {
                if self.members.gone(uid) {
                    tracing::info!(endpoint = %self.endpoint, server = %uid, "message queue: a server left (goodbye)");
                }
            }
            _ => {
                if self.members.seen(uid) {
                    tracing::info!(endpoint = %self.endpoint, server = %uid, "message queue: a server counts (heartbeat)");
                }
                if op == Op::Hello && self.server && !self.left.load(Ordering::Acquire) {
                    let _ = self.announce(Op::Heartbeat);
                }
            }
        }
    }

    /// An answer addressed to this server: an acknowledgement of one socket, or an answer to
    /// a cluster-wide request.
    fn answer(&self, message: Message) -> Result<(), WireError> {
        if message.header.op != Op::AckResponse {
            return self.requests.deliver(message);
        }
        let Some(req) = message.header.req else {
            return Err(WireError("ack_response without req".into()));
        };
        let Some(tx) = self.lock_acks().remove(&req) else {
            return Ok(()); // timed out or dropped meanwhile
        };
        if message.header.error.is_none() {
            let _ = tx.send(message.args()?);
        }
        Ok(())
    }

    /// Runs this server's handler of a server event, and publishes its acknowledgement when
    /// the sender asked for one (a server without a handler for the event answers with an
    /// error, so that the sender does not wait for it).
    fn on_server_event(self: &Arc<Self>, message: Message) -> Result<(), WireError> {
        let (event, args) = message.event("/")?;
        let header = message.header;
        let reply = header.answer(&self.uid, Op::ServerEventResponse);
        let handler = self
            .server_events
            .get()
            .filter(|handlers| handlers.handles(&event))
            .cloned();
        let Some(handler) = handler else {
            tracing::debug!(event, from = %header.uid, "message queue: no handler for this server event");
            if let Some(mut reply) = reply {
                reply.error = Some(format!("no handler for {event:?}"));
                let _ = self.enqueue(wire::encode(reply, &[]), None);
            }
            return Ok(());
        };
        let shared = self.clone();
        let from = header.uid;
        tokio::spawn(async move {
            // The handler runs to its end; an answer later than the sender's timeout is
            // ignored there.
            let outcome = handler.handle(ServerEvent::new(event, args, from)).await;
            let Some(mut reply) = reply else {
                return;
            };
            let payload = match outcome {
                Ok(args) => wire::encode_args(reply, &args),
                Err(why) => {
                    reply.error = Some(why);
                    wire::encode(reply, &[])
                }
            };
            let _ = shared.enqueue(payload, None);
        });
        Ok(())
    }

    /// Hands `message` to its namespace's adapter.
    fn route(&self, message: Message) -> Result<(), WireError> {
        let route = self
            .routes
            .read()
            .get(&message.header.ns)
            .and_then(Weak::upgrade);
        match route {
            Some(route) => route.on_message(message),
            None => {
                tracing::trace!(namespace = %message.header.ns, "message queue: message for a namespace this server does not have");
                // A request still gets its (empty) answer, so that the asker does not wait.
                let header = &message.header;
                let answer = match header.op {
                    Op::FetchSockets => header
                        .answer(&self.uid, Op::FetchSocketsResponse)
                        .map(|answer| wire::encode(answer, &[b"[]"])),
                    Op::BroadcastAck => {
                        header
                            .answer(&self.uid, Op::BroadcastAckCount)
                            .map(|mut answer| {
                                answer.count = Some(0);
                                wire::encode(answer, &[])
                            })
                    }
                    _ => None,
                };
                if let Some(answer) = answer {
                    let _ = self.enqueue(answer, None);
                }
                Ok(())
            }
        }
    }
}

/// Forgets an acknowledgement request when its waiter goes away.
struct AckGuard {
    shared: Weak<BusState>,
    req: u64,
}

impl Drop for AckGuard {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.lock_acks().remove(&self.req);
        }
    }
}

/// A connection to a message queue, shared by the namespaces of one server or by one emitter.
/// Dropping the last handle stops its tasks.
pub(crate) struct Bus {
    shared: Arc<BusState>,
    _stop: DropGuard,
}

impl Bus {
    /// Starts the publishing task, and if `subscribe` (a server's bus) the subscribing and
    /// heartbeat tasks. Needs a tokio runtime; connects in the background.
    pub(crate) fn start(
        backend: Arc<dyn Backend>,
        subscribe: bool,
        accept: Accept,
        timing: Timing,
    ) -> Result<Arc<Bus>, QueueError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| QueueError::NoRuntime)?;
        let uid = format!("{:016x}", rand::random::<u64>());
        let (connected, _) = watch::channel(false);
        let (tx, rx) = mpsc::channel(MAX_QUEUED);
        let shared = Arc::new(BusState {
            uid,
            endpoint: backend.endpoint().to_owned(),
            connected,
            subscribed: AtomicBool::new(false),
            published: AtomicU64::new(0),
            publish_failed: AtomicU64::new(0),
            received: AtomicU64::new(0),
            own_ignored: AtomicU64::new(0),
            malformed: AtomicU64::new(0),
            foreign: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            untranslated: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            last_error: Mutex::new(None),
            queued_bytes: AtomicUsize::new(0),
            routes: RwLock::new(HashMap::new()),
            acks: Mutex::new(HashMap::new()),
            next_req: AtomicU64::new(0),
            fail_log: LogLimiter::default(),
            malformed_log: LogLimiter::default(),
            refused_log: LogLimiter::default(),
            untranslated_log: LogLimiter::default(),
            accept,
            tx,
            server: subscribe,
            timing,
            members: Members::new(timing.heartbeat_timeout),
            requests: Arc::default(),
            server_events: OnceLock::new(),
            left: AtomicBool::new(false),
            hello_due: AtomicBool::new(false),
            beat_now: Notify::new(),
        });
        let stop = CancellationToken::new();
        runtime.spawn(publisher_task(
            shared.clone(),
            backend.clone(),
            rx,
            stop.clone(),
        ));
        if subscribe {
            runtime.spawn(subscriber_task(
                Arc::downgrade(&shared),
                backend,
                stop.clone(),
            ));
            runtime.spawn(heartbeat_task(Arc::downgrade(&shared), stop.clone()));
        }
        Ok(Arc::new(Bus {
            shared,
            _stop: stop.drop_guard(),
        }))
    }

    /// The cluster's timing (heartbeats, default request timeout).
    pub(crate) fn timing(&self) -> Timing {
        self.shared.timing
    }

    /// Runs the server-event handlers of this server (set once, when the server is built).
    pub(crate) fn serve_events(&self, handlers: Arc<dyn ServerEvents>) {
        let _ = self.shared.server_events.set(handlers);
    }

    /// Says goodbye to the other servers (once), which stop counting this one at once; it
    /// stops announcing itself. Dropping the bus does it too.
    pub(crate) fn leave(&self) {
        self.shared.leave();
    }

    /// Opens a cluster-wide request, expecting answers from the servers that count now; the
    /// caller publishes it with [`Request::req`] as `req`.
    pub(crate) fn open_request(&self) -> Request {
        self.shared.requests.open(self.shared.members.alive())
    }

    /// Sends an event (an EVENT packet of namespace `/`) to the handlers of the other servers.
    pub(crate) fn server_emit(&self, packet: &EncodedPacket) -> Result<(), QueueError> {
        let mut header = Header::new(&self.shared.uid, Op::ServerEvent);
        header.ns = "/".to_owned();
        self.publish(wire::encode_packet(header, packet))
    }

    /// Sends an event to the handlers of the other servers and gathers their
    /// acknowledgements, each with the answering server's uid, for at most `timeout`.
    pub(crate) fn server_emit_with_ack(
        &self,
        packet: &EncodedPacket,
        timeout: Duration,
    ) -> ClusterFuture<(String, Args)> {
        let mut request = self.open_request();
        let mut header = Header::new(&self.shared.uid, Op::ServerEvent);
        header.ns = "/".to_owned();
        header.req = Some(request.req);
        header.timeout_ms = Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        if self.publish(wire::encode_packet(header, packet)).is_err() {
            request.unsent();
        }
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + timeout;
            let mut items = Vec::new();
            let silent = request
                .one_from_each(Op::ServerEventResponse, deadline, |uid, message| {
                    if message.header.error.is_some() {
                        return;
                    }
                    match message.args() {
                        Ok(args) => items.push((uid, args)),
                        Err(e) => {
                            tracing::debug!(server = %uid, error = %e, "message queue: a bad server-event acknowledgement")
                        }
                    }
                })
                .await;
            Replies::partial(items, silent, 0)
        })
    }

    /// This server's (or emitter's) id on the bus.
    pub(crate) fn uid(&self) -> &str {
        &self.shared.uid
    }

    /// Sends messages for namespace `ns` to `route`.
    pub(crate) fn route(&self, ns: &str, route: Weak<dyn Route>) {
        self.shared.routes.write().insert(ns.to_owned(), route);
    }

    /// Queues `payload` for publication without waiting. Fails at once (counted and logged)
    /// while the broker is unreachable or the queue is full.
    pub(crate) fn publish(&self, payload: Bytes) -> Result<(), QueueError> {
        self.shared.enqueue(payload, None)
    }

    /// Counts an operation of this server that its python-socketio peers miss, because their
    /// format cannot say it, and says so (rate-limited).
    pub(crate) fn untranslated(&self, what: &str) {
        let s = &self.shared;
        s.untranslated.fetch_add(1, Ordering::Relaxed);
        if let Some(held_back) = s.untranslated_log.allow() {
            tracing::warn!(
                endpoint = %s.endpoint,
                earlier_not_logged = held_back,
                "message queue: not published for python-socketio servers: {what} (see docs/multi-process.md, \"Mixed clusters\")"
            );
        }
    }

    /// Publishes `payload` and waits until the broker took it (or the attempt failed).
    pub(crate) async fn publish_confirmed(&self, payload: Bytes) -> Result<(), QueueError> {
        let (tx, rx) = oneshot::channel();
        self.shared.enqueue(payload, Some(tx))?;
        match tokio::time::timeout(CONNECT_TIMEOUT + PUBLISH_TIMEOUT, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(QueueError::Unavailable("the bus stopped".into())),
            Err(_) => Err(QueueError::Unavailable("publish timed out".into())),
        }
    }

    /// Asks the process holding socket `header.sid` to send `packet` with an acknowledgement
    /// and to route the answer back here.
    pub(crate) fn request_ack(
        &self,
        mut header: Header,
        packet: &EncodedPacket,
        timeout: Duration,
    ) -> AckFuture {
        let req = self.shared.next_req.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.shared.lock_acks().insert(req, tx);
        let guard = AckGuard {
            shared: Arc::downgrade(&self.shared),
            req,
        };
        header.req = Some(req);
        header.timeout_ms = Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        let failed = self
            .publish(wire::encode_packet(header, packet))
            .err()
            .map(|e| EmitError::MessageQueue(e.to_string()));
        AckFuture::new(rx, Box::new(guard), timeout, failed)
    }

    /// How long a remote acknowledgement request may keep a socket waiting.
    pub(crate) fn remote_ack_timeout(requested: Option<u64>) -> Duration {
        requested
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_ACK_TIMEOUT)
            .min(MAX_REMOTE_ACK_TIMEOUT)
    }

    /// Waits until the publishing connection is up, at most `timeout`.
    pub(crate) async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut rx = self.shared.connected.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|up| *up))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Whether the publishing connection is up (what [`QueueStats::connected`] says, read
    /// without building the stats; the Admin UI asks it per report).
    #[cfg(feature = "admin-ui")]
    pub(crate) fn is_connected(&self) -> bool {
        self.shared.is_connected()
    }

    /// The counters.
    pub(crate) fn stats(&self) -> QueueStats {
        let s = &self.shared;
        QueueStats {
            uid: s.uid.clone(),
            connected: s.is_connected(),
            subscribed: s.subscribed.load(Ordering::Acquire),
            published: s.published.load(Ordering::Relaxed),
            publish_failed: s.publish_failed.load(Ordering::Relaxed),
            received: s.received.load(Ordering::Relaxed),
            own_ignored: s.own_ignored.load(Ordering::Relaxed),
            malformed: s.malformed.load(Ordering::Relaxed),
            foreign: s.foreign.load(Ordering::Relaxed),
            refused: s.refused.load(Ordering::Relaxed),
            untranslated: s.untranslated.load(Ordering::Relaxed),
            reconnects: s.reconnects.load(Ordering::Relaxed),
            connect_failures: s.connect_failures.load(Ordering::Relaxed),
            pending_acks: s.lock_acks().len(),
            servers: s.members.alive().len(),
            pending_requests: s.requests.len(),
            last_error: s.last_error.lock().clone(),
        }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        // Queued before the tasks stop; the publisher flushes it on its way out.
        self.shared.leave();
    }
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("uid", &self.shared.uid)
            .field("endpoint", &self.shared.endpoint)
            .finish_non_exhaustive()
    }
}

/// Fails a message that will not be published.
fn fail(shared: &BusState, message: Outgoing, why: &str) {
    shared
        .queued_bytes
        .fetch_sub(message.payload.len(), Ordering::AcqRel);
    if !message.membership {
        shared.count_failed(1, why);
    }
    if let Some(done) = message.done {
        let _ = done.send(Err(QueueError::Unavailable(why.to_owned())));
    }
}

/// Sleeps `delay`, failing whatever is queued meanwhile; `false` when the bus stopped.
async fn wait_failing(
    shared: &BusState,
    rx: &mut mpsc::Receiver<Outgoing>,
    stop: &CancellationToken,
    delay: Duration,
) -> bool {
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return false,
            _ = &mut sleep => return true,
            message = rx.recv() => match message {
                Some(message) => fail(shared, message, "not connected"),
                None => return false,
            },
        }
    }
}

async fn publisher_task(
    shared: Arc<BusState>,
    backend: Arc<dyn Backend>,
    mut rx: mpsc::Receiver<Outgoing>,
    stop: CancellationToken,
) {
    let mut backoff = Backoff::default();
    let mut ever_connected = false;
    loop {
        let attempt = tokio::select! {
            _ = stop.cancelled() => return,
            r = tokio::time::timeout(CONNECT_TIMEOUT, backend.connect_publisher()) => r,
        };
        let connected = match attempt {
            Ok(Ok(publisher)) => Ok(publisher),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(BoxError::from("connection timed out")),
        };
        let mut publisher = match connected {
            Ok(publisher) => publisher,
            Err(e) => {
                shared.record_error(&e);
                shared.connect_failures.fetch_add(1, Ordering::Relaxed);
                let delay = backoff.next_delay();
                tracing::error!(
                    endpoint = %shared.endpoint,
                    error = %e,
                    attempt = backoff.failures(),
                    retry_in_ms = delay.as_millis() as u64,
                    "message queue: cannot connect the publisher; cross-process messages fail until it does"
                );
                if !wait_failing(&shared, &mut rx, &stop, delay).await {
                    return;
                }
                continue;
            }
        };
        if ever_connected || backoff.failures() > 0 {
            shared.reconnects.fetch_add(1, Ordering::Relaxed);
            tracing::info!(endpoint = %shared.endpoint, "message queue: publisher connected again");
        } else {
            tracing::debug!(endpoint = %shared.endpoint, "message queue: publisher connected");
        }
        ever_connected = true;
        backoff.reset();
        shared.set_connected(true);

        let mut batch: Vec<Outgoing> = Vec::new();
        loop {
            let first = tokio::select! {
                _ = stop.cancelled() => {
                    flush_last(&shared, &mut *publisher, &mut rx).await;
                    return;
                }
                message = rx.recv() => match message {
                    Some(message) => message,
                    None => return,
                },
            };
            let mut bytes = first.payload.len();
            batch.push(first);
            while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
                match rx.try_recv() {
                    Ok(message) => {
                        bytes += message.payload.len();
                        batch.push(message);
                    }
                    Err(_) => break,
                }
            }
            let payloads: Vec<Bytes> = batch.iter().map(|m| m.payload.clone()).collect();
            let result =
                match tokio::time::timeout(PUBLISH_TIMEOUT, publisher.publish(&payloads)).await {
                    Ok(result) => result,
                    Err(_) => Err(BoxError::from("publish timed out")),
                };
            match result {
                Ok(()) => {
                    let counted = batch.iter().filter(|m| !m.membership).count();
                    shared
                        .published
                        .fetch_add(counted as u64, Ordering::Relaxed);
                    for message in batch.drain(..) {
                        shared
                            .queued_bytes
                            .fetch_sub(message.payload.len(), Ordering::AcqRel);
                        if let Some(done) = message.done {
                            let _ = done.send(Ok(()));
                        }
                    }
                }
                Err(e) => {
                    shared.set_connected(false);
                    shared.record_error(&e);
                    tracing::error!(endpoint = %shared.endpoint, error = %e, "message queue: publisher connection lost");
                    let why = format!("connection lost: {e}");
                    for message in batch.drain(..) {
                        fail(&shared, message, &why);
                    }
                    break;
                }
            }
        }
    }
}

/// Publishes what is still queued when the bus stops (a `goodbye`), bounded by
/// [`PUBLISH_TIMEOUT`]; best effort.
async fn flush_last(
    shared: &BusState,
    publisher: &mut dyn Publisher,
    rx: &mut mpsc::Receiver<Outgoing>,
) {
    let mut last = Vec::new();
    while let Ok(message) = rx.try_recv() {
        shared
            .queued_bytes
            .fetch_sub(message.payload.len(), Ordering::AcqRel);
        last.push(message.payload);
        if last.len() >= MAX_BATCH {
            break;
        }
    }
    if !last.is_empty() {
        let _ = tokio::time::timeout(PUBLISH_TIMEOUT, publisher.publish(&last)).await;
    }
}

/// Announces the server every heartbeat interval (and at once when a subscription or a
/// publishing connection opens), and forgets the servers that went silent.
async fn heartbeat_task(shared: Weak<BusState>, stop: CancellationToken) {
    let Some(interval) = shared.upgrade().map(|s| s.timing.heartbeat_interval) else {
        return;
    };
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
            _ = strong.beat_now.notified() => {}
        }
        strong.beat();
    }
}

async fn subscriber_task(
    shared: Weak<BusState>,
    backend: Arc<dyn Backend>,
    stop: CancellationToken,
) {
    let mut backoff = Backoff::default();
    let mut ever_subscribed = false;
    loop {
        let attempt = tokio::select! {
            _ = stop.cancelled() => return,
            r = tokio::time::timeout(CONNECT_TIMEOUT, backend.subscribe()) => r,
        };
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let subscribed = match attempt {
            Ok(Ok(subscription)) => Ok(subscription),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(BoxError::from("subscription timed out")),
        };
        let subscription = match subscribed {
            Ok(subscription) => subscription,
            Err(e) => {
                strong.record_error(&e);
                strong.connect_failures.fetch_add(1, Ordering::Relaxed);
                let delay = backoff.next_delay();
                tracing::error!(
                    endpoint = %strong.endpoint,
                    error = %e,
                    attempt = backoff.failures(),
                    retry_in_ms = delay.as_millis() as u64,
                    "message queue: cannot subscribe; this process only serves its own sockets until it does"
                );
                drop(strong);
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(delay) => continue,
                }
            }
        };
        if ever_subscribed || backoff.failures() > 0 {
            strong.reconnects.fetch_add(1, Ordering::Relaxed);
            tracing::info!(endpoint = %strong.endpoint, "message queue: subscribed again");
        } else {
            tracing::debug!(endpoint = %strong.endpoint, "message queue: subscribed");
        }
        ever_subscribed = true;
        backoff.reset();
        strong.subscribed.store(true, Ordering::Release);
        // Messages published while unsubscribed were missed, heartbeats included: ask the
        // others to announce themselves.
        strong.hello_due.store(true, Ordering::Release);
        strong.beat_now.notify_one();
        drop(strong);

        let reason = listen(&shared, subscription, &stop).await;
        let Some(strong) = shared.upgrade() else {
            return;
        };
        strong.subscribed.store(false, Ordering::Release);
        let Some(reason) = reason else {
            return;
        };
        strong.record_error(&reason);
        tracing::error!(endpoint = %strong.endpoint, error = %reason, "message queue: subscription lost; reconnecting");
        drop(strong);
        let delay = backoff.next_delay();
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// Reads a subscription until it breaks (`Some(reason)`) or the bus stops (`None`).
async fn listen(
    shared: &Weak<BusState>,
    subscription: Subscription,
    stop: &CancellationToken,
) -> Option<BoxError> {
    let Subscription {
        mut messages,
        mut pinger,
        _keep,
    } = subscription;
    let mut health = tokio::time::interval(HEALTH_EVERY);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    health.reset();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return None,
            message = messages.next() => match message {
                Some(Ok(bytes)) => shared.upgrade()?.dispatch(bytes),
                Some(Err(e)) => return Some(e),
                None => return Some("the broker closed the subscription".into()),
            },
            _ = health.tick(), if pinger.is_some() => {
                if let Some(pinger) = pinger.as_mut() {
                    match tokio::time::timeout(HEALTH_TIMEOUT, pinger.ping()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => return Some(e),
                        Err(_) => return Some("health check timed out".into()),
                    }
                }
            }
        }
    }
}
