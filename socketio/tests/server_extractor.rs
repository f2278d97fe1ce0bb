//! The `SocketIo` extractor: a handler reaches the whole server (Flask-SocketIO's
//! `socketio.emit` inside a handler, sender included).

use socketio::testing::TestClient;
use socketio::{Data, SocketIo};

async fn shout(io: SocketIo, Data(text): Data<String>) {
    io.emit("shout", &text.to_uppercase());
}

#[tokio::test]
async fn socketio_extractor_emits_to_every_socket_including_the_sender() {
    let io = SocketIo::builder()
        .on("/", "shout", shout)
        .build()
        .expect("valid configuration");
    let alice = TestClient::connect(&io).await.expect("alice connects");
    let bob = TestClient::connect(&io).await.expect("bob connects");
    alice.emit("shout", &"hello").await.expect("emit");
    for client in [&alice, &bob] {
        let received = client.recv().await.expect("the broadcast arrives");
        assert_eq!(received.name(), "shout");
        assert_eq!(received.data::<String>().expect("a string"), "HELLO");
    }
}
