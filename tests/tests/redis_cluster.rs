//! Several servers over a real Redis: every cross-process operation reaches the sockets of the
//! other servers (issue 5). Each test starts its own `redis-server` on a free port.

use std::time::Duration;

use serde_json::{json, Value};
use socketio::{AckError, EmitError, Emitter};
use tests::mq::cluster;
use tests::redis::Redis;
use tests::wait::{eventually, EXTERNAL_WAIT};
use tests::ws::Packet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_broadcast_reaches_the_room_on_three_servers() {
    let redis = Redis::start();
    let servers = cluster(3, &redis.url(), "socketio").await;
    let mut members = Vec::new();
    let mut others = Vec::new();
    for server in &servers {
        let mut member = server.client().await;
        member.join_room("news").await;
        members.push(member);
        others.push(server.client().await);
    }

    servers[0].io.to("news").try_emit("tick", &1).unwrap();
    servers[0].io.try_emit("all", &"marker").unwrap();
    for member in &mut members {
        assert_eq!(member.expect("tick").await.arg(), &json!(1));
        member.expect("all").await;
    }
    for other in &mut others {
        assert!(
            other.until_marker("all").await.is_empty(),
            "outside the room"
        );
    }

    // From a client's handler on server B: `socket.to(room)` leaves the sender out.
    members[1]
        .emit("shout", &[json!("news"), json!("hello")])
        .await;
    for (i, member) in members.iter_mut().enumerate() {
        if i != 1 {
            assert_eq!(member.expect("shout").await.arg(), &json!("hello"));
        }
    }
    servers[2].io.try_emit("all", &"marker").unwrap();
    assert!(
        members[1].until_marker("all").await.is_empty(),
        "sender left out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_specific_emit_reaches_a_socket_of_another_server() {
    let redis = Redis::start();
    let servers = cluster(3, &redis.url(), "socketio").await;
    let mut target = servers[1].client().await;
    let mut bystander = servers[2].client().await;

    servers[0]
        .io
        .to(target.sid.as_str())
        .try_emit("private", &("for", "you"))
        .unwrap();
    let packet = target.expect("private").await;
    assert_eq!(packet, event("private", vec![json!("for"), json!("you")]));

    servers[0].io.try_emit("all", &()).unwrap();
    assert!(bystander.until_marker("all").await.is_empty());
    assert!(
        target.until_marker("all").await.is_empty(),
        "exactly one copy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_leave_and_disconnect_reach_a_socket_of_another_server() {
    let redis = Redis::start();
    let servers = cluster(3, &redis.url(), "socketio").await;
    let mut remote = servers[2].client().await;
    let sid = remote.sid.clone();

    // Server A puts a socket of server C in a room...
    servers[0].io.to(sid.as_str()).join("vip");
    eventually(EXTERNAL_WAIT, "C applied the join", || {
        servers[2].io.to("vip").sockets().len() == 1
    })
    .await;
    assert_eq!(
        servers[2].io.rooms(sid.parse().unwrap()),
        vec![sid.clone(), "vip".into()]
    );
    servers[1].io.to("vip").try_emit("vip-only", &1).unwrap();
    remote.expect("vip-only").await;

    // ... takes it out ...
    servers[0].io.to(sid.as_str()).leave("vip");
    eventually(EXTERNAL_WAIT, "C applied the leave", || {
        servers[2].io.to("vip").sockets().is_empty()
    })
    .await;
    servers[1].io.to("vip").try_emit("vip-only", &2).unwrap();
    servers[1].io.try_emit("all", &()).unwrap();
    assert!(remote.until_marker("all").await.is_empty());

    // ... and disconnects it.
    servers[0].io.disconnect(sid.parse().unwrap());
    assert_eq!(remote.recv().await, Packet::Disconnect);
    eventually(EXTERNAL_WAIT, "C removed the socket", || {
        servers[2].io.sockets("/").is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_room_empties_the_room_on_every_server() {
    let redis = Redis::start();
    let servers = cluster(3, &redis.url(), "socketio").await;
    let mut clients = Vec::new();
    for server in &servers {
        let mut client = server.client().await;
        client.join_room("temp").await;
        clients.push(client);
    }
    servers[1].io.close_room("/", "temp");
    eventually(EXTERNAL_WAIT, "every server closed the room", || {
        servers.iter().all(|s| s.io.to("temp").sockets().is_empty())
    })
    .await;
    servers[0].io.to("temp").try_emit("closed?", &()).unwrap();
    servers[0].io.try_emit("all", &()).unwrap();
    for client in &mut clients {
        assert!(client.until_marker("all").await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_from_a_socket_of_another_server_comes_back() {
    let redis = Redis::start();
    let servers = cluster(2, &redis.url(), "socketio").await;
    let mut remote = servers[1].client().await;

    let answer = servers[0]
        .io
        .to(remote.sid.as_str())
        .timeout(Duration::from_secs(10))
        .emit_with_ack("ask", &42)
        .await
        .expect("an answer from the other server");
    let (word, echo): (String, i64) = answer.deserialize().unwrap();
    assert_eq!((word.as_str(), echo), ("pong", 42));
    assert!(matches!(
        remote.recv().await,
        Packet::Event { ack: Some(_), .. }
    ));
    eventually(EXTERNAL_WAIT, "no pending request on A", || {
        servers[0].stats().pending_acks == 0
    })
    .await;

    // A room cannot acknowledge: unsupported, on one process or many.
    let room = servers[0].io.to("somewhere").emit_with_ack("ask", &1).await;
    assert!(matches!(
        room,
        Err(AckError::Emit(EmitError::AckNeedsOneSocket))
    ));

    // A socket connected nowhere: the wait times out and is forgotten.
    let nobody = socketio::Sid::random();
    let lost = servers[0]
        .io
        .to(nobody.as_str())
        .timeout(Duration::from_millis(300))
        .emit_with_ack("ask", &1)
        .await;
    assert!(matches!(lost, Err(AckError::Timeout)), "{lost:?}");
    assert_eq!(servers[0].stats().pending_acks, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emitter_reaches_every_server() {
    let redis = Redis::start();
    // The emitter publishes on the default channel.
    let servers = cluster(2, &redis.url(), socketio::queue::DEFAULT_CHANNEL).await;
    let mut a = servers[0].client().await;
    let mut b = servers[1].client().await;
    a.join_room("room1").await;
    let emitter = Emitter::connect(&redis.url()).await.expect("emitter");

    emitter.emit("hello", &"everyone").await.unwrap();
    assert_eq!(a.expect("hello").await.arg(), &json!("everyone"));
    assert_eq!(b.expect("hello").await.arg(), &json!("everyone"));

    emitter.to("room1").emit("news", &(1, 2)).await.unwrap();
    assert_eq!(
        a.expect("news").await,
        event("news", vec![json!(1), json!(2)])
    );

    emitter.close_room("room1").await.unwrap();
    eventually(EXTERNAL_WAIT, "room closed", || {
        servers[0].io.to("room1").sockets().is_empty()
    })
    .await;

    emitter.to(b.sid.as_str()).disconnect().await.unwrap();
    assert_eq!(b.recv().await, Packet::Disconnect);

    // Another application's channel is not ours.
    let other_app = Emitter::builder(redis.url())
        .channel("another-app")
        .connect()
        .await
        .unwrap();
    other_app.emit("foreign", &()).await.unwrap();
    emitter.emit("mine", &()).await.unwrap();
    assert!(a.until_marker("mine").await.is_empty());

    let stats = emitter.stats();
    assert!(stats.connected && !stats.subscribed);
    assert_eq!(stats.publish_failed, 0);
}

fn event(name: &str, args: Vec<Value>) -> Packet {
    Packet::Event {
        name: name.into(),
        args,
        ack: None,
        attachments: Vec::new(),
    }
}
