//! The soak's client: Engine.IO over WebSocket or long-polling (and the upgrade from one to the
//! other, the way the official clients do it), with just enough Socket.IO on top for namespace
//! `/` and text packets.
//!
//! A [`Conn`] is one Engine.IO session: a background task (the WebSocket reader, or the poller
//! that keeps one GET pending) hands every packet over in arrival order, and the owner sends
//! one packet at a time. A [`Client`] is a socket on `/` over a `Conn`: while it waits for
//! anything (an acknowledgement, or just time passing) it answers the server's pings and the
//! server's `question` calls, and counts the broadcasts it gets.
//!
//! Dropping either without [`Client::close`] is vanishing: the TCP connections are dropped with
//! no Socket.IO or Engine.IO goodbye.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::http;
use super::load::Counters;

/// The engine path.
const PATH: &str = "/socket.io/";

/// How long one step of the protocol (a handshake, a POST, the probe) may take before the
/// connection counts as broken: generous, the machine may be loaded.
pub const STEP_WAIT: Duration = Duration::from_secs(30);

/// How long a pending GET may stay open: longer than the server's ping interval, after which
/// it always answers (with a ping at the latest).
const POLL_WAIT: Duration = Duration::from_secs(120);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How a client reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// WebSocket from the start.
    WebSocket,
    /// Long-polling only.
    Polling,
    /// Long-polling, then upgraded to WebSocket (by [`Client::upgrade`]).
    Upgrade,
}

/// Why a connection is unusable.
#[derive(Debug, Clone)]
pub struct Broken(pub String);

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn broken(why: impl std::fmt::Display) -> Broken {
    Broken(why.to_string())
}

/// What the background task hands over.
enum Incoming {
    Packet(String),
    Ended(String),
}

/// Where outgoing packets go.
enum Out {
    Ws(SplitSink<Ws, Message>),
    Polling,
}

/// One Engine.IO session (see the module docs).
pub struct Conn {
    addr: SocketAddr,
    sid: String,
    out: Out,
    inbox: mpsc::UnboundedReceiver<Incoming>,
    deliver: mpsc::UnboundedSender<Incoming>,
    /// The reader or poller, and the flag that stops a poller after its current GET.
    background: (JoinHandle<()>, Arc<AtomicBool>),
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.background.0.abort();
    }
}

/// The sid of an open packet `0{"sid":...}`.
fn sid_of(open: &str) -> Result<String, Broken> {
    let json = open
        .strip_prefix('0')
        .ok_or_else(|| broken(format!("not an open packet: {open:.80}")))?;
    let value: Value = serde_json::from_str(json).map_err(broken)?;
    value["sid"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| broken("open packet without sid"))
}

async fn ws_connect(addr: SocketAddr, query: &str) -> Result<Ws, Broken> {
    let url = format!("ws://{addr}{PATH}?EIO=4&transport=websocket{query}");
    let (ws, _) = timeout(STEP_WAIT, tokio_tungstenite::connect_async(url))
        .await
        .map_err(|_| broken("websocket handshake timed out"))?
        .map_err(broken)?;
    Ok(ws)
}

/// The next text message of a WebSocket not yet handed to a reader.
async fn ws_text(ws: &mut Ws) -> Result<String, Broken> {
    loop {
        match timeout(STEP_WAIT, ws.next()).await {
            Err(_) => return Err(broken("no websocket message in time")),
            Ok(Some(Ok(Message::Text(text)))) => return Ok(text.as_str().to_owned()),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(other) => return Err(broken(format!("websocket ended: {other:?}"))),
        }
    }
}

impl Conn {
    /// Opens a WebSocket session.
    pub async fn websocket(addr: SocketAddr) -> Result<Conn, Broken> {
        let mut ws = ws_connect(addr, "").await?;
        let sid = sid_of(&ws_text(&mut ws).await?)?;
        let (deliver, inbox) = mpsc::unbounded_channel();
        let (sink, stream) = ws.split();
        let reader = tokio::spawn(read(stream, deliver.clone()));
        Ok(Conn {
            addr,
            sid,
            out: Out::Ws(sink),
            inbox,
            deliver,
            background: (reader, Arc::new(AtomicBool::new(false))),
        })
    }

    /// Opens a long-polling session.
    pub async fn polling(addr: SocketAddr) -> Result<Conn, Broken> {
        let target = format!("{PATH}?EIO=4&transport=polling");
        let (status, body) = timeout(STEP_WAIT, http::request(addr, "GET", &target, None))
            .await
            .map_err(|_| broken("polling handshake timed out"))?
            .map_err(broken)?;
        if status != 200 {
            return Err(broken(format!("polling handshake answered {status}")));
        }
        let sid = sid_of(&body)?;
        let (deliver, inbox) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let poller = tokio::spawn(poll(addr, sid.clone(), deliver.clone(), stop.clone()));
        Ok(Conn {
            addr,
            sid,
            out: Out::Polling,
            inbox,
            deliver,
            background: (poller, stop),
        })
    }

    fn polling_target(&self) -> String {
        format!("{PATH}?EIO=4&transport=polling&sid={}", self.sid)
    }

    /// Sends one Engine.IO packet.
    pub async fn send(&mut self, packet: &str) -> Result<(), Broken> {
        match &mut self.out {
            Out::Ws(sink) => timeout(STEP_WAIT, sink.send(Message::text(packet.to_owned())))
                .await
                .map_err(|_| broken("websocket send timed out"))?
                .map_err(broken),
            Out::Polling => {
                let target = self.polling_target();
                let (status, body) = timeout(
                    STEP_WAIT,
                    http::request(self.addr, "POST", &target, Some(packet)),
                )
                .await
                .map_err(|_| broken("POST timed out"))?
                .map_err(broken)?;
                match status {
                    200 => Ok(()),
                    _ => Err(broken(format!("POST answered {status} {body}"))),
                }
            }
        }
    }

    /// The next Engine.IO packet, `None` once `deadline` passed.
    async fn recv(&mut self, deadline: Instant) -> Result<Option<String>, Broken> {
        match timeout_at(deadline, self.inbox.recv()).await {
            Err(_) => Ok(None),
            Ok(Some(Incoming::Packet(packet))) => Ok(Some(packet)),
            Ok(Some(Incoming::Ended(why))) => Err(Broken(why)),
            Ok(None) => Err(broken("the connection's reader is gone")),
        }
    }

    /// Upgrades a polling session to WebSocket: stop polling after the pending GET, probe
    /// (`2probe` → `3probe`, which releases that GET), then `5`.
    pub async fn upgrade(&mut self) -> Result<(), Broken> {
        if !matches!(self.out, Out::Polling) {
            return Ok(());
        }
        self.background.1.store(true, Ordering::Release);
        let mut ws = ws_connect(self.addr, &format!("&sid={}", self.sid)).await?;
        timeout(STEP_WAIT, ws.send(Message::text("2probe")))
            .await
            .map_err(|_| broken("probe send timed out"))?
            .map_err(broken)?;
        let answer = ws_text(&mut ws).await?;
        if answer != "3probe" {
            return Err(broken(format!("probe answered {answer:.80}")));
        }
        timeout(STEP_WAIT, &mut self.background.0)
            .await
            .map_err(|_| broken("the pending GET was not released"))?
            .map_err(broken)?;
        timeout(STEP_WAIT, ws.send(Message::text("5")))
            .await
            .map_err(|_| broken("upgrade send timed out"))?
            .map_err(broken)?;
        let (sink, stream) = ws.split();
        self.out = Out::Ws(sink);
        self.background = (
            tokio::spawn(read(stream, self.deliver.clone())),
            Arc::new(AtomicBool::new(false)),
        );
        Ok(())
    }

    /// Says goodbye at the Engine.IO level: a close frame (and the server's answer) on
    /// WebSocket, a `1` on polling.
    async fn close(mut self) {
        match &mut self.out {
            Out::Ws(sink) => {
                let _ = timeout(STEP_WAIT, sink.close()).await;
                let deadline = Instant::now() + STEP_WAIT;
                while let Ok(Some(_)) = self.recv(deadline).await {}
            }
            Out::Polling => {
                let _ = self.send("1").await;
            }
        }
    }
}

/// The WebSocket reader: hands every text message over until the connection ends.
async fn read(mut stream: SplitStream<Ws>, deliver: mpsc::UnboundedSender<Incoming>) {
    let why = loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => {
                if deliver
                    .send(Incoming::Packet(text.as_str().to_owned()))
                    .is_err()
                {
                    return;
                }
            }
            Some(Ok(Message::Close(frame))) => break format!("close frame {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => break e.to_string(),
            None => break "end of stream".to_owned(),
        }
    };
    let _ = deliver.send(Incoming::Ended(why));
}

/// The poller: keeps one GET pending and hands the packets of each answer over, until `stop`
/// (checked between GETs) or the session ends.
async fn poll(
    addr: SocketAddr,
    sid: String,
    deliver: mpsc::UnboundedSender<Incoming>,
    stop: Arc<AtomicBool>,
) {
    let target = format!("{PATH}?EIO=4&transport=polling&sid={sid}");
    while !stop.load(Ordering::Acquire) {
        let why = match timeout(POLL_WAIT, http::request(addr, "GET", &target, None)).await {
            Ok(Ok((200, body))) => {
                for packet in body.split('\x1e') {
                    if deliver.send(Incoming::Packet(packet.to_owned())).is_err() {
                        return;
                    }
                }
                continue;
            }
            Ok(Ok((status, body))) => format!("GET answered {status} {body}"),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "GET stayed pending too long".to_owned(),
        };
        let _ = deliver.send(Incoming::Ended(why));
        return;
    }
}

/// What a [`Client`] waits for.
enum Reply {
    Connected,
    Ack(u64, Vec<Value>),
}

/// A socket on `/` (see the module docs).
pub struct Client {
    conn: Conn,
    next_ack: u64,
    counters: Arc<Counters>,
}

/// Why a call got no acknowledgement.
#[derive(Debug)]
pub enum CallError {
    /// None within [`STEP_WAIT`], the connection still up.
    Lost,
    /// The connection broke first.
    Broken(Broken),
}

impl Client {
    /// Opens a session over `transport` and connects `/`.
    pub async fn connect(
        addr: SocketAddr,
        transport: Transport,
        counters: Arc<Counters>,
    ) -> Result<Client, Broken> {
        let conn = match transport {
            Transport::WebSocket => Conn::websocket(addr).await?,
            Transport::Polling | Transport::Upgrade => Conn::polling(addr).await?,
        };
        let mut client = Client {
            conn,
            next_ack: 0,
            counters,
        };
        client.conn.send("40").await?;
        let deadline = Instant::now() + STEP_WAIT;
        loop {
            match client.next_reply(deadline).await? {
                Some(Reply::Connected) => return Ok(client),
                Some(Reply::Ack(..)) => {}
                None => return Err(broken("no CONNECT answer in time")),
            }
        }
    }

    /// Upgrades a polling client to WebSocket.
    pub async fn upgrade(&mut self) -> Result<(), Broken> {
        self.conn.upgrade().await
    }

    /// Handles what arrives until a reply does, or `deadline` passes (`None`).
    async fn next_reply(&mut self, deadline: Instant) -> Result<Option<Reply>, Broken> {
        loop {
            let Some(packet) = self.conn.recv(deadline).await? else {
                return Ok(None);
            };
            match packet.as_str() {
                "2" => self.conn.send("3").await?,
                "6" => {}
                "1" => return Err(broken("the server closed the session")),
                _ => {
                    if let Some(reply) = self.handle(&packet).await? {
                        return Ok(Some(reply));
                    }
                }
            }
        }
    }

    /// Handles one Engine.IO message (`4...`): a reply, or something handled here.
    async fn handle(&mut self, packet: &str) -> Result<Option<Reply>, Broken> {
        let Some(sio) = packet.strip_prefix('4') else {
            return Ok(None);
        };
        let kind = sio.as_bytes().first().copied();
        let rest = sio.get(1..).unwrap_or_default();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let id: Option<u64> = rest[..digits].parse().ok();
        let payload = &rest[digits..];
        match (kind, id) {
            (Some(b'0'), _) => Ok(Some(Reply::Connected)),
            (Some(b'1'), _) => Err(broken("the server disconnected the socket")),
            (Some(b'4'), _) => Err(broken(format!("CONNECT refused: {payload:.80}"))),
            (Some(b'3'), Some(id)) => {
                let args = serde_json::from_str(payload).map_err(broken)?;
                Ok(Some(Reply::Ack(id, args)))
            }
            (Some(b'2'), Some(id)) => {
                // The server's call: `question` n, answered with n + 1.
                let list: Vec<Value> = serde_json::from_str(payload).map_err(broken)?;
                let n = list.get(1).and_then(Value::as_u64).unwrap_or(0);
                self.conn.send(&format!("43{id}[{}]", n + 1)).await?;
                self.counters.questions_answered.inc();
                Ok(None)
            }
            (Some(b'2'), None) => {
                self.counters.broadcasts.inc();
                Ok(None)
            }
            _ => Err(broken(format!("unexpected packet {packet:.80}"))),
        }
    }

    /// Stays connected for `time`, handling what arrives.
    pub async fn idle(&mut self, time: Duration) -> Result<(), Broken> {
        let deadline = Instant::now() + time;
        while self.next_reply(deadline).await?.is_some() {}
        Ok(())
    }

    /// Emits `event` with `args` and an acknowledgement id; returns the acknowledgement's
    /// arguments.
    pub async fn call(&mut self, event: &str, args: &[Value]) -> Result<Vec<Value>, CallError> {
        let id = self.next_ack;
        self.next_ack += 1;
        let mut list = vec![Value::from(event)];
        list.extend_from_slice(args);
        let packet = format!("42{id}{}", Value::Array(list));
        self.conn.send(&packet).await.map_err(CallError::Broken)?;
        let deadline = Instant::now() + STEP_WAIT;
        loop {
            match self.next_reply(deadline).await.map_err(CallError::Broken)? {
                Some(Reply::Ack(got, args)) if got == id => return Ok(args),
                Some(_) => {}
                None => return Err(CallError::Lost),
            }
        }
    }

    /// Disconnects `/` and closes the session.
    pub async fn close(mut self) {
        let _ = self.conn.send("41").await;
        self.conn.close().await;
    }
}
