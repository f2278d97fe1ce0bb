//! Catch-all and dynamic namespaces (`*`, `/prefix*`), and one client's sockets across
//! namespaces, driven by the in-process test client.

use std::time::Duration;

use socketio::testing::{TestClient, TestError};
use socketio::{Socket, SocketIo};

async fn whereami(socket: Socket) -> String {
    socket.namespace().to_owned()
}

async fn which_pattern() -> &'static str {
    "game"
}

fn server() -> SocketIo {
    SocketIo::builder()
        .on("*", "whereami", whereami)
        .on("/game-*", "whereami", which_pattern)
        .on("/chat", "whereami", |socket: Socket| async move {
            format!("declared {}", socket.namespace())
        })
        .build()
        .unwrap()
}

async fn ask(io: &SocketIo, namespace: &str) -> Result<String, TestError> {
    let client = TestClient::builder(io)
        .namespace(namespace)
        .timeout(Duration::from_secs(5))
        .connect()
        .await?;
    let ack = client.emit_with_ack("whereami", &()).await?;
    Ok(ack.deserialize::<String>().expect("a string"))
}

#[tokio::test]
async fn a_catch_all_namespace_accepts_any_name_and_the_most_specific_pattern_wins() {
    let io = server();
    assert_eq!(ask(&io, "/anything").await.unwrap(), "/anything");
    assert_eq!(ask(&io, "/game-12").await.unwrap(), "game");
    assert_eq!(ask(&io, "/chat").await.unwrap(), "declared /chat");
}

#[tokio::test]
async fn a_dynamic_namespace_lives_as_long_as_its_sockets() {
    let io = server();
    let client = TestClient::builder(&io)
        .namespace("/room-7")
        .connect()
        .await
        .unwrap();
    assert!(io.namespaces().contains(&"/room-7".to_owned()));
    io.of("/room-7").emit("news", "hello");
    let news = client.recv().await.unwrap();
    assert_eq!(news.name(), "news");
    client.disconnect().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while io.namespaces().contains(&"/room-7".to_owned()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the namespace stayed"
        );
        tokio::task::yield_now().await;
    }
    // It comes back when a client joins again.
    assert_eq!(ask(&io, "/room-7").await.unwrap(), "/room-7");
}

#[tokio::test]
async fn dynamic_namespaces_are_bounded() {
    let io = SocketIo::builder()
        .on("*", "whereami", whereami)
        .max_dynamic_namespaces(1)
        .build()
        .unwrap();
    let first = TestClient::builder(&io)
        .namespace("/a")
        .connect()
        .await
        .unwrap();
    let second = TestClient::builder(&io).namespace("/b").connect().await;
    assert!(
        matches!(&second, Err(TestError::Refused { message, .. }) if message == "Invalid namespace"),
        "{second:?}"
    );
    assert!(first.is_connected());
}

#[tokio::test]
async fn a_handler_reaches_the_same_client_on_another_namespace() {
    let io = SocketIo::builder()
        .namespace("/admin")
        .on("/", "promote", |socket: Socket| async move {
            match socket.of("/admin") {
                Some(admin) => {
                    admin.emit("promoted", &socket.id());
                    true
                }
                None => false,
            }
        })
        .build()
        .unwrap();
    let root = TestClient::connect(&io).await.unwrap();
    let admin = root.connect_to("/admin", None).await.unwrap();
    let ack = root.emit_with_ack("promote", &()).await.unwrap();
    assert!(ack.deserialize::<bool>().unwrap());
    let promoted = admin.recv().await.unwrap();
    assert_eq!(promoted.name(), "promoted");
    assert_eq!(
        promoted.data::<String>().unwrap(),
        root.sid().unwrap().to_string()
    );
}
