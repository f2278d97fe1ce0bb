//! Guards and middleware: `#[on(.., guard = ..)]`, `Builder::guard`, `Builder::event_middleware`
//! and `Builder::connect_middleware`, driven by the in-process test client.
//!
//! The `#[on]` handlers below live in namespace `/guarded`, which no builder-only test uses.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use socketio::testing::{TestClient, TestError};
use socketio::{on, ConnectError, Data, Error, Session, Socket, SocketIo};

#[derive(Clone)]
struct User(String);

/// Flask's `authenticated_only`: a visitor who never logged in is disconnected.
async fn authenticated_only(user: Session<User>, socket: Socket) -> bool {
    let known = user.get().is_some();
    if !known {
        socket.disconnect();
    }
    known
}

#[on("login", namespace = "/guarded")]
async fn login(user: Session<User>, Data(name): Data<String>) {
    user.set(User(name));
}

#[on("whoami", namespace = "/guarded", guard = authenticated_only)]
async fn whoami(user: Session<User>) -> String {
    user.get().map(|u| u.0).unwrap_or_default()
}

#[tokio::test]
async fn a_guard_on_an_attribute_lets_known_users_through_and_disconnects_the_others() {
    let io = SocketIo::builder().build().unwrap();
    let visitor = TestClient::builder(&io)
        .namespace("/guarded")
        .timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    let refused = visitor.emit_with_ack("whoami", &()).await;
    assert!(
        matches!(
            refused,
            Err(TestError::NotConnected(_) | TestError::Timeout(_))
        ),
        "{refused:?}"
    );
    assert!(!visitor.is_connected());

    let member = TestClient::builder(&io)
        .namespace("/guarded")
        .connect()
        .await
        .unwrap();
    member.emit("login", &"alice").await.unwrap();
    let ack = member.emit_with_ack("whoami", &()).await.unwrap();
    assert_eq!(ack.deserialize::<String>().unwrap(), "alice");
}

/// What the handlers and middleware saw, in order.
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

#[tokio::test]
async fn event_middleware_runs_before_every_event_and_its_error_answers_the_ack() {
    let log = Log::default();
    let (in_mw, in_chat, in_err) = (log.clone(), log.clone(), log.clone());
    let io = SocketIo::builder()
        .event_middleware("/", move |Data(text): Data<String>| {
            let log = in_mw.clone();
            async move {
                log.push(format!("middleware {text}"));
                if text == "spam" {
                    Err("no spam")
                } else {
                    Ok(())
                }
            }
        })
        .on("/", "chat", move |Data(text): Data<String>| {
            let log = in_chat.clone();
            async move {
                log.push(format!("chat {text}"));
                "delivered"
            }
        })
        .on_error("/", move |error: Error| {
            let log = in_err.clone();
            async move {
                log.push(format!("error {}", error.source_error()));
                "refused"
            }
        })
        .build()
        .unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let ok = client.emit_with_ack("chat", &"hello").await.unwrap();
    assert_eq!(ok.deserialize::<String>().unwrap(), "delivered");
    let refused = client.emit_with_ack("chat", &"spam").await.unwrap();
    assert_eq!(refused.deserialize::<String>().unwrap(), "refused");
    assert_eq!(
        log.all(),
        [
            "middleware hello",
            "chat hello",
            "middleware spam",
            "error no spam"
        ]
    );
}

#[tokio::test]
async fn a_builder_guard_stops_one_event_quietly_and_leaves_the_others() {
    async fn only_short(Data(text): Data<String>) -> bool {
        text.len() <= 5
    }
    async fn echo(Data(text): Data<String>) -> String {
        text
    }
    let io = SocketIo::builder()
        .on("/", "short", echo)
        .on("/", "any", echo)
        .guard("/", "short", only_short)
        .build()
        .unwrap();
    let client = TestClient::builder(&io)
        .timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    let ack = client.emit_with_ack("short", &"hi").await.unwrap();
    assert_eq!(ack.deserialize::<String>().unwrap(), "hi");
    let stopped = client.emit_with_ack("short", &"too long").await;
    assert!(matches!(stopped, Err(TestError::Timeout(_))), "{stopped:?}");
    let ack = client.emit_with_ack("any", &"too long").await.unwrap();
    assert_eq!(ack.deserialize::<String>().unwrap(), "too long");
    assert!(client.is_connected());
}

#[tokio::test]
async fn connect_middleware_runs_in_order_and_a_refusal_skips_the_connect_handler() {
    let log = Log::default();
    let (first, second, handler) = (log.clone(), log.clone(), log.clone());
    let io = SocketIo::builder()
        .connect_middleware("/", move |socket: Socket| {
            let log = first.clone();
            async move {
                log.push("first");
                socket.handshake().query("token").is_some()
            }
        })
        .connect_middleware("/", move || {
            let log = second.clone();
            async move { log.push("second") }
        })
        .on_connect("/", move || {
            let log = handler.clone();
            async move {
                log.push("connect");
                Ok::<(), ConnectError>(())
            }
        })
        .build()
        .unwrap();
    let refused = TestClient::connect(&io).await;
    assert!(
        matches!(&refused, Err(TestError::Refused { message, .. }) if message == ConnectError::REJECTED),
        "{refused:?}"
    );
    assert_eq!(log.all(), ["first"]);
    let accepted = TestClient::builder(&io)
        .query("token", "t")
        .connect()
        .await
        .unwrap();
    assert!(accepted.is_connected());
    assert_eq!(log.all(), ["first", "first", "second", "connect"]);
}
