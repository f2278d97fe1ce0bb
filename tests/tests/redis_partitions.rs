//! Network partitions of RELIABILITY.md §5 (R04, R05) against a real `redis-server`: one
//! server reaches Redis through a pausable TCP proxy ([`tests::redis::proxy`]), which
//! black-holes the connection (no FIN, no RST) while paused.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use tests::mq::{builder, cluster};
use tests::redis::proxy::Proxy;
use tests::redis::Redis;
use tests::server::Server;
use tests::wait::{eventually, EXTERNAL_WAIT};
use tests::ws::{Client, Packet};

/// Longest the typical (median) emit call may take: it never waits for Redis, whose timeouts
/// are seconds. A median over several emits, so that one call the scheduler paused on a loaded
/// machine does not fail the test, while an emit that waits for Redis (every one of them) does.
const FAST: Duration = Duration::from_millis(250);

fn redis_addr(redis: &Redis) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], redis.port))
}

/// Emits `event` from `from` to the socket `to` (of another server) until it receives one (messages sent while the path is still
/// broken are lost, which is the documented at-most-once rule); returns how many were sent.
async fn probe(from: &Server, to: &mut Client, event: &str) -> u64 {
    let deadline = Instant::now() + EXTERNAL_WAIT;
    let mut n = 0u64;
    loop {
        n += 1;
        from.io.to(to.sid.clone()).emit(event, &n);
        match tokio::time::timeout(Duration::from_millis(200), to.recv()).await {
            Ok(packet) => {
                assert_eq!(packet.name(), event, "{packet:?}");
                return n;
            }
            Err(_) => assert!(Instant::now() < deadline, "{event}: traffic never resumed"),
        }
    }
}

/// Waits until every one of `servers` has its publisher connected and its subscription up.
async fn all_ready(servers: &[&Server]) {
    eventually(
        EXTERNAL_WAIT,
        "every server connected and subscribed",
        || servers.iter().all(|s| s.ready()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r04_black_holed_node_serves_locally_detects_and_recovers() {
    let redis = Redis::start();
    let proxy = Proxy::start(redis_addr(&redis)).await;
    let a = Server::spawn(builder(&redis.url(), "socketio"));
    let b = Server::spawn(builder(&proxy.redis_url(), "socketio"));
    all_ready(&[&a, &b]).await;
    let mut on_a = a.client().await;
    let mut on_b = b.client().await;
    on_a.join_room("a").await;
    on_b.join_room("b").await;
    probe(&a, &mut on_b, "before").await;
    probe(&b, &mut on_a, "before").await;

    proxy.pause();
    let partitioned = Instant::now();

    // A is unaffected: its clients, its publisher, its subscription.
    let a_published = a.stats().published;
    a.io.to("a").try_emit("a-local", &1).unwrap();
    assert_eq!(on_a.expect("a-local").await.arg(), &json!(1));
    eventually(EXTERNAL_WAIT, "A's publish reached Redis", || {
        a.stats().published > a_published
    })
    .await;

    // B serves its own clients first, and its publishes fail fast and are counted.
    let mut took = Vec::new();
    let mut sent = 0u64;
    let deadline = Instant::now() + EXTERNAL_WAIT;
    loop {
        sent += 1;
        let started = Instant::now();
        b.io.to("b")
            .try_emit("b-local", &sent)
            .expect("local delivery never depends on Redis");
        took.push(started.elapsed());
        assert_eq!(on_b.expect("b-local").await.arg(), &json!(sent));
        let s = b.stats();
        if !s.connected && s.publish_failed >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B's publisher never failed: {s:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await; // pacing the emits
    }
    took.sort();
    let median = took[took.len() / 2];
    assert!(
        median < FAST,
        "emits from B blocked: median {median:?} of {took:?}"
    );
    // Once the publisher is known down, a publish fails at once rather than being buffered:
    // counted before the emit call returns.
    let failed = b.stats().publish_failed;
    b.io.to("b").try_emit("b-local", &0).unwrap();
    assert_eq!(b.stats().publish_failed, failed + 1, "counted at once");
    on_b.expect("b-local").await;

    // The silent subscription is found dead by the health-check PING (every 10 s, 5 s timeout).
    eventually(EXTERNAL_WAIT, "B noticed its dead subscription", || {
        !b.stats().subscribed
    })
    .await;
    let detected = partitioned.elapsed();
    assert!(
        detected < Duration::from_secs(25),
        "detected after {detected:?}"
    );
    let s = b.stats();
    assert!(s.last_error.is_some(), "{s:#?}");
    // A still serves locally, and A→A is untouched.
    a.io.to("a").try_emit("a-local", &2).unwrap();
    assert_eq!(on_a.expect("a-local").await.arg(), &json!(2));
    assert!(a.ready());

    proxy.resume();
    eventually(EXTERNAL_WAIT, "B reconnected and subscribed again", || {
        let s = b.stats();
        s.connected && s.subscribed && s.reconnects >= 2
    })
    .await;
    probe(&a, &mut on_b, "after").await;
    probe(&b, &mut on_a, "back").await;
    let s = a.stats();
    assert_eq!(s.publish_failed, 0, "A never failed a publish: {s:#?}");
    assert!(s.connected && s.subscribed);
    eprintln!("R04: B detected the partition after {detected:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r05_slow_subscriber_is_cut_off_by_redis_and_comes_back() {
    let redis = Redis::start();
    let ok = redis.cli(&[
        "CONFIG",
        "SET",
        "client-output-buffer-limit",
        "pubsub 256kb 128kb 1",
    ]);
    assert_eq!(ok.trim(), "OK");
    let proxy = Proxy::start(redis_addr(&redis)).await;
    let servers = cluster(2, &redis.url(), "socketio").await;
    let (a, b) = (&servers[0], &servers[1]);
    let c = Server::spawn(builder(&proxy.redis_url(), "socketio"));
    all_ready(&[a, b, &c]).await;
    let mut on_a = a.client().await;
    let mut on_b = b.client().await;
    let mut on_c = c.client().await;
    for client in [&mut on_a, &mut on_b, &mut on_c] {
        client.join_room("news").await;
    }
    probe(a, &mut on_c, "before").await;
    let pubsub_clients = || {
        redis
            .cli(&["CLIENT", "LIST", "TYPE", "pubsub"])
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
    };
    assert_eq!(pubsub_clients(), 3);

    proxy.pause();
    // 100 KB messages to a room nobody is in: every subscriber receives them all, C can't.
    let chunk = "x".repeat(100 << 10);
    let b_received = b.stats().received;
    let mut sent = 0u64;
    let deadline = Instant::now() + EXTERNAL_WAIT;
    while pubsub_clients() == 3 {
        assert!(Instant::now() < deadline, "Redis never cut C off");
        for _ in 0..10 {
            a.io.to("nobody").try_emit("bulk", &chunk).unwrap();
            sent += 1;
        }
        // Paces A to what Redis took, so A's own queue never fills.
        eventually(EXTERNAL_WAIT, "A's bulk published", || {
            a.stats().published >= sent
        })
        .await;
    }
    assert_eq!(pubsub_clients(), 2, "only C's subscriber was disconnected");

    // A and B are unaffected while C is cut off.
    a.io.to("news").try_emit("during", &1).unwrap();
    assert_eq!(on_a.until_marker("during").await, vec![]);
    assert_eq!(on_b.until_marker("during").await, vec![]);
    eventually(EXTERNAL_WAIT, "B received all of A's bulk", || {
        b.stats().received >= b_received + sent
    })
    .await;
    assert_eq!(a.stats().publish_failed, 0);
    assert!(a.ready() && b.ready());

    proxy.resume();
    eventually(EXTERNAL_WAIT, "C subscribed again", || {
        let s = c.stats();
        s.subscribed && s.reconnects >= 1
    })
    .await;
    assert_eq!(pubsub_clients(), 3);
    // C's clients are served again. Messages of the gap are lost; "during" may be the only
    // thing C had buffered before the cut, so skip whatever comes first.
    let deadline = Instant::now() + EXTERNAL_WAIT;
    let mut n = 0u64;
    'outer: loop {
        n += 1;
        a.io.to("news").try_emit("after", &n).unwrap();
        while let Ok(packet) = tokio::time::timeout(Duration::from_millis(200), on_c.recv()).await {
            assert_ne!(packet, Packet::Closed);
            if packet.name() == "after" {
                break 'outer;
            }
        }
        assert!(Instant::now() < deadline, "C never received again");
    }
    for client in [&mut on_a, &mut on_b] {
        assert_eq!(client.until_marker("after").await, vec![]);
    }
    assert!(a.ready() && b.ready() && c.ready());
    for server in [a, b] {
        let s = server.stats();
        assert_eq!(s.reconnects, 0, "A and B never lost a connection: {s:#?}");
        assert_eq!(s.publish_failed, 0);
    }
    // The gap is lost for C (at most once, nothing replayed): it received less than B.
    eventually(EXTERNAL_WAIT, "B received every \"after\"", || {
        b.stats().received >= a.stats().published
    })
    .await;
    assert!(c.stats().received < b.stats().received);
    eprintln!("R05: {sent} x 100 KB published before Redis cut C off");
}
