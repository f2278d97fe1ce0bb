//! The cluster example (`examples/cluster`): two servers on one Redis (a `redis-server` of this
//! test), each with its own test clients, plus the emitter worker. "Processes" are two
//! `SocketIo` instances with their own message-queue connections: to Redis and to each other
//! they are separate servers (see `tests::mq`).

#[path = "../../examples/cluster/app.rs"]
mod app;

use std::time::Duration;

use app::Relayed;
use socketio::testing::TestClient;
use socketio::SocketIo;
use tests::redis::Redis;
use tests::wait::{eventually, EXTERNAL_WAIT};

async fn server(redis: &Redis, name: &str) -> SocketIo {
    let io = app::socketio(&redis.url(), name).unwrap();
    eventually(EXTERNAL_WAIT, "the server's message queue is up", || {
        io.queue_stats()
            .is_some_and(|s| s.connected && s.subscribed)
    })
    .await;
    io
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_reaches_the_sockets_of_both_servers() {
    let redis = Redis::start();
    let a = server(&redis, "A").await;
    let b = server(&redis, "B").await;
    let on_a = TestClient::connect(&a).await.unwrap();
    let on_b = TestClient::connect(&b).await.unwrap();
    for (client, name) in [(&on_a, "A"), (&on_b, "B")] {
        let hello = client.recv().await.unwrap();
        assert_eq!(hello.name(), "hello");
        assert_eq!(hello.values()[0]["server"], name);
    }

    on_a.emit("message", "hi from A").await.unwrap();
    let expected = Relayed {
        text: "hi from A".into(),
        via: "A".into(),
    };
    for client in [&on_a, &on_b] {
        let message = client.recv().await.unwrap();
        assert_eq!(message.name(), "message");
        assert_eq!(message.data::<Relayed>().unwrap(), expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workers_ticks_reach_every_server() {
    let redis = Redis::start();
    let a = server(&redis, "A").await;
    let b = server(&redis, "B").await;
    let on_a = TestClient::connect(&a).await.unwrap();
    let on_b = TestClient::connect(&b).await.unwrap();
    on_a.recv().await.unwrap(); // hello
    on_b.recv().await.unwrap();

    let url = redis.url();
    let worker =
        tokio::spawn(async move { app::run_worker(&url, Duration::from_millis(100)).await });
    for client in [&on_a, &on_b] {
        let tick = client.recv().await.unwrap();
        assert_eq!(tick.name(), "tick");
        assert!(tick.values()[0]["n"].as_u64().is_some_and(|n| n >= 1));
    }
    worker.abort();
}
