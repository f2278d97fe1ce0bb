//! The mixed load: well-behaved clients that come and go over every transport, and clients
//! that stop reading.
//!
//! A well-behaved client, again and again: connects over WebSocket, long-polling, or polling
//! later upgraded to WebSocket; makes 5 to 40 calls picked at random (`join` or `leave` a room,
//! `shout` to a room, `echo`, `ask` — the server then calls the client back), each one
//! acknowledged, idling 20 to 300 ms between them while it answers pings and counts broadcasts;
//! then leaves cleanly (4 times in 5) or vanishes (drops its TCP connections with no goodbye).
//! Every acknowledgement it waits for is counted: sent, received, lost.
//!
//! A slow reader, again and again: connects over WebSocket, joins the news room, asks for a
//! `burst` of 2 MB, and never reads again; after 5 to 20 s it drops its connection (the server
//! has usually closed it by then: it answered no ping).
//!
//! [`Load::pause`] lets every client finish its current round (the checkpoints of the soak);
//! [`Load::resume`] starts them again.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::app::NEWS;
use super::client::{CallError, Client, Transport, STEP_WAIT};

/// A counter.
#[derive(Default, Debug)]
pub struct Count(AtomicU64);

impl Count {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// The count so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// What the clients did, for the report.
#[derive(Default, Debug)]
pub struct Counters {
    /// Sessions opened by well-behaved clients (their namespace connected).
    pub connects: Count,
    /// Well-behaved sessions that could not be opened.
    pub connect_failures: Count,
    /// Polling sessions upgraded to WebSocket.
    pub upgrades: Count,
    /// Calls made by well-behaved clients (each waits for an acknowledgement).
    pub acks_sent: Count,
    /// Acknowledgements received, with the expected content.
    pub acks_received: Count,
    /// Acknowledgements never received, or received with the wrong content (a call ends
    /// counted in `acks_received` or here).
    pub acks_lost: Count,
    /// The server's calls (`question`) answered by well-behaved clients.
    pub questions_answered: Count,
    /// The server's calls whose answer the server got back (`ask` acknowledged with it).
    pub questions_confirmed: Count,
    /// The server's calls whose answer the server says it did not get.
    pub questions_lost: Count,
    /// Broadcast events received by well-behaved clients.
    pub broadcasts: Count,
    /// Well-behaved clients that left cleanly.
    pub closes: Count,
    /// Well-behaved clients that vanished on purpose.
    pub vanished: Count,
    /// Well-behaved connections that broke although the client behaved (should stay 0).
    pub broken: Count,
    /// Slow-reader connections made.
    pub slow: Count,
}

/// A small deterministic generator (xorshift64*), one per client.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `low..high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

/// The running load.
pub struct Load {
    running: watch::Sender<bool>,
    active: Arc<AtomicUsize>,
    workers: Vec<JoinHandle<()>>,
    /// What the clients did so far.
    pub counters: Arc<Counters>,
}

impl Load {
    /// Starts `clients` well-behaved clients and `slow` slow readers against `addr`.
    pub fn start(addr: SocketAddr, clients: usize, slow: usize) -> Load {
        let (running, watch) = watch::channel(true);
        let active = Arc::new(AtomicUsize::new(0));
        let counters = Arc::new(Counters::default());
        let mut workers = Vec::new();
        for n in 0..clients + slow {
            let worker = Worker {
                addr,
                rng: Rng::new(n as u64 + 1),
                running: watch.clone(),
                active: active.clone(),
                counters: counters.clone(),
            };
            workers.push(if n < clients {
                tokio::spawn(worker.well_behaved())
            } else {
                tokio::spawn(worker.slow_reader())
            });
        }
        Load {
            running,
            active,
            workers,
            counters,
        }
    }

    /// Lets every client finish its round, and returns when none is connected any more.
    pub async fn pause(&self) {
        self.running.send_replace(false);
        while self.active.load(Ordering::Acquire) > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the clients again after [`pause`](Self::pause).
    pub fn resume(&self) {
        self.running.send_replace(true);
    }

    /// Pauses, then ends every client task; returns how many had ended before (a panic in
    /// the harness: a client task only ends when told to).
    pub async fn stop(self) -> usize {
        self.pause().await;
        let dead = self.workers.iter().filter(|w| w.is_finished()).count();
        for worker in self.workers {
            worker.abort();
        }
        dead
    }
}

/// Marks a client as connected while it lives.
struct Active(Arc<AtomicUsize>);

impl Active {
    fn new(active: &Arc<AtomicUsize>) -> Active {
        active.fetch_add(1, Ordering::AcqRel);
        Active(active.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One client task.
struct Worker {
    addr: SocketAddr,
    rng: Rng,
    running: watch::Receiver<bool>,
    active: Arc<AtomicUsize>,
    counters: Arc<Counters>,
}

impl Worker {
    /// Waits until the load runs; the [`Active`] guard of the round to come.
    async fn round(&mut self) -> Option<Active> {
        // Counted as active before the flag is read again, so that `pause` cannot miss a round
        // that is starting.
        loop {
            let guard = Active::new(&self.active);
            if *self.running.borrow_and_update() {
                return Some(guard);
            }
            drop(guard);
            self.running.changed().await.ok()?;
        }
    }

    fn running(&self) -> bool {
        *self.running.borrow()
    }

    async fn well_behaved(mut self) {
        while let Some(guard) = self.round().await {
            let transport = match self.rng.range(0, 10) {
                0..4 => Transport::WebSocket,
                4..7 => Transport::Polling,
                _ => Transport::Upgrade,
            };
            self.session(transport).await;
            drop(guard);
        }
    }

    /// One session of a well-behaved client.
    async fn session(&mut self, transport: Transport) {
        let counters = self.counters.clone();
        let mut client = match Client::connect(self.addr, transport, counters.clone()).await {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(error = %e, ?transport, "a well-behaved client could not connect");
                counters.connect_failures.inc();
                tokio::time::sleep(Duration::from_secs(1)).await;
                return;
            }
        };
        counters.connects.inc();
        let calls = self.rng.range(5, 41);
        for n in 0..calls {
            if n == 3 && transport == Transport::Upgrade {
                if let Err(e) = client.upgrade().await {
                    tracing::warn!(error = %e, "upgrade failed");
                    counters.broken.inc();
                    return;
                }
                counters.upgrades.inc();
            }
            if let Err(e) = self.call(&mut client).await {
                tracing::warn!(error = %e, ?transport, "a well-behaved connection broke");
                counters.broken.inc();
                return;
            }
            let pause = Duration::from_millis(self.rng.range(20, 300));
            if let Err(e) = client.idle(pause).await {
                tracing::warn!(error = %e, ?transport, "a well-behaved connection broke");
                counters.broken.inc();
                return;
            }
            if !self.running() {
                break;
            }
        }
        if self.rng.range(0, 5) == 0 {
            counters.vanished.inc();
            drop(client);
        } else {
            client.close().await;
            counters.closes.inc();
        }
    }

    /// One acknowledged call picked at random, checked and counted.
    async fn call(&mut self, client: &mut Client) -> Result<(), String> {
        let room = format!("room-{}", self.rng.range(0, 10));
        let token = self.rng.next();
        let (event, args, expected): (&str, Vec<Value>, Value) = match self.rng.range(0, 10) {
            0..2 => ("join", vec![json!(room)], json!([])),
            2 => ("leave", vec![json!(room)], json!([])),
            3..5 => (
                "shout",
                vec![json!(room), json!(token.to_string())],
                json!([]),
            ),
            5..8 => (
                "echo",
                vec![json!(token), json!({ "n": token })],
                json!([token, { "n": token }]),
            ),
            _ => {
                let n = token >> 12;
                ("ask", vec![json!(n)], json!([{ "answer": n + 1 }]))
            }
        };
        let counters = &self.counters;
        counters.acks_sent.inc();
        match client.call(event, &args).await {
            Ok(got) if Value::Array(got.clone()) == expected => {
                counters.acks_received.inc();
                if event == "ask" {
                    counters.questions_confirmed.inc();
                }
                Ok(())
            }
            Ok(got) => {
                // The acknowledgement came; for `ask`, it may say the server's call was lost.
                if event == "ask" && got.first().is_some_and(|v| v.get("lost").is_some()) {
                    counters.acks_received.inc();
                    counters.questions_lost.inc();
                } else {
                    counters.acks_lost.inc();
                }
                tracing::warn!(event, ?got, %expected, "wrong acknowledgement");
                Ok(())
            }
            Err(CallError::Lost) => {
                counters.acks_lost.inc();
                Err(format!(
                    "no acknowledgement of {event} within {STEP_WAIT:?}"
                ))
            }
            Err(CallError::Broken(e)) => {
                counters.acks_lost.inc();
                Err(e.to_string())
            }
        }
    }

    async fn slow_reader(mut self) {
        while let Some(guard) = self.round().await {
            self.counters.slow.inc();
            let lifetime = Duration::from_secs(self.rng.range(5, 21));
            if let Err(e) = slow_session(self.addr, lifetime).await {
                tracing::debug!(error = %e, "slow reader");
            }
            drop(guard);
        }
    }
}

/// A WebSocket client that joins the news room, asks for a 2 MB burst and reads nothing more
/// for `lifetime`, then drops its connection.
async fn slow_session(addr: SocketAddr, lifetime: Duration) -> Result<(), String> {
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio::time::timeout(STEP_WAIT, tokio_tungstenite::connect_async(url))
        .await
        .map_err(|_| "handshake timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    ws.send(Message::text("40"))
        .await
        .map_err(|e| e.to_string())?;
    // Events wait for the namespace to be connected, as the official clients do.
    loop {
        match tokio::time::timeout(STEP_WAIT, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) if text.as_str().starts_with("40") => break,
            Ok(Some(Ok(_))) => {}
            other => return Err(format!("no CONNECT answer: {other:?}")),
        }
    }
    for packet in [
        format!("42{}", json!(["join", NEWS])),
        format!("42{}", json!(["burst", 500])),
    ] {
        ws.send(Message::text(packet))
            .await
            .map_err(|e| e.to_string())?;
    }
    tokio::time::sleep(lifetime).await;
    Ok(())
}
