//! One Engine.IO session: its outbound queue, its transport state and its close signal.

use std::future::poll_fn;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::task::{Context, Poll};

use axum::http::{Extensions, HeaderMap, Uri};
use futures_util::task::AtomicWaker;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use super::inline_deque::InlineDeque;
use super::{Frame, Sid};

/// Why a session ended. The layer above receives it in
/// [`EngineHandler::on_close`](super::EngineHandler::on_close).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the session (a `1` packet, a WebSocket close, a dropped poll).
    TransportClose,
    /// The transport failed: an I/O error, or the session fell too far behind in reading.
    TransportError,
    /// The client sent something that is not Engine.IO.
    ParseError,
    /// No pong within `ping_timeout` of a ping.
    PingTimeout,
    /// The server closed the session.
    ForcedClose,
    /// The server is shutting down.
    ServerShutdown,
}

impl CloseReason {
    /// The reason as socket.io names it (`"transport close"`, `"ping timeout"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::ParseError => "parse error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ServerShutdown => "server shutting down",
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The request that opened a session.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// Request headers (cookies included).
    pub headers: HeaderMap,
    /// Request URI (path and query).
    pub uri: Uri,
    /// The peer's address, when the server was started with connect info (as [`serve`](super::serve) does).
    pub remote_addr: Option<SocketAddr>,
}

impl Handshake {
    /// The client's address: the peer's, or, when the peer is one of `trusted_proxies`, the
    /// address those proxies reported in `X-Forwarded-For` (the rightmost one that is not a
    /// trusted proxy itself, since a client can put anything on the left). `None` without a
    /// peer address.
    ///
    /// ```
    /// use socketio::engineio::Handshake;
    ///
    /// let mut headers = axum::http::HeaderMap::new();
    /// headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
    /// let handshake = Handshake {
    ///     headers,
    ///     uri: "/socket.io/?EIO=4".parse().unwrap(),
    ///     remote_addr: Some("127.0.0.1:40000".parse().unwrap()),
    /// };
    /// let nginx = "127.0.0.1".parse().unwrap();
    /// assert_eq!(handshake.client_addr(&[nginx]), Some("203.0.113.7".parse().unwrap()));
    /// assert_eq!(handshake.client_addr(&[]), Some(nginx)); // nobody trusted: the peer
    /// ```
    pub fn client_addr(&self, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
        let peer = self.remote_addr?.ip();
        if !trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let forwarded = self
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|hop| !trusted_proxies.contains(hop))
                .unwrap_or(peer),
        )
    }

    /// The value of cookie `name`, if the request carried it.
    ///
    /// ```
    /// use socketio::engineio::Handshake;
    ///
    /// let mut headers = axum::http::HeaderMap::new();
    /// headers.insert("cookie", "theme=dark; session=abc123".parse().unwrap());
    /// let handshake = Handshake { headers, uri: "/socket.io/?EIO=4".parse().unwrap(), remote_addr: None };
    /// assert_eq!(handshake.cookie("session"), Some("abc123"));
    /// assert_eq!(handshake.cookie("missing"), None);
    /// ```
    pub fn cookie(&self, name: &str) -> Option<&str> {
        cookie(&self.headers, name)
    }

    /// The value of query parameter `name`, percent-decoded (`+` is a space), if present: what
    /// Flask's `request.args` gives. The first of repeated parameters wins.
    ///
    /// ```
    /// use socketio::engineio::Handshake;
    ///
    /// let uri = "/socket.io/?EIO=4&transport=polling&user=J%C3%BCrgen+X".parse().unwrap();
    /// let handshake = Handshake { headers: Default::default(), uri, remote_addr: None };
    /// assert_eq!(handshake.query("user").as_deref(), Some("Jürgen X"));
    /// assert_eq!(handshake.query("nope"), None);
    /// ```
    pub fn query(&self, name: &str) -> Option<String> {
        self.uri
            .query()?
            .split('&')
            .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
            .find(|(key, _)| percent_decode(key) == name)
            .map(|(_, value)| percent_decode(value))
    }

    /// Every query parameter, in order, names and values percent-decoded (`+` is a space).
    ///
    /// ```
    /// use socketio::engineio::Handshake;
    ///
    /// let uri = "/socket.io/?EIO=4&transport=polling&room=a+b".parse().unwrap();
    /// let handshake = Handshake { headers: Default::default(), uri, remote_addr: None };
    /// let pairs = handshake.query_pairs();
    /// assert_eq!(pairs[0], ("EIO".to_owned(), "4".to_owned()));
    /// assert_eq!(pairs[2], ("room".to_owned(), "a b".to_owned()));
    /// ```
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let Some(query) = self.uri.query() else {
            return Vec::new();
        };
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
            .map(|(key, value)| (percent_decode(key), percent_decode(value)))
            .collect()
    }
}

/// `text` with `+` as a space and `%XX` escapes decoded (as an HTML form's query string);
/// invalid escapes stay as they are, invalid UTF-8 becomes U+FFFD.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of cookie `name` in the `Cookie` headers of `headers`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The session is closed.
    Closed,
    /// The client is not reading: its queue is full, so the session was closed.
    QueueFull,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SendError::Closed => "the session is closed",
            SendError::QueueFull => {
                "the client stopped reading and its outbound queue filled up; the session was closed"
            }
        })
    }
}

impl std::error::Error for SendError {}

/// The transport a session currently uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket (directly, or after the upgrade).
    WebSocket,
}

/// One live Engine.IO session.
///
/// `D` is the data the layer above keeps per session ([`EngineHandler::Data`](super::EngineHandler::Data)).
pub struct EngineSession<D> {
    sid: Sid,
    handshake: Handshake,
    extensions: Extensions,
    /// The frames waiting for the client.
    pub(crate) queue: Queue,
    /// Held by the one reader of [`queue`](Self::queue): the pending polling GET, or the
    /// WebSocket writer.
    pub(crate) reader: Mutex<()>,
    websocket: AtomicBool,
    pub(crate) upgrading: AtomicBool,
    pub(crate) posting: AtomicBool,
    closed: CancellationToken,
    /// The transport task (the queue's reader) waiting for the close, woken without the lock
    /// that polling [`closed`](Self::closed) takes.
    close_waker: AtomicWaker,
    reason: OnceLock<CloseReason>,
    awaiting_pong: AtomicBool,
    /// When the awaited pong is due (set with `awaiting_pong`).
    pong_deadline: crate::sync::Mutex<Option<tokio::time::Instant>>,
    pub(crate) pong: Notify,
    /// Signalled when a poll told the client that the session closed.
    pub(crate) close_delivered: Notify,
    data: D,
}

impl<D> EngineSession<D> {
    pub(crate) fn new(
        sid: Sid,
        handshake: Handshake,
        extensions: Extensions,
        transport: Transport,
        queue: usize,
        data: D,
    ) -> Self {
        EngineSession {
            sid,
            handshake,
            extensions,
            queue: Queue::new(queue),
            reader: Mutex::new(()),
            websocket: AtomicBool::new(transport == Transport::WebSocket),
            upgrading: AtomicBool::new(false),
            posting: AtomicBool::new(false),
            closed: CancellationToken::new(),
            close_waker: AtomicWaker::new(),
            reason: OnceLock::new(),
            awaiting_pong: AtomicBool::new(false),
            pong_deadline: crate::sync::Mutex::new(None),
            pong: Notify::new(),
            close_delivered: Notify::new(),
            data,
        }
    }

    /// The session id.
    pub fn sid(&self) -> Sid {
        self.sid
    }

    /// The request that opened the session.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The extensions of the request that opened the session: what the application's tower
    /// layers put there (a `tower_sessions::Session`, an authenticated identity, ...), kept for
    /// the session's life. Empty for a session no HTTP request opened (the test client's).
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The layer above's data for this session.
    pub fn data(&self) -> &D {
        &self.data
    }

    /// The current transport.
    pub fn transport(&self) -> Transport {
        if self.websocket.load(Ordering::Acquire) {
            Transport::WebSocket
        } else {
            Transport::Polling
        }
    }

    pub(crate) fn set_websocket(&self) {
        self.websocket.store(true, Ordering::Release);
    }

    /// Queues a frame for the client. Never waits: a client whose queue is full is too slow to
    /// keep, so its session is closed and [`SendError::QueueFull`] returned.
    pub fn send(&self, frame: Frame) -> Result<(), SendError> {
        if self.is_closed() {
            return Err(SendError::Closed);
        }
        if self.queue.push(frame) {
            Ok(())
        } else {
            tracing::warn!(sid = %self.sid, "outbound queue full: closing the session of a client that stopped reading");
            self.close(CloseReason::TransportError);
            Err(SendError::QueueFull)
        }
    }

    /// Whether everything queued for the client was taken by its transport: `false` while
    /// frames wait (a writer behind, or a polling client between two GETs). A volatile packet
    /// goes only to a session that is drained.
    pub fn is_drained(&self) -> bool {
        self.queue.is_empty()
    }

    /// Closes the session. The first reason given wins; later calls do nothing.
    pub fn close(&self, reason: CloseReason) {
        if self.reason.set(reason).is_ok() {
            tracing::debug!(sid = %self.sid, %reason, "closing session");
            self.closed.cancel();
            self.close_waker.wake();
        }
    }

    /// Whether the session is closed; if not, `cx`'s task is woken when it closes. For the
    /// queue's one reader: one atomic load and a waker registration, where
    /// [`closed`](Self::closed) takes a lock each poll.
    pub(crate) fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_closed() {
            return Poll::Ready(());
        }
        self.close_waker.register(cx.waker());
        // A close between the check and the registration found no waker to wake.
        if self.is_closed() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Whether the session is closed (or closing).
    pub fn is_closed(&self) -> bool {
        // The reason is set before the token is cancelled, and reading it is one atomic load
        // where the token takes a lock.
        self.reason.get().is_some()
    }

    /// Why the session closed, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.reason.get().copied()
    }

    /// Resolves when the session closes.
    pub async fn closed(&self) {
        self.closed.cancelled().await
    }

    /// Marks that a ping went out and a pong is due by `deadline`.
    pub(crate) fn expect_pong(&self, deadline: tokio::time::Instant) {
        *self.pong_deadline.lock() = Some(deadline);
        self.awaiting_pong.store(true, Ordering::Release);
    }

    /// Whether the awaited pong is overdue: the session has timed out, whether or not the
    /// heartbeat's timer has fired yet.
    pub(crate) fn pong_overdue(&self) -> bool {
        self.awaiting_pong.load(Ordering::Acquire)
            && self
                .pong_deadline
                .lock()
                .is_some_and(|deadline| tokio::time::Instant::now() >= deadline)
    }

    /// Records a pong from the client; only a pong that answers a ping wakes the heartbeat, so a
    /// flood of unsolicited pongs costs nothing.
    pub(crate) fn on_pong(&self) {
        if self.awaiting_pong.swap(false, Ordering::AcqRel) {
            self.pong.notify_one();
        }
    }
}

/// A session's outbound queue: bounded, read by one reader at a time (the holder of
/// [`EngineSession::reader`]), and without any allocation while empty.
///
/// tokio's `mpsc` channel allocated a block of 32 slots (1.3 KiB) and a 0.5 KiB channel per
/// session up front: a third of what an idle WebSocket connection cost.
pub(crate) struct Queue {
    frames: crate::sync::Mutex<InlineDeque<Frame>>,
    /// The reader waiting for a frame.
    waker: AtomicWaker,
    capacity: usize,
}

impl Queue {
    fn new(capacity: usize) -> Self {
        Queue {
            frames: crate::sync::Mutex::new(InlineDeque::default()),
            waker: AtomicWaker::new(),
            capacity: capacity.max(1),
        }
    }

    /// Queues `frame`; `false` if the queue is full.
    fn push(&self, frame: Frame) -> bool {
        {
            let mut frames = self.frames.lock();
            if frames.len() >= self.capacity {
                return false;
            }
            frames.push_back(frame);
        }
        self.waker.wake();
        true
    }

    fn is_empty(&self) -> bool {
        self.frames.lock().is_empty()
    }

    /// Takes up to `max` frames, oldest first, handing each to `take`; how many it took.
    /// The queue's buffer is released once it empties.
    pub(crate) fn drain(&self, max: usize, mut take: impl FnMut(Frame)) -> usize {
        let mut frames = self.frames.lock();
        let count = frames.len().min(max);
        for _ in 0..count {
            if let Some(frame) = frames.pop_front() {
                take(frame);
            }
        }
        count
    }

    /// Ready once a frame is queued (and then takes up to `max` frames, as [`drain`](Self::drain)).
    pub(crate) fn poll_drain(
        &self,
        cx: &mut Context<'_>,
        max: usize,
        take: impl FnMut(Frame),
    ) -> Poll<usize> {
        self.waker.register(cx.waker());
        match self.drain(max, take) {
            0 => Poll::Pending,
            count => Poll::Ready(count),
        }
    }

    /// Forgets the waiting reader, for a reader about to drain the queue anyway (the WebSocket
    /// pump, before it hands a message to the handler): what is queued meanwhile then costs no
    /// wake-up of a task that is already running.
    pub(crate) fn forget_reader(&self) {
        drop(self.waker.take());
    }

    /// The next frame, once there is one.
    pub(crate) async fn recv(&self) -> Frame {
        poll_fn(|cx| {
            self.waker.register(cx.waker());
            self.try_recv().map_or(Poll::Pending, Poll::Ready)
        })
        .await
    }

    /// The next frame, if one is queued.
    pub(crate) fn try_recv(&self) -> Option<Frame> {
        let mut frame = None;
        self.drain(1, |f| frame = Some(f));
        frame
    }
}

impl<D> std::fmt::Debug for EngineSession<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSession")
            .field("sid", &self.sid)
            .field("transport", &self.transport())
            .field("closed", &self.close_reason())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &'static str) -> Frame {
        Frame::Text(axum::extract::ws::Utf8Bytes::from_static(s))
    }

    #[tokio::test(start_paused = true)]
    async fn a_pong_is_overdue_from_its_deadline_until_it_comes() {
        let handshake = Handshake {
            headers: HeaderMap::new(),
            uri: Uri::from_static("/socket.io/?EIO=4"),
            remote_addr: None,
        };
        let sid = Sid::random();
        let session =
            EngineSession::new(sid, handshake, Extensions::new(), Transport::Polling, 4, ());
        assert!(!session.pong_overdue(), "no ping yet");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(200);
        session.expect_pong(deadline);
        assert!(!session.pong_overdue());
        tokio::time::advance(std::time::Duration::from_millis(199)).await;
        assert!(!session.pong_overdue());
        tokio::time::advance(std::time::Duration::from_millis(1)).await;
        assert!(session.pong_overdue(), "due at the deadline itself");
        session.on_pong();
        assert!(!session.pong_overdue(), "answered");
    }

    #[test]
    fn the_queue_is_bounded_and_ordered() {
        let queue = Queue::new(3);
        assert!(queue.is_empty());
        for s in ["1", "2", "3"] {
            assert!(queue.push(text(s)));
        }
        assert!(!queue.push(text("4")), "a full queue refuses");
        let mut taken = Vec::new();
        assert_eq!(queue.drain(2, |f| taken.push(f)), 2);
        assert_eq!(taken, [text("1"), text("2")]);
        assert_eq!(queue.try_recv(), Some(text("3")));
        assert!(queue.is_empty());
        assert_eq!(queue.try_recv(), None);
    }

    #[tokio::test]
    async fn a_waiting_reader_is_woken_by_a_push() {
        let queue = std::sync::Arc::new(Queue::new(8));
        let reader = tokio::spawn({
            let queue = queue.clone();
            async move { queue.recv().await }
        });
        tokio::task::yield_now().await;
        assert!(queue.push(text("hello")));
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), reader)
            .await
            .expect("woken")
            .expect("no panic");
        assert_eq!(frame, text("hello"));
    }
}
