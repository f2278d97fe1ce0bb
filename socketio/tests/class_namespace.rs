//! Class-based namespaces (`#[namespace]` on an `impl` block, Flask-SocketIO's `Namespace`),
//! driven by the in-process test client.

use std::sync::atomic::{AtomicUsize, Ordering};

use socketio::testing::TestClient;
use socketio::{namespace, Data, DisconnectReason, Socket, SocketIo};

/// State lives in the value, shared by every socket of the namespace.
struct Counter {
    greeting: String,
    events: AtomicUsize,
    left: AtomicUsize,
}

#[namespace("/counter")]
impl Counter {
    async fn on_connect(&self, socket: Socket) {
        socket.emit("welcome", &self.greeting);
    }

    async fn on_count(&self, Data(step): Data<usize>) -> usize {
        self.events.fetch_add(step, Ordering::SeqCst) + step
    }

    async fn on_disconnect(&self, _reason: DisconnectReason) {
        self.left.fetch_add(1, Ordering::SeqCst);
    }

    /// Not a handler: methods without the `on_` prefix are left alone.
    fn total(&self) -> usize {
        self.events.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_class_namespace_routes_events_to_its_methods_and_keeps_state_in_self() {
    let io = SocketIo::builder()
        .on_namespace(Counter {
            greeting: "hello".into(),
            events: AtomicUsize::new(0),
            left: AtomicUsize::new(0),
        })
        .build()
        .unwrap();
    assert_eq!(
        io.handled_events("/counter"),
        ["connect", "count", "disconnect"]
    );
    let a = TestClient::builder(&io)
        .namespace("/counter")
        .connect()
        .await
        .unwrap();
    let b = TestClient::builder(&io)
        .namespace("/counter")
        .connect()
        .await
        .unwrap();
    let welcome = a.recv().await.unwrap();
    assert_eq!(
        (welcome.name(), welcome.data::<String>().unwrap()),
        ("welcome", "hello".to_owned())
    );
    let first = a.emit_with_ack("count", &2).await.unwrap();
    assert_eq!(first.deserialize::<usize>().unwrap(), 2);
    let second = b.emit_with_ack("count", &3).await.unwrap();
    assert_eq!(
        second.deserialize::<usize>().unwrap(),
        5,
        "one counter for both"
    );
    a.disconnect().await;
    b.disconnect().await;
}

#[test]
fn helper_methods_stay_callable() {
    let counter = Counter {
        greeting: String::new(),
        events: AtomicUsize::new(4),
        left: AtomicUsize::new(0),
    };
    assert_eq!(counter.total(), 4);
}
