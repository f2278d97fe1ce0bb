//! Foreign emitters reach our sockets, and our emitter reaches a Python server (issue 14,
//! item 2). Every publisher is the real package, unchanged: Flask-SocketIO 5.7's
//! `SocketIO(message_queue=url)` without an app, python-socketio 5.18's write-only
//! `RedisManager` and `KombuManager` (RabbitMQ on 127.0.0.1:5672), and Node's
//! `@socket.io/redis-emitter` 5.1 (see `tests/src/foreign.rs`). Each Redis test starts its
//! own `redis-server`.

use serde_json::json;
use socketio::queue::PublishFormat;
use socketio::{Binary, Emitter};
use tests::foreign::{
    events_before, names, node_emit, publish_raw, python_emit, FlaskServer, Manager,
};
use tests::logs;
use tests::mq::{self, exchange, subscribed};
use tests::redis::Redis;
use tests::ws::{Client, Packet};

const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flask_socketio_emits_reach_a_room_a_socket_and_the_namespace() {
    let redis = Redis::start();
    // Flask-SocketIO's channel, `flask-socketio`, is the default of both sides.
    let server = subscribed(mq::builder(&redis.url(), "flask-socketio")).await;
    let mut member = server.client().await;
    member.join_room("news").await;
    let mut other = server.client().await;

    python_emit(
        Manager::Flask,
        &redis.url(),
        "flask-socketio",
        json!([
            {"op": "emit", "event": "headline", "args": [{"title": "é \"quoted\""}, 2], "to": "news"},
            {"op": "emit", "event": "direct", "args": ["for you"], "to": other.sid},
            {"op": "emit", "event": "all", "args": [], "skip_sid": member.sid},
            {"op": "emit", "event": "file", "args": ["caption"], "binary": ["AAEC/w=="], "to": "news"},
            {"op": "emit", "event": "end", "args": []},
        ]),
    )
    .await;

    let got = events_before(&mut member, "end").await;
    assert_eq!(names(&got), ["headline", "file"], "{got:?}");
    assert_eq!(got[0].1, [json!({"title": "é \"quoted\""}), json!(2)]);
    assert_eq!(got[1].2, 1, "one attachment");
    let got = events_before(&mut other, "end").await;
    assert_eq!(names(&got), ["direct", "all"], "{got:?}");
    assert_eq!(got[0].1, [json!("for you")]);
    let stats = server.stats();
    assert_eq!((stats.foreign, stats.malformed), (5, 0), "{stats:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flask_socketio_joins_leaves_closes_rooms_and_disconnects() {
    let redis = Redis::start();
    let server = subscribed(mq::builder(&redis.url(), "flask-socketio")).await;
    let mut staying = server.client().await;
    let mut leaving = server.client().await;
    leaving.join_room("doomed").await;

    python_emit(
        Manager::Flask,
        &redis.url(),
        "flask-socketio",
        json!([
            {"op": "enter_room", "sid": staying.sid, "room": "vip"},
            {"op": "emit", "event": "vip1", "to": "vip"},
            {"op": "leave_room", "sid": staying.sid, "room": "vip"},
            {"op": "emit", "event": "vip2", "to": "vip"},
            {"op": "close_room", "room": "doomed"},
            {"op": "emit", "event": "closed", "to": "doomed"},
            {"op": "disconnect", "sid": leaving.sid},
            {"op": "emit", "event": "end"},
        ]),
    )
    .await;

    assert_eq!(names(&events_before(&mut staying, "end").await), ["vip1"]);
    assert_eq!(leaving.recv().await, Packet::Disconnect, "nothing before");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_socketio_redis_manager_on_its_default_channel() {
    let redis = Redis::start();
    // python-socketio's managers default to channel `socketio`.
    let server = subscribed(mq::builder(&redis.url(), "socketio")).await;
    let mut member = server.client().await;
    member.join_room("news").await;
    let mut other = server.client().await;

    python_emit(
        Manager::Redis,
        &redis.url(),
        "socketio",
        json!([
            {"op": "emit", "event": "headline", "args": [1, 2], "to": "news"},
            {"op": "emit", "event": "direct", "args": [{"a": null}], "to": other.sid},
            {"op": "enter_room", "sid": other.sid, "room": "news"},
            {"op": "emit", "event": "both", "args": ["x"], "to": ["news", "nobody"], "skip_sid": [member.sid]},
            {"op": "close_room", "room": "news"},
            {"op": "emit", "event": "closed", "to": "news"},
            {"op": "emit", "event": "end"},
        ]),
    )
    .await;

    let got = events_before(&mut member, "end").await;
    assert_eq!(names(&got), ["headline"], "{got:?}");
    assert_eq!(got[0].1, [json!(1), json!(2)]);
    let got = events_before(&mut other, "end").await;
    assert_eq!(names(&got), ["direct", "both"], "{got:?}");
    assert_eq!(got[0].1, [json!({"a": null})]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_socketio_kombu_manager_over_rabbitmq() {
    let channel = exchange("foreign-kombu");
    let server = subscribed(mq::builder(AMQP_URL, &channel)).await;
    let mut member = server.client().await;
    member.join_room("news").await;
    let mut other = server.client().await;

    // Kombu names the default virtual host `//`.
    python_emit(
        Manager::Kombu,
        "amqp://guest:guest@127.0.0.1:5672//",
        &channel,
        json!([
            {"op": "emit", "event": "headline", "args": ["hi"], "to": "news"},
            {"op": "emit", "event": "file", "binary": ["AQID"], "to": other.sid},
            {"op": "enter_room", "sid": other.sid, "room": "news"},
            {"op": "emit", "event": "both", "to": "news"},
            {"op": "emit", "event": "end"},
        ]),
    )
    .await;

    assert_eq!(
        names(&events_before(&mut member, "end").await),
        ["headline", "both"]
    );
    let got = events_before(&mut other, "end").await;
    assert_eq!(names(&got), ["file", "both"], "{got:?}");
    assert_eq!(got[0].2, 1, "one attachment");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_redis_emitter_reaches_rooms_namespaces_and_sockets() {
    let redis = Redis::start();
    let builder = mq::builder(&redis.url(), "flask-socketio")
        .namespace("/chat")
        .node_redis_emitter("socket.io");
    let server = subscribed(builder).await;
    let mut member = server.client().await;
    member.join_room("news").await;
    let mut other = server.client().await;
    let (mut chat, _) = Client::connected(server.addr, "/chat").await;

    node_emit(
        &redis.url(),
        json!([
            {"op": "emit", "event": "headline", "args": [{"n": 1}, [true, null]], "to": ["news"]},
            {"op": "emit", "event": "direct", "args": ["for you"], "to": [other.sid]},
            {"op": "emit", "event": "not_news", "args": [], "except": ["news"]},
            {"op": "emit", "event": "file", "args": ["caption"], "binary": ["AAEC"], "to": ["news", other.sid]},
            {"op": "emit", "event": "room_chat", "args": [3], "namespace": "/chat"},
            {"op": "socketsJoin", "rooms": ["vip"], "to": [other.sid]},
            {"op": "emit", "event": "vip", "to": ["vip"]},
            {"op": "socketsLeave", "rooms": ["vip"]},
            {"op": "emit", "event": "vip_again", "to": ["vip"]},
            {"op": "serverSideEmit", "args": ["refused"]},
            {"op": "disconnectSockets", "to": ["news"]},
            {"op": "emit", "event": "end"},
        ]),
    )
    .await;

    let got = events_before(&mut other, "end").await;
    assert_eq!(
        names(&got),
        ["direct", "not_news", "file", "vip"],
        "{got:?}"
    );
    assert_eq!(got[2].1[0], json!("caption"));
    assert_eq!(got[2].2, 1, "one attachment");
    assert_eq!(member.expect("headline").await.arg(), &json!({"n": 1}));
    member.expect("file").await;
    assert_eq!(member.recv().await, Packet::Disconnect, "disconnectSockets");
    assert_eq!(
        chat.text().await,
        "42/chat,[\"room_chat\",3]",
        "the /chat namespace"
    );
    let stats = server.stats();
    assert_eq!(stats.refused, 1, "serverSideEmit: {stats:#?}");
    logs::wait_line(&["refused from a foreign emitter", "serverSideEmit"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_server_delivers_the_emits_of_our_emitter_in_its_format() {
    let redis = Redis::start();
    let python = FlaskServer::start(&redis.url(), "flask-socketio").await;
    // A socketio-rs server of the same mixed cluster gets them as well.
    let server = subscribed(mq::builder(&redis.url(), "flask-socketio")).await;
    let mut ours = server.client().await;
    ours.join_room("news").await;

    let emitter = Emitter::builder(redis.url())
        .format(PublishFormat::PythonSocketio)
        .connect()
        .await
        .expect("connect the emitter");
    let news = emitter.to("news");
    news.emit("headline", &json!({"title": "from Rust"}))
        .await
        .unwrap();
    emitter
        .to("elsewhere")
        .emit("not_for_you", &1)
        .await
        .unwrap();
    news.emit("file", &(Binary::from(vec![0u8, 1, 255]), "caption"))
        .await
        .unwrap();
    emitter.emit("bye", &()).await.unwrap();

    assert_eq!(
        python.received().await,
        [
            json!({"event": "headline", "args": [{"title": "from Rust"}]}),
            json!({"event": "file", "args": [{"bytes": "AAH/"}, "caption"]}),
        ]
    );
    let got = events_before(&mut ours, "bye").await;
    assert_eq!(names(&got), ["headline", "file"], "{got:?}");
    assert_eq!(got[1].2, 1, "one attachment");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_channels_is_counted_and_dropped() {
    let redis = Redis::start();
    let builder = mq::builder(&redis.url(), "flask-socketio").node_redis_emitter("socket.io");
    let server = subscribed(builder).await;
    let mut client = server.client().await;
    let deep = format!(
        r#"{{"method": "emit", "event": "e", "data": {}{}}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("flask-socketio", b"garbage".to_vec()),
        ("flask-socketio", b"{\"method\": \"emit\"}".to_vec()),
        (
            "flask-socketio",
            br#"{"method": "emit", "event": "connect", "data": []}"#.to_vec(),
        ),
        (
            "flask-socketio",
            br#"{"method": "emit", "event": "e", "data": [[1], "!"], "binary": true}"#.to_vec(),
        ),
        (
            "flask-socketio",
            br#"{"method": "disconnect", "namespace": "/"}"#.to_vec(),
        ),
        ("flask-socketio", deep.into_bytes()),
        ("socket.io#/#", b"\xc1\xff\x00".to_vec()),
        ("socket.io#/#", [vec![0x91u8; 100_000], vec![0xc0]].concat()),
        (
            "socket.io#/#",
            vec![
                0x93, 0xc0, 0x82, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa4, b'd', b'a', b't', b'a',
                0x90, 0x80,
            ],
        ),
        ("socket.io-request#/#", b"{\"type\": \"x\"}".to_vec()),
    ];
    let count = malformed.len() as u64;
    for (channel, payload) in &malformed {
        publish_raw(redis.port, channel, payload).await;
    }
    publish_raw(
        redis.port,
        "socket.io-request#/#",
        br#"{"uid":"emitter","type":6,"data":["x"]}"#,
    )
    .await;
    // Still listening: a well-formed message after the garbage is applied.
    publish_raw(
        redis.port,
        "flask-socketio",
        br#"{"method": "emit", "event": "after", "data": ["ok"], "binary": false, "namespace": "/", "room": null, "skip_sid": null, "callback": null, "host_id": "x"}"#,
    )
    .await;
    assert_eq!(client.expect("after").await.arg(), &json!("ok"));
    let stats = server.stats();
    assert_eq!(
        (stats.malformed, stats.refused, stats.foreign),
        (count, 1, 1),
        "{stats:#?}"
    );
    assert_eq!(server.panics(), 0);
    logs::wait_line(&["message queue: ignored a message"]).await;
}
