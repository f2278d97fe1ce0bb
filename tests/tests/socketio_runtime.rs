//! Behaviour of the Socket.IO runtime seen from a raw WebSocket client: rooms, broadcasts,
//! acknowledgements with timeouts, disconnections, connect timeout, handler failures (panic,
//! extractor rejection), several namespaces on one connection, the connect handler (emits,
//! refusal), `State<T>` and the catch-all handler.
//!
//! Server-side actions are driven from the test through the [`SocketIo`](socketio::SocketIo)
//! handle and the [`Socket`] handles it returns, or from handlers registered on the builder.
//! "Nothing else arrived" is always proven by ordering, never by waiting: a client sends `echo`
//! after the action, and the echo must be the very next message.

use std::future::IntoFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use socketio::{AckError, Auth, ConnectError, Data, Socket, SocketIo, State};
use tests::logs;
use tests::panics::DELIBERATE;
use tests::server::Server;
use tests::sio::{self, standard, start_with_canary, Rec};
use tests::wait::{eventually, WAIT};
use tests::ws::{connect_sid, nsp, Client, Msg};

fn rec() -> Rec {
    Rec::default()
}

/// The ack id of a server EVENT frame `42[/ns,]<id>[...]`.
fn ack_id_of(frame: &str, namespace: &str) -> u64 {
    let rest = frame
        .strip_prefix(&format!("42{}", nsp(namespace)))
        .unwrap_or_else(|| panic!("not an event on {namespace}: {frame}"));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no ack id in {frame}"))
}

/// A late-bound handle to the server, for handlers that broadcast through `io`.
#[derive(Clone, Default)]
struct IoCell(Arc<OnceLock<SocketIo>>);

impl IoCell {
    fn io(&self) -> &SocketIo {
        self.0.get().expect("the server handle was set")
    }
}

// ---------------------------------------------------------------------------------------------
// Rooms and broadcasts
// ---------------------------------------------------------------------------------------------

/// Every socket is in a room named by its id (first in `rooms()`), and addressing that room
/// reaches that socket only.
#[tokio::test]
async fn every_socket_is_in_its_own_room() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let (mut a, a_sid) = Client::connected(srv.addr, "/").await;
    let (mut b, b_sid) = Client::connected(srv.addr, "/").await;
    let socket = srv.socket(&a_sid);
    assert_eq!(socket.rooms(), [a_sid.as_str()]);
    assert_eq!(srv.io.rooms(a_sid.parse().unwrap()), [a_sid.as_str()]);
    srv.io.to(a_sid.clone()).try_emit("only", "for a").unwrap();
    assert_eq!(a.text().await, r#"42["only","for a"]"#);
    b.assert_echo("/", "b-got-nothing").await;
    // A socket can address another one by id; `to` leaves the sender out even then.
    srv.socket(&b_sid)
        .to(a_sid.clone())
        .try_emit("from-b", &1)
        .unwrap();
    assert_eq!(a.text().await, r#"42["from-b",1]"#);
    b.assert_echo("/", "b-still-nothing").await;
    a.close().await;
    b.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// `join`/`leave` (from the server API and from a handler), `rooms()`, `close_room`, and
/// broadcasts to a room reaching exactly its members.
#[tokio::test]
async fn rooms_join_leave_and_close_room() {
    let rec = rec();
    let builder = standard(&rec)
        .on(
            "/",
            "join",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.join(room);
                socket.rooms()
            },
        )
        .on(
            "/",
            "leave",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.leave(room);
                socket.rooms()
            },
        );
    let (srv, mut canary, base) = start_with_canary(builder).await;
    let (mut a, a_sid) = Client::connected(srv.addr, "/").await;
    let (mut b, b_sid) = Client::connected(srv.addr, "/").await;

    // A joins "r1" and "r2" through a handler; the ack lists its rooms, own room first.
    a.send(r#"421["join","r1"]"#).await;
    assert_eq!(a.text().await, format!(r#"431[["{a_sid}","r1"]]"#));
    a.send(r#"422["join","r2"]"#).await;
    assert_eq!(a.text().await, format!(r#"432[["{a_sid}","r1","r2"]]"#));
    // B joins "r1" through the server API.
    srv.socket(&b_sid).join("r1");
    assert_eq!(srv.socket(&b_sid).rooms(), [b_sid.clone(), "r1".to_owned()]);

    srv.io.to("r1").try_emit("m", "r1-both").unwrap();
    assert_eq!(a.text().await, r#"42["m","r1-both"]"#);
    assert_eq!(b.text().await, r#"42["m","r1-both"]"#);
    srv.io.to("r2").try_emit("m", "r2-only-a").unwrap();
    assert_eq!(a.text().await, r#"42["m","r2-only-a"]"#);
    b.assert_echo("/", "b-not-in-r2").await;
    // Several `to` make a union, sent once per socket.
    srv.io.to("r1").to("r2").try_emit("m", "union").unwrap();
    assert_eq!(a.text().await, r#"42["m","union"]"#);
    assert_eq!(b.text().await, r#"42["m","union"]"#);
    a.assert_echo("/", "a-once").await;
    // `except` leaves a room's members out.
    srv.io.except("r2").try_emit("m", "not-r2").unwrap();
    assert_eq!(b.text().await, r#"42["m","not-r2"]"#);
    a.assert_echo("/", "a-excepted").await;

    // A leaves "r1" through a handler.
    a.send(r#"423["leave","r1"]"#).await;
    assert_eq!(a.text().await, format!(r#"433[["{a_sid}","r2"]]"#));
    srv.io.to("r1").try_emit("m", "r1-after-leave").unwrap();
    assert_eq!(b.text().await, r#"42["m","r1-after-leave"]"#);
    a.assert_echo("/", "a-left-r1").await;

    // close_room empties "r1" and "r2".
    srv.io.close_room("/", "r1");
    srv.io.close_room("/", "r2");
    assert_eq!(srv.socket(&a_sid).rooms(), [a_sid.as_str()]);
    assert_eq!(srv.socket(&b_sid).rooms(), [b_sid.as_str()]);
    srv.io.to("r1").to("r2").try_emit("m", "closed").unwrap();
    a.assert_echo("/", "a-room-closed").await;
    b.assert_echo("/", "b-room-closed").await;
    // Rooms are left on disconnect.
    srv.socket(&b_sid).join("r3");
    b.close().await;
    srv.io.to("r3").try_emit("m", "gone").unwrap();
    eventually_no_socket(&srv, &b_sid).await;
    a.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

async fn eventually_no_socket(srv: &Server, sid: &str) {
    let sid = sid.parse().unwrap();
    eventually(WAIT, "socket gone", || srv.io.socket(sid).is_none()).await;
}

/// Broadcasts from a handler: `socket.to(room)` excludes the sender, `io.to(room)` includes
/// it, `socket.broadcast()` reaches everyone else in the namespace.
#[tokio::test]
async fn broadcast_to_room_including_and_excluding_sender() {
    let rec = rec();
    let cell = IoCell::default();
    let builder = standard(&rec)
        .state(cell.clone())
        .on(
            "/",
            "join",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.join(room);
            },
        )
        .on(
            "/",
            "to-room",
            |socket: Socket, Data(text): Data<String>| async move {
                socket.to("room").emit("room", &text)
            },
        )
        .on(
            "/",
            "io-to-room",
            |State(cell): State<IoCell>, Data(text): Data<String>| async move {
                cell.io().to("room").emit("room", &text)
            },
        )
        .on(
            "/",
            "others",
            |socket: Socket, Data(text): Data<String>| async move {
                socket.broadcast().emit("others", &text)
            },
        );
    let (srv, mut canary, base) = start_with_canary(builder).await;
    assert!(cell.0.set(srv.io.clone()).is_ok());
    let (mut a, _) = Client::connected(srv.addr, "/").await;
    let (mut b, _) = Client::connected(srv.addr, "/").await;
    let (mut c, _) = Client::connected(srv.addr, "/").await;
    // A and B in "room"; the acks (empty) prove the joins are done.
    a.send(r#"421["join","room"]"#).await;
    assert_eq!(a.text().await, "431[]");
    b.send(r#"421["join","room"]"#).await;
    assert_eq!(b.text().await, "431[]");

    a.send(r#"422["to-room","x"]"#).await;
    assert_eq!(a.text().await, "432[]"); // the ack only: no copy for the sender
    assert_eq!(b.text().await, r#"42["room","x"]"#);
    c.assert_echo("/", "c-not-in-room").await;

    a.send(r#"42["io-to-room","y"]"#).await;
    assert_eq!(a.text().await, r#"42["room","y"]"#);
    assert_eq!(b.text().await, r#"42["room","y"]"#);
    c.assert_echo("/", "c-still-not-in-room").await;

    a.send(r#"42["others","z"]"#).await;
    assert_eq!(b.text().await, r#"42["others","z"]"#);
    assert_eq!(c.text().await, r#"42["others","z"]"#);
    a.assert_echo("/", "a-excluded").await;
    for client in [a, b, c] {
        client.close().await;
    }
    srv.assert_healthy_at(&mut canary, base).await;
}

/// `io.emit` reaches every socket of `/` (the canary included) and no socket of another
/// namespace; `io.of(ns).emit` reaches that namespace only.
#[tokio::test]
async fn io_emit_reaches_all_sockets_of_the_namespace() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let (mut a, _) = Client::connected(srv.addr, "/").await;
    let (mut b, _) = Client::connected(srv.addr, "/").await;
    let (mut admin, _) = Client::connected(srv.addr, "/admin").await;
    srv.io.try_emit("news", &("all", 1)).unwrap();
    assert_eq!(a.text().await, r#"42["news","all",1]"#);
    assert_eq!(b.text().await, r#"42["news","all",1]"#);
    admin.assert_echo("/admin", "admin-not-in-root").await;
    srv.io.of("/admin").try_emit("news", "admins").unwrap();
    assert_eq!(admin.text().await, r#"42/admin,["news","admins"]"#);
    a.assert_echo("/", "root-not-in-admin").await;
    assert!(matches!(
        srv.io.of("/nowhere").try_emit("news", "x"),
        Err(socketio::EmitError::UnknownNamespace(_))
    ));
    assert!(matches!(
        srv.io.try_emit("connect", "x"),
        Err(socketio::EmitError::ReservedEvent(_))
    ));
    for client in [a, b, admin] {
        client.close().await;
    }
    srv.assert_healthy_at(&mut canary, base).await;
}

// ---------------------------------------------------------------------------------------------
// Acknowledgements
// ---------------------------------------------------------------------------------------------

/// `emit_with_ack`: an answer resolves the future with the client's arguments; silence ends in
/// `AckError::Timeout` after the given timeout (or the server's `ack_timeout`), and the
/// pending-ack table is empty afterwards; a late ACK is ignored.
#[tokio::test]
async fn emit_with_ack_answered_timed_out_and_late() {
    let rec = rec();
    let builder = standard(&rec).ack_timeout(Duration::from_millis(250));
    let (srv, mut canary, base) = start_with_canary(builder).await;
    let (mut client, sid) = Client::connected(srv.addr, "/").await;
    client.join("/admin").await;
    let socket = srv.socket(&sid);

    // Answered.
    let waiting = tokio::spawn(
        socket
            .emit_with_ack("question", &("6 x 7?", 1))
            .timeout(WAIT)
            .into_future(),
    );
    let frame = client.text().await;
    let id = ack_id_of(&frame, "/");
    assert_eq!(frame, format!(r#"42{id}["question","6 x 7?",1]"#));
    eventually(WAIT, "one pending ack", || socket.pending_acks() == 1).await;
    client.send(&format!(r#"43{id}[42,"forty-two"]"#)).await;
    let args = waiting.await.unwrap().expect("answered");
    assert_eq!(
        args.deserialize::<(u32, String)>().unwrap(),
        (42, "forty-two".to_owned())
    );
    assert_eq!(socket.pending_acks(), 0);

    // An ACK on another namespace with the same id does not answer this socket.
    let waiting = tokio::spawn(
        socket
            .emit_with_ack("question", "again")
            .timeout(WAIT)
            .into_future(),
    );
    let id = ack_id_of(&client.text().await, "/");
    client
        .send(&format!(r#"43/admin,{id}["wrong namespace"]"#))
        .await;
    client.assert_echo("/admin", "after-wrong-ns-ack").await;
    assert_eq!(socket.pending_acks(), 1);
    client.send(&format!(r#"43{id}["right"]"#)).await;
    let args = waiting.await.unwrap().expect("answered");
    assert_eq!(args.deserialize::<String>().unwrap(), "right");

    // Silent, with an explicit timeout.
    let started = Instant::now();
    let outcome = tokio::spawn(
        socket
            .emit_with_ack("question", "silence")
            .timeout(Duration::from_millis(150))
            .into_future(),
    );
    let late_id = ack_id_of(&client.text().await, "/");
    let outcome = outcome.await.unwrap();
    assert!(matches!(outcome, Err(AckError::Timeout)), "{outcome:?}");
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        socket.pending_acks(),
        0,
        "the pending-ack table was not cleaned"
    );

    // Silent, with the server's `ack_timeout` (250 ms).
    let started = Instant::now();
    let outcome = tokio::spawn(socket.emit_with_ack("question", "default").into_future());
    client.text().await;
    let outcome = outcome.await.unwrap();
    assert!(matches!(outcome, Err(AckError::Timeout)), "{outcome:?}");
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(socket.pending_acks(), 0);

    // A dropped (never awaited) AckFuture leaves nothing behind either.
    drop(socket.emit_with_ack("question", "dropped"));
    client.text().await;
    assert_eq!(socket.pending_acks(), 0);

    // The late ACK is ignored; the socket still works.
    client.send(&format!(r#"43{late_id}["too late"]"#)).await;
    client.assert_echo("/", "after-late-ack").await;
    assert!(socket.connected());
    assert_eq!(socket.pending_acks(), 0);

    // A disconnect fails the waiters.
    let outcome = tokio::spawn(
        socket
            .emit_with_ack("question", "bye")
            .timeout(WAIT)
            .into_future(),
    );
    client.text().await;
    client.send("41").await;
    let outcome = outcome.await.unwrap();
    assert!(
        matches!(outcome, Err(AckError::Disconnected)),
        "{outcome:?}"
    );
    assert!(matches!(
        socket.emit_with_ack("question", "after").await,
        Err(AckError::Emit(socketio::EmitError::Disconnected))
    ));
    assert_eq!(socket.pending_acks(), 0);
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

// ---------------------------------------------------------------------------------------------
// Disconnections and the connect timeout
// ---------------------------------------------------------------------------------------------

/// A server-side disconnect sends `41` (to that namespace only), runs the disconnect handler
/// with "server disconnect", and leaves the connection and its other namespaces up.
#[tokio::test]
async fn server_disconnect_sends_41_and_runs_the_handler() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let mut client = Client::open(srv.addr).await;
    let root = client.join("/").await;
    let admin = client.join("/admin").await;
    let socket = srv.socket(&root);
    socket.disconnect();
    assert_eq!(client.text().await, "41");
    let reason = rec.wait_disconnect(&root).await;
    assert_eq!(reason.as_str(), "server disconnect");
    assert!(!socket.connected());
    assert!(matches!(
        socket.try_emit("x", "y"),
        Err(socketio::EmitError::Disconnected)
    ));
    // Only once, even when asked again.
    socket.disconnect();
    srv.io.disconnect(root.parse().unwrap());
    client.assert_echo("/admin", "admin-still-up").await;
    assert!(srv.alive(&client.eio_sid));
    assert_eq!(rec.disconnects_of(&root).len(), 1);
    assert!(rec.disconnects_of(&admin).is_empty());

    // Through the server handle, on `/admin`: `41/admin,`.
    srv.io.disconnect(admin.parse().unwrap());
    assert_eq!(client.text().await, "41/admin,");
    assert_eq!(
        rec.wait_disconnect(&admin).await.as_str(),
        "server disconnect"
    );
    assert!(srv.alive(&client.eio_sid));
    // A connection with no namespace left is still a connection: it can join again.
    client.join("/").await;
    client.assert_echo("/", "rejoined").await;
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// A client `41/ns,` leaves only that namespace; the others and the connection stay.
#[tokio::test]
async fn client_disconnect_leaves_only_that_namespace() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let mut client = Client::open(srv.addr).await;
    let root = client.join("/").await;
    let admin = client.join("/admin").await;
    srv.socket(&admin).join("admins");
    client.send("41/admin,").await;
    assert_eq!(
        rec.wait_disconnect(&admin).await.as_str(),
        "client disconnect"
    );
    assert!(srv.io.sockets("/admin").is_empty());
    assert!(srv.io.of("/admin").to("admins").sockets().is_empty());
    client.assert_echo("/", "root-still-up").await;
    assert!(rec.disconnects_of(&root).is_empty());
    assert!(srv.alive(&client.eio_sid));
    // A DISCONNECT for a namespace not joined is ignored.
    client.send("41/admin,").await;
    client.send("41/bare,").await;
    client.assert_echo("/", "still-up").await;
    assert_eq!(rec.disconnects_of(&admin).len(), 1);
    // Closing the connection disconnects what is left, with the transport's reason.
    client.close().await;
    assert_eq!(rec.wait_disconnect(&root).await.as_str(), "transport close");
    srv.assert_healthy_at(&mut canary, base).await;
}

/// `connect_timeout`: a connection that joins no namespace within it is closed; one that
/// joined, even if it left again, is not.
#[tokio::test]
async fn connect_timeout_closes_connections_without_namespace() {
    let rec = rec();
    let timeout = Duration::from_millis(300);
    let (srv, mut canary, base) = start_with_canary(standard(&rec).connect_timeout(timeout)).await;
    let started = Instant::now();
    let mut idle = Client::open(srv.addr).await;
    let (mut joined, root) = Client::connected(srv.addr, "/").await;
    joined.send("41").await;
    rec.wait_disconnect(&root).await;
    assert_eq!(idle.closed().await, Some(1000));
    assert!(started.elapsed() >= timeout);
    srv.wait_gone(&idle.eio_sid).await;
    // `joined` outlived the timeout: it can still join and echo.
    joined.join("/admin").await;
    joined.assert_echo("/admin", "outlived").await;
    assert!(started.elapsed() >= timeout);
    joined.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

// ---------------------------------------------------------------------------------------------
// Handler failures
// ---------------------------------------------------------------------------------------------

async fn boom(_: Socket) {
    panic!("{DELIBERATE}: boom");
}

async fn boom_later(_: Socket) {
    tokio::task::yield_now().await;
    panic!("{DELIBERATE}: boom later");
}

/// A handler that panics (before or after an await) is reported and does not take the
/// connection down: the next event on the same socket is handled.
#[tokio::test]
async fn panicking_handler_does_not_take_the_connection_down() {
    let rec = rec();
    let builder = standard(&rec)
        .on("/", "boom", boom)
        .on("/", "boom-later", boom_later);
    let (srv, mut canary, base) = start_with_canary(builder).await;
    let (mut client, sid) = Client::connected(srv.addr, "/").await;
    client.send(r#"421["boom"]"#).await;
    client.assert_echo("/", "after-boom").await;
    client.send(r#"422["boom-later"]"#).await;
    client.assert_echo("/", "after-boom-later").await;
    eventually(WAIT, "two deliberate panics", || {
        srv.deliberate_panics() == 2
    })
    .await;
    logs::wait_line(&["handler panicked", &sid, "boom later"]).await;
    logs::wait_line(&["handler panicked", &sid, r#"event="boom""#]).await;
    assert!(srv.socket(&sid).connected());
    // No ack was sent for the panicking handlers.
    client.send(r#"423["echo","acked"]"#).await;
    assert_eq!(client.text().await, r#"42["echo","acked"]"#);
    assert_eq!(client.text().await, r#"433["acked"]"#);
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// An extractor rejection (`Data<u32>` given a string) sends no ack, is logged with the event
/// and socket, and leaves the connection up; a good payload is then answered.
#[tokio::test]
async fn extractor_rejection_sends_no_ack_and_keeps_the_connection() {
    let rec = rec();
    let builder = standard(&rec).on("/", "inc", |Data(n): Data<u32>| async move { n + 1 });
    let (srv, mut canary, base) = start_with_canary(builder).await;
    let (mut client, sid) = Client::connected(srv.addr, "/").await;
    client.send(r#"421["inc","abc"]"#).await;
    client.assert_echo("/", "no-ack-for-rejection").await;
    let line = logs::wait_line(&["extractor rejected the packet", &sid]).await;
    assert!(line.contains(r#"event="inc""#), "{line}");
    assert!(line.contains("u32"), "{line}");
    client.send(r#"422["inc",41]"#).await;
    assert_eq!(client.text().await, "432[42]");
    assert!(srv.alive(&client.eio_sid));
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

// ---------------------------------------------------------------------------------------------
// Namespaces and the connect handler
// ---------------------------------------------------------------------------------------------

/// One connection joins several namespaces: each has its own socket id, its own handlers and
/// its own broadcasts.
#[tokio::test]
async fn several_namespaces_on_one_connection() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let mut client = Client::open(srv.addr).await;
    let root = client.join("/").await;
    let admin = client.join("/admin").await;
    let bare = client.join("/bare").await;
    assert!(root != admin && admin != bare && root != bare);
    assert!(![&root, &admin, &bare].contains(&&client.eio_sid));
    assert_eq!(srv.socket(&admin).namespace(), "/admin");
    assert!(srv
        .io
        .sockets("/admin")
        .iter()
        .any(|s| s.id().as_str() == admin));
    client.assert_echo("/", "root").await;
    client.assert_echo("/admin", "admin").await;
    client.send(r#"42/admin,["only-admin",true]"#).await;
    let seen = rec.wait_event("only-admin").await;
    assert_eq!(
        (seen.namespace.as_str(), seen.sid.as_str()),
        ("/admin", admin.as_str())
    );
    // An ack on `/admin` is answered on `/admin`.
    client.send(r#"42/admin,7["echo","acked"]"#).await;
    assert_eq!(client.text().await, r#"42/admin,["echo","acked"]"#);
    assert_eq!(client.text().await, r#"43/admin,7["acked"]"#);
    srv.io.of("/bare").try_emit("hello", "bare").unwrap();
    assert_eq!(client.text().await, r#"42/bare,["hello","bare"]"#);
    client.close().await;
    for sid in [&root, &admin] {
        assert_eq!(rec.wait_disconnect(sid).await.as_str(), "transport close");
    }
    srv.assert_healthy_at(&mut canary, base).await;
}

/// What a connect handler emits arrives after the `40{"sid":...}` answer, also when the handler
/// awaits before or after emitting.
#[tokio::test]
async fn emit_from_connect_handler_arrives_after_the_connect_answer() {
    let rec = rec();
    let builder = standard(&rec).on_connect("/greet", |socket: Socket| async move {
        socket.emit("welcome", "first");
        tokio::task::yield_now().await;
        socket.emit("welcome", "second");
        tokio::time::sleep(Duration::from_millis(20)).await;
        socket.emit("welcome", "third");
    });
    let (srv, mut canary, base) = start_with_canary(builder).await;
    for _ in 0..5 {
        let mut client = Client::open(srv.addr).await;
        client.send("40/greet,").await;
        let answer = client.text().await;
        let sid = connect_sid(&answer, "/greet")
            .unwrap_or_else(|| panic!("the CONNECT answer must come first, got {answer}"));
        for which in ["first", "second", "third"] {
            assert_eq!(
                client.text().await,
                format!(r#"42/greet,["welcome","{which}"]"#)
            );
        }
        assert!(srv.io.socket(sid.parse().unwrap()).is_some());
        client.close().await;
    }
    srv.assert_healthy_at(&mut canary, base).await;
}

type Token = std::collections::HashMap<String, String>;

/// A refused connect answers `44/ns,{"message":...,"data":...}`; the engine connection stays
/// open and the refused socket exists nowhere. A malformed auth payload is refused too.
#[tokio::test]
async fn refused_connect_sends_connect_error_and_keeps_the_connection() {
    let rec = rec();
    let builder =
        standard(&rec).on_connect("/private", |Auth(auth): Auth<Option<Token>>| async move {
            if auth
                .as_ref()
                .and_then(|a| a.get("token"))
                .map(String::as_str)
                == Some("secret")
            {
                Ok(())
            } else {
                Err(ConnectError::new("not allowed").data(serde_json::json!({"code": 401})))
            }
        });
    let (srv, mut canary, base) = start_with_canary(builder).await;
    let mut client = Client::open(srv.addr).await;
    client.send(r#"40/private,{"token":"guess"}"#).await;
    assert_eq!(
        client.text().await,
        r#"44/private,{"message":"not allowed","data":{"code":401}}"#
    );
    assert!(srv.io.sockets("/private").is_empty());
    assert!(srv.alive(&client.eio_sid));
    // No auth at all reads as `None` (Flask's): refused by the handler.
    client.send("40/private,").await;
    assert_eq!(
        client.text().await,
        r#"44/private,{"message":"not allowed","data":{"code":401}}"#
    );
    // Auth that does not match the extractor's type: refused with its message, no data.
    client.send(r#"40/private,{"token":1}"#).await;
    let refusal = client.text().await;
    assert!(
        refusal.starts_with(r#"44/private,{"message":"#),
        "{refusal}"
    );
    assert!(!refusal.contains("\"data\""), "{refusal}");
    // The connection stays open: other namespaces, and the right token, work.
    client.join("/").await;
    client.assert_echo("/", "after-refusal").await;
    client.send(r#"40/private,{"token":"secret"}"#).await;
    let sid = connect_sid(&client.text().await, "/private").expect("accepted");
    assert_eq!(srv.io.sockets("/private").len(), 1);
    assert_eq!(srv.io.sockets("/private")[0].id().as_str(), sid);
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

// ---------------------------------------------------------------------------------------------
// Extractors and the catch-all
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

#[derive(Clone)]
struct NeverGiven;

/// `State<T>` hands every handler the value given to the builder (shared through its `Arc`);
/// asking for a type that was never given is an extractor rejection.
#[tokio::test]
async fn state_extractor_shares_application_state() {
    let rec = rec();
    let counter = Counter::default();
    let builder = standard(&rec)
        .state(counter.clone())
        .on("/", "count", |State(c): State<Counter>| async move {
            c.0.fetch_add(1, Ordering::SeqCst) + 1
        })
        .on("/", "missing", |State(_): State<NeverGiven>| async move {
            "unreachable"
        });
    let (srv, mut canary, base) = start_with_canary(builder).await;
    let (mut a, _) = Client::connected(srv.addr, "/").await;
    let (mut b, b_sid) = Client::connected(srv.addr, "/").await;
    a.send(r#"421["count"]"#).await;
    assert_eq!(a.text().await, "431[1]");
    b.send(r#"421["count"]"#).await;
    assert_eq!(b.text().await, "431[2]");
    assert_eq!(counter.0.load(Ordering::SeqCst), 2);
    b.send(r#"422["missing"]"#).await;
    b.assert_echo("/", "no-state").await;
    logs::wait_line(&["extractor rejected the packet", &b_sid, "no state of type"]).await;
    a.close().await;
    b.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

/// The catch-all (`on_any`) receives the events that have no handler of their own, with their
/// name and raw arguments; events with a handler do not reach it.
#[tokio::test]
async fn catch_all_receives_unknown_events() {
    let rec = rec();
    let (srv, mut canary, base) = start_with_canary(standard(&rec)).await;
    let (mut client, sid) = Client::connected(srv.addr, "/").await;
    client.send(r#"42["whatever",1,{"a":[2,"3"]},null]"#).await;
    client.send(r#"42["caf\u00e9"]"#).await;
    client.assert_echo("/", "handled-elsewhere").await;
    let seen = rec.wait_event("whatever").await;
    assert_eq!(seen.sid.as_str(), sid);
    assert_eq!(seen.args, ["1", r#"{"a":[2,"3"]}"#, "null"]);
    assert_eq!(rec.wait_event("café").await.args, Vec::<String>::new());
    assert!(
        rec.events_named("echo").is_empty(),
        "echo has its own handler"
    );
    // A binary event with its attachment.
    client
        .send(r#"451-["with-bytes",{"_placeholder":true,"num":0}]"#)
        .await;
    assert!(client.try_send_binary(&[9, 8, 7]).await);
    let seen = rec.wait_event("with-bytes").await;
    assert_eq!(seen.attachments, [vec![9u8, 8, 7]]);
    // The echo handler sends binary back as binary.
    client
        .send(r#"451-["echo",{"_placeholder":true,"num":0}]"#)
        .await;
    assert!(client.try_send_binary(&[1, 2, 3]).await);
    assert_eq!(
        client.next().await,
        Some(Msg::Text(
            r#"451-["echo",{"_placeholder":true,"num":0}]"#.to_owned()
        ))
    );
    assert_eq!(client.next().await, Some(Msg::Binary(vec![1, 2, 3])));
    client.close().await;
    srv.assert_healthy_at(&mut canary, base).await;
}

// ---------------------------------------------------------------------------------------------
// Packets and closes racing a connect handler that waits
// ---------------------------------------------------------------------------------------------

/// Holds connect handlers of `/slow` until the test opens it.
#[derive(Clone)]
struct Gate {
    permits: Arc<tokio::sync::Semaphore>,
    entered: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            permits: Arc::new(tokio::sync::Semaphore::new(0)),
            entered: Arc::default(),
            finished: Arc::default(),
        }
    }
}

impl Gate {
    fn open(&self) {
        self.permits.add_permits(1);
    }
}

/// `/slow`: the connect handler joins `slow-room`, waits for the gate, then accepts when the
/// auth payload says `{"ok":true}`.
async fn slow_connect(
    State(gate): State<Gate>,
    socket: Socket,
    Auth(auth): Auth<serde_json::Value>,
) -> Result<(), ConnectError> {
    socket.join("slow-room");
    gate.entered.fetch_add(1, Ordering::SeqCst);
    gate.permits.acquire().await.expect("gate").forget();
    gate.finished.fetch_add(1, Ordering::SeqCst);
    if auth["ok"] == true {
        Ok(())
    } else {
        Err(ConnectError::new("refused"))
    }
}

/// A server whose `/slow` namespace has the gated connect handler, an `act` handler that
/// records, and the recording disconnect handler; its adapter is shared with the test.
fn slow_server(
    rec: &Rec,
    gate: &Gate,
) -> (socketio::Builder, Arc<socketio::adapter::LocalAdapter>) {
    let adapter = Arc::new(socketio::adapter::LocalAdapter::new());
    let slow = adapter.clone();
    let builder = standard(rec)
        .state(gate.clone())
        .adapter(move |ns| -> Arc<dyn socketio::adapter::Adapter> {
            if ns == "/slow" {
                slow.clone()
            } else {
                Arc::new(socketio::adapter::LocalAdapter::new())
            }
        })
        .on_connect("/slow", slow_connect)
        .on("/slow", "act", sio::record_any)
        .on_disconnect("/slow", sio::record_disconnect);
    (builder, adapter)
}

/// Waits until the gated connect handler has run `n` times to completion.
async fn wait_finished(gate: &Gate, n: usize) {
    eventually(WAIT, "connect handlers finished", || {
        gate.finished.load(Ordering::SeqCst) == n
    })
    .await;
}

/// An EVENT for a namespace whose connect handler has not answered yet is a protocol violation
/// (as in Node, where the socket does not exist before its CONNECT is accepted): the connection
/// is closed and the event never reaches a handler — even though the connect is refused later.
#[tokio::test]
async fn event_while_connect_is_pending_closes_the_connection() {
    use socketio::adapter::Adapter as _;
    let rec = rec();
    let gate = Gate::default();
    let (builder, adapter) = slow_server(&rec, &gate);
    let (srv, mut canary, base) = start_with_canary(builder).await;
    let mut client = Client::open(srv.addr).await;
    client.send(r#"40/slow,{"ok":false}"#).await;
    eventually(WAIT, "connect handler entered", || {
        gate.entered.load(Ordering::SeqCst) == 1
    })
    .await;
    client.send(r#"42/slow,["act","sneaky"]"#).await;
    sio::assert_violation(&srv, &mut client, "not connected").await;
    gate.open();
    wait_finished(&gate, 1).await;
    assert!(
        rec.events_named("act").is_empty(),
        "an event ran before its connect was accepted"
    );
    assert!(srv.io.sockets("/slow").is_empty());
    assert!(adapter.members("slow-room").is_empty());
    srv.assert_healthy_at(&mut canary, base).await;
}

/// A client that leaves (`41/slow,`) while its connect handler waits: once the handler
/// accepts, no CONNECT answer is sent and no socket is left behind in the namespace or its
/// rooms; the disconnect handler does not run for a socket that was never connected.
#[tokio::test]
async fn leaving_while_connect_is_pending_leaves_no_socket_behind() {
    use socketio::adapter::Adapter as _;
    let rec = rec();
    let gate = Gate::default();
    let (builder, adapter) = slow_server(&rec, &gate);
    let (srv, mut canary, base) = start_with_canary(builder).await;
    let mut client = Client::open(srv.addr).await;
    client.join("/").await;
    client.send(r#"40/slow,{"ok":true}"#).await;
    eventually(WAIT, "connect handler entered", || {
        gate.entered.load(Ordering::SeqCst) == 1
    })
    .await;
    client.send("41/slow,").await;
    client.assert_echo("/", "left").await;
    gate.open();
    wait_finished(&gate, 1).await;
    // Nothing for `/slow` arrives: the next message is the echo.
    client.assert_echo("/", "no-connect-answer").await;
    assert!(
        srv.io.sockets("/slow").is_empty(),
        "a zombie socket in /slow"
    );
    assert!(
        adapter.members("slow-room").is_empty(),
        "a zombie room member"
    );
    assert!(rec
        .disconnects
        .lock()
        .unwrap()
        .iter()
        .all(|d| d.namespace != "/slow"));
    // `/slow` can be joined afresh.
    client.send(r#"40/slow,{"ok":true}"#).await;
    gate.open();
    let sid = connect_sid(&client.text().await, "/slow").expect("accepted");
    assert_eq!(srv.io.sockets("/slow").len(), 1);
    assert_eq!(adapter.members("slow-room").len(), 1);
    client.close().await;
    assert_eq!(rec.wait_disconnect(&sid).await.as_str(), "transport close");
    assert!(srv.io.sockets("/slow").is_empty());
    assert!(adapter.members("slow-room").is_empty());
    srv.assert_healthy_at(&mut canary, base).await;
}

/// The connection closes while a connect handler waits: when the handler then accepts, no
/// socket is left behind (namespace, rooms) and no disconnect handler runs for it.
#[tokio::test]
async fn closing_while_connect_is_pending_leaves_no_socket_behind() {
    use socketio::adapter::Adapter as _;
    let rec = rec();
    let gate = Gate::default();
    let (builder, adapter) = slow_server(&rec, &gate);
    let (srv, mut canary, base) = start_with_canary(builder).await;
    for _ in 0..3 {
        let mut client = Client::open(srv.addr).await;
        client.send(r#"40/slow,{"ok":true}"#).await;
        eventually(WAIT, "connect handler entered", || {
            gate.entered.load(Ordering::SeqCst) >= 1
        })
        .await;
        let eio_sid = client.eio_sid.clone();
        client.close().await;
        srv.wait_gone(&eio_sid).await;
        gate.entered.store(0, Ordering::SeqCst);
    }
    for _ in 0..3 {
        gate.open();
    }
    wait_finished(&gate, 3).await;
    eventually(WAIT, "no zombie socket in /slow", || {
        srv.io.sockets("/slow").is_empty()
    })
    .await;
    assert!(
        adapter.members("slow-room").is_empty(),
        "zombie room members"
    );
    assert!(rec
        .disconnects
        .lock()
        .unwrap()
        .iter()
        .all(|d| d.namespace != "/slow"));
    srv.assert_healthy_at(&mut canary, base).await;
}
