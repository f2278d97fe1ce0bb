//! The fan-out load: receivers that join the room and check every broadcast, and senders that
//! keep a window of broadcasts in flight.
//!
//! The clients speak Engine.IO v4 / Socket.IO v5 text over WebSocket directly, without Nagle's
//! algorithm. They are leaner than the soak's (`examples/soak/harness/client.rs`, whose `Conn`
//! hands each packet to its owner through a channel and whose `Client` keeps no broadcast's
//! content): here every delivery is parsed and checked on the reader itself.
//!
//! A broadcast is `fanout` `{"id": n, "t": µs, "p": padding}`: `id` counts from 0 over all
//! senders, `t` is its send time in µs since the load started (one clock: every client is in
//! this process). A receiver marks each id it gets in a bit set (a second mark is a duplicate),
//! adds the latency to its histogram while the measurement is on, and counts the delivery in
//! the broadcast's slot: the receiver that completes a broadcast (the `R`-th delivery) gives the
//! senders one more broadcast to send, so that `W` broadcasts are in flight at any time.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a step of the protocol may take on a loaded machine.
pub const STEP_WAIT: Duration = Duration::from_secs(30);

/// Slots of the delivery counts, a power of two far above any window.
const SLOTS: usize = 1 << 20;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What every client shares.
pub struct Shared {
    /// When the load started: the clock of `t`.
    pub epoch: Instant,
    /// Receivers in the room, all processes together.
    pub receivers: u32,
    /// Whether deliveries now go into the latency histograms.
    pub measuring: AtomicBool,
    /// Broadcasts the senders may still send (the window).
    pub window: Semaphore,
    /// The next broadcast id; also how many were sent.
    pub next_id: AtomicU64,
    /// Broadcasts delivered to every receiver (as far as the counts say).
    pub completed: AtomicU64,
    /// Deliveries per broadcast slot (`id % SLOTS`), counted modulo `receivers`.
    slots: Vec<AtomicU32>,
    /// Padding of each broadcast.
    pub padding: String,
}

impl Shared {
    /// `receivers` in the room, `window` broadcasts in flight, `payload` bytes of padding.
    pub fn new(receivers: u32, window: usize, payload: usize) -> Shared {
        Shared {
            epoch: Instant::now(),
            receivers,
            measuring: AtomicBool::new(false),
            window: Semaphore::new(window),
            next_id: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            slots: (0..SLOTS).map(|_| AtomicU32::new(0)).collect(),
            padding: "p".repeat(payload),
        }
    }

    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// Counts one delivery of `id`; the last one frees a place in the window.
    fn delivered(&self, id: u64) {
        let slot = &self.slots[id as usize % SLOTS];
        if (slot.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(self.receivers) {
            self.completed.fetch_add(1, Ordering::Relaxed);
            self.window.add_permits(1);
        }
    }
}

/// A latency histogram in µs: 32 sub-buckets per power of two (3 % precision).
#[derive(Clone)]
pub struct Histogram(Vec<u64>);

const SUB: u32 = 32;

impl Default for Histogram {
    fn default() -> Self {
        Histogram(vec![0; 64 * SUB as usize])
    }
}

impl Histogram {
    fn bucket(us: u64) -> usize {
        if us < SUB as u64 {
            return us as usize;
        }
        let power = 63 - us.leading_zeros(); // >= 5
        let sub = (us >> (power - 5)) as u32 - SUB; // the 5 bits under the top one
        ((power - 4) * SUB + sub) as usize
    }

    /// The lowest value of bucket `b`.
    fn low(b: usize) -> u64 {
        let (power, sub) = (b as u32 / SUB, b as u64 % SUB as u64);
        if power == 0 {
            return sub;
        }
        (SUB as u64 + sub) << (power - 1)
    }

    fn record(&mut self, us: u64) {
        self.0[Self::bucket(us)] += 1;
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a += b;
        }
    }

    /// How many values.
    pub fn count(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The `q` quantile (0..=1), µs (the low edge of its bucket).
    pub fn quantile(&self, q: f64) -> u64 {
        let rank = ((self.count() as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, n) in self.0.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Self::low(b);
            }
        }
        0
    }
}

/// A receiver's live counts, read while it runs.
#[derive(Default)]
pub struct Live {
    /// Deliveries so far.
    pub deliveries: AtomicU64,
    /// Bytes of every text message received from the server, the open packet included.
    pub bytes: AtomicU64,
}

/// What a receiver found, at the end.
pub struct Found {
    /// The ids received, one bit each.
    pub seen: Vec<u64>,
    /// Ids received more than once (each extra copy counted).
    pub duplicates: u64,
    /// Messages that were neither a broadcast nor a ping.
    pub unexpected: u64,
    /// Latencies while measuring.
    pub latency: Histogram,
    /// Why it ended before being told to, if it did.
    pub broken: Option<String>,
}

impl Found {
    /// How many distinct ids below `sent` it received.
    pub fn unique_below(&self, sent: u64) -> u64 {
        let full = (sent / 64) as usize;
        let mut n: u64 = self
            .seen
            .iter()
            .take(full)
            .map(|w| w.count_ones() as u64)
            .sum();
        if let Some(w) = self.seen.get(full) {
            n += (w & ((1u64 << (sent % 64)) - 1)).count_ones() as u64;
        }
        n
    }
}

fn fail(why: impl std::fmt::Display) -> String {
    why.to_string()
}

/// Opens a WebSocket session and connects `/`; returns the socket and the bytes received.
async fn connect(addr: SocketAddr) -> Result<(Ws, u64), String> {
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    // Without Nagle's algorithm: a broadcast sent while the previous one is not yet
    // acknowledged by TCP would otherwise wait for that acknowledgement (up to 40 ms).
    let connecting = tokio_tungstenite::connect_async_with_config(url, None, true);
    let (mut ws, _) = timeout(STEP_WAIT, connecting)
        .await
        .map_err(|_| fail("websocket handshake timed out"))?
        .map_err(fail)?;
    let mut bytes = 0;
    let open = next_text(&mut ws, &mut bytes).await?;
    if !open.starts_with('0') {
        return Err(format!("not an open packet: {open:.80}"));
    }
    ws.send(Message::text("40")).await.map_err(fail)?;
    expect(&mut ws, &mut bytes, "40").await?;
    Ok((ws, bytes))
}

/// The next text message during the handshake (pings answered), its bytes counted.
async fn next_text(ws: &mut Ws, bytes: &mut u64) -> Result<String, String> {
    loop {
        match timeout(STEP_WAIT, ws.next()).await {
            Err(_) => return Err(fail("no message in time")),
            Ok(Some(Ok(Message::Text(text)))) => {
                *bytes += text.len() as u64;
                if text.as_str() == "2" {
                    ws.send(Message::text("3")).await.map_err(fail)?;
                    continue;
                }
                return Ok(text.as_str().to_owned());
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(other) => return Err(format!("websocket ended: {other:?}")),
        }
    }
}

/// Waits for a message starting with `prefix`.
async fn expect(ws: &mut Ws, bytes: &mut u64, prefix: &str) -> Result<(), String> {
    let got = next_text(ws, bytes).await?;
    if got.starts_with(prefix) {
        Ok(())
    } else {
        Err(format!("expected {prefix}, got {got:.80}"))
    }
}

/// The number after `"key":` in `text`.
fn number_after(text: &str, key: &str) -> Option<u64> {
    let at = text.find(key)? + key.len();
    let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
    text[at..at + digits].parse().ok()
}

/// A connected receiver, in the room.
pub struct Receiver {
    ws: Ws,
    live: Arc<Live>,
}

impl Receiver {
    /// Connects to `addr` and joins the room.
    pub async fn join(addr: SocketAddr, live: Arc<Live>) -> Result<Receiver, String> {
        let (mut ws, mut bytes) = connect(addr).await?;
        ws.send(Message::text(format!("420{}", json!(["join"]))))
            .await
            .map_err(fail)?;
        expect(&mut ws, &mut bytes, "430").await?;
        live.bytes.fetch_add(bytes, Ordering::Relaxed);
        Ok(Receiver { ws, live })
    }

    /// Receives until `stop`, checking and counting every broadcast.
    pub async fn run(mut self, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) -> Found {
        let mut found = Found {
            seen: Vec::new(),
            duplicates: 0,
            unexpected: 0,
            latency: Histogram::default(),
            broken: None,
        };
        loop {
            let message = tokio::select! {
                _ = stop.changed() => return found,
                message = self.ws.next() => message,
            };
            let text = match message {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => {
                    found.broken = Some(format!("websocket ended: {other:?}"));
                    return found;
                }
            };
            self.live
                .bytes
                .fetch_add(text.len() as u64, Ordering::Relaxed);
            let text = text.as_str();
            if text == "2" {
                if let Err(e) = self.ws.send(Message::text("3")).await {
                    found.broken = Some(e.to_string());
                    return found;
                }
                continue;
            }
            let broadcast = text
                .starts_with("42[\"fanout\",")
                .then(|| (number_after(text, "\"id\":"), number_after(text, "\"t\":")));
            let Some((Some(id), Some(sent))) = broadcast else {
                found.unexpected += 1;
                continue;
            };
            let (word, bit) = ((id / 64) as usize, 1u64 << (id % 64));
            if found.seen.len() <= word {
                found.seen.resize(word + 1024, 0);
            }
            if found.seen[word] & bit != 0 {
                found.duplicates += 1;
                continue;
            }
            found.seen[word] |= bit;
            self.live.deliveries.fetch_add(1, Ordering::Relaxed);
            if shared.measuring.load(Ordering::Relaxed) {
                found.latency.record(shared.now_us().saturating_sub(sent));
            }
            shared.delivered(id);
        }
    }
}

/// A sender: sends a broadcast whenever the window has room, until `stop`.
pub struct Sender {
    ws: Ws,
    live: Arc<Live>,
}

impl Sender {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr, live: Arc<Live>) -> Result<Sender, String> {
        let (ws, bytes) = connect(addr).await?;
        live.bytes.fetch_add(bytes, Ordering::Relaxed);
        Ok(Sender { ws, live })
    }

    /// Sends until `stop`; returns how many broadcasts it sent, or why it broke.
    pub fn start(
        self,
        shared: Arc<Shared>,
        mut stop: watch::Receiver<bool>,
    ) -> JoinHandle<Result<u64, String>> {
        tokio::spawn(async move {
            let (mut sink, stream) = self.ws.split();
            let (pings, mut pongs) = mpsc::unbounded_channel();
            let reader = tokio::spawn(read_pings(stream, self.live.clone(), pings));
            let mut sent = 0;
            let result = loop {
                tokio::select! {
                    biased;
                    _ = stop.changed() => break Ok(sent),
                    ping = pongs.recv() => match ping {
                        Some(()) => {
                            if let Err(e) = sink.send(Message::text("3")).await {
                                break Err(e.to_string());
                            }
                        }
                        None => break Err(fail("the sender's connection ended")),
                    },
                    permit = shared.window.acquire() => {
                        let Ok(permit) = permit else { break Ok(sent) };
                        permit.forget();
                        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
                        let message = json!(["fanout", {
                            "id": id,
                            "t": shared.now_us(),
                            "p": shared.padding,
                        }]);
                        if let Err(e) = sink.send(Message::text(format!("42{message}"))).await {
                            break Err(e.to_string());
                        }
                        sent += 1;
                    }
                }
            };
            reader.abort();
            result
        })
    }
}

/// A sender's reader: counts the bytes and passes the pings on.
async fn read_pings(
    mut stream: SplitStream<Ws>,
    live: Arc<Live>,
    pings: mpsc::UnboundedSender<()>,
) {
    while let Some(Ok(message)) = stream.next().await {
        if let Message::Text(text) = message {
            live.bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
            if text.as_str() == "2" && pings.send(()).is_err() {
                return;
            }
        }
    }
}
