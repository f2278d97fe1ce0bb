//! A mixed cluster (issue 14, item 2): socketio-rs servers with
//! [`python_socketio_peers`](socketio::Builder::python_socketio_peers) next to a real
//! Flask-SocketIO 5.7 server (python-socketio 5.18's `RedisManager`, or its `KombuManager` on
//! RabbitMQ at 127.0.0.1:5672) on one channel (`tests/python/foreign_server.py`, with a
//! python-socketio client). What our handlers emit reaches the Python server's client, what the
//! Python server emits reaches ours, and every client gets each event exactly once: each
//! Redis test starts its own `redis-server`.

use serde_json::{json, Value};
use socketio::{Binary, Builder, Data, SocketIo};
use tests::foreign::{events_before, names, FlaskServer};
use tests::logs;
use tests::mq::{self, exchange, subscribed};
use tests::redis::Redis;

const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/";
/// The same broker in Kombu's spelling of the default virtual host.
const KOMBU_URL: &str = "amqp://guest:guest@127.0.0.1:5672//";

/// The message-queue test servers ([`mq::builder`]: `join`, `leave`, `shout` to a room from a
/// socket) with python-socketio peers, plus `announce` (`[event, room or null, payload]`: the
/// server's own emit, to a room or the namespace) and `file` (a binary emit to `news`).
fn mixed(url: &str, channel: &str) -> Builder {
    mq::builder(url, channel)
        .python_socketio_peers(true)
        .on(
            "/",
            "announce",
            |io: SocketIo,
             Data((event, room, payload)): Data<(String, Option<String>, Value)>| async move {
                match room {
                    Some(room) => io.to(room).emit(&event, &payload),
                    None => io.emit(&event, &payload),
                }
            },
        )
        .on("/", "file", |io: SocketIo| async move {
            io.to("news")
                .emit("file", &(Binary::from(vec![0u8, 1, 255]), "caption"));
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_cross_between_our_servers_and_a_flask_socketio_server_exactly_once() {
    let redis = Redis::start();
    let url = redis.url();
    let mut python = FlaskServer::start(&url, "flask-socketio").await;
    let a = subscribed(mixed(&url, "flask-socketio")).await;
    let b = subscribed(mixed(&url, "flask-socketio")).await;
    let mut a_member = a.client().await;
    a_member.join_room("news").await;
    let mut a_other = a.client().await;
    let mut b_member = b.client().await;
    b_member.join_room("news").await;

    // Our handlers emit: from a socket to a room (the sender left out), to the namespace,
    // binary to a room, to a room nobody is in.
    a_other
        .call("shout", &[json!("news"), json!("hello")])
        .await;
    a_other
        .call(
            "announce",
            &[json!("everyone"), Value::Null, json!({"n": 1})],
        )
        .await;
    a_other.call("file", &[]).await;
    a_other
        .call(
            "announce",
            &[json!("elsewhere"), json!("nowhere"), json!(1)],
        )
        .await;
    a_other
        .call("announce", &[json!("end1"), Value::Null, json!(1)])
        .await;
    let got = events_before(&mut a_member, "end1").await;
    assert_eq!(names(&got), ["shout", "everyone", "file"], "{got:?}");
    assert_eq!(got[2].2, 1, "one attachment");
    let got = events_before(&mut b_member, "end1").await;
    assert_eq!(names(&got), ["shout", "everyone", "file"], "{got:?}");
    assert_eq!(got[2].2, 1, "one attachment");
    assert_eq!(
        names(&events_before(&mut a_other, "end1").await),
        ["everyone"]
    );
    python.command(json!({"wait": "end1"})).await;

    // The Python server emits: to `news`, to the namespace.
    python
        .command(json!({"emit": "py_news", "args": ["from python", 2], "to": "news"}))
        .await;
    python
        .command(json!({"emit": "py_all", "args": [{"k": true}]}))
        .await;
    python.command(json!({"emit": "end2"})).await;
    // Had a server applied a copy of ours (its own, or the other's), its clients would have
    // got phase one's events again before these.
    for client in [&mut a_member, &mut b_member] {
        let got = events_before(client, "end2").await;
        assert_eq!(names(&got), ["py_news", "py_all"], "{got:?}");
        assert_eq!(got[0].1, [json!("from python"), json!(2)]);
    }
    assert_eq!(
        names(&events_before(&mut a_other, "end2").await),
        ["py_all"]
    );

    // Operations on the Python server's socket by id, then on a room it joined.
    let sid = python.sid.clone();
    a.io.to(sid.as_str()).join("vip");
    a.io.to("vip").emit("vip1", &1);
    a.io.to(sid.as_str()).leave("vip");
    a.io.to("vip").emit("vip2", &2);
    python.command(json!({"join": "doomed"})).await;
    a.io.close_room("/", "doomed");
    a.io.to("doomed").emit("doomed", &3);
    a.io.to(sid.as_str()).disconnect();

    assert_eq!(
        python.received().await,
        [
            json!({"event": "shout", "args": ["hello"]}),
            json!({"event": "everyone", "args": [{"n": 1}]}),
            json!({"event": "file", "args": [{"bytes": "AAH/"}, "caption"]}),
            json!({"event": "end1", "args": [1]}),
            json!({"event": "py_news", "args": ["from python", 2]}),
            json!({"event": "py_all", "args": [{"k": true}]}),
            json!({"event": "end2", "args": []}),
            json!({"event": "vip1", "args": [1]}),
            json!({"event": "disconnected"}),
        ]
    );
    for server in [&a, &b] {
        let stats = server.stats();
        assert_eq!(
            (stats.foreign, stats.malformed, stats.untranslated),
            (3, 0, 0),
            "the Python server's three emits: {stats:#?}"
        );
        assert_eq!(server.panics(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flask_socketio_server_on_rabbitmq_through_kombu() {
    let channel = exchange("mixed-kombu");
    let mut python = FlaskServer::start(KOMBU_URL, &channel).await;
    let server = subscribed(mixed(AMQP_URL, &channel)).await;
    let mut member = server.client().await;
    member.join_room("news").await;
    let mut other = server.client().await;

    other
        .call(
            "announce",
            &[json!("headline"), json!("news"), json!("rust")],
        )
        .await;
    other.call("file", &[]).await;
    python.command(json!({"wait": "file"})).await;
    python
        .command(json!({"emit": "py_news", "args": ["python"], "to": "news"}))
        .await;
    let got = events_before(&mut member, "py_news").await;
    assert_eq!(names(&got), ["headline", "file"], "{got:?}");
    server.io.to(python.sid.as_str()).disconnect();

    assert_eq!(
        python.received().await,
        [
            json!({"event": "headline", "args": ["rust"]}),
            json!({"event": "file", "args": [{"bytes": "AAH/"}, "caption"]}),
            json!({"event": "py_news", "args": ["python"]}),
            json!({"event": "disconnected"}),
        ]
    );
    assert_eq!(server.stats().foreign, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_python_socketio_cannot_say_is_counted_and_logged() {
    let redis = Redis::start();
    let server = subscribed(mixed(&redis.url(), "flask-socketio")).await;
    let _client = server.client().await;

    // Every socket of the namespace joins: python-socketio names sockets one by one.
    server.io.of("/").join("everyone");
    logs::wait_line(&["not published for python-socketio servers", "`enter_room`"]).await;
    let replies = server
        .io
        .of("/")
        .fetch_sockets()
        .await
        .expect("fetch_sockets");
    assert_eq!(replies.items().len(), 1);
    assert_eq!(server.stats().untranslated, 2, "{:#?}", server.stats());
}

#[test]
fn python_socketio_peers_needs_a_message_queue() {
    let error = SocketIo::builder()
        .python_socketio_peers(true)
        .build()
        .expect_err("no message queue");
    assert!(
        error
            .to_string()
            .contains("`python_socketio_peers` is set but not `message_queue`"),
        "{error}"
    );
}
