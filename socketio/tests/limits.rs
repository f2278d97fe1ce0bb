//! The operator's limits, all off by default: connections in total and per client address
//! (Engine.IO handshake refused with 503 / 429), events per second per socket (dropped to the
//! error pipeline, or the socket disconnected), namespaces per connection (CONNECT_ERROR) and
//! rooms per socket (`try_join` refused).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use socketio::engineio::HttpError;
use socketio::testing::{TestClient, TestError};
use socketio::{
    Data, DisconnectReason, Error, ErrorKind, JoinError, RateLimitPolicy, Socket, SocketIo, State,
};

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[tokio::test]
async fn max_connections_refuses_the_handshake_until_one_closes() {
    let io = SocketIo::builder().max_connections(2).build().unwrap();
    let a = TestClient::connect(&io).await.unwrap();
    let _b = TestClient::connect(&io).await.unwrap();
    match TestClient::connect(&io).await {
        Err(TestError::Handshake(HttpError::TooManyConnections)) => {}
        other => panic!("expected the handshake refused, got {other:?}"),
    }
    assert_eq!(
        io.connection_count(),
        2,
        "a refused handshake opens no session"
    );
    a.close().await;
    TestClient::connect(&io)
        .await
        .expect("a slot is free again once a connection closed");
}

#[tokio::test]
async fn max_connections_per_address_counts_each_client_address() {
    let io = SocketIo::builder()
        .max_connections_per_address(1)
        .build()
        .unwrap();
    let first = TestClient::builder(&io)
        .remote_addr(addr("10.0.0.1:1000"))
        .connect()
        .await
        .unwrap();
    let refused = TestClient::builder(&io)
        .remote_addr(addr("10.0.0.1:1001"))
        .connect()
        .await;
    assert!(
        matches!(
            refused,
            Err(TestError::Handshake(
                HttpError::TooManyConnectionsFromAddress
            ))
        ),
        "{refused:?}"
    );
    let _other = TestClient::builder(&io)
        .remote_addr(addr("10.0.0.2:1000"))
        .connect()
        .await
        .expect("another address has its own count");
    let _no_address = TestClient::connect(&io)
        .await
        .expect("a connection without an address is not counted");
    first.close().await;
    TestClient::builder(&io)
        .remote_addr(addr("10.0.0.1:1002"))
        .connect()
        .await
        .expect("the address's slot is free again");
}

/// Status line and body of a polling handshake over real HTTP, from `forwarded_for` if given.
async fn handshake(addr: SocketAddr, forwarded_for: Option<&str>) -> (u16, String) {
    let forwarded = forwarded_for
        .map(|client| format!("X-Forwarded-For: {client}\r\n"))
        .unwrap_or_default();
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {addr}\r\n{forwarded}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (status, body)
    })
    .await
    .unwrap()
}

/// Serves `io` on 127.0.0.1, returns its address and a handle that stops it.
async fn serve(io: &SocketIo) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(io.clone().serve_app(listener, io.router(), async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

#[tokio::test]
async fn over_http_the_total_limit_is_a_503() {
    let io = SocketIo::builder().max_connections(1).build().unwrap();
    let (addr, _stop) = serve(&io).await;
    assert_eq!(handshake(addr, None).await.0, 200);
    let (status, body) = handshake(addr, None).await;
    assert_eq!(status, 503);
    assert_eq!(body, r#"{"code":4,"message":"Too many connections"}"#);
    assert_eq!(io.connection_count(), 1);
}

#[tokio::test]
async fn over_http_the_per_address_limit_honours_the_trusted_proxy() {
    let io = SocketIo::builder()
        .trusted_proxies(["127.0.0.1".parse().unwrap()])
        .max_connections_per_address(2)
        .build()
        .unwrap();
    let (addr, _stop) = serve(&io).await;
    assert_eq!(handshake(addr, Some("203.0.113.1")).await.0, 200);
    assert_eq!(handshake(addr, Some("203.0.113.1")).await.0, 200);
    let (status, body) = handshake(addr, Some("6.6.6.6, 203.0.113.1")).await;
    assert_eq!(status, 429, "the rightmost untrusted hop is the client");
    assert_eq!(
        body,
        r#"{"code":4,"message":"Too many connections from this address"}"#
    );
    assert_eq!(handshake(addr, Some("203.0.113.2")).await.0, 200);
    assert_eq!(
        handshake(addr, None).await.0,
        200,
        "the proxy itself, without a forwarded address, is one more client"
    );
    assert_eq!(io.connection_count(), 4);
}

async fn counted(State(count): State<Arc<AtomicUsize>>) -> &'static str {
    count.fetch_add(1, Ordering::SeqCst);
    "done"
}

async fn rate_error(error: Error) -> String {
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.event(), Some("work"));
    format!("refused: {}", error.source_error())
}

#[tokio::test(start_paused = true)]
async fn events_over_the_rate_are_dropped_to_the_error_pipeline() {
    let count = Arc::new(AtomicUsize::new(0));
    let io = SocketIo::builder()
        .ping_interval(Duration::from_secs(3600))
        .max_events_per_second(1, 3, RateLimitPolicy::Drop)
        .state(count.clone())
        .on("/", "work", counted)
        .on_error("/", rate_error)
        .build()
        .unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let mut answers = Vec::new();
    for _ in 0..10 {
        let ack = client.emit_with_ack("work", &()).await.unwrap();
        answers.push(ack.deserialize::<String>().unwrap());
    }
    assert_eq!(count.load(Ordering::SeqCst), 3, "exactly the burst passes");
    assert!(answers[..3].iter().all(|a| a == "done"), "{answers:?}");
    assert!(
        answers[3..]
            .iter()
            .all(|a| a == "refused: more than 1 events per second (burst 3) on this socket"),
        "the error handler answers the refused events' acks: {answers:?}"
    );
    assert!(client.is_connected(), "the socket stays");

    tokio::time::advance(Duration::from_secs(1)).await;
    let ack = client.emit_with_ack("work", &()).await.unwrap();
    assert_eq!(
        ack.deserialize::<String>().unwrap(),
        "done",
        "one token back"
    );
    assert_eq!(count.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn events_over_the_rate_disconnect_the_socket_with_that_policy() {
    let count = Arc::new(AtomicUsize::new(0));
    let reason = Arc::new(std::sync::Mutex::new(None));
    let seen = reason.clone();
    let io = SocketIo::builder()
        .ping_interval(Duration::from_secs(3600))
        .max_events_per_second(1, 2, RateLimitPolicy::Disconnect)
        .state(count.clone())
        .on("/", "work", counted)
        .on_disconnect("/", move |why: DisconnectReason| {
            let seen = seen.clone();
            async move {
                *seen.lock().unwrap() = Some(why);
            }
        })
        .namespace("/other")
        .build()
        .unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let other = client.connect_to("/other", None).await.unwrap();
    for _ in 0..5 {
        let _ = client.emit("work", &()).await;
    }
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert!(!client.is_connected(), "the socket was disconnected");
    assert_eq!(
        *reason.lock().unwrap(),
        Some(DisconnectReason::ServerDisconnect)
    );
    assert!(
        other.is_connected(),
        "the connection and its other namespaces stay"
    );
}

#[test]
fn a_rate_or_burst_of_zero_is_a_build_error() {
    let built = SocketIo::builder()
        .max_events_per_second(0, 5, RateLimitPolicy::Drop)
        .build();
    assert!(built.is_err());
}

#[tokio::test]
async fn max_namespaces_per_connection_refuses_one_more_connect() {
    let io = SocketIo::builder()
        .max_namespaces_per_connection(2)
        .namespace("/a")
        .namespace("/b")
        .build()
        .unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let a = client.connect_to("/a", None).await.unwrap();
    match client.connect_to("/b", None).await {
        Err(TestError::Refused { message, data }) => {
            assert_eq!(message, "Too many namespaces on this connection");
            assert_eq!(data, None);
        }
        other => panic!("expected CONNECT_ERROR, got {other:?}"),
    }
    assert!(
        client.is_connected() && a.is_connected(),
        "the connection stays"
    );
    a.disconnect().await;
    client
        .connect_to("/b", None)
        .await
        .expect("a namespace left frees its place");
}

async fn try_join(socket: Socket, Data(room): Data<String>) -> Result<(), String> {
    socket.try_join(&room).map_err(|e| {
        assert_eq!(e, JoinError::TooManyRooms { limit: 2 });
        e.to_string()
    })
}

async fn join(socket: Socket, Data(room): Data<String>) -> Vec<String> {
    socket.join(&room);
    socket.rooms()[1..].to_vec()
}

async fn leave(socket: Socket, Data(room): Data<String>) {
    socket.leave(&room);
}

async fn join_error(error: Error) -> String {
    error.source_error().to_string()
}

#[tokio::test]
async fn max_rooms_per_socket_refuses_a_join() {
    let io = SocketIo::builder()
        .max_rooms_per_socket(2)
        .on("/", "try_join", try_join)
        .on("/", "join", join)
        .on("/", "leave", leave)
        .on_error("/", join_error)
        .build()
        .unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    let ack = |room: &'static str| {
        let client = client.clone();
        async move {
            let answer = client.emit_with_ack("try_join", room).await.unwrap();
            answer.deserialize::<Option<String>>().ok().flatten()
        }
    };
    assert_eq!(ack("a").await, None);
    assert_eq!(ack("b").await, None);
    assert_eq!(
        ack("c").await.as_deref(),
        Some("the socket is in 2 rooms already (max_rooms_per_socket)")
    );
    assert_eq!(ack("a").await, None, "a room it is in already");

    let rooms = client.emit_with_ack("join", "c").await.unwrap();
    assert_eq!(
        rooms.deserialize::<Vec<String>>().unwrap(),
        ["a", "b"],
        "join leaves the socket out"
    );
    client.emit("leave", "a").await.unwrap();
    let rooms = client.emit_with_ack("join", "c").await.unwrap();
    assert_eq!(rooms.deserialize::<Vec<String>>().unwrap(), ["b", "c"]);
}
