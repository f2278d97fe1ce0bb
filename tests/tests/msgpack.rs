//! The MessagePack parser (`Builder::parser(Parser::MessagePack)`): socket.io-client with
//! socket.io-msgpack-parser (`tests/js/msgpack.js`) on every transport, a client of the JSON
//! parser refused with a reason, malformed MessagePack closing only the connection that sent
//! it, and the in-process test client speaking the server's parser.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use socketio::protocol::{decode_msgpack, encode_msgpack, Limits};
use socketio::testing::TestClient;
use socketio::{Auth, Binary, Data, Parser, Socket, SocketIo};
use tests::interop::{Mode, ScriptClient};
use tests::logs;
use tests::server::Server;
use tests::ws::{Client, Msg};

/// The server of every test here:
/// - on connect, `welcome` (the socket's `name` from auth, binary, nested JSON) from the connect
///   handler, so it waits for the CONNECT answer;
/// - `echo(data, bin)` acknowledged with the same two values;
/// - `ask`: emits `question("6x7", <01 02 03>)` with an acknowledgement and acknowledges `ask`
///   with what the client answered (`{"text", "bin"}`);
/// - `shout(bin)`: broadcasts `shouted(name, bin)` to the other sockets, acknowledged with
///   their number.
fn server() -> socketio::Builder {
    SocketIo::builder()
        .parser(Parser::MessagePack)
        .on_connect(
            "/",
            |socket: Socket, Auth(auth): Auth<Option<Value>>| async move {
                let name = auth
                    .as_ref()
                    .and_then(|a| a["name"].as_str())
                    .unwrap_or("?")
                    .to_owned();
                socket.emit(
                    "welcome",
                    &(
                        name,
                        Binary::from(vec![1, 2, 3]),
                        json!({"k": [1, "two", null]}),
                    ),
                );
            },
        )
        .on(
            "/",
            "echo",
            |Data((data, bin)): Data<(Value, Binary)>| async move { (data, bin) },
        )
        .on("/", "ask", |socket: Socket| async move {
            let answer = socket
                .emit_with_ack("question", &("6x7", Binary::from(vec![1, 2, 3])))
                .await;
            match answer.map(|args| args.deserialize::<(String, Binary)>()) {
                Ok(Ok((text, bin))) => json!({"text": text, "bin": bin.0.to_vec()}),
                Ok(Err(e)) => json!({"error": e.to_string()}),
                Err(e) => json!({"error": e.to_string()}),
            }
        })
        .on(
            "/",
            "shout",
            |socket: Socket, io: SocketIo, Data(bin): Data<Binary>| async move {
                socket.broadcast().emit("shouted", &("a", bin));
                io.of("/").sockets().len() - 1
            },
        )
}

/// A Buffer as msgpack.js shows it.
fn bin(bytes: &[u8]) -> Value {
    json!({ "bin": bytes })
}

async fn roundtrip(mode: Mode) {
    let srv = Server::spawn(server());
    let o = ScriptClient::Js
        .run_script("msgpack.js", &srv.url(), mode, "roundtrip")
        .await;
    assert_eq!(
        o.get("welcome")["args"],
        json!(["a", bin(&[1, 2, 3]), {"k": [1, "two", null]}]),
        "{o}"
    );
    let sent = json!({
        "text": "héllo", "n": 42, "f": 1.5, "neg": -7, "big": 1u64 << 40,
        "list": [1, null, true], "nested": {"deep": [[{}]]},
    });
    let echo = o.get("echo-ack");
    assert_eq!(echo["args"], json!([sent, bin(&[0, 1, 2, 255])]), "{o}");
    assert_eq!(
        echo["binary"], true,
        "the acknowledgement carries a Buffer: {o}"
    );
    assert_eq!(
        o.get("ask-ack")["args"],
        json!([{"text": "answer to 6x7", "bin": [3, 2, 1]}]),
        "{o}"
    );
    let shouted = o.get("shouted");
    assert_eq!(shouted["args"], json!(["a", bin(b"loud")]), "{o}");
    assert_eq!(shouted["recipients"], 1, "{o}");
    assert_eq!(shouted["sender_got_it"], false, "{o}");
    o.assert_transport("transport");
    srv.stop().await;
}

/// socket.io-client 4.8.4 with socket.io-msgpack-parser over WebSocket: events with JSON data
/// and binary, acknowledgements both ways, a broadcast with binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_js_msgpack_client_works_over_websocket() {
    roundtrip(Mode::WebSocket).await;
}

/// The same over HTTP long-polling (binary messages travel base64 in the text payloads).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_js_msgpack_client_works_over_polling() {
    roundtrip(Mode::Polling).await;
}

/// The same with the upgrade from polling to WebSocket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_js_msgpack_client_works_through_the_upgrade() {
    roundtrip(Mode::Upgrade).await;
}

/// A client of the JSON parser (socket.io-client's default) never connects to a MessagePack
/// server: its CONNECT (a text packet) is answered with a CONNECT_ERROR in JSON that names the
/// parser, with a warning in the log, and the client gives up and closes; the server stays
/// healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_client_is_refused_with_a_reason() {
    for mode in [Mode::WebSocket, Mode::Polling] {
        let srv = Server::start(server());
        let o = ScriptClient::Js
            .run_script("msgpack.js", &srv.url(), mode, "json-client")
            .await;
        let outcome = o.get("outcome");
        assert_eq!(outcome["connected"], false, "{mode:?}: {o}");
        assert!(
            outcome["connect_error"]
                .as_str()
                .is_some_and(|m| m.contains("socket.io-msgpack-parser")),
            "{mode:?}: {o}"
        );
        logs::wait_line(&["the client uses the JSON parser and this server MessagePack"]).await;
        assert_eq!(srv.panics(), 0);
        srv.stop().await;
    }
}

/// The CONNECT of `/` as socket.io-client sends it with socket.io-msgpack-parser.
fn connect_frame() -> Vec<u8> {
    encode_msgpack("0", &[]).expect("CONNECT")
}

/// Opens a WebSocket session and joins `/` with a MessagePack CONNECT.
async fn msgpack_client(srv: &Server) -> Client {
    let mut client = Client::open(srv.addr).await;
    assert!(client.try_send_binary(&connect_frame()).await);
    match client.next().await {
        Some(Msg::Binary(frame)) => {
            let (text, _) = decode_msgpack(&Bytes::from(frame), &Limits::default())
                .expect("a MessagePack CONNECT answer");
            assert!(text.starts_with("0{\"sid\":"), "{text}");
        }
        other => panic!("expected the binary CONNECT answer, got {other:?}"),
    }
    // The welcome of the connect handler.
    assert!(matches!(client.next().await, Some(Msg::Binary(_))));
    client
}

/// A `{type, nsp: "/", data}` packet whose data is `data` (raw MessagePack).
fn event_with(data: &[u8]) -> Vec<u8> {
    [b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data".as_slice(), data].concat()
}

/// Malformed MessagePack from one client (truncated packets, nesting far beyond the limit,
/// lengths announced beyond the message, bytes after it, a text packet) closes that client's
/// connection, logged as a protocol violation, and nothing else: a client connected beside it
/// keeps working, and no thread panics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_msgpack_closes_only_that_connection() {
    let srv = Server::start(server());
    let mut good = msgpack_client(&srv).await;
    let valid = encode_msgpack(
        r#"51-1["echo",{"a":1},{"_placeholder":true,"num":0}]"#,
        &[Bytes::from_static(b"xy")],
    )
    .expect("an echo");
    let deep = |marker: u8| event_with(&[vec![marker; 100_000], vec![0xc0]].concat());
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", valid[..valid.len() / 2].to_vec()),
        ("truncated binary", valid[..valid.len() - 1].to_vec()),
        ("empty", Vec::new()),
        ("deep arrays", deep(0x91)),
        ("deep maps", deep(0x81)),
        ("huge array", event_with(b"\xdd\xff\xff\xff\xff\xa1x")),
        ("huge map", event_with(b"\xdf\xff\xff\xff\xff")),
        ("huge string", event_with(b"\x91\xdb\xff\xff\xff\xff\x61")),
        (
            "huge binary",
            event_with(b"\x92\xa1x\xc6\xff\xff\xff\xff\x00"),
        ),
        ("trailing bytes", [valid.clone(), vec![0xc0]].concat()),
        ("not a map", b"\x93\x02\xa1/\x90".to_vec()),
        (
            "type out of range",
            b"\x83\xa4type\x05\xa3nsp\xa1/\xa4data\x91\xa1x".to_vec(),
        ),
    ];
    for (what, frame) in bad {
        let mut client = msgpack_client(&srv).await;
        let sid = client.eio_sid.clone();
        client.try_send_binary(&frame).await;
        client.closed().await;
        logs::wait_line(&[&sid, "protocol violation"]).await;
        srv.wait_gone(&sid).await;
        assert!(
            srv.alive(&good.eio_sid),
            "{what}: the good client was closed too"
        );
    }
    // A text packet on the MessagePack server.
    let mut client = msgpack_client(&srv).await;
    client.try_send("42[\"echo\",1,2]").await;
    client.closed().await;

    // The good client still echoes, binary inline.
    assert!(good.try_send_binary(&valid).await);
    let answer = match good.next().await {
        Some(Msg::Binary(frame)) => {
            decode_msgpack(&Bytes::from(frame), &Limits::default()).expect("ack")
        }
        other => panic!("expected the acknowledgement, got {other:?}"),
    };
    assert_eq!(
        answer,
        (
            r#"61-1[{"a":1},{"_placeholder":true,"num":0}]"#.to_owned(),
            vec![Bytes::from_static(b"xy")]
        )
    );
    assert_eq!(srv.panics(), 0);
    srv.stop().await;
}

/// The in-process test client speaks the server's parser: events, binary and acknowledgements
/// work on a MessagePack server as on a JSON one.
#[tokio::test]
async fn the_test_client_speaks_the_servers_parser() {
    let io = server().build().expect("valid server");
    let client = TestClient::builder(&io)
        .auth(json!({"name": "t"}))
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connected");
    let welcome = client.recv().await.expect("welcome");
    assert_eq!(welcome.name(), "welcome");
    let (name, bytes, data): (String, Binary, Value) = welcome.data().expect("args");
    assert_eq!((name.as_str(), &bytes.0[..]), ("t", &[1, 2, 3][..]));
    assert_eq!(data, json!({"k": [1, "two", null]}));
    let ack = client
        .emit_with_ack("echo", &(json!({"x": [1.5]}), Binary::from(vec![7, 8])))
        .await
        .expect("acknowledged");
    let (data, bytes): (Value, Binary) = ack.deserialize().expect("ack args");
    assert_eq!((data, &bytes.0[..]), (json!({"x": [1.5]}), &[7, 8][..]));
}
