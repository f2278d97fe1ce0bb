//! The WebSocket client of the suite: well-formed WebSocket (tokio-tungstenite) carrying exact
//! Engine.IO and Socket.IO text, at whichever level a test works.
//!
//! * Engine.IO: [`Client::open`] opens a session (reads the open packet), [`Client::for_upgrade`]
//!   connects to an existing polling session; text and binary messages are sent as given
//!   ([`Client::send`], [`Client::try_send_binary`], ...) and read back as [`Msg`].
//! * Socket.IO frames, written exactly as they travel: every Socket.IO packet carries the
//!   Engine.IO `4` prefix, so the Socket.IO packet `2["x"]` is the text frame `42["x"]`.
//!   [`Client::join`] connects a namespace, [`Client::assert_echo`] proves by ordering that
//!   nothing else arrived, [`Client::closed`] reads the close code.
//! * Socket.IO packets, parsed: [`Client::recv`] returns a [`Packet`] (attachments put back),
//!   [`Client::call`] waits for an acknowledgement, and [`Client::answer_asks`] makes the client
//!   answer the `ask` events of the message-queue tests by itself.
//!
//! A background task reads the connection all the time: it answers the server's pings (`2` →
//! `3`) whether or not the test is reading, and queues everything else in arrival order, so
//! "nothing else arrived" is still proven by ordering. Dropping the client ends the task and the
//! connection.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::eio::{sid_of, websocket, W};
use crate::wait::WAIT;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Sink = Arc<Mutex<SplitSink<Ws, Message>>>;

/// A data message from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Text(String),
    Binary(Vec<u8>),
}

/// What the reader task hands over.
enum Incoming {
    Msg(Msg),
    /// A server ping, already answered.
    Ping,
    /// The connection ended: the code of the server's close frame, `None` without one.
    End(Option<u16>),
}

/// A received Socket.IO packet of namespace `/`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    /// EVENT or BINARY_EVENT (attachments in order).
    Event {
        name: String,
        args: Vec<Value>,
        ack: Option<u64>,
        attachments: Vec<Vec<u8>>,
    },
    /// ACK.
    Ack { id: u64, args: Vec<Value> },
    /// DISCONNECT of `/`.
    Disconnect,
    /// The connection closed.
    Closed,
}

impl Packet {
    /// The event name, or panics.
    pub fn name(&self) -> &str {
        match self {
            Packet::Event { name, .. } => name,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// The first argument, or panics.
    pub fn arg(&self) -> &Value {
        match self {
            Packet::Event { args, .. } => &args[0],
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

/// The `<namespace>,` part of a packet (empty for `/`).
pub fn nsp(namespace: &str) -> String {
    if namespace == "/" {
        String::new()
    } else {
        format!("{namespace},")
    }
}

/// The WebSocket text frame of an EVENT: `42[/ns,][id]<array>`.
pub fn event_frame(namespace: &str, id: Option<u64>, array: &str) -> String {
    let id = id.map(|id| id.to_string()).unwrap_or_default();
    format!("42{}{id}{array}", nsp(namespace))
}

/// The sid in a CONNECT answer `40[/ns,]{"sid":...}` for `namespace`, `None` if `frame` is not
/// one.
pub fn connect_sid(frame: &str, namespace: &str) -> Option<String> {
    let json = frame.strip_prefix(&format!("40{}", nsp(namespace)))?;
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let object = value.as_object()?;
    (object.len() == 1)
        .then(|| object.get("sid")?.as_str().map(str::to_owned))
        .flatten()
}

/// A WebSocket client speaking exact Engine.IO/Socket.IO frames (see the module docs).
pub struct Client {
    /// The Engine.IO session id.
    pub eio_sid: String,
    /// The socket id of the namespace joined last (empty before any).
    pub sid: String,
    sink: Sink,
    inbox: mpsc::UnboundedReceiver<Incoming>,
    reader: JoinHandle<()>,
    asks: Arc<AtomicBool>,
    wait: Duration,
    /// Set once the connection ended: the close code (`None`: no close frame).
    ended: Option<Option<u16>>,
    next_ack: u64,
    /// Packets [`Client::call`] read past while waiting for its ACK.
    pending: VecDeque<Packet>,
    /// A binary packet waiting for attachments, and how many it has in all.
    partial: Option<(Packet, usize)>,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Client {
    /// Performs the WebSocket handshake for `target`.
    async fn handshake(addr: SocketAddr, target: &str) -> Client {
        let (ws, _) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::connect_async(format!("ws://{addr}{target}")),
        )
        .await
        .expect("websocket handshake in time")
        .expect("websocket handshake");
        let (sink, stream) = ws.split();
        let sink: Sink = Arc::new(Mutex::new(sink));
        let (deliver, inbox) = mpsc::unbounded_channel();
        let asks = Arc::new(AtomicBool::new(false));
        let reader = tokio::spawn(read(stream, sink.clone(), deliver, asks.clone()));
        Client {
            eio_sid: String::new(),
            sid: String::new(),
            sink,
            inbox,
            reader,
            asks,
            wait: WAIT,
            ended: None,
            next_ack: 1,
            pending: VecDeque::new(),
            partial: None,
        }
    }

    /// Opens a WebSocket Engine.IO session (reads the open packet).
    pub async fn open(addr: SocketAddr) -> Client {
        let mut client = Client::handshake(addr, W).await;
        let open = client.text().await;
        client.eio_sid = sid_of(&open);
        client
    }

    /// Opens a WebSocket Engine.IO session whose handshake URL also carries `query`
    /// (`key=value&...`).
    pub async fn open_with_query(addr: SocketAddr, query: &str) -> Client {
        let mut client = Client::handshake(addr, &format!("{W}&{query}")).await;
        let open = client.text().await;
        client.eio_sid = sid_of(&open);
        client
    }

    /// Connects a WebSocket to the existing session `sid` (before the probe of an upgrade).
    pub async fn for_upgrade(addr: SocketAddr, sid: &str) -> Client {
        let mut client = Client::handshake(addr, &websocket(sid)).await;
        client.eio_sid = sid.to_owned();
        client
    }

    /// Opens a session and joins `namespace`; returns the client and the namespace socket id.
    pub async fn connected(addr: SocketAddr, namespace: &str) -> (Client, String) {
        let mut client = Client::open(addr).await;
        let sid = client.join(namespace).await;
        (client, sid)
    }

    /// How long this client waits for the server ([`WAIT`] unless set otherwise).
    pub fn with_wait(mut self, wait: Duration) -> Client {
        self.wait = wait;
        self
    }

    /// From now on, events named `ask` that want an acknowledgement are answered by the reader
    /// task, at once, with `["pong", <first arg>]` (the message-queue tests; text packets of
    /// `/` only).
    pub fn answer_asks(&self) {
        self.asks.store(true, Ordering::Relaxed);
    }

    // -----------------------------------------------------------------------------------------
    // Engine.IO level
    // -----------------------------------------------------------------------------------------

    /// Sends a text frame (it must go out: the connection is expected to be open).
    pub async fn send(&mut self, text: &str) {
        self.sink
            .lock()
            .await
            .send(Message::text(text.to_owned()))
            .await
            .expect("websocket send");
    }

    /// Sends a text frame, ignoring failure (the server may already have closed).
    pub async fn try_send(&mut self, text: &str) -> bool {
        self.try_send_message(Message::text(text.to_owned())).await
    }

    /// Sends a binary frame, ignoring failure (the server may already have closed).
    pub async fn try_send_binary(&mut self, data: &[u8]) -> bool {
        self.try_send_message(Message::binary(data.to_vec())).await
    }

    /// Sends any WebSocket message, ignoring failure; `true` if it went out.
    pub async fn try_send_message(&mut self, message: Message) -> bool {
        self.sink.lock().await.send(message).await.is_ok()
    }

    /// The next data message within `wait` (pings are answered on the way): `Ok(None)` when the
    /// connection ended, `Err(())` on timeout.
    pub async fn next_within(&mut self, wait: Duration) -> Result<Option<Msg>, ()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if self.ended.is_some() {
                return Ok(None);
            }
            let incoming = tokio::time::timeout_at(deadline, self.inbox.recv())
                .await
                .map_err(|_| ())?;
            match incoming {
                Some(Incoming::Msg(msg)) => return Ok(Some(msg)),
                Some(Incoming::Ping) => {}
                Some(Incoming::End(code)) => self.ended = Some(code),
                None => self.ended = Some(None),
            }
        }
    }

    /// The next data message within the client's wait (`None`: the connection ended).
    pub async fn next(&mut self) -> Option<Msg> {
        let wait = self.wait;
        self.next_within(wait)
            .await
            .unwrap_or_else(|_| panic!("no message within {wait:?}"))
    }

    /// The next message, which must be text.
    pub async fn text(&mut self) -> String {
        match self.next().await {
            Some(Msg::Text(t)) => t,
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    /// The next text message, skipping binary ones; `None` when the connection ended.
    pub async fn next_text(&mut self) -> Option<String> {
        loop {
            match self.next().await? {
                Msg::Text(t) => return Some(t),
                Msg::Binary(_) => {}
            }
        }
    }

    /// How the connection ended: `None` while it has not (as far as read), else the code of the
    /// server's close frame (`Some(None)`: it ended without one).
    pub fn ending(&self) -> Option<Option<u16>> {
        self.ended
    }

    /// Reads until the server closes the connection; returns the close code it sent (`None`: no
    /// close frame). Data messages meanwhile are skipped. Fails the test after the client's
    /// wait.
    pub async fn closed(&mut self) -> Option<u16> {
        let wait = self.wait;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(code) = self.ended {
                return code;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if self.next_within(left).await.is_err() {
                panic!("the server did not close within {wait:?}");
            }
        }
    }

    /// Stays idle until the server has sent `count` pings (each answered); fails if anything else
    /// arrives or the connection ends.
    pub async fn idle_pings(&mut self, count: usize) {
        let wait = self.wait;
        let deadline = tokio::time::Instant::now() + wait;
        let mut pings = 0;
        while pings < count {
            let incoming = tokio::time::timeout_at(deadline, self.inbox.recv())
                .await
                .unwrap_or_else(|_| panic!("only {pings} pings within {wait:?}"));
            match incoming {
                Some(Incoming::Ping) => pings += 1,
                Some(Incoming::Msg(msg)) => panic!("expected only pings, got {msg:?}"),
                Some(Incoming::End(code)) => {
                    panic!("expected only pings, the connection ended ({code:?})")
                }
                None => panic!("expected only pings, the connection ended"),
            }
        }
    }

    /// Sends `4<text>` and expects it back (the echo engine), skipping other messages.
    pub async fn assert_message_echoed(&mut self, text: &str) {
        let expected = format!("4{text}");
        self.send(&expected).await;
        loop {
            let got = self.next_text().await.expect("echo before close");
            if got == expected {
                return;
            }
        }
    }

    /// Closes the WebSocket cleanly (and waits, within the client's wait, for the server's
    /// side of the close).
    pub async fn close(mut self) {
        let _ = self.sink.lock().await.close().await;
        let wait = self.wait;
        let _ = tokio::time::timeout(wait, async {
            while self.next_within(wait).await.is_ok_and(|m| m.is_some()) {}
        })
        .await;
    }

    // -----------------------------------------------------------------------------------------
    // Socket.IO frames
    // -----------------------------------------------------------------------------------------

    /// Joins `namespace` (`40` / `40/ns,`); returns the namespace socket id (also kept in
    /// [`Client::sid`]).
    pub async fn join(&mut self, namespace: &str) -> String {
        self.send(&format!("40{}", nsp(namespace))).await;
        let answer = self.text().await;
        let sid = connect_sid(&answer, namespace)
            .unwrap_or_else(|| panic!("expected a CONNECT answer for {namespace}, got {answer:?}"));
        self.sid = sid.clone();
        sid
    }

    /// Joins `/` with an `auth` payload (`40{...}`); returns the socket id.
    pub async fn join_with_auth(&mut self, auth: &Value) -> String {
        self.send(&format!("40{auth}")).await;
        let answer = self.text().await;
        let sid = connect_sid(&answer, "/")
            .unwrap_or_else(|| panic!("expected a CONNECT answer, got {answer:?}"));
        self.sid = sid.clone();
        sid
    }

    /// Sends `echo` with `tag` on `namespace` and asserts that the very next message is its
    /// echo: proves that every packet sent before was processed without closing the
    /// connection, and that none of them produced an answer.
    pub async fn assert_echo(&mut self, namespace: &str, tag: &str) {
        let array = serde_json::json!(["echo", tag]).to_string();
        let frame = event_frame(namespace, None, &array);
        self.send(&frame).await;
        assert_eq!(
            self.next().await,
            Some(Msg::Text(frame.clone())),
            "expected the echo of {frame}"
        );
    }

    // -----------------------------------------------------------------------------------------
    // Socket.IO packets of `/`, parsed
    // -----------------------------------------------------------------------------------------

    /// Sends `42["event",args...]` (ignoring failure, like an emit to a closed socket).
    pub async fn emit(&mut self, event: &str, args: &[Value]) {
        let mut list = vec![Value::from(event)];
        list.extend_from_slice(args);
        self.try_send(&format!("42{}", Value::Array(list))).await;
    }

    /// Sends the event with an ack id and waits for the ACK; returns its arguments.
    pub async fn call(&mut self, event: &str, args: &[Value]) -> Vec<Value> {
        let id = self.next_ack;
        self.next_ack += 1;
        let mut list = vec![Value::from(event)];
        list.extend_from_slice(args);
        self.try_send(&format!("42{id}{}", Value::Array(list)))
            .await;
        // Packets that come before the ACK wait in `pending`, in order, for the next `recv`;
        // the ACK itself can only come from the wire.
        loop {
            match self.recv_from_wire().await {
                Packet::Ack { id: got, args } if got == id => return args,
                other => self.pending.push_back(other),
            }
        }
    }

    /// Joins `room` through the `join` handler of the message-queue test servers
    /// ([`crate::mq::builder`]); acknowledged, so the join is done on return.
    pub async fn join_room(&mut self, room: &str) {
        self.call("join", &[Value::from(room)]).await;
    }

    /// The next packet; panics after the client's wait.
    pub async fn recv(&mut self) -> Packet {
        if let Some(packet) = self.pending.pop_front() {
            return packet;
        }
        self.recv_from_wire().await
    }

    /// The next packet from the connection, leaving those [`call`](Self::call) set aside.
    async fn recv_from_wire(&mut self) -> Packet {
        loop {
            let wait = self.wait;
            let msg = match self.next_within(wait).await {
                Ok(Some(msg)) => msg,
                Ok(None) => return Packet::Closed,
                Err(()) => panic!("client {}: nothing received within {wait:?}", self.sid),
            };
            match msg {
                Msg::Text(text) => {
                    let Some(sio) = text.strip_prefix('4') else {
                        continue;
                    };
                    match parse(sio) {
                        (packet, 0) => return packet,
                        (packet, n) => self.partial = Some((packet, n)),
                    }
                }
                Msg::Binary(data) => {
                    let Some((mut packet, n)) = self.partial.take() else {
                        panic!("binary frame without a binary packet");
                    };
                    if let Packet::Event { attachments, .. } = &mut packet {
                        attachments.push(data);
                        if attachments.len() < n {
                            self.partial = Some((packet, n));
                            continue;
                        }
                    }
                    return packet;
                }
            }
        }
    }

    /// The next event, which must be `name`.
    pub async fn expect(&mut self, name: &str) -> Packet {
        let packet = self.recv().await;
        assert_eq!(packet.name(), name, "client {}: {packet:?}", self.sid);
        packet
    }

    /// The packets received until (and without) the first event named `marker`.
    pub async fn until_marker(&mut self, marker: &str) -> Vec<Packet> {
        let mut before = Vec::new();
        loop {
            let packet = self.recv().await;
            if matches!(&packet, Packet::Event { name, .. } if name == marker) {
                return before;
            }
            assert_ne!(packet, Packet::Closed, "closed before {marker}");
            before.push(packet);
        }
    }
}

/// The reader task: answers pings, answers `ask` events when asked to, hands everything else
/// over in order, and reports the end.
async fn read(
    mut stream: SplitStream<Ws>,
    sink: Sink,
    deliver: mpsc::UnboundedSender<Incoming>,
    asks: Arc<AtomicBool>,
) {
    let end = loop {
        let incoming = match stream.next().await {
            Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                let _ = sink.lock().await.send(Message::text("3")).await;
                Incoming::Ping
            }
            Some(Ok(Message::Text(t))) => {
                let text = t.as_str().to_owned();
                if asks.load(Ordering::Relaxed) {
                    if let Some(reply) = ask_reply(&text) {
                        let _ = sink.lock().await.send(Message::text(reply)).await;
                    }
                }
                Incoming::Msg(Msg::Text(text))
            }
            Some(Ok(Message::Binary(b))) => Incoming::Msg(Msg::Binary(b.to_vec())),
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break None,
        };
        if deliver.send(incoming).is_err() {
            return;
        }
    };
    let _ = deliver.send(Incoming::End(end));
}

/// The answer to `42<id>["ask",<first>,...]`: `43<id>["pong",<first>]`.
fn ask_reply(text: &str) -> Option<String> {
    let rest = text.strip_prefix("42")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id: u64 = rest[..digits].parse().ok()?;
    let list: Vec<Value> = serde_json::from_str(&rest[digits..]).ok()?;
    if list.first()?.as_str()? != "ask" {
        return None;
    }
    let first = list.get(1).cloned().unwrap_or(Value::Null);
    Some(format!("43{id}{}", serde_json::json!(["pong", first])))
}

/// Parses a Socket.IO packet of namespace `/`; returns it and the attachments still to come.
fn parse(text: &str) -> (Packet, usize) {
    let kind = text.as_bytes()[0];
    let mut rest = &text[1..];
    let mut attachments = 0;
    if kind == b'5' || kind == b'6' {
        let dash = rest.find('-').expect("attachment count");
        attachments = rest[..dash].parse().expect("attachment count");
        rest = &rest[dash + 1..];
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = (digits > 0).then(|| rest[..digits].parse::<u64>().expect("id"));
    rest = &rest[digits..];
    match kind {
        b'1' => (Packet::Disconnect, 0),
        b'2' | b'5' => {
            let mut list: Vec<Value> = serde_json::from_str(rest).expect("event payload");
            let name = list.remove(0).as_str().expect("event name").to_owned();
            (
                Packet::Event {
                    name,
                    args: list,
                    ack: id,
                    attachments: Vec::new(),
                },
                attachments,
            )
        }
        b'3' => (
            Packet::Ack {
                id: id.expect("ack id"),
                args: serde_json::from_str(rest).expect("ack payload"),
            },
            0,
        ),
        _ => panic!("unexpected packet {text:?}"),
    }
}
