//! Volatile emits (socket.io's `volatile`): a recipient that is not ready to write the packet
//! skips it instead of queueing it, so a slow client gets fewer updates and is never
//! disconnected because of them.

use std::time::Duration;

use serde_json::json;
use socketio::{Data, Socket, SocketIo};
use tests::interop::{Mode, ScriptClient};
use tests::mq::subscribed;
use tests::raw_ws::{self, RawWs};
use tests::redis::Redis;
use tests::server::Server;
use tests::wait::{eventually, EXTERNAL_WAIT, WAIT};

/// `go` "one": one volatile `v`; `go` "burst": 200 volatile `v` in a row, then a normal `done`.
fn server() -> SocketIo {
    SocketIo::builder()
        .on(
            "/",
            "go",
            |socket: Socket, Data(what): Data<String>| async move {
                if what == "one" {
                    socket.volatile().emit("v", &-1);
                    return;
                }
                for n in 0..200 {
                    socket.volatile().emit("v", &n);
                }
                socket.emit("done", &());
            },
        )
        .build()
        .expect("valid server")
}

/// The official JS client, on each transport: a volatile emit to an idle client arrives; of a
/// burst, those that arrive come in order, and the normal emit after them arrives last.
#[tokio::test]
async fn the_js_client_receives_volatile_emits() {
    for mode in [Mode::WebSocket, Mode::Polling, Mode::Upgrade] {
        let srv = Server::spawn(server());
        let o = ScriptClient::Js.run(&srv.url(), mode, "volatile").await;
        assert_eq!(o.get("idle")["v"], json!(-1), "{mode:?}: {o}");
        let burst = o.get("burst");
        let values: Vec<i64> = burst["values"]
            .as_array()
            .expect("values")
            .iter()
            .filter_map(|v| v.as_i64())
            .filter(|v| *v >= 0)
            .collect();
        assert!(
            !values.is_empty(),
            "{mode:?}: not one of the burst arrived: {o}"
        );
        assert!(values.len() <= 200, "{mode:?}: {o}");
        assert!(
            values.windows(2).all(|w| w[0] < w[1]),
            "{mode:?}: out of order: {o}"
        );
        assert_eq!(burst["last"], "done", "{mode:?}: {o}");
        o.assert_transport("transport");
        srv.stop().await;
    }
}

/// A client that stops reading while 4,000 volatile 16 KiB events are emitted to it (64 MiB,
/// far more than the kernel's buffers and its queue of 64 packets hold): it stays connected,
/// and once it reads again it gets some of them, in order, then the normal event sent after.
/// The same flood of normal events disconnects it (`backpressure.rs`, the slow reader).
#[tokio::test]
async fn a_client_that_stops_reading_skips_volatile_emits_and_stays() {
    const EVENTS: usize = 4_000;
    let srv = Server::start(SocketIo::builder().max_queued_packets(64));
    let (mut client, eio_sid) = RawWs::open(srv.addr).await;
    client.send(&raw_ws::text("40")).await.expect("CONNECT");
    let socket = loop {
        if let Some(socket) = srv.io.of("/").sockets().pop() {
            break socket;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let payload = "z".repeat(16 * 1024);
    for n in 0..EVENTS {
        socket.volatile().emit("v", &(n, &payload));
    }
    socket.emit("after", &());
    assert!(srv.alive(&eio_sid), "the volatile flood closed the session");
    assert!(socket.connected());

    let received: Vec<usize> = volatile_until_after(&mut client, WAIT)
        .await
        .iter()
        .map(|args| {
            args.split(',')
                .next()
                .and_then(|n| n.trim_start_matches('[').parse().ok())
                .unwrap_or_else(|| panic!("unexpected arguments {args:.60}"))
        })
        .collect();
    assert!(!received.is_empty(), "no volatile event arrived");
    assert!(
        received.len() < EVENTS,
        "all {EVENTS} volatile events were queued for a client that did not read"
    );
    assert!(received.windows(2).all(|w| w[0] < w[1]), "out of order");
    eventually(WAIT, "the session is still alive", || srv.alive(&eio_sid)).await;
    assert_eq!(srv.panics(), 0);
}

/// A volatile broadcast stays volatile on the other servers of a cluster: a client of another
/// server that stops reading skips it there too. (Without the flag on the bus, the receiving
/// server queued every packet and closed the client once its queue overflowed.)
#[tokio::test]
async fn a_volatile_broadcast_stays_volatile_on_the_other_servers() {
    const EVENTS: usize = 1_000;
    let redis = Redis::start();
    let channel = format!("volatile.{}", std::process::id());
    let on_bus = || {
        SocketIo::builder()
            .message_queue(redis.url())
            .channel(&channel)
    };
    let sender = subscribed(on_bus()).await;
    let receiver = subscribed(on_bus().max_queued_packets(64)).await;
    // A small receive buffer: the client holds little of what it does not read.
    let (mut client, eio_sid, _) = RawWs::open_with_receive_buffer(receiver.addr, 64 * 1024).await;
    client.send(&raw_ws::text("40")).await.expect("CONNECT");
    eventually(WAIT, "the client is a socket of /", || {
        receiver.io.of("/").sockets().len() == 1
    })
    .await;

    let payload = "z".repeat(16 * 1024);
    for n in 0..EVENTS {
        sender.io.of("/").volatile().emit("v", &(n, &payload));
    }
    sender.io.of("/").emit("after", &());

    let received = volatile_until_after(&mut client, EXTERNAL_WAIT).await.len();
    assert!(
        received < EVENTS,
        "all {EVENTS} volatile broadcasts were queued for a client that did not read"
    );
    assert!(
        receiver.alive(&eio_sid),
        "the volatile flood closed the session"
    );
    assert_eq!(receiver.panics() + sender.panics(), 0);
}

/// Reads until the event `after` and returns the arguments of every `v` event before it (the
/// text after `42["v",`). Each read must come within `wait`, and the connection stay open.
async fn volatile_until_after(client: &mut RawWs, wait: Duration) -> Vec<String> {
    let mut received = Vec::new();
    loop {
        let text = client
            .next_within(wait)
            .await
            .expect("the client reads within the timeout")
            .expect("the connection stays open")
            .text();
        if text.starts_with(r#"42["after""#) {
            return received;
        }
        if let Some(args) = text.strip_prefix(r#"42["v","#) {
            received.push(args.to_owned());
        }
    }
}
