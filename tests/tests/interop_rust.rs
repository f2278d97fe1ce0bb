//! Interop with the Rust client `rust_socketio` 0.6 (async API) (issue 3), over polling only,
//! WebSocket only and polling upgraded to WebSocket, against the same scenario servers as the
//! JavaScript and Python clients (`tests::interop::servers`).
//!
//! Covered: auth (1), refused connection (2), events both ways (3), client → server acks with
//! several arguments (4), server-side disconnect (8). Not covered, because rust_socketio 0.6
//! cannot: server → client acks (it never answers an event's ack id), binary nested in objects
//! (its binary payload is one top-level buffer, and a binary emit with ack goes out as a
//! BINARY_ACK packet), several namespaces on one connection (one client per namespace). It also
//! does not tell which transport it ended on, so the transport is not asserted.

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client as RsClient, ClientBuilder};
use rust_socketio::{Payload, TransportType};
use serde_json::{json, Value};
use tests::interop::{servers, Mode, Recorder};
use tests::server::Server;
use tests::wait::EXTERNAL_WAIT;
use tokio::sync::mpsc;

fn transport(mode: Mode) -> TransportType {
    match mode {
        Mode::Polling => TransportType::Polling,
        Mode::WebSocket => TransportType::Websocket,
        Mode::Upgrade => TransportType::WebsocketUpgrade,
    }
}

/// Events a callback received: (event, payload as JSON).
type Events = mpsc::UnboundedReceiver<(String, Value)>;

/// JSON for a received payload: the list of arguments, or the bytes of a binary payload.
fn to_json(payload: Payload) -> Value {
    match payload {
        Payload::Text(args) => Value::Array(args),
        Payload::Binary(bytes) => json!({ "binary": bytes.to_vec() }),
        #[allow(deprecated)]
        Payload::String(text) => json!({ "string": text }),
    }
}

/// A builder whose callbacks for `events` (and `open`, `close`, `error`) feed the returned
/// channel.
fn builder(url: &str, mode: Mode, events: &[&str]) -> (ClientBuilder, Events) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut builder = ClientBuilder::new(url)
        .transport_type(transport(mode))
        .reconnect(false);
    for &event in events.iter().chain(&["open", "close", "error"]) {
        let tx = tx.clone();
        let name = event.to_owned();
        builder = builder.on(event, move |payload: Payload, _: RsClient| {
            let _ = tx.send((name.clone(), to_json(payload)));
            async {}.boxed()
        });
    }
    (builder, rx)
}

/// The next event named `name`, skipping others.
async fn next(rx: &mut Events, name: &str) -> Value {
    let found = tokio::time::timeout(EXTERNAL_WAIT, async {
        while let Some((event, payload)) = rx.recv().await {
            if event == name {
                return Some(payload);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(payload)) => payload,
        Ok(None) => panic!("the client stopped before {name:?}"),
        Err(_) => panic!("no {name:?} within {EXTERNAL_WAIT:?}"),
    }
}

/// Connects and waits for the namespace CONNECT (rust_socketio's `connect` returns before it).
async fn connect(builder: ClientBuilder, rx: &mut Events) -> RsClient {
    let client = tokio::time::timeout(EXTERNAL_WAIT, builder.connect())
        .await
        .expect("connect within the timeout")
        .expect("connect");
    next(rx, "open").await;
    client
}

/// Emits with an acknowledgement and returns the acknowledgement's arguments.
async fn call(client: &RsClient, event: &str, args: Vec<Value>) -> Value {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let callback = move |payload: Payload, _: RsClient| -> BoxFuture<'static, ()> {
        let _ = tx.send(to_json(payload));
        async {}.boxed()
    };
    client
        .emit_with_ack(event, Payload::Text(args), EXTERNAL_WAIT, callback)
        .await
        .expect("emit with ack");
    let payload = tokio::time::timeout(EXTERNAL_WAIT, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no ack of {event:?} within {EXTERNAL_WAIT:?}"))
        .expect("ack");
    // rust_socketio hands an acknowledgement over as one value: the JSON array of its arguments.
    match payload {
        Value::Array(mut items) if items.len() == 1 && items[0].is_array() => items.remove(0),
        other => other,
    }
}

/// Scenario 1.
async fn auth(mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::auth(&rec));
    let (builder, mut rx) = builder(&server.url(), mode, &["welcome"]);
    let builder = builder.auth(json!({ "token": "s3cret", "user": "alice", "n": 42 }));
    let client = connect(builder, &mut rx).await;

    let welcome = next(&mut rx, "welcome").await;
    let connects = rec.wait("connect", 1).await;
    assert_eq!(
        connects[0]["auth"],
        json!({ "token": "s3cret", "user": "alice", "n": 42 })
    );
    assert_eq!(welcome[0]["user"], "alice");
    assert_eq!(welcome[0]["n"], 42);
    assert_eq!(welcome[0]["sid"], connects[0]["sid"]);
    client.disconnect().await.expect("disconnect");
    server.stop().await;
}

/// Scenario 2: rust_socketio reports the CONNECT_ERROR through its `error` callback.
async fn refused(mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::refused(&rec));
    let (builder, mut rx) = builder(&server.url(), mode, &[]);
    let client = tokio::time::timeout(
        EXTERNAL_WAIT,
        builder.auth(json!({ "token": "wrong" })).connect(),
    )
    .await
    .expect("connect within the timeout")
    .expect("the Engine.IO connection opens");
    let error = next(&mut rx, "error").await;
    let text = error[0].as_str().expect("error text").to_owned();
    let (_, packet) = text
        .split_once(": ")
        .unwrap_or_else(|| panic!("unexpected error text {text:?}"));
    let packet: Value = serde_json::from_str(packet).expect("CONNECT_ERROR payload");
    assert_eq!(
        packet,
        json!({ "message": "not authorized", "data": { "code": 4001, "reason": "bad token" } })
    );
    assert_eq!(rec.wait("connect", 1).await[0]["token"], "wrong");
    assert!(server.io.sockets("/").is_empty());
    let _ = client.disconnect().await;
    server.stop().await;
}

/// Scenario 3.
async fn events(mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::events(&rec));
    let (builder, mut rx) = builder(&server.url(), mode, &["chat-reply", "multi-reply"]);
    let client = connect(builder, &mut rx).await;

    let chat = json!({ "room": "lobby", "text": "hello", "n": 7, "tags": ["a", "b"] });
    client.emit("chat", chat.clone()).await.expect("emit chat");
    let multi = vec![
        json!("x"),
        json!(2),
        json!(true),
        Value::Null,
        json!([1, 2, 3]),
    ];
    client
        .emit("multi", Payload::Text(multi.clone()))
        .await
        .expect("emit multi");

    assert_eq!(
        next(&mut rx, "chat-reply").await,
        json!([{ "echo": "HELLO", "n": 14 }, "second", 3])
    );
    assert_eq!(
        next(&mut rx, "multi-reply").await,
        json!(["x", 3, false, null, 6])
    );
    assert_eq!(rec.wait("chat", 1).await[0], chat);
    assert_eq!(rec.wait("multi", 1).await[0], Value::Array(multi));
    client.disconnect().await.expect("disconnect");
    server.stop().await;
}

/// Scenario 4, client → server only.
async fn acks(mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::acks(&rec));
    let (builder, mut rx) = builder(&server.url(), mode, &[]);
    let client = connect(builder, &mut rx).await;

    assert_eq!(
        call(&client, "sum", vec![json!(2), json!(3)]).await,
        json!([5, "sum", [2, 3]])
    );
    assert_eq!(call(&client, "void", vec![]).await, json!([]));
    client.disconnect().await.expect("disconnect");
    server.stop().await;
}

/// Scenario 8: rust_socketio reports the server's DISCONNECT through its `close` callback.
async fn kick(mode: Mode) {
    let rec = Recorder::default();
    let server = Server::spawn(servers::kick(&rec));
    let (builder, mut rx) = builder(&server.url(), mode, &[]);
    let client = connect(builder, &mut rx).await;

    client
        .emit("kick-me", json!(null))
        .await
        .expect("emit kick-me");
    next(&mut rx, "close").await;
    assert_eq!(
        rec.wait("disconnect", 1).await,
        [json!("server disconnect")]
    );
    let _ = client.disconnect().await;
    server.stop().await;
}

macro_rules! rust_client_tests {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                use super::Mode;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn polling() {
                    super::$scenario(Mode::Polling).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn websocket() {
                    super::$scenario(Mode::WebSocket).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn upgrade() {
                    super::$scenario(Mode::Upgrade).await;
                }
            }
        )+
    };
}

rust_client_tests!(auth, refused, events, acks, kick);
