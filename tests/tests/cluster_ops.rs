//! Cluster-wide operations (issue 14, item 1): `fetch_sockets`, broadcasts with
//! acknowledgements, `server_side_emit` (with acknowledgements), and the server heartbeats
//! that decide who is expected to answer (the catalogue's R09–R12), over a real Redis (each
//! test starts its own `redis-server`) and over RabbitMQ on 127.0.0.1:5672.
//!
//! Each "server" is a `SocketIo` of its own in the test process, with its own broker
//! connections and uid (see `tests::mq`); a dead server is one whose broker connections go
//! through a proxy that stops forwarding (no goodbye, no FIN: a `kill -9` or a partition as the
//! others see it).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use socketio::queue::ServerEvent;
use socketio::{Builder, SocketIo};
use tests::mq::{
    counted_cluster, ops_builder, wait_counted, JsMembers, HEARTBEAT, HEARTBEAT_TIMEOUT,
};
use tests::redis::proxy::Proxy;
use tests::redis::Redis;
use tests::server::Server;
use tests::wait::{eventually, EXTERNAL_WAIT};
use tests::ws::{Client, Packet};
use tokio::sync::mpsc;

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/";

/// An AMQP exchange no other test uses.
fn exchange(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("sio-ops.{test}.{}.{nanos}", std::process::id())
}

/// The test servers plus two server-event handlers: `count` answers with the number of
/// sockets on `/` and the server's uid; `note` reports what it got on `notes`.
fn with_server_events(url: &str, channel: &str, notes: mpsc::UnboundedSender<Value>) -> Builder {
    ops_builder(url, channel)
        .on_server_event("count", |io: SocketIo, _event: ServerEvent| async move {
            let uid = io.queue_stats().map(|s| s.uid).unwrap_or_default();
            (io.sockets("/").len(), uid)
        })
        .on_server_event("note", move |_io: SocketIo, event: ServerEvent| {
            let notes = notes.clone();
            async move {
                let text: String = event.data().unwrap_or_default();
                let _ = notes.send(json!({"text": text, "from": event.from_server()}));
            }
        })
}

/// The ids of `sockets`, as strings.
fn ids<'a>(sockets: impl IntoIterator<Item = &'a socketio::RemoteSocket>) -> HashSet<String> {
    sockets.into_iter().map(|s| s.id().to_string()).collect()
}

/// A client of `server` that answers `ask` by itself, in `room`.
async fn member(server: &Server, room: &str) -> Client {
    let mut client = server.client().await;
    client.join_room(room).await;
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_sockets_describes_every_socket_of_the_cluster_and_reaches_it() {
    let redis = Redis::start();
    let servers = counted_cluster(3, &redis.url(), "ops", ops_builder).await;
    let (mut remote, _) = {
        let mut client = Client::open_with_query(servers[1].addr, "role=admin&lang=fr").await;
        let sid = client.join_with_auth(&json!({"token": "t1"})).await;
        client.answer_asks();
        (client.with_wait(EXTERNAL_WAIT), sid)
    };
    remote.join_room("lobby").await;
    let local = member(&servers[0], "lobby").await;
    let other = servers[2].client().await;

    let all = servers[0].io.fetch_sockets().await.expect("namespace /");
    assert!(all.is_complete(), "{all:?}");
    assert_eq!(
        ids(&all),
        HashSet::from([remote.sid.clone(), local.sid.clone(), other.sid.clone()])
    );

    let lobby = servers[0]
        .io
        .to("lobby")
        .fetch_sockets()
        .await
        .expect("namespace /");
    assert_eq!(
        ids(&lobby),
        HashSet::from([remote.sid.clone(), local.sid.clone()])
    );
    let found = lobby
        .iter()
        .find(|s| s.id().to_string() == remote.sid)
        .expect("the remote socket");
    assert!(!found.is_local());
    assert_eq!(found.namespace(), "/");
    assert_eq!(found.rooms(), [remote.sid.clone(), "lobby".into()]);
    assert_eq!(found.handshake().query("role").as_deref(), Some("admin"));
    assert_eq!(found.handshake().query("lang").as_deref(), Some("fr"));
    assert!(found.handshake().headers.contains_key("host"));
    assert_eq!(found.auth(), Some(&json!({"token": "t1"})));
    assert_eq!(found.client_addr(), Some("127.0.0.1".parse().unwrap()));
    assert!(lobby
        .iter()
        .any(|s| s.id().to_string() == local.sid && s.is_local()));

    // The operations of a remote socket reach it on its server.
    found.emit("hello", &"from server 0");
    assert_eq!(remote.expect("hello").await.arg(), &json!("from server 0"));
    found.join("vip");
    eventually(EXTERNAL_WAIT, "server 1 applied the join", || {
        servers[1].io.to("vip").sockets().len() == 1
    })
    .await;
    let answer = found
        .emit_with_ack("ask", &7, Duration::from_secs(10))
        .await
        .expect("the remote socket answers");
    assert_eq!(
        answer.deserialize::<(String, i64)>().unwrap(),
        ("pong".into(), 7)
    );
    assert!(matches!(
        remote.recv().await,
        Packet::Event { ack: Some(_), .. }
    ));
    found.leave("vip");
    eventually(EXTERNAL_WAIT, "server 1 applied the leave", || {
        servers[1].io.to("vip").sockets().is_empty()
    })
    .await;
    found.disconnect();
    assert_eq!(remote.recv().await, Packet::Disconnect);

    let after = servers[2].io.fetch_sockets().await.unwrap();
    assert_eq!(
        ids(&after),
        HashSet::from([local.sid.clone(), other.sid.clone()])
    );
    eventually(EXTERNAL_WAIT, "no request left open", || {
        servers.iter().all(|s| s.stats().pending_requests == 0)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_with_acks_gathers_the_answers_of_every_server() {
    let redis = Redis::start();
    let servers = counted_cluster(3, &redis.url(), "ops", ops_builder).await;
    let mut answering = Vec::new();
    for server in &servers {
        answering.push(member(server, "room").await);
    }
    let _outside = servers[2].client().await;

    // Every member answers: the wait ends as soon as the last answer is in.
    let started = Instant::now();
    let timeout = Duration::from_secs(20);
    let replies = servers[0]
        .io
        .to("room")
        .timeout(timeout)
        .emit_with_acks("ask", &5)
        .await
        .expect("namespace /");
    assert!(replies.is_complete(), "{replies:?}");
    assert!(
        started.elapsed() < timeout / 2,
        "did not wait for the timeout"
    );
    let sids: HashSet<String> = replies.iter().map(|(sid, _)| sid.to_string()).collect();
    assert_eq!(sids, answering.iter().map(|c| c.sid.clone()).collect());
    for (_, args) in &replies {
        assert_eq!(
            args.deserialize::<(String, i64)>().unwrap(),
            ("pong".into(), 5)
        );
    }
    for client in &mut answering {
        assert!(matches!(
            client.recv().await,
            Packet::Event { ack: Some(_), .. }
        ));
    }

    // A member of server 1 that never answers: the others' answers come back, and it is
    // counted missing once the timeout passed.
    let (mut silent, _) = Client::connected(servers[1].addr, "/").await;
    silent.join_room("room").await;
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let replies = servers[2]
        .io
        .to("room")
        .timeout(timeout)
        .emit_with_acks("ask", &6)
        .await
        .unwrap();
    assert!(started.elapsed() >= timeout);
    assert_eq!(replies.len(), 3);
    assert_eq!((replies.missing_servers(), replies.missing_acks()), (0, 1));
    assert!(replies.clone().complete().is_err());
    assert!(matches!(
        silent.recv().await,
        Packet::Event { ack: Some(_), .. }
    ));

    // A room with nobody in it anywhere: complete at once.
    let empty = servers[0]
        .io
        .to("nobody")
        .timeout(Duration::from_secs(20))
        .emit_with_acks("ask", &1)
        .await
        .unwrap();
    assert!(empty.is_complete() && empty.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_emit_reaches_the_handlers_of_the_other_servers() {
    let redis = Redis::start();
    let mut notes = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..3 {
        let (tx, rx) = mpsc::unbounded_channel();
        notes.push(rx);
        servers.push(Server::spawn(with_server_events(&redis.url(), "ops", tx)));
    }
    wait_counted(&servers.iter().collect::<Vec<_>>(), 2).await;
    let _a = servers[1].client().await;
    let _b = servers[2].client().await;
    let _c = servers[2].client().await;

    servers[0]
        .io
        .server_side_emit("note", &"hello servers")
        .unwrap();
    let uid0 = servers[0].stats().uid;
    for rx in &mut notes[1..] {
        let note = tokio::time::timeout(EXTERNAL_WAIT, rx.recv())
            .await
            .expect("the handler ran in time")
            .expect("a note");
        assert_eq!(note, json!({"text": "hello servers", "from": uid0}));
    }

    let counts = servers[0]
        .io
        .server_side_emit_with_ack("count", &(), Duration::from_secs(20))
        .await
        .unwrap();
    assert!(counts.is_complete(), "{counts:?}");
    let mut got: Vec<(String, usize, String)> = counts
        .iter()
        .map(|(uid, args)| {
            let (n, reported): (usize, String) = args.deserialize().unwrap();
            (uid.clone(), n, reported)
        })
        .collect();
    got.sort();
    let mut expected = vec![
        (servers[1].stats().uid, 1, servers[1].stats().uid),
        (servers[2].stats().uid, 2, servers[2].stats().uid),
    ];
    expected.sort();
    assert_eq!(got, expected);
    assert!(
        notes[0].try_recv().is_err(),
        "a server does not handle its own events"
    );

    // An event no server handles: every server answers without an acknowledgement, at once.
    let started = Instant::now();
    let none = servers[1]
        .io
        .server_side_emit_with_ack("unknown", &1, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(none.is_complete() && none.is_empty(), "{none:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r09_a_dead_server_stops_counting_after_the_heartbeat_timeout() {
    let redis = Redis::start();
    let proxy = Proxy::start(format!("127.0.0.1:{}", redis.port).parse().unwrap()).await;
    let a = Server::spawn(ops_builder(&redis.url(), "ops"));
    let doomed = Server::spawn(ops_builder(&proxy.redis_url(), "ops"));
    let c = Server::spawn(ops_builder(&redis.url(), "ops"));
    wait_counted(&[&a, &doomed, &c], 2).await;
    let on_a = a.client().await;
    let _on_doomed = doomed.client().await;

    // kill -9 as the others see it: no goodbye, no more heartbeats.
    proxy.pause();
    let died = Instant::now();
    eventually(
        EXTERNAL_WAIT,
        "A and C stop counting the dead server",
        || a.stats().servers == 1 && c.stats().servers == 1,
    )
    .await;
    assert!(
        died.elapsed() >= HEARTBEAT_TIMEOUT - HEARTBEAT * 2,
        "dropped after {:?}, before the timeout",
        died.elapsed()
    );

    // Requests no longer wait for it.
    let started = Instant::now();
    let sockets =
        a.io.of("/")
            .timeout(Duration::from_secs(20))
            .fetch_sockets()
            .await
            .unwrap();
    assert!(sockets.is_complete());
    assert_eq!(ids(&sockets), HashSet::from([on_a.sid.clone()]));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r10_a_server_that_leaves_cleanly_stops_counting_at_once() {
    let redis = Redis::start();
    // A heartbeat timeout far longer than the test: only the goodbye can explain the drop.
    let long = |url: &str, channel: &str| {
        ops_builder(url, channel).queue_heartbeat(HEARTBEAT, Duration::from_secs(600))
    };
    let servers = counted_cluster(3, &redis.url(), "ops", long).await;
    let _client = servers[1].client().await;

    servers[1].io.shutdown();
    eventually(EXTERNAL_WAIT, "the others stop counting it", || {
        servers[0].stats().servers == 1 && servers[2].stats().servers == 1
    })
    .await;
    let sockets = servers[0]
        .io
        .of("/")
        .timeout(Duration::from_secs(600))
        .fetch_sockets()
        .await
        .unwrap();
    assert!(sockets.is_complete() && sockets.is_empty(), "{sockets:?}");

    // Dropping a server (as its process ending does) says goodbye too.
    let mut servers = servers;
    drop(servers.pop());
    eventually(EXTERNAL_WAIT, "the last one counts nobody", || {
        servers[0].stats().servers == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r11_a_request_during_which_a_server_dies_completes_with_what_arrived() {
    let redis = Redis::start();
    let proxy = Proxy::start(format!("127.0.0.1:{}", redis.port).parse().unwrap()).await;
    let (notes, _seen) = mpsc::unbounded_channel();
    let a = Server::spawn(with_server_events(&redis.url(), "ops", notes.clone()));
    let doomed = Server::spawn(with_server_events(&proxy.redis_url(), "ops", notes.clone()));
    let c = Server::spawn(with_server_events(&redis.url(), "ops", notes));
    wait_counted(&[&a, &doomed, &c], 2).await;
    let on_a = member(&a, "room").await;
    let _on_doomed = member(&doomed, "room").await;
    let on_c = member(&c, "room").await;

    proxy.pause();
    assert_eq!(
        a.stats().servers,
        2,
        "still counted: its heartbeat timeout has not passed"
    );
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let (sockets, acks, counts) = tokio::join!(
        a.io.of("/").timeout(timeout).fetch_sockets(),
        a.io.to("room").timeout(timeout).emit_with_acks("ask", &1),
        a.io.server_side_emit_with_ack("count", &(), timeout),
    );
    let elapsed = started.elapsed();
    assert!(elapsed >= timeout && elapsed < timeout * 5, "{elapsed:?}");

    let sockets = sockets.unwrap();
    assert_eq!(sockets.missing_servers(), 1);
    assert_eq!(
        ids(&sockets),
        HashSet::from([on_a.sid.clone(), on_c.sid.clone()])
    );
    let acks = acks.unwrap();
    assert_eq!((acks.missing_servers(), acks.missing_acks()), (1, 0));
    let answered: HashSet<String> = acks.iter().map(|(sid, _)| sid.to_string()).collect();
    assert_eq!(
        answered,
        HashSet::from([on_a.sid.clone(), on_c.sid.clone()])
    );
    let counts = counts.unwrap();
    assert_eq!(counts.missing_servers(), 1);
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].0, c.stats().uid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r12_a_new_server_counts_after_its_first_heartbeat() {
    let redis = Redis::start();
    // Heartbeats far apart: only the announcement a server makes when it subscribes (and the
    // answer it gets) can make the two count each other within the test.
    let slow = |url: &str, channel: &str| {
        ops_builder(url, channel)
            .queue_heartbeat(Duration::from_secs(300), Duration::from_secs(600))
    };
    let first = Server::spawn(slow(&redis.url(), "ops"));
    wait_counted(&[&first], 0).await;
    let on_first = first.client().await;

    let started = Instant::now();
    let newcomer = Server::spawn(slow(&redis.url(), "ops"));
    wait_counted(&[&first, &newcomer], 1).await;
    assert!(started.elapsed() < Duration::from_secs(60));
    // Heartbeats are not the application's messages: the counters leave them out.
    for server in [&first, &newcomer] {
        let stats = server.stats();
        assert_eq!(
            (
                stats.published,
                stats.received,
                stats.own_ignored,
                stats.malformed
            ),
            (0, 0, 0, 0),
            "{stats:#?}"
        );
    }
    let on_newcomer = newcomer.client().await;

    for server in [&first, &newcomer] {
        let sockets = server.io.fetch_sockets().await.unwrap();
        assert!(sockets.is_complete());
        assert_eq!(
            ids(&sockets),
            HashSet::from([on_first.sid.clone(), on_newcomer.sid.clone()])
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_fetch_sockets_across_two_servers() {
    let servers = counted_cluster(2, AMQP, &exchange("fetch"), ops_builder).await;
    let mut remote = member(&servers[1], "lobby").await;
    let local = servers[0].client().await;

    let lobby = servers[0].io.to("lobby").fetch_sockets().await.unwrap();
    assert!(lobby.is_complete());
    assert_eq!(ids(&lobby), HashSet::from([remote.sid.clone()]));
    assert_eq!(lobby[0].rooms(), [remote.sid.clone(), "lobby".into()]);
    lobby[0].emit("hello", &1);
    assert_eq!(remote.expect("hello").await.arg(), &json!(1));

    let all = servers[1].io.fetch_sockets().await.unwrap();
    assert_eq!(
        ids(&all),
        HashSet::from([remote.sid.clone(), local.sid.clone()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_broadcast_with_acks_across_two_servers() {
    let servers = counted_cluster(2, AMQP, &exchange("acks"), ops_builder).await;
    let a = member(&servers[0], "room").await;
    let b = member(&servers[1], "room").await;
    let replies = servers[0]
        .io
        .to("room")
        .timeout(Duration::from_secs(20))
        .emit_with_acks("ask", &"x")
        .await
        .unwrap();
    assert!(replies.is_complete(), "{replies:?}");
    let sids: HashSet<String> = replies.iter().map(|(sid, _)| sid.to_string()).collect();
    assert_eq!(sids, HashSet::from([a.sid.clone(), b.sid.clone()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_server_side_emit_with_ack_across_two_servers() {
    let channel = exchange("server-events");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = Server::spawn(with_server_events(AMQP, &channel, tx.clone()));
    let b = Server::spawn(with_server_events(AMQP, &channel, tx));
    wait_counted(&[&a, &b], 1).await;
    let _client = b.client().await;

    a.io.server_side_emit("note", &"over amqp").unwrap();
    let note = tokio::time::timeout(EXTERNAL_WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(note["text"], "over amqp");
    let counts =
        a.io.server_side_emit_with_ack("count", &(), Duration::from_secs(20))
            .await
            .unwrap();
    assert!(counts.is_complete());
    assert_eq!(counts.len(), 1);
    let (n, uid): (usize, String) = counts[0].1.deserialize().unwrap();
    assert_eq!((n, uid), (1, b.stats().uid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_with_acks_collects_the_answers_of_the_official_js_client() {
    let redis = Redis::start();
    let servers = counted_cluster(2, &redis.url(), "ops", ops_builder).await;
    let urls: Vec<String> = servers.iter().map(Server::url).collect();
    let js = JsMembers::start("js-room", &urls).await;
    assert_eq!(js.sockets.len(), 4);

    let replies = servers[1]
        .io
        .to("js-room")
        .timeout(Duration::from_secs(20))
        .emit_with_acks("ask", &json!({"n": 1}))
        .await
        .unwrap();
    assert!(replies.is_complete(), "{replies:?}");
    let mut got: Vec<(String, String)> = replies
        .iter()
        .map(|(sid, args)| {
            let (who, arg, transport): (String, Value, String) = args.deserialize().unwrap();
            assert_eq!((who.as_str(), &arg), ("js", &json!({"n": 1})));
            (sid.to_string(), transport)
        })
        .collect();
    got.sort();
    let mut expected = js.sockets.clone();
    expected.sort();
    assert_eq!(got, expected);
}
