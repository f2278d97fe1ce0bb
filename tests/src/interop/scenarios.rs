//! The scenarios driven by the client scripts: start the scenario's server, run the script,
//! check what the client and the server observed.

use serde_json::{json, Value};

use super::servers::{self, Creds, Upload};
use super::{Mode, Recorder, ScriptClient};
use crate::server::Server;

/// Scenario 1: the auth payload reaches `Auth<T>`; the connect handler's `welcome` carries the
/// socket id the client got.
pub async fn auth(client: ScriptClient, mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::auth(&rec));
    let o = client.run(&server.url(), mode, "auth").await;

    let connects = rec.wait("connect", 1).await;
    let expected = Creds {
        token: "s3cret".into(),
        user: "alice".into(),
        n: 42,
    };
    assert_eq!(connects[0]["auth"], json!(expected), "{o}");
    let welcome = o.get("welcome");
    assert_eq!(welcome["data"]["user"], "alice", "{o}");
    assert_eq!(welcome["data"]["n"], 42, "{o}");
    assert_eq!(welcome["data"]["sid"], welcome["id"], "socket id: {o}");
    assert_eq!(welcome["data"]["sid"], connects[0]["sid"], "{o}");
    o.assert_transport("transport");
    server.stop().await;
}

/// Scenario 2: a refused connection carries the message and data to the client.
pub async fn refused(client: ScriptClient, mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::refused(&rec));
    let o = client.run(&server.url(), mode, "refused").await;

    let error = o.get("connect_error");
    assert_eq!(error["message"], "not authorized", "{o}");
    assert_eq!(
        error["data"],
        json!({ "code": 4001, "reason": "bad token" }),
        "{o}"
    );
    assert_eq!(error["connected"], false, "{o}");
    assert_eq!(rec.wait("connect", 1).await[0]["token"], "wrong");
    assert!(server.io.sockets("/").is_empty(), "a refused socket stays");
    server.stop().await;
}

/// Scenario 3: typed events to the server, emits back to the client.
pub async fn events(client: ScriptClient, mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::events(&rec));
    let o = client.run(&server.url(), mode, "events").await;

    assert_eq!(
        rec.wait("chat", 1).await[0],
        json!({ "room": "lobby", "text": "hello", "n": 7, "tags": ["a", "b"] }),
        "{o}"
    );
    assert_eq!(
        rec.wait("multi", 1).await[0],
        json!(["x", 2, true, null, [1, 2, 3]]),
        "{o}"
    );
    assert_eq!(
        o.get("chat-reply")["args"],
        json!([{ "echo": "HELLO", "n": 14 }, "second", 3]),
        "{o}"
    );
    assert_eq!(
        o.get("multi-reply")["args"],
        json!(["x", 3, false, null, 6]),
        "{o}"
    );
    o.assert_transport("transport");
    server.stop().await;
}

/// Scenario 4: acknowledgements with several arguments both ways (and one with none).
pub async fn acks(client: ScriptClient, mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::acks(&rec));
    let o = client.run(&server.url(), mode, "acks").await;

    assert_eq!(o.get("sum")["args"], json!([5, "sum", [2, 3]]), "{o}");
    assert_eq!(o.get("void")["args"], json!([]), "{o}");
    let answer = json!([42, "answer to 6x7", { "ok": true }]);
    assert_eq!(o.get("ack-received")["args"], answer, "{o}");
    assert_eq!(rec.wait("answer", 1).await[0], answer, "{o}");
    assert!(rec.data("answer-error").is_empty(), "{o}");
    o.assert_transport("transport");
    server.stop().await;
}

fn expected_upload() -> Upload {
    Upload {
        file: (0..=255u8).collect::<Vec<u8>>().into(),
        meta: servers::Meta {
            name: "blob.bin".into(),
            parts: vec![
                vec![1u8, 2, 3].into(),
                Vec::new().into(),
                "héllo".as_bytes().to_vec().into(),
            ],
        },
    }
}

/// `describe` plus the client's `binary: true` (every buffer, the nested `parts` included,
/// arrived as a binary type, not as an array of numbers).
fn as_reported(upload: &Upload) -> Value {
    let mut value = servers::describe(upload);
    value["binary"] = json!(true);
    value
}

fn without_ev(line: &Value) -> Value {
    let mut line = line.clone();
    if let Some(map) = line.as_object_mut() {
        map.remove("ev");
    }
    line
}

/// Scenario 5: binary nested in objects and arrays, both ways.
pub async fn binary(client: ScriptClient, mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::binary(&rec));
    let o = client.run(&server.url(), mode, "binary").await;

    let upload = expected_upload();
    assert_eq!(
        rec.wait("upload", 1).await[0],
        servers::describe(&upload),
        "{o}"
    );
    assert_eq!(
        without_ev(o.get("upload-ack")),
        as_reported(&servers::upload_reply(&upload)),
        "{o}"
    );
    assert_eq!(
        without_ev(o.get("download")),
        as_reported(&servers::download()),
        "{o}"
    );
    o.assert_transport("transport");
    server.stop().await;
}

/// Scenario 6: three clients; A and B in room r1, C in r2. A's `to-room-all` reaches A and B,
/// its `to-room-others` only B; C gets neither, only the fences.
pub async fn rooms(client: ScriptClient, mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::rooms(&rec));
    let o = client.run(&server.url(), mode, "rooms").await;

    let joined = o.get("joined");
    for (name, room) in [("A", "r1"), ("B", "r1"), ("C", "r2")] {
        let rooms = joined[name].as_array().expect("rooms list");
        assert_eq!(rooms.len(), 2, "{name}: own room + {room}: {o}");
        assert_eq!(rooms[1], room, "{o}");
    }
    let all = json!(["room-msg", { "kind": "all", "room": "r1" }]);
    let others = json!(["room-msg", { "kind": "others", "room": "r1" }]);
    let (f1, f2) = (json!(["fence", "f1"]), json!(["fence", "f2"]));
    let expected = [
        ("A", json!([all, f1, f2])),
        ("B", json!([all, f1, others, f2])),
        ("C", json!([f1, f2])),
    ];
    let logs = o.all("log");
    for (name, events) in expected {
        let log = logs
            .iter()
            .find(|l| l["name"] == name)
            .unwrap_or_else(|| panic!("no log of {name}: {o}"));
        assert_eq!(log["events"], events, "events received by {name}: {o}");
    }
    for name in ["A", "B", "C"] {
        o.assert_transport(&format!("transport-{name}"));
    }
    server.stop().await;
}

/// Scenario 7: several namespaces on one connection. The JS client multiplexes `/a` and `/b`
/// (and is refused the unknown `/nope`); the Python client connects `/` and `/chat`.
pub async fn namespaces(client: ScriptClient, mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::namespaces(&rec));
    let o = client.run(&server.url(), mode, "namespaces").await;

    let (first, second) = match client {
        ScriptClient::Js => ("/a", "/b"),
        ScriptClient::Python => ("/", "/chat"),
    };
    let connects = rec.wait("connect", 2).await;
    let mut namespaces: Vec<&str> = connects.iter().filter_map(|c| c["ns"].as_str()).collect();
    namespaces.sort();
    assert_eq!(namespaces, [first, second], "{o}");
    assert_eq!(o.get("engine")["distinct_ids"], true, "{o}");
    match client {
        ScriptClient::Js => {
            assert_eq!(o.get("manager")["shared"], true, "{o}");
            assert_eq!(
                o.get("engine")["same"],
                true,
                "one Engine.IO connection: {o}"
            );
            assert_eq!(o.get("hello")["a"], "/a", "{o}");
            assert_eq!(o.get("hello")["b"], "/b", "{o}");
            let nope = o.get("unknown-namespace");
            assert_eq!(nope["message"], "Invalid namespace", "{o}");
            assert_eq!(nope["shared"], true, "{o}");
        }
        ScriptClient::Python => {
            assert_eq!(o.get("engine")["namespaces"], json!(["/", "/chat"]), "{o}");
            assert_eq!(o.get("hello")["root"], "/", "{o}");
            assert_eq!(o.get("hello")["chat"], "/chat", "{o}");
        }
    }
    let place = o.get("where");
    let (key1, key2) = match client {
        ScriptClient::Js => ("a", "b"),
        ScriptClient::Python => ("root", "chat"),
    };
    for (key, ns) in [(key1, first), (key2, second)] {
        let answer = &place[key];
        assert_eq!(answer[0], ns, "{o}");
        assert_eq!(answer[1], format!("from-{key}"), "{o}");
        let sid = connects.iter().find(|c| c["ns"] == ns).expect("connect")["sid"].clone();
        assert_eq!(answer[2], sid, "{o}");
    }
    o.assert_transport("transport");
    server.stop().await;
}

/// Scenario 8: `socket.disconnect()` on the server; the client sees `io server disconnect`.
pub async fn kick(client: ScriptClient, mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::kick(&rec));
    let o = client.run(&server.url(), mode, "kick").await;

    // Each client names the reason its own way: socket.io-client `io server disconnect`,
    // python-socketio `Client.reason.SERVER_DISCONNECT`, i.e. `server disconnect`.
    let expected = match client {
        ScriptClient::Js => "io server disconnect",
        ScriptClient::Python => "server disconnect",
    };
    assert_eq!(o.get("disconnect")["reason"], expected, "{o}");
    assert_eq!(
        rec.wait("disconnect", 1).await,
        [json!("server disconnect")],
        "{o}"
    );
    o.assert_transport("transport");
    server.stop().await;
}

/// Scenario 9: 1,000 messages each way, in order.
pub async fn order(client: ScriptClient, mode: Mode) {
    let rec = Recorder::default();
    let (io, seen) = servers::order(&rec);
    let server = Server::spawn(io);
    let o = client.run(&server.url(), mode, "order").await;

    let expected: Vec<u32> = (0..1000).collect();
    assert_eq!(
        *seen.lock().unwrap(),
        expected,
        "client → server order: {o}"
    );
    assert_eq!(o.get("client-to-server")["ack"], json!([1000]), "{o}");
    assert!(rec.data("emit-error").is_empty(), "{o}");
    assert_eq!(
        o.get("server-to-client")["received"],
        json!(expected),
        "server → client order: {o}"
    );
    o.assert_transport("transport");
    server.stop().await;
}

/// Scenario 10: with `max_http_buffer_size` 100,000, a message just under it is delivered; one
/// just over it closes that client's connection, and another client is still served.
pub async fn limit(client: ScriptClient, mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::limit(&rec));
    let o = client.run(&server.url(), mode, "limit").await;

    assert_eq!(o.get("under")["ack"], json!([99_000]), "{o}");
    let reason = o.get("over")["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        !reason.is_empty() && !reason.contains("client disconnect"),
        "the over-limit client was disconnected by the server, not by itself: {o}"
    );
    assert_eq!(o.get("canary")["ack"], json!(["pong: still there?"]), "{o}");
    assert_eq!(o.get("canary")["connected"], true, "{o}");
    o.assert_transport("transport-canary");
    o.assert_transport("transport-big");

    let big = rec.data("big");
    assert_eq!(
        big.len(),
        1,
        "only the message under the limit arrives: {o}"
    );
    assert_eq!(big[0]["len"], 99_000);
    let big_sid = big[0]["sid"].clone();
    let disconnect = rec.wait_for("disconnect", |d| d["sid"] == big_sid).await;
    let big_reason = disconnect["reason"].clone();
    assert!(
        ["parse error", "transport error", "transport close"]
            .contains(&big_reason.as_str().unwrap_or_default()),
        "server-side reason for the over-limit client: {big_reason}: {o}"
    );
    server.stop().await;
}
