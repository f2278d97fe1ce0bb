//! Back-pressure both ways (catalogue case B49, and the slow reader).
//!
//! Inbound: a connection runs at most `max_pending_handlers` handlers that wait; past that its
//! transport reads nothing more, so a client that floods events is slowed to its handlers' pace
//! (nothing is dropped), the server holds a bounded number of handlers for it, and one that
//! stays saturated through a heartbeat is disconnected. Outbound: a client that stops reading
//! fills its bounded queue and is disconnected, while the other recipients of the same
//! broadcasts keep their pace. In every case a canary's echo comes back within a second.
//!
//! The bounds are proven by counts (handlers started, tasks alive, frames delivered), never by
//! waiting for something not to happen.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use socketio::{Data, State};
use tests::canary::Canary;
use tests::eio::P;
use tests::http;
use tests::logs;
use tests::raw_ws::{self, RawWs};
use tests::server::Server;
use tests::sio::{standard, Rec};
use tests::wait::{eventually, WAIT};
use tests::ws::{Client, Msg};
use tokio::sync::Semaphore;

/// Handlers of one connection allowed to wait at once in these tests.
const MAX_PENDING: usize = 8;

/// What the canary's echo must take at most while another client abuses the server.
const CANARY_LATENCY: Duration = Duration::from_secs(1);

/// The `slow` handlers: each waits for a permit of `gate`, which the test hands out.
struct Gate {
    started: AtomicUsize,
    finished: AtomicUsize,
    permits: Semaphore,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            started: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            permits: Semaphore::new(0),
        }
    }
}

impl Gate {
    fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    fn finished(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }

    /// Lets every handler, present and future, through.
    fn open(&self) {
        self.permits.add_permits(Semaphore::MAX_PERMITS / 2);
    }
}

async fn slow(State(gate): State<Arc<Gate>>, Data(_event): Data<(u64, String)>) {
    gate.started.fetch_add(1, Ordering::SeqCst);
    if let Ok(permit) = gate.permits.acquire().await {
        permit.forget();
    }
    gate.finished.fetch_add(1, Ordering::SeqCst);
}

fn server(gate: &Arc<Gate>, builder: socketio::Builder) -> Server {
    Server::start(
        builder
            .state(gate.clone())
            .on("/", "slow", slow)
            .max_pending_handlers(MAX_PENDING),
    )
}

async fn assert_canary_quick(canary: &mut Canary) {
    let latency = canary.latency().await;
    assert!(
        latency < CANARY_LATENCY,
        "the canary's echo took {latency:?} while another client abused the server"
    );
}

/// The event frame of `slow` number `n`, padded so that a flood is more than a few bytes.
fn slow_event(n: usize) -> String {
    format!(r#"42["slow",{n},"{}"]"#, "x".repeat(200))
}

/// B49 over WebSocket: a client sends 2,000 events whose handlers wait. The server starts
/// exactly `MAX_PENDING` of them and reads no further (no more handlers, no more tasks); a
/// canary is served meanwhile; once the handlers may finish, every event is handled, none lost.
#[tokio::test]
async fn b49_a_flooding_websocket_client_is_slowed_to_its_handlers_pace() {
    const EVENTS: usize = 2_000;
    let gate = Arc::new(Gate::default());
    let srv = server(&gate, standard(&Rec::default()));
    let mut canary = srv.canary().await;
    let (mut flooder, _) = Client::connected(srv.addr, "/").await;
    let tasks_before = srv.tasks();

    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let flood = tokio::spawn(async move {
        for n in 0..EVENTS {
            if !flooder.try_send(&slow_event(n)).await {
                break;
            }
            counter.fetch_add(1, Ordering::SeqCst);
        }
        flooder
    });

    eventually(WAIT, "the first handlers started", || {
        gate.started() == MAX_PENDING
    })
    .await;
    eventually(WAIT, "the flood went far past the bound", || {
        sent.load(Ordering::SeqCst) >= EVENTS / 2
    })
    .await;
    assert_canary_quick(&mut canary).await;
    // The canary was served after the flood's frames reached the server: still no more
    // handlers than the bound, and no more tasks than one per handler.
    assert_eq!(gate.started(), MAX_PENDING, "handlers beyond the bound ran");
    assert_eq!(gate.finished(), 0);
    let tasks = srv.tasks();
    assert!(
        tasks <= tasks_before + MAX_PENDING,
        "{tasks} tasks for {tasks_before} before the flood and {MAX_PENDING} pending handlers"
    );

    gate.open();
    let flooder = flood.await.expect("the flood task");
    eventually(WAIT, "every flooded event was handled", || {
        gate.finished() == EVENTS
    })
    .await;
    assert_eq!(gate.started(), EVENTS);
    assert_canary_quick(&mut canary).await;
    drop(flooder);
    assert_eq!(srv.panics(), 0);
}

/// B49's bound in time: a client that keeps its handlers saturated through a whole heartbeat
/// cannot even send its pong, so it is disconnected (`ping timeout`), with a warning naming
/// the limit; the canary is not affected, and once the handlers end the server is back to its
/// baseline of sessions and tasks.
#[tokio::test]
async fn b49_a_client_saturated_through_a_heartbeat_is_disconnected() {
    let gate = Arc::new(Gate::default());
    let builder = standard(&Rec::default())
        .ping_interval(Duration::from_millis(1_000))
        .ping_timeout(Duration::from_millis(1_000));
    let srv = server(&gate, builder);
    let mut canary = srv.canary().await;
    let sessions = srv.sessions();
    let tasks = srv.tasks();

    let (mut flooder, _) = Client::connected(srv.addr, "/").await;
    let eio_sid = flooder.eio_sid.clone();
    for n in 0..MAX_PENDING * 4 {
        if !flooder.try_send(&slow_event(n)).await {
            break;
        }
    }
    assert_eq!(
        flooder.with_wait(WAIT * 2).closed().await,
        Some(1000),
        "the saturated client is closed"
    );
    logs::wait_line(&["max_pending_handlers", &eio_sid]).await;
    srv.wait_gone(&eio_sid).await;
    assert_eq!(gate.started(), MAX_PENDING);
    assert_canary_quick(&mut canary).await;

    gate.open();
    eventually(WAIT, "the pending handlers ended", || {
        gate.finished() == MAX_PENDING
    })
    .await;
    srv.wait_sessions(sessions).await;
    eventually(WAIT, "the server's tasks back to their baseline", || {
        srv.tasks() <= tasks
    })
    .await;
    assert_eq!(srv.panics(), 0);
}

/// B49 over polling: a POST carrying more events than the bound is answered only once the
/// handlers have room for all of them, so the client cannot send its next POST before.
#[tokio::test]
async fn b49_a_flooding_polling_client_waits_for_its_post_answer() {
    const EVENTS: usize = MAX_PENDING * 3;
    let gate = Arc::new(Gate::default());
    let srv = server(&gate, standard(&Rec::default()));
    let mut canary = srv.canary().await;

    let open = http::get(srv.addr, P).await;
    let value: serde_json::Value = serde_json::from_str(&open.text()[1..]).expect("open packet");
    let target = format!("{P}&sid={}", value["sid"].as_str().expect("sid"));
    http::request(srv.addr, "POST", &target, &[], Some(b"40"))
        .await
        .assert(200, "ok");
    let connected = http::get(srv.addr, &target).await;
    assert!(connected.text().starts_with("40"), "{connected:?}");

    let body = (0..EVENTS)
        .map(slow_event)
        .collect::<Vec<_>>()
        .join("\u{1e}");
    let addr = srv.addr;
    let post_target = target.clone();
    let post = tokio::spawn(async move {
        http::request(addr, "POST", &post_target, &[], Some(body.as_bytes())).await
    });
    eventually(WAIT, "the first handlers started", || {
        gate.started() == MAX_PENDING
    })
    .await;
    assert_canary_quick(&mut canary).await;
    assert_eq!(gate.started(), MAX_PENDING, "handlers beyond the bound ran");
    assert!(
        !post.is_finished(),
        "the POST was answered with no room for its events"
    );

    gate.open();
    post.await.expect("the POST task").assert(200, "ok");
    eventually(WAIT, "every event was handled", || {
        gate.finished() == EVENTS
    })
    .await;
    assert_eq!(srv.panics(), 0);
}

/// The slow reader: a client that joins and never reads again, while the server broadcasts
/// 16 KiB events to everyone. Its queue (64 packets here) fills once the kernel's buffers are
/// full, and it is disconnected with a warning; a well-behaved receiver of the same broadcasts
/// gets every one of them, and the canary's echo stays quick throughout.
#[tokio::test]
async fn a_slow_reader_is_disconnected_without_slowing_the_others() {
    const BATCH: usize = 32;
    const BATCHES: usize = 60;
    let gate = Arc::new(Gate::default());
    let srv = server(&gate, standard(&Rec::default()).max_queued_packets(64));
    let mut canary = srv.canary().await;
    let (mut receiver, _) = Client::connected(srv.addr, "/").await;
    let (mut slow_reader, slow_sid) = RawWs::open(srv.addr).await;
    slow_reader
        .send(&raw_ws::text("40"))
        .await
        .expect("the slow reader's CONNECT");
    let socket = srv.io.of("/");
    eventually(WAIT, "the slow reader joined", || {
        socket.sockets().len() == 3
    })
    .await;

    let payload = "y".repeat(16 * 1024);
    let mut received = 0;
    for batch in 0..BATCHES {
        for _ in 0..BATCH {
            srv.io.emit("tick", &payload);
        }
        while received < (batch + 1) * BATCH {
            match receiver.next_within(WAIT).await {
                Ok(Some(Msg::Text(text))) if text.starts_with(r#"42["tick""#) => received += 1,
                Ok(Some(_)) => {}
                other => panic!("the receiver missed a broadcast: {other:?}"),
            }
        }
        if batch % 10 == 0 {
            assert_canary_quick(&mut canary).await;
        }
    }
    assert_eq!(received, BATCH * BATCHES);
    srv.wait_gone(&slow_sid).await;
    logs::wait_line(&["outbound queue full", &slow_sid]).await;
    assert_canary_quick(&mut canary).await;
    assert_eq!(srv.panics(), 0);
}
