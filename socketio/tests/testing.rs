//! The in-process test client (`socketio::testing`): Flask-SocketIO `test_client` parity.
//!
//! Servers here are built with the builder API, so each test has exactly the handlers it shows.

use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use socketio::engineio::{CloseReason, Handshake};
use socketio::testing::{TestClient, TestError};
use socketio::{
    AckError, Auth, Binary, ConnectError, Data, DisconnectReason, Error, Event, Socket, SocketIo,
};

/// What handlers saw, in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// Waits (polling, in real or virtual time) until `done` holds; panics after 10 s.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn names(events: &[socketio::testing::Received]) -> Vec<&str> {
    events.iter().map(|e| e.name()).collect()
}

async fn echo(socket: Socket, event: Event) {
    socket.emit("echo", event.args());
}

#[tokio::test]
async fn emit_with_ack_returns_the_handler_value() {
    async fn add(Data((a, b)): Data<(i64, i64)>) -> i64 {
        a + b
    }
    let io = SocketIo::builder().on("/", "add", add).build().unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let ack = client.emit_with_ack("add", &(2, 40)).await.unwrap();
    assert_eq!(ack.deserialize::<i64>().unwrap(), 42);
}

#[tokio::test]
async fn a_handler_returning_unit_still_answers_an_ack_with_no_arguments() {
    async fn noop() {}
    let io = SocketIo::builder().on("/", "noop", noop).build().unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let ack = client.emit_with_ack("noop", &()).await.unwrap();
    assert!(ack.is_empty());
}

#[tokio::test]
async fn get_received_returns_events_in_order_with_their_args_and_drains() {
    async fn burst(socket: Socket) {
        socket.emit("one", &1);
        socket.emit("two", &("a", 2));
        socket.emit("three", &());
    }
    let io = SocketIo::builder().on("/", "burst", burst).build().unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    client.emit("burst", &()).await.unwrap();
    let received = client.get_received().await;
    assert_eq!(names(&received), ["one", "two", "three"]);
    assert_eq!(received[0].values(), [json!(1)]);
    assert_eq!(received[1].values(), [json!("a"), json!(2)]);
    assert_eq!(
        received[1].data::<(String, i32)>().unwrap(),
        ("a".into(), 2)
    );
    assert!(received[2].values().is_empty());
    assert_eq!(received[0].namespace(), "/");
    assert!(
        client.get_received().await.is_empty(),
        "get_received drains"
    );
}

#[tokio::test]
async fn send_emits_a_message_event() {
    let io = SocketIo::builder()
        .on("/", "message", echo)
        .build()
        .unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    client.send("hello").await.unwrap();
    let received = client.get_received().await;
    assert_eq!(names(&received), ["echo"]);
    assert_eq!(received[0].data::<String>().unwrap(), "hello");
}

#[tokio::test]
async fn broadcasts_reach_every_other_client_but_not_the_sender() {
    async fn shout(socket: Socket, Data(text): Data<String>) {
        socket.broadcast().emit("shout", &text);
    }
    let io = SocketIo::builder().on("/", "shout", shout).build().unwrap();
    let alice = TestClient::connect(&io).await.unwrap();
    let bob = TestClient::connect(&io).await.unwrap();
    let carol = TestClient::connect(&io).await.unwrap();
    alice.emit("shout", "hi all").await.unwrap();
    alice.emit("shout", "again").await.unwrap();
    for client in [&bob, &carol] {
        let received = client.get_received().await;
        let texts: Vec<String> = received.iter().map(|e| e.data().unwrap()).collect();
        assert_eq!(texts, ["hi all", "again"]);
    }
    assert!(alice.get_received().await.is_empty());
}

#[tokio::test]
async fn room_emits_reach_members_only() {
    async fn join(socket: Socket, Data(room): Data<String>) {
        socket.join(&room);
    }
    async fn say(socket: Socket, Data((room, text)): Data<(String, String)>) {
        socket.to(&room).emit("said", &text);
    }
    let io = SocketIo::builder()
        .on("/", "join", join)
        .on("/", "say", say)
        .build()
        .unwrap();
    let alice = TestClient::connect(&io).await.unwrap();
    let bob = TestClient::connect(&io).await.unwrap();
    let outsider = TestClient::connect(&io).await.unwrap();
    alice.emit("join", "rust").await.unwrap();
    bob.emit("join", "rust").await.unwrap();
    outsider.emit("join", "python").await.unwrap();
    assert!(bob.socket().unwrap().rooms().contains(&"rust".to_owned()));

    alice.emit("say", &("rust", "borrowck")).await.unwrap();
    let received = bob.get_received().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].data::<String>().unwrap(), "borrowck");
    assert!(outsider.get_received().await.is_empty());
    assert!(alice.get_received().await.is_empty());

    // The server can reach a room from the test too.
    io.to("python").try_emit("news", "3.14").unwrap();
    assert_eq!(names(&outsider.get_received().await), ["news"]);
    assert!(bob.get_received().await.is_empty());
}

#[tokio::test]
async fn connect_carries_auth_headers_query_and_cookies_to_the_handshake() {
    let log = Log::default();
    let seen = log.clone();
    let connect = move |socket: Socket, Auth(auth): Auth<Value>, handshake: Handshake| {
        let seen = seen.clone();
        async move {
            seen.push(format!("auth={auth}"));
            let header = |name: &str| {
                handshake
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_owned()
            };
            seen.push(format!("user-agent={}", header("user-agent")));
            seen.push(format!("cookie={}", header("cookie")));
            seen.push(format!("query={}", handshake.uri.query().unwrap_or("")));
            seen.push(format!("remote={:?}", handshake.remote_addr));
            socket.emit("welcome", &());
        }
    };
    let io = SocketIo::builder()
        .on_connect("/admin", connect)
        .build()
        .unwrap();
    let client = TestClient::builder(&io)
        .namespace("/admin")
        .auth(json!({ "token": "t0k" }))
        .header("user-agent", "socketio-tests")
        .cookie("session", "abc")
        .cookie("theme", "dark")
        .query("room", "a b&c")
        .remote_addr("10.0.0.7:4000".parse().unwrap())
        .connect()
        .await
        .unwrap();
    assert!(client.is_connected());
    assert_eq!(client.namespace(), "/admin");
    assert!(client.sid().is_some());
    assert_eq!(names(&client.get_received().await), ["welcome"]);
    assert_eq!(
        log.all(),
        [
            r#"auth={"token":"t0k"}"#,
            "user-agent=socketio-tests",
            "cookie=session=abc; theme=dark",
            "query=EIO=4&transport=websocket&room=a%20b%26c",
            "remote=Some(10.0.0.7:4000)",
        ]
    );
    assert!(
        !client.of("/").is_connected(),
        "only the namespace asked for is connected"
    );
}

#[tokio::test]
async fn a_refused_connection_reports_the_message_and_data() {
    async fn connect(Auth(auth): Auth<Value>) -> Result<(), ConnectError> {
        if auth["token"] == "good" {
            Ok(())
        } else {
            Err(ConnectError::new("not allowed").data(json!({ "code": 401 })))
        }
    }
    let io = SocketIo::builder()
        .on_connect("/", connect)
        .build()
        .unwrap();
    let refused = TestClient::builder(&io)
        .auth(json!({ "token": "bad" }))
        .connect()
        .await
        .unwrap_err();
    match refused {
        TestError::Refused { message, data } => {
            assert_eq!(message, "not allowed");
            assert_eq!(data, Some(json!({ "code": 401 })));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let accepted = TestClient::builder(&io)
        .auth(json!({ "token": "good" }))
        .connect()
        .await
        .unwrap();
    assert!(accepted.is_connected());
}

#[tokio::test]
async fn an_unknown_namespace_is_refused_as_invalid() {
    let io = SocketIo::builder().build().unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    match client.connect_to("/nope", None).await {
        Err(TestError::Refused { message, .. }) => assert_eq!(message, "Invalid namespace"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(client.is_connected(), "the refusal leaves / connected");
}

#[tokio::test]
async fn one_connection_can_join_several_namespaces() {
    let io = SocketIo::builder()
        .on("/", "ping", echo)
        .on("/chat", "ping", echo)
        .build()
        .unwrap();
    let root = TestClient::connect(&io).await.unwrap();
    let chat = root
        .connect_to("/chat", Some(json!({ "nick": "ann" })))
        .await
        .unwrap();
    assert_ne!(root.sid(), chat.sid(), "one socket id per namespace");
    chat.emit("ping", "in chat").await.unwrap();
    root.emit("ping", "in root").await.unwrap();
    let in_chat = chat.get_received().await;
    assert_eq!(in_chat.len(), 1);
    assert_eq!(in_chat[0].namespace(), "/chat");
    assert_eq!(in_chat[0].data::<String>().unwrap(), "in chat");
    assert_eq!(
        root.get_received().await[0].data::<String>().unwrap(),
        "in root"
    );
}

#[tokio::test]
async fn emitting_before_connecting_a_namespace_is_refused_locally() {
    let io = SocketIo::builder().namespace("/chat").build().unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let err = client.of("/chat").emit("x", &()).await.unwrap_err();
    assert!(matches!(err, TestError::NotConnected(ns) if ns == "/chat"));
    let err = client.emit("connect", &()).await.unwrap_err();
    assert!(matches!(err, TestError::ReservedEvent(_)));
    assert!(client.is_connected(), "nothing reached the server");
}

#[tokio::test]
async fn disconnect_runs_the_servers_disconnect_handler() {
    let log = Log::default();
    let seen = log.clone();
    let on_disconnect = move |reason: DisconnectReason| {
        let seen = seen.clone();
        async move { seen.push(reason.as_str()) }
    };
    let io = SocketIo::builder()
        .on_disconnect("/", on_disconnect)
        .on("/", "ping", echo)
        .build()
        .unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    client.disconnect().await;
    assert!(!client.is_connected());
    assert_eq!(log.all(), ["client disconnect"]);
    assert!(io.sockets("/").is_empty());
    let err = client.emit("ping", &()).await.unwrap_err();
    assert!(matches!(err, TestError::NotConnected(_)));
    // It can connect again on the same connection.
    let again = client.connect_to("/", None).await.unwrap();
    assert!(again.is_connected());
}

#[tokio::test]
async fn close_ends_the_connection_with_transport_close() {
    let log = Log::default();
    let seen = log.clone();
    let on_disconnect = move |reason: DisconnectReason| {
        let seen = seen.clone();
        async move { seen.push(reason.as_str()) }
    };
    let io = SocketIo::builder()
        .on_disconnect("/", on_disconnect)
        .build()
        .unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    client.close().await;
    assert!(!client.is_connected());
    assert_eq!(log.all(), ["transport close"]);
    assert_eq!(io.connection_count(), 0);
    assert!(matches!(
        client.recv().await,
        Err(TestError::Closed(CloseReason::TransportClose))
    ));
}

#[tokio::test]
async fn dropping_the_last_handle_closes_the_connection() {
    let io = SocketIo::builder().build().unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let socket = client.socket().unwrap();
    drop(client);
    eventually("the server sees the client go", || !socket.connected()).await;
}

#[tokio::test]
async fn a_server_side_disconnect_is_seen_by_the_client() {
    async fn kick(socket: Socket) {
        socket.emit("bye", &());
        socket.disconnect();
    }
    let io = SocketIo::builder().on("/", "kick", kick).build().unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    client.emit("kick", &()).await.unwrap();
    assert!(!client.is_connected());
    assert_eq!(client.recv().await.unwrap().name(), "bye");
    assert!(matches!(
        client.recv().await,
        Err(TestError::NotConnected(_))
    ));
}

#[tokio::test]
async fn binary_travels_both_ways() {
    async fn reverse(Data(Binary(bytes)): Data<Binary>) -> Binary {
        let mut reversed = bytes.to_vec();
        reversed.reverse();
        Binary::from(reversed)
    }
    let io = SocketIo::builder()
        .on("/", "reverse", reverse)
        .build()
        .unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let ack = client
        .emit_with_ack("reverse", &Binary::from(vec![1u8, 2, 3]))
        .await
        .unwrap();
    assert_eq!(ack.attachments().len(), 1);
    assert_eq!(ack.deserialize::<Binary>().unwrap().0.as_ref(), [3, 2, 1]);
}

#[tokio::test]
async fn the_error_handlers_return_value_answers_the_ack() {
    async fn strict(Data(n): Data<u32>) -> u32 {
        n
    }
    async fn on_error(e: Error) -> String {
        format!("error: {:?}", e.kind())
    }
    let io = SocketIo::builder()
        .on("/", "strict", strict)
        .on_error("/", on_error)
        .build()
        .unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let ack = client
        .emit_with_ack("strict", "not a number")
        .await
        .unwrap();
    assert_eq!(ack.deserialize::<String>().unwrap(), "error: Extract");
}

#[tokio::test(start_paused = true)]
async fn background_tasks_spawned_by_handlers_run_while_the_test_awaits() {
    async fn countdown(socket: Socket, Data(n): Data<u32>) {
        tokio::spawn(async move {
            for i in (0..n).rev() {
                tokio::time::sleep(Duration::from_secs(1)).await;
                socket.emit("tick", &i);
            }
        });
    }
    let io = SocketIo::builder()
        .on("/", "countdown", countdown)
        .build()
        .unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let started = tokio::time::Instant::now();
    client.emit("countdown", &3).await.unwrap();
    assert!(
        client.get_received().await.is_empty(),
        "nothing before the first second"
    );
    let mut ticks = Vec::new();
    for _ in 0..3 {
        ticks.push(client.recv().await.unwrap().data::<u32>().unwrap());
    }
    assert_eq!(ticks, [2, 1, 0]);
    assert_eq!(started.elapsed(), Duration::from_secs(3), "virtual time");
}

#[tokio::test(start_paused = true)]
async fn a_handler_that_awaits_answers_later() {
    async fn slow(socket: Socket) -> &'static str {
        tokio::time::sleep(Duration::from_secs(5)).await;
        socket.emit("done", &());
        "late"
    }
    let io = SocketIo::builder().on("/", "slow", slow).build().unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let ack = client.emit_with_ack("slow", &()).await.unwrap();
    assert_eq!(ack.deserialize::<String>().unwrap(), "late");
    assert_eq!(names(&client.get_received().await), ["done"]);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_answers_pings_stays_connected() {
    let io = SocketIo::builder()
        .ping_interval(Duration::from_secs(25))
        .ping_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(client.is_connected());
    assert_eq!(io.sockets("/").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_does_not_answer_pings_times_out() {
    let log = Log::default();
    let seen = log.clone();
    let on_disconnect = move |reason: DisconnectReason| {
        let seen = seen.clone();
        async move { seen.push(reason.as_str()) }
    };
    let io = SocketIo::builder()
        .ping_interval(Duration::from_secs(25))
        .ping_timeout(Duration::from_secs(20))
        .on_disconnect("/", on_disconnect)
        .build()
        .unwrap();
    let client = TestClient::builder(&io)
        .answer_pings(false)
        .timeout(Duration::from_secs(120))
        .connect()
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let err = client.recv().await.unwrap_err();
    assert!(
        matches!(err, TestError::Closed(CloseReason::PingTimeout)),
        "{err:?}"
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(45),
        "interval + timeout"
    );
    assert!(!client.is_connected());
    // The server's side of the close runs in its heartbeat task.
    eventually("the disconnect handler runs", || !log.all().is_empty()).await;
    assert_eq!(log.all(), ["ping timeout"]);
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_server_ack_times_out_and_an_answered_one_arrives() {
    let io = SocketIo::builder()
        .ack_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let socket = client.socket().unwrap();

    let started = tokio::time::Instant::now();
    let unanswered = socket.emit_with_ack("question", "6 x 7?").await;
    assert!(matches!(unanswered, Err(AckError::Timeout)));
    assert_eq!(started.elapsed(), Duration::from_secs(5));

    let asked = tokio::spawn(socket.emit_with_ack("question", "6 x 7?").into_future());
    let received = client.get_received().await;
    assert_eq!(names(&received), ["question", "question"]);
    assert!(received.iter().all(|e| e.wants_ack()));
    client.ack(&received[1], &42).await.unwrap();
    let answer = asked.await.unwrap().unwrap();
    assert_eq!(answer.deserialize::<i32>().unwrap(), 42);
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_client_ack_times_out_in_virtual_time() {
    async fn never() -> Result<(), std::io::Error> {
        std::future::pending().await
    }
    let io = SocketIo::builder().on("/", "never", never).build().unwrap();
    let client = TestClient::builder(&io)
        .timeout(Duration::from_secs(3))
        .connect()
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let err = client.emit_with_ack("never", &()).await.unwrap_err();
    assert!(matches!(err, TestError::Timeout(_)), "{err:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert!(matches!(client.recv().await, Err(TestError::Timeout(_))));
}

#[tokio::test]
async fn invalid_handshake_input_is_reported_before_connecting() {
    let io = SocketIo::builder().build().unwrap();
    let err = TestClient::builder(&io)
        .header("bad header", "x")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, TestError::InvalidRequest(_)), "{err:?}");
    let err = TestClient::builder(&io)
        .auth(json!([1, 2]))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, TestError::Serialize(_)), "{err:?}");
    assert_eq!(io.connection_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_on_a_multi_threaded_runtime() {
    async fn shout(socket: Socket, Data(n): Data<u32>) -> u32 {
        socket.broadcast().emit("shout", &n);
        n
    }
    let io = SocketIo::builder().on("/", "shout", shout).build().unwrap();
    let alice = TestClient::connect(&io).await.unwrap();
    let bob = TestClient::connect(&io).await.unwrap();
    for n in 0..50u32 {
        let ack = alice.emit_with_ack("shout", &n).await.unwrap();
        assert_eq!(ack.deserialize::<u32>().unwrap(), n);
    }
    let got: Vec<u32> = bob
        .get_received()
        .await
        .iter()
        .map(|e| e.data().unwrap())
        .collect();
    assert_eq!(got, (0..50).collect::<Vec<_>>());
}
