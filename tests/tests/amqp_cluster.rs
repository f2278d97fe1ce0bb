//! Several servers over a real RabbitMQ (AMQP 0-9-1) on 127.0.0.1:5672 (`.ci/run` starts one
//! when nothing answers there). Each test uses its own exchange, so tests never see each
//! other's messages.
//!
//! The broker is shared, so the test that restarts it (`rabbitmqctl stop_app` / `start_app`)
//! takes a write lock that every other test of this binary holds for reading: it runs alone.
//! Other test binaries do not use RabbitMQ (and `cargo test` runs binaries one after another).

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use socketio::Emitter;
use tests::mq::{cluster, exchange};
use tests::wait::{eventually, EXTERNAL_WAIT};
use tests::ws::Packet;
use tokio::sync::RwLock;

const URL: &str = "amqp://guest:guest@127.0.0.1:5672/";

/// Readers: tests that need the broker up. Writer: the test that restarts it.
static BROKER: RwLock<()> = RwLock::const_new(());

fn rabbitmqctl(args: &[&str]) {
    let status = Command::new("rabbitmqctl")
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("rabbitmqctl (.ci/run installs rabbitmq-server)");
    assert!(status.success(), "rabbitmqctl {args:?} failed");
}

/// Starts the broker's application again (idempotent) when dropped.
struct StartOnDrop;

impl Drop for StartOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl").arg("start_app").output();
        let _ = Command::new("rabbitmqctl").arg("await_startup").output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_and_room_emit_reach_the_other_server() {
    let _broker = BROKER.read().await;
    let servers = cluster(2, URL, &exchange("broadcast")).await;
    let mut on_a = servers[0].client().await;
    let mut on_b = servers[1].client().await;
    on_b.join_room("room").await;

    servers[0].io.try_emit("all", &1).unwrap();
    assert_eq!(on_a.expect("all").await.arg(), &json!(1));
    assert_eq!(on_b.expect("all").await.arg(), &json!(1));

    servers[0].io.to("room").try_emit("room-only", &2).unwrap();
    assert_eq!(on_b.expect("room-only").await.arg(), &json!(2));
    servers[0].io.try_emit("marker", &()).unwrap();
    assert!(
        on_a.until_marker("marker").await.is_empty(),
        "not in the room"
    );
    assert!(on_b.until_marker("marker").await.is_empty(), "one copy");

    // A socket-specific emit and an acknowledgement across the two servers.
    servers[1]
        .io
        .to(on_a.sid.as_str())
        .try_emit("private", &3)
        .unwrap();
    assert_eq!(on_a.expect("private").await.arg(), &json!(3));
    let answer = servers[1]
        .io
        .to(on_a.sid.as_str())
        .emit_with_ack("ask", &4)
        .await
        .expect("ack across servers");
    assert_eq!(
        answer.deserialize::<(String, i32)>().unwrap(),
        ("pong".into(), 4)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emitter_reaches_both_servers() {
    let _broker = BROKER.read().await;
    let channel = exchange("emitter");
    let servers = cluster(2, URL, &channel).await;
    let mut on_a = servers[0].client().await;
    let mut on_b = servers[1].client().await;
    on_a.join_room("room").await;

    let emitter = Emitter::builder(URL)
        .channel(&channel)
        .connect()
        .await
        .unwrap();
    emitter.emit("hello", &"all").await.unwrap();
    on_a.expect("hello").await;
    on_b.expect("hello").await;
    emitter.to("room").emit("room-only", &()).await.unwrap();
    on_a.expect("room-only").await;
    emitter.close_room("room").await.unwrap();
    eventually(EXTERNAL_WAIT, "room closed", || {
        servers[0].io.to("room").sockets().is_empty()
    })
    .await;
    emitter.to(on_b.sid.as_str()).disconnect().await.unwrap();
    assert_eq!(on_b.recv().await, Packet::Disconnect);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restarted_mid_run_servers_reconnect() {
    let _broker = BROKER.write().await;
    let channel = exchange("restart");
    let servers = cluster(2, URL, &channel).await;
    let (a, b) = (&servers[0], &servers[1]);
    let mut on_a = a.client().await;
    let mut on_b = b.client().await;
    a.io.try_emit("before", &()).unwrap();
    on_a.expect("before").await;
    on_b.expect("before").await;

    let _restart = StartOnDrop; // the broker is started again even if this test fails
    rabbitmqctl(&["stop_app"]);
    eventually(
        EXTERNAL_WAIT,
        "both subscriptions noticed the broker went away",
        || !a.stats().subscribed && !b.stats().subscribed,
    )
    .await;
    a.io.try_emit("during", &()).unwrap();
    on_a.expect("during").await; // local first, broker down
    rabbitmqctl(&["start_app"]);
    rabbitmqctl(&["await_startup"]);

    // Probe until cross-server traffic flows again (the exchange is re-declared on reconnect).
    let mut probe = 0u64;
    loop {
        probe += 1;
        a.io.emit("probe", &probe);
        match tokio::time::timeout(Duration::from_millis(250), on_b.recv()).await {
            Ok(packet) => {
                assert_eq!(packet.name(), "probe");
                break;
            }
            Err(_) => assert!(probe < 200, "traffic never resumed"),
        }
    }
    for seq in 1..=100u64 {
        a.io.try_emit("seq", &seq).unwrap();
    }
    a.io.try_emit("done", &()).unwrap();
    let got: Vec<u64> = on_b
        .until_marker("done")
        .await
        .iter()
        .filter_map(|p| match p {
            Packet::Event { name, args, .. } if name == "seq" => args[0].as_u64(),
            _ => None,
        })
        .collect();
    assert_eq!(got, (1..=100).collect::<Vec<_>>());
    assert!(a.stats().reconnects >= 1 && b.stats().reconnects >= 1);
}
