//! Connection state recovery (socket.io 4.6's `connectionStateRecovery`): a client whose
//! connection was lost gets its socket back (same id, same rooms) with the events it missed,
//! proven with the official JavaScript client (`tests/js/state_recovery.js`) on each transport;
//! what is not recovered (too late, a disconnect someone asked for, a forged claim); and the
//! wire with recovery on and off. Across a cluster: a client lost on one server recovers on
//! another one sharing the message queue (Redis started by the test, RabbitMQ on
//! 127.0.0.1:5672).

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use socketio::{Binary, Builder, Data, RecoveryOptions, Sid, Socket, SocketIo};
use tests::interop::{env_path, workspace, Mode, Observed, Recorder, ScriptClient};
use tests::mq::wait_counted;
use tests::redis::Redis;
use tests::server::Server;
use tests::wait::SCRIPT_TIMEOUT;
use tests::ws::{Client, Packet};

/// The test server. On `/`: the connect middleware and handler record their runs; `join`
/// joins a room and emits `news` "before" to it; `rooms` answers the socket's rooms; `after`
/// emits `news` "after" to `room`, then `end` to the socket; `bye` disconnects the socket. When a socket of `/` leaves,
/// its disconnect handler emits to it, to `room`, to everyone and to another room, then
/// `emitted` on `/control`.
fn server(rec: &Recorder, recovery: Option<RecoveryOptions>) -> SocketIo {
    builder(rec, recovery).build().expect("valid server")
}

/// The builder of [`server`].
fn builder(rec: &Recorder, recovery: Option<RecoveryOptions>) -> Builder {
    let (r1, r2, r3) = (rec.clone(), rec.clone(), rec.clone());
    let mut builder = SocketIo::builder()
        .namespace("/control")
        .connect_middleware("/", move |socket: Socket| {
            let rec = r1.clone();
            async move {
                rec.push("middleware", json!(socket.id().as_str()));
                true
            }
        })
        .on_connect("/", move |socket: Socket| {
            let rec = r2.clone();
            async move {
                rec.push(
                    "connect",
                    json!({ "sid": socket.id().as_str(), "recovered": socket.recovered() }),
                );
            }
        })
        .on(
            "/",
            "join",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.join(&room);
                socket.within(&room).emit("news", "before");
            },
        )
        .on("/", "rooms", |socket: Socket| async move { socket.rooms() })
        .on("/", "after", |socket: Socket| async move {
            socket.within("room").emit("news", "after");
            socket.emit("end", &());
        })
        .on(
            "/",
            "bye",
            |socket: Socket| async move { socket.disconnect() },
        )
        .on_disconnect("/", move |socket: Socket, io: SocketIo| {
            let rec = r3.clone();
            async move {
                io.to("room").emit("news", "missed-1");
                socket.emit("direct", "missed-2");
                io.emit("all", "missed-3");
                io.to("elsewhere").emit("news", "not for this socket");
                io.to("room").emit("bin", &Binary::from(vec![1, 2, 3]));
                io.to("room").emit("news", "missed-4");
                io.of("/control").emit("emitted", &());
                rec.push("disconnect", json!(socket.id().as_str()));
            }
        });
    if let Some(options) = recovery {
        builder = builder.connection_state_recovery(options);
    }
    builder
}

/// Runs `tests/js/state_recovery.js` `scenario` in `mode` against `url` (and, for the cluster
/// scenarios, server B at `url_b`).
async fn run_js(url: &str, mode: Mode, scenario: &str, url_b: Option<&str>) -> Observed {
    let modules =
        env_path("SOCKETIO_TEST_NODE_MODULES").unwrap_or(workspace().join("tests/js/node_modules"));
    assert!(
        modules.join("socket.io-client/package.json").is_file(),
        "socket.io-client is not installed in {}: run `npm ci --prefix tests/js` (or set \
         SOCKETIO_TEST_NODE_MODULES)",
        modules.display()
    );
    let node = env_path("SOCKETIO_TEST_NODE").unwrap_or_else(|| "node".into());
    let started = Instant::now();
    let child = tokio::process::Command::new(node)
        .env("NODE_PATH", &modules)
        .arg(workspace().join("tests/js/state_recovery.js"))
        .args([url, mode.as_str(), scenario])
        .args(url_b)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start node (install Node.js 20 or set SOCKETIO_TEST_NODE)");
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("state_recovery.js ran for more than {SCRIPT_TIMEOUT:?}"))
        .expect("wait for node");
    let observed = Observed {
        client: ScriptClient::Js,
        mode,
        scenario: scenario.to_owned(),
        lines: String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| json!({ "ev": "raw", "line": l })))
            .collect(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    };
    assert!(
        output.status.success() && observed.find("done").is_some(),
        "state_recovery.js failed ({}):\n{observed}",
        output.status
    );
    observed
}

/// The offset a client got as the last argument of an event: a decimal string.
fn offset(args: &[Value]) -> u64 {
    args.last()
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no offset at the end of {args:?}"))
}

/// The official client, on each transport: after its transport is cut, it reconnects with the
/// same socket id, `socket.recovered` true, still in its room, and gets the events emitted to
/// it while it was away, in order, each with its offset (binary included); the connect
/// middleware is skipped on recovery, the connect handler is not.
#[tokio::test]
async fn the_js_client_recovers_a_lost_connection() {
    for mode in [Mode::WebSocket, Mode::Polling, Mode::Upgrade] {
        let rec = Recorder::default();
        let srv = Server::start(server(&rec, Some(RecoveryOptions::default())));
        let o = run_js(&srv.url(), mode, "lost", None).await;
        let (first, second) = (o.get("first"), o.get("second"));
        assert!(first["pid"].is_string(), "{mode:?}: {o}");
        assert_eq!(first["recovered"], false, "{mode:?}: {o}");
        assert_eq!(second["id"], first["id"], "{mode:?}: same socket id\n{o}");
        assert_eq!(second["recovered"], true, "{mode:?}: {o}");

        let before = o.get("before")["args"].as_array().expect("args").clone();
        assert_eq!(before[0], "before", "{mode:?}: {o}");
        let mut last = offset(&before);
        let missed = o.get("missed")["events"]
            .as_array()
            .expect("events")
            .clone();
        let names: Vec<(&str, &Value)> = missed
            .iter()
            .map(|e| (e[0].as_str().expect("event name"), &e[1]))
            .collect();
        assert_eq!(
            names,
            [
                ("news", &json!("missed-1")),
                ("direct", &json!("missed-2")),
                ("all", &json!("missed-3")),
                ("bin", &json!({ "type": "Buffer", "data": [1, 2, 3] })),
                ("news", &json!("missed-4")),
                ("news", &json!("after")),
            ],
            "{mode:?}: the missed events in order, then one sent live to the room\n{o}"
        );
        for event in &missed {
            let event = event.as_array().expect("event");
            assert_eq!(event.len(), 3, "{mode:?}: name, data, offset: {event:?}");
            let next = offset(event);
            assert!(next > last, "{mode:?}: offsets increase: {o}");
            last = next;
        }
        let id = first["id"].as_str().expect("id");
        assert_eq!(
            o.get("rooms")["rooms"],
            json!([id, "room"]),
            "{mode:?}: {o}"
        );

        assert_eq!(
            rec.data("middleware").len(),
            1,
            "{mode:?}: skipped on recovery"
        );
        let connects = rec.wait("connect", 2).await;
        assert_eq!(
            connects,
            [
                json!({ "sid": id, "recovered": false }),
                json!({ "sid": id, "recovered": true }),
            ],
            "{mode:?}"
        );
        assert_eq!(srv.panics(), 0);
        srv.stop().await;
    }
}

/// A client that comes back after `max_disconnection_duration` gets a fresh session: a new id,
/// `recovered` false, in no room (so not reached by `news` "after"), nothing replayed; the
/// middleware runs again.
#[tokio::test]
async fn no_recovery_after_max_disconnection_duration() {
    for mode in [Mode::WebSocket, Mode::Polling] {
        let rec = Recorder::default();
        let options = RecoveryOptions {
            max_disconnection_duration: Duration::from_millis(100),
            ..RecoveryOptions::default()
        };
        let srv = Server::start(server(&rec, Some(options)));
        let o = run_js(&srv.url(), mode, "lost_late", None).await;
        assert_fresh(&o);
        assert_eq!(rec.data("middleware").len(), 2, "{mode:?}");
        srv.stop().await;
    }
}

/// Sessions are kept only for connections lost without anyone asking: a client that
/// disconnects itself and connects again gets a fresh session.
#[tokio::test]
async fn no_recovery_after_the_client_disconnects() {
    for mode in [Mode::WebSocket, Mode::Polling] {
        let rec = Recorder::default();
        let srv = Server::start(server(&rec, Some(RecoveryOptions::default())));
        let o = run_js(&srv.url(), mode, "client_disconnect", None).await;
        assert_fresh(&o);
        srv.stop().await;
    }
}

/// Without recovery (the default) nothing changes for the client: no private id, no offset
/// argument, a fresh session after a lost connection.
#[tokio::test]
async fn without_recovery_the_js_client_sees_no_pid_and_no_offset() {
    let rec = Recorder::default();
    let srv = Server::start(server(&rec, None));
    let o = run_js(&srv.url(), Mode::WebSocket, "lost", None).await;
    assert_eq!(o.get("first")["pid"], Value::Null, "{o}");
    assert_eq!(o.get("before")["args"], json!(["before"]), "{o}");
    assert_fresh(&o);
    srv.stop().await;
}

/// A second connection that is not the first one given back.
fn assert_fresh(o: &Observed) {
    let (first, second) = (o.get("first"), o.get("second"));
    assert_ne!(second["id"], first["id"], "{o}");
    // `false`, or absent (`undefined`) when the server sent no private id.
    assert_ne!(second["recovered"], true, "{o}");
    assert_eq!(o.get("missed")["events"], json!([]), "{o}");
    assert_eq!(o.get("rooms")["rooms"], json!([second["id"]]), "{o}");
}

/// The CONNECT answer's fields (`40{...}` of `/`).
async fn connect(client: &mut Client, auth: &str) -> serde_json::Map<String, Value> {
    client.send(&format!("40{auth}")).await;
    let answer = client.text().await;
    let json = answer
        .strip_prefix("40")
        .unwrap_or_else(|| panic!("not a CONNECT answer: {answer}"));
    match serde_json::from_str(json) {
        Ok(Value::Object(fields)) => fields,
        _ => panic!("not a CONNECT answer: {answer}"),
    }
}

/// A raw client that joined `room` and got `news` "before": its sid, its pid, and the offset
/// of that event.
async fn lost_socket_in_room(srv: &Server) -> (Client, String, String, u64) {
    let mut client = Client::open(srv.addr).await;
    let fields = connect(&mut client, "").await;
    let sid = fields["sid"].as_str().expect("sid").to_owned();
    let pid = fields["pid"].as_str().expect("pid").to_owned();
    client.emit("join", &[json!("room")]).await;
    let Packet::Event { args, .. } = client.expect("news").await else {
        unreachable!()
    };
    (client, sid, pid, offset(&args))
}

/// On the wire: `{"sid", "pid"}` in the CONNECT answer; a last string argument, the offset, on
/// every event the server emits without an acknowledgement id (to the socket, to a room);
/// none on an event that asks for an acknowledgement, nor on an ACK.
#[tokio::test]
async fn the_wire_with_recovery_on() {
    let rec = Recorder::default();
    let srv = Server::start(server(&rec, Some(RecoveryOptions::default())));
    let (mut client, sid, pid, first) = lost_socket_in_room(&srv).await;
    assert!(pid.parse::<Sid>().is_ok() && pid != sid, "{pid}");
    let socket = srv.socket(&sid);
    socket.emit("direct", &(1, 2));
    let Packet::Event { args, .. } = client.expect("direct").await else {
        unreachable!()
    };
    assert_eq!(args, [json!(1), json!(2), json!((first + 1).to_string())]);
    let asked = tokio::spawn({
        let socket = socket.clone();
        async move { socket.emit_with_ack("question", "?").await }
    });
    match client.recv().await {
        Packet::Event {
            name, args, ack, ..
        } => {
            assert_eq!(
                (name.as_str(), args, ack.is_some()),
                ("question", vec![json!("?")], true)
            );
            client
                .send(&format!("43{}[\"!\"]", ack.expect("ack id")))
                .await;
        }
        other => panic!("expected the question, got {other:?}"),
    }
    asked.await.expect("task").expect("answered");
    assert_eq!(client.call("rooms", &[]).await, [json!([sid, "room"])]);
}

/// Without recovery the CONNECT answer is `{"sid"}` alone and events carry their arguments
/// alone, as before.
#[tokio::test]
async fn the_wire_with_recovery_off() {
    let rec = Recorder::default();
    let srv = Server::start(server(&rec, None));
    let mut client = Client::open(srv.addr).await;
    let fields = connect(&mut client, "").await;
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["sid"]);
    client.emit("join", &[json!("room")]).await;
    let Packet::Event { args, .. } = client.expect("news").await else {
        unreachable!()
    };
    assert_eq!(args, [json!("before")]);
}

/// Claims that name no kept session (unknown or malformed private ids, offsets that are not
/// ours, huge strings, wrong types) get a fresh session, never a panic; they do not use up the
/// real session, which its client then still recovers. A server-side disconnect keeps no
/// session.
#[tokio::test]
async fn forged_claims_get_a_fresh_session() {
    let rec = Recorder::default();
    let srv = Server::start(server(&rec, Some(RecoveryOptions::default())));
    let (client, sid, pid, offset) = lost_socket_in_room(&srv).await;
    drop(client);
    rec.wait_for("disconnect", |d| *d == json!(sid)).await;

    let huge = "9".repeat(100_000);
    let forged = [
        json!({ "pid": Sid::random().as_str(), "offset": offset.to_string() }),
        json!({ "pid": pid, "offset": (offset + 1_000_000).to_string() }),
        json!({ "pid": pid, "offset": "-1" }),
        json!({ "pid": pid, "offset": huge }),
        json!({ "pid": pid, "offset": offset }),
        json!({ "pid": huge, "offset": offset.to_string() }),
        json!({ "pid": [pid], "offset": { "o": 1 } }),
        json!({ "pid": null, "offset": null }),
        json!({ "offset": offset.to_string() }),
    ];
    // Kept connected to the end: their disconnect handlers would emit to the room.
    let mut fresh = Vec::new();
    for auth in forged {
        let mut client = Client::open(srv.addr).await;
        let fields = connect(&mut client, &auth.to_string()).await;
        assert_ne!(fields["sid"], json!(sid), "{auth}");
        assert_ne!(fields["pid"], json!(pid), "{auth}");
        assert_eq!(client.call("rooms", &[]).await, [json!([fields["sid"]])]);
        fresh.push(client);
    }

    let mut client = Client::open(srv.addr).await;
    let claim = json!({ "token": "kept", "pid": pid, "offset": offset.to_string() });
    let fields = connect(&mut client, &claim.to_string()).await;
    assert_eq!((&fields["sid"], &fields["pid"]), (&json!(sid), &json!(pid)));
    let missed = client.until_marker("bin").await;
    assert_eq!(missed.len(), 3, "{missed:?}");
    assert_eq!(client.expect("news").await.arg(), "missed-4");
    assert_eq!(client.call("rooms", &[]).await, [json!([sid, "room"])]);

    // A server-side disconnect keeps nothing: the same claim then gets a fresh session.
    client.emit("bye", &[]).await;
    assert_eq!(client.recv().await, Packet::Disconnect);
    rec.wait("disconnect", 2).await;
    let mut client = Client::open(srv.addr).await;
    let fields = connect(&mut client, &claim.to_string()).await;
    assert_ne!(fields["sid"], json!(sid));
    assert_eq!(srv.panics(), 0);
    drop(fresh);
}

/// Exactly once, even when broadcasts race the restore: a thread emits numbered events to the
/// room without pause while the socket is away and while it comes back; the recovered socket
/// gets every number after the last one it read, each once, in order, the missed ones then the
/// live ones.
#[tokio::test]
async fn broadcasts_racing_a_restore_arrive_exactly_once() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let rec = Recorder::default();
    // Room for every missed packet however long the reconnection takes on a loaded machine.
    let srv =
        Server::start(builder(&rec, Some(RecoveryOptions::default())).max_queued_packets(1 << 16));
    let (mut client, sid, pid, _) = lost_socket_in_room(&srv).await;
    let stop = Arc::new(AtomicBool::new(false));
    let emitter = std::thread::spawn({
        let (io, stop) = (srv.io.clone(), stop.clone());
        move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                io.to("room").emit("n", &n);
                n += 1;
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    });
    let number = |packet: &Packet| match packet {
        Packet::Event { name, args, .. } if name == "n" => args[0].as_u64(),
        _ => None,
    };
    // Read a few, then lose the connection.
    let (mut last, mut last_offset) = (0, 0);
    for _ in 0..20 {
        let packet = client.recv().await;
        if let (Some(n), Packet::Event { args, .. }) = (number(&packet), &packet) {
            (last, last_offset) = (n, offset(args));
        }
    }
    drop(client);
    rec.wait_for("disconnect", |d| *d == json!(sid)).await;

    let mut client = Client::open(srv.addr).await;
    let claim = json!({ "pid": pid, "offset": last_offset.to_string() });
    let fields = connect(&mut client, &claim.to_string()).await;
    assert_eq!(fields["sid"], json!(sid), "recovered");
    let mut expected = last + 1;
    while expected < last + 2_000 {
        let packet = client.recv().await;
        if let Some(n) = number(&packet) {
            assert_eq!(n, expected, "a gap or a duplicate after {}", expected - 1);
            expected += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    emitter.join().expect("emitter thread");
    assert_eq!(srv.panics(), 0);
}

/// One server of a recovery cluster on `url`, `channel`: on `/`, `join` joins a room and emits
/// `news` "before" to it, `rooms` answers the socket's rooms, and a socket that leaves makes
/// this server emit `news` "missed-a" to `room`, then `lost` on `/control` and to room
/// `watchers`. On `/control`,
/// `away` emits to `room` and elsewhere, `after` emits `news` "after" to `room` then `end` to
/// the socket named; both answer once they emitted.
fn cluster_server(url: &str, channel: &str, options: RecoveryOptions) -> Builder {
    SocketIo::builder()
        .message_queue(url)
        .channel(channel)
        .connection_state_recovery(options)
        // Room for every missed packet of the racing test however long its reconnection takes.
        .max_queued_packets(1 << 16)
        .namespace("/control")
        .on(
            "/",
            "join",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.join(&room);
                socket.within(&room).emit("news", "before");
            },
        )
        .on("/", "rooms", |socket: Socket| async move { socket.rooms() })
        .on_disconnect("/", |io: SocketIo| async move {
            io.to("room").emit("news", "missed-a");
            io.of("/control").emit("lost", &());
            io.to("watchers").emit("lost", &());
        })
        .on("/control", "away", |io: SocketIo| async move {
            io.to("room").emit("news", "missed-1");
            io.emit("all", "missed-2");
            io.to("elsewhere").emit("news", "not for this socket");
            io.to("room").emit("bin", &Binary::from(vec![1, 2, 3]));
            io.to("room").emit("news", "missed-3");
            true
        })
        .on(
            "/control",
            "after",
            |io: SocketIo, Data(sid): Data<String>| async move {
                io.to("room").emit("news", "after");
                io.to(sid).emit("end", &());
                true
            },
        )
}

/// Servers A and B of a recovery cluster on `url` (a channel of their own), once each counts
/// the other.
async fn recovery_cluster(url: &str, test: &str, options: RecoveryOptions) -> (Server, Server) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let channel = format!("sio-test.recovery.{test}.{}.{nanos}", std::process::id());
    let a = Server::spawn(cluster_server(url, &channel, options));
    let b = Server::spawn(cluster_server(url, &channel, options));
    wait_counted(&[&a, &b], 1).await;
    (a, b)
}

/// The server and the number of an offset of a cluster: `<uid>-<n>`.
fn cluster_offset(args: &[Value]) -> (String, u64) {
    args.last()
        .and_then(Value::as_str)
        .and_then(|s| s.rsplit_once('-'))
        .and_then(|(uid, n)| Some((uid.to_owned(), n.parse().ok()?)))
        .unwrap_or_else(|| panic!("no cluster offset at the end of {args:?}"))
}

/// The official client, lost on server A, reconnects to server B: same socket id,
/// `socket.recovered` true, still in its room (B answers its rooms; A's next emit to the room
/// reaches it through B), and it gets, in order and once, what A emitted to the room after
/// losing it and what B emitted while it was away, each with the offset its server stamped.
async fn a_client_lost_on_a_recovers_on_b(url: &str, test: &str, modes: &[Mode]) {
    for &mode in modes {
        let (a, b) = recovery_cluster(url, test, RecoveryOptions::default()).await;
        let o = run_js(&a.url(), mode, "moved", Some(&b.url())).await;
        let (first, second) = (o.get("first"), o.get("second"));
        assert_eq!(first["recovered"], false, "{mode:?}: {o}");
        assert_eq!(second["id"], first["id"], "{mode:?}: same socket id\n{o}");
        assert_eq!(second["recovered"], true, "{mode:?}: {o}");

        let (uid_a, uid_b) = (a.stats().uid, b.stats().uid);
        let before = o.get("before")["args"].as_array().expect("args").clone();
        assert_eq!(before[0], "before", "{mode:?}: {o}");
        let missed = o.get("missed")["events"]
            .as_array()
            .expect("events")
            .clone();
        let names: Vec<(&str, &Value)> = missed
            .iter()
            .map(|e| (e[0].as_str().expect("event name"), &e[1]))
            .collect();
        assert_eq!(
            names,
            [
                ("news", &json!("missed-a")),
                ("news", &json!("missed-1")),
                ("all", &json!("missed-2")),
                ("bin", &json!({ "type": "Buffer", "data": [1, 2, 3] })),
                ("news", &json!("missed-3")),
                ("news", &json!("after")),
            ],
            "{mode:?}: the missed events in order, then one A sent live to the room\n{o}"
        );
        let origins: Vec<String> = missed
            .iter()
            .map(|e| cluster_offset(e.as_array().expect("event")).0)
            .collect();
        assert_eq!(
            origins,
            [&uid_a, &uid_b, &uid_b, &uid_b, &uid_b, &uid_a].map(String::as_str),
            "{mode:?}: each offset names the server that emitted\n{o}"
        );
        let mut last = std::collections::HashMap::new();
        for event in std::iter::once(&json!(before)).chain(&missed) {
            let (uid, n) = cluster_offset(event.as_array().expect("event"));
            if let Some(previous) = last.insert(uid, n) {
                assert!(n > previous, "{mode:?}: one server's offsets increase: {o}");
            }
        }
        let id = first["id"].as_str().expect("id");
        assert_eq!(
            o.get("rooms")["rooms"],
            json!([id, "room"]),
            "{mode:?}: {o}"
        );
        for server in [&a, &b] {
            assert_eq!(server.stats().malformed, 0, "{:?}", server.stats());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_client_lost_on_one_server_recovers_on_another() {
    let redis = Redis::start();
    a_client_lost_on_a_recovers_on_b(
        &redis.url(),
        "moved",
        &[Mode::WebSocket, Mode::Polling, Mode::Upgrade],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_a_client_lost_on_one_server_recovers_on_another() {
    a_client_lost_on_a_recovers_on_b(AMQP_URL, "moved", &[Mode::WebSocket]).await;
}

/// RabbitMQ on 127.0.0.1:5672 (`.ci/run` starts one when nothing answers there).
const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/";

/// Across servers as on one: a client that reconnects to B after `max_disconnection_duration`,
/// or that disconnected itself from A, gets a fresh session (a new id, `recovered` false, in no
/// room, nothing replayed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_no_recovery_on_another_server_when_late_or_asked() {
    let redis = Redis::start();
    let late = RecoveryOptions {
        max_disconnection_duration: Duration::from_millis(100),
        ..RecoveryOptions::default()
    };
    for (scenario, options) in [
        ("moved_late", late),
        ("moved_after_disconnect", RecoveryOptions::default()),
    ] {
        let (a, b) = recovery_cluster(&redis.url(), scenario, options).await;
        let o = run_js(&a.url(), Mode::WebSocket, scenario, Some(&b.url())).await;
        assert_fresh(&o);
    }
}

/// What a client needs to claim its session back: its id, private id and last offset.
struct Session {
    sid: String,
    pid: String,
    offset: String,
}

/// A client of `a` in room `room`, with the offset of the `news` its join brought.
async fn member_of_room(a: &Server) -> (Client, Session) {
    let mut client = Client::open(a.addr).await;
    let fields = connect(&mut client, "").await;
    let sid = fields["sid"].as_str().expect("sid").to_owned();
    let pid = fields["pid"].as_str().expect("pid").to_owned();
    client.emit("join", &[json!("room")]).await;
    let Packet::Event { args, .. } = client.expect("news").await else {
        unreachable!()
    };
    let offset = args
        .last()
        .and_then(Value::as_str)
        .expect("offset")
        .to_owned();
    (client, Session { sid, pid, offset })
}

/// A client of `b` in room `watchers`, where the test server announces every `lost` socket:
/// once it hears one, `b` holds that session (its server published it before).
async fn watcher(b: &Server) -> Client {
    let mut watcher = Client::open(b.addr).await;
    connect(&mut watcher, "").await;
    watcher.emit("join", &[json!("watchers")]).await;
    watcher.expect("news").await;
    watcher
}

/// Claims the session `sid`/`pid` at `offset` on `b`: the same id, the event emitted on A while
/// it was away (`missed-a`), and its room.
async fn recovers_on(b: &Server, sid: &str, pid: &str, offset: &str) {
    let mut client = Client::open(b.addr).await;
    let claim = json!({ "pid": pid, "offset": offset });
    let fields = connect(&mut client, &claim.to_string()).await;
    assert_eq!(fields["sid"], json!(sid), "recovered on B");
    assert_eq!(client.expect("news").await.arg(), "missed-a");
    assert_eq!(client.call("rooms", &[]).await, [json!([sid, "room"])]);
}

/// A forged claim on B (an unknown private id; the real one with an offset no server stamped)
/// gets a fresh session and does not use up the real one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_forged_claims_on_another_server_get_a_fresh_session() {
    let redis = Redis::start();
    let (a, b) = recovery_cluster(&redis.url(), "forged", RecoveryOptions::default()).await;
    let (client, Session { sid, pid, offset }) = member_of_room(&a).await;
    let mut watcher = watcher(&b).await;
    drop(client);
    watcher.expect("lost").await;

    let (uid, n) = offset.rsplit_once('-').expect("cluster offset");
    // Kept connected to the end: their disconnect handlers would emit to the room.
    let mut fresh = Vec::new();
    for auth in [
        json!({ "pid": Sid::random().as_str(), "offset": offset }),
        json!({ "pid": pid, "offset": format!("{uid}-{}", n.parse::<u64>().unwrap() + 1_000) }),
        json!({ "pid": pid, "offset": n }),
        json!({ "pid": pid, "offset": format!("ffffffffffffffff-{n}") }),
    ] {
        let mut forged = Client::open(b.addr).await;
        let fields = connect(&mut forged, &auth.to_string()).await;
        assert_ne!(fields["sid"], json!(sid), "{auth}");
        assert_eq!(forged.call("rooms", &[]).await, [json!([fields["sid"]])]);
        fresh.push(forged);
    }
    recovers_on(&b, &sid, &pid, &offset).await;
    drop(fresh);
}

/// The first server gone: A shuts down ([`SocketIo::shutdown`]), which closes its sockets and
/// publishes their sessions; the client, claiming its session on B, gets it back with what A
/// emitted as it went.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_client_of_a_server_that_shut_down_recovers_on_another() {
    let redis = Redis::start();
    let (a, b) = recovery_cluster(&redis.url(), "shutdown", RecoveryOptions::default()).await;
    // Connected until A shuts down.
    let (_client, Session { sid, pid, offset }) = member_of_room(&a).await;
    let mut watcher = watcher(&b).await;

    a.io.shutdown();
    watcher.expect("lost").await;
    recovers_on(&b, &sid, &pid, &offset).await;
}

/// Exactly once across servers, even when both emit without pause: threads emit numbered
/// events to the room on A and on B while the socket reads some on A, is lost, and comes back
/// to B; it then gets, from each server, every number after the last one it read from that
/// server, each once, in order (the missed ones, then the live ones).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_broadcasts_of_two_servers_racing_a_restore_arrive_exactly_once() {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let redis = Redis::start();
    let (a, b) = recovery_cluster(&redis.url(), "racing", RecoveryOptions::default()).await;
    let mut client = Client::open(a.addr).await;
    let fields = connect(&mut client, "").await;
    let sid = fields["sid"].as_str().expect("sid").to_owned();
    let pid = fields["pid"].as_str().expect("pid").to_owned();
    client.emit("join", &[json!("room")]).await;
    client.expect("news").await;
    let mut watcher = watcher(&b).await;

    let stop = Arc::new(AtomicBool::new(false));
    let emitters: Vec<_> = [("a", a.io.clone()), ("b", b.io.clone())]
        .into_iter()
        .map(|(name, io)| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    io.to("room").emit("n", &(name, n));
                    n += 1;
                    std::thread::sleep(Duration::from_micros(500));
                }
            })
        })
        .collect();
    let number = |packet: &Packet| match packet {
        Packet::Event { name, args, .. } if name == "n" => {
            Some((args[0].as_str()?.to_owned(), args[1].as_u64()?))
        }
        _ => None,
    };
    // Read some from both servers, then lose the connection.
    let mut last: HashMap<String, u64> = HashMap::new();
    let mut last_offset = String::new();
    while last.len() < 2 || last.values().all(|n| *n < 20) {
        let packet = client.recv().await;
        if let (Some((server, n)), Packet::Event { args, .. }) = (number(&packet), &packet) {
            last.insert(server, n);
            last_offset = args[2].as_str().expect("offset").to_owned();
        }
    }
    drop(client);
    watcher.expect("lost").await;

    let mut client = Client::open(b.addr).await;
    let claim = json!({ "pid": pid, "offset": last_offset });
    let fields = connect(&mut client, &claim.to_string()).await;
    assert_eq!(fields["sid"], json!(sid), "recovered on B");
    let mut expected: HashMap<String, u64> = last.iter().map(|(k, n)| (k.clone(), n + 1)).collect();
    let done = |expected: &HashMap<String, u64>| {
        expected
            .iter()
            .all(|(server, n)| *n >= last[server] + 1_000)
    };
    while !done(&expected) {
        let packet = client.recv().await;
        if let Some((server, n)) = number(&packet) {
            let next = expected.get_mut(&server).expect("a known server");
            assert_eq!(
                n,
                *next,
                "from {server}: a gap or a duplicate after {}",
                *next - 1
            );
            *next += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for emitter in emitters {
        emitter.join().expect("emitter thread");
    }
}

/// The missed packets are queued at once: a client that missed more frames than half of
/// `max_queued_packets` gets a fresh session rather than a connection closed for a full queue.
#[tokio::test]
async fn too_many_missed_packets_give_a_fresh_session() {
    let rec = Recorder::default();
    let srv = Server::start(server(&rec, Some(RecoveryOptions::default())));
    let (client, sid, pid, offset) = lost_socket_in_room(&srv).await;
    drop(client);
    rec.wait_for("disconnect", |d| *d == json!(sid)).await;
    for n in 0..600 {
        srv.io.to("room").emit("n", &n);
    }
    let mut client = Client::open(srv.addr).await;
    let claim = json!({ "pid": pid, "offset": offset.to_string() });
    let fields = connect(&mut client, &claim.to_string()).await;
    assert_ne!(fields["sid"], json!(sid));
    assert_eq!(client.call("rooms", &[]).await, [json!([fields["sid"]])]);
    assert_eq!(srv.panics(), 0);
}
