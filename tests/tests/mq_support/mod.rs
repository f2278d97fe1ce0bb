//! Helpers for the message-queue tests (`redis_*.rs`, `amqp_*.rs`): a `redis-server` per test,
//! several servers per test, and a raw Socket.IO client.
//!
//! "Several processes" are several [`SocketIo`] instances in the test process, each on its own
//! 127.0.0.1:0 listener, with its own message-queue connections and its own uid: to the broker
//! and to each other they are indistinguishable from separate processes (nothing but the bus
//! connects them).
//!
//! Waits poll a condition until a deadline ([`until`]); nothing sleeps a fixed time hoping the
//! servers are done.

#![allow(dead_code)]

pub mod proxy;

use std::collections::VecDeque;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use socketio::{Builder, Data, Socket, SocketIo};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// Upper bound of any wait: generous, the machine has 2 cores and tests run in parallel.
pub const WAIT: Duration = Duration::from_secs(30);

/// Polls `cond` every 10 ms until it holds; panics naming `what` after [`WAIT`].
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// A `redis-server` of this test, killed on drop.
pub struct Redis {
    pub port: u16,
    extra: Vec<String>,
    child: Option<Child>,
}

impl Redis {
    /// Starts one on a free port.
    pub fn start() -> Redis {
        Self::start_on(free_port(), &[])
    }

    /// Starts one on `port` with extra arguments (e.g. `--requirepass x`).
    pub fn start_on(port: u16, extra: &[&str]) -> Redis {
        let mut redis = Redis {
            port,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        redis.spawn();
        redis
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (.ci/run installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `redis://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again, empty, on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Runs `redis-cli` against it; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// PUBLISHes `payload` (any bytes, any size) on `channel` with `redis-cli -x`.
    pub fn publish_raw(&self, channel: &str, payload: &[u8]) {
        let mut child = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "-x", "PUBLISH", channel])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-cli");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(payload)
            .expect("write to redis-cli");
        let status = child.wait().expect("redis-cli");
        assert!(status.success());
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A server of the cluster, stopped on drop.
pub struct Server {
    pub io: SocketIo,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    /// Serves `builder`'s server on 127.0.0.1:0.
    pub async fn start(builder: Builder) -> Server {
        let io = builder.build().expect("valid server");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(
            io.clone()
                .serve_with(listener, Default::default(), async move {
                    let _ = stopped.await;
                }),
        );
        Server {
            io,
            addr,
            stop: Some(stop),
        }
    }

    /// Whether both message-queue connections are up.
    pub fn ready(&self) -> bool {
        self.io
            .queue_stats()
            .is_some_and(|s| s.connected && s.subscribed)
    }

    pub fn stats(&self) -> socketio::queue::QueueStats {
        self.io.queue_stats().expect("a message queue")
    }

    /// A client connected to this server.
    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.io.shutdown();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The test servers' handlers: `join`/`leave` a room (acknowledged), and `shout` to a room
/// from a client (`socket.to(room).emit`).
pub fn builder(url: &str, channel: &str) -> Builder {
    SocketIo::builder()
        .message_queue(url)
        .channel(channel)
        // The ordering test bursts 10,000 messages at each client.
        .max_queued_packets(20_000)
        .on(
            "/",
            "join",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.join(&room);
            },
        )
        .on(
            "/",
            "leave",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.leave(&room);
            },
        )
        .on(
            "/",
            "shout",
            |socket: Socket, Data((room, text)): Data<(String, String)>| async move {
                let _ = socket.to(room).emit("shout", &text);
            },
        )
}

/// `n` servers on one message queue, waited for until every one is connected and subscribed.
pub async fn cluster(n: usize, url: &str, channel: &str) -> Vec<Server> {
    let mut servers = Vec::new();
    for _ in 0..n {
        servers.push(Server::start(builder(url, channel)).await);
    }
    let deadline = Instant::now() + WAIT;
    while !servers.iter().all(Server::ready) {
        let stats: Vec<_> = servers.iter().map(Server::stats).collect();
        assert!(
            Instant::now() < deadline,
            "servers not connected to {url}: {stats:#?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    servers
}

/// A received Socket.IO packet, as the test sees it.
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

/// A raw Socket.IO client over tokio-tungstenite: answers pings, parses EVENT/BINARY_EVENT/ACK,
/// and answers events named `ask` that want an acknowledgement with `["pong", <first arg>]`.
pub struct Client {
    pub sid: String,
    out: mpsc::UnboundedSender<Message>,
    rx: mpsc::UnboundedReceiver<Packet>,
    next_ack: u64,
    pending: VecDeque<Packet>,
}

impl Client {
    /// Opens `ws://addr/socket.io/?EIO=4&transport=websocket` and connects to `/`.
    pub async fn connect(addr: SocketAddr) -> Client {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (ws, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .expect("websocket handshake");
        let (mut sink, mut stream) = ws.split();
        let open = next_text(&mut stream).await;
        assert!(open.starts_with("0{"), "expected open, got {open:?}");
        sink.send(Message::text("40")).await.expect("send 40");
        let connect = loop {
            let text = next_text(&mut stream).await;
            if text == "2" {
                sink.send(Message::text("3")).await.expect("pong");
                continue;
            }
            break text;
        };
        let body = connect
            .strip_prefix("40")
            .unwrap_or_else(|| panic!("expected 40{{sid}}, got {connect:?}"));
        let sid = serde_json::from_str::<Value>(body).expect("connect payload")["sid"]
            .as_str()
            .expect("sid")
            .to_owned();

        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(message) = out_rx.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let answer = out.clone();
        tokio::spawn(async move {
            let mut binary: Option<(Packet, usize)> = None;
            while let Some(Ok(message)) = stream.next().await {
                let packet = match message {
                    Message::Text(text) => {
                        let text = text.as_str();
                        if text == "2" {
                            let _ = answer.send(Message::text("3"));
                            continue;
                        }
                        let Some(sio) = text.strip_prefix('4') else {
                            continue;
                        };
                        match parse(sio) {
                            (packet, 0) => packet,
                            (packet, n) => {
                                binary = Some((packet, n));
                                continue;
                            }
                        }
                    }
                    Message::Binary(data) => {
                        let Some((mut packet, n)) = binary.take() else {
                            panic!("binary frame without a binary packet");
                        };
                        if let Packet::Event { attachments, .. } = &mut packet {
                            attachments.push(data.to_vec());
                            if attachments.len() < n {
                                binary = Some((packet, n));
                                continue;
                            }
                        }
                        packet
                    }
                    _ => continue,
                };
                if let Packet::Event {
                    name,
                    args,
                    ack: Some(id),
                    ..
                } = &packet
                {
                    if name == "ask" {
                        let first = args.first().cloned().unwrap_or(Value::Null);
                        let reply = serde_json::json!(["pong", first]);
                        let _ = answer.send(Message::text(format!("43{id}{reply}")));
                    }
                }
                if tx.send(packet).is_err() {
                    return;
                }
            }
            let _ = tx.send(Packet::Closed);
        });
        Client {
            sid,
            out,
            rx,
            next_ack: 1,
            pending: VecDeque::new(),
        }
    }

    /// Sends `42["event",args...]`.
    pub fn emit(&self, event: &str, args: &[Value]) {
        let mut list = vec![Value::from(event)];
        list.extend_from_slice(args);
        let _ = self
            .out
            .send(Message::text(format!("42{}", Value::Array(list))));
    }

    /// Sends the event with an ack id and waits for the ACK.
    pub async fn call(&mut self, event: &str, args: &[Value]) -> Vec<Value> {
        let id = self.next_ack;
        self.next_ack += 1;
        let mut list = vec![Value::from(event)];
        list.extend_from_slice(args);
        let _ = self
            .out
            .send(Message::text(format!("42{id}{}", Value::Array(list))));
        loop {
            match self.recv().await {
                Packet::Ack { id: got, args } if got == id => return args,
                other => self.pending.push_back(other),
            }
        }
    }

    /// Joins `room` (acknowledged by the server, so the join is done on return).
    pub async fn join(&mut self, room: &str) {
        self.call("join", &[Value::from(room)]).await;
    }

    /// The next packet; panics after [`WAIT`].
    pub async fn recv(&mut self) -> Packet {
        if let Some(packet) = self.pending.pop_front() {
            return packet;
        }
        match tokio::time::timeout(WAIT, self.rx.recv()).await {
            Ok(Some(packet)) => packet,
            Ok(None) => Packet::Closed,
            Err(_) => panic!("client {}: nothing received within {WAIT:?}", self.sid),
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

async fn next_text<S>(stream: &mut S) -> String
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(WAIT, stream.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return text.as_str().to_owned(),
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
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
