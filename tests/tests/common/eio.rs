//! Engine.IO client helpers: polling sessions, WebSocket sessions (tokio-tungstenite), the
//! upgrade dance, the canary and the "sid is gone" check.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::http::{self, Response};
use super::{P, UNKNOWN_SID, W, WAIT};

/// A well-formed WebSocket client.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The sid of an open packet `0{"sid":...}`.
pub fn sid_of(open: &str) -> String {
    let json = open
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {open:?}"));
    let value: serde_json::Value = serde_json::from_str(json).expect("open packet JSON");
    value["sid"].as_str().expect("sid").to_owned()
}

/// The target of a polling request for `sid`.
pub fn polling(sid: &str) -> String {
    format!("{P}&sid={sid}")
}

/// The target of a WebSocket request for `sid`.
pub fn websocket(sid: &str) -> String {
    format!("{W}&sid={sid}")
}

/// A polling session.
#[derive(Debug, Clone)]
pub struct Polling {
    pub addr: SocketAddr,
    pub sid: String,
}

impl Polling {
    /// Performs a polling handshake.
    pub async fn open(addr: SocketAddr) -> Polling {
        let response = http::get(addr, P).await;
        assert_eq!(response.status, 200, "handshake refused: {response:?}");
        Polling {
            addr,
            sid: sid_of(&response.text()),
        }
    }

    /// The target for this session.
    pub fn target(&self) -> String {
        polling(&self.sid)
    }

    /// A GET on a fresh connection, within [`WAIT`].
    pub async fn get(&self) -> Response {
        http::get(self.addr, &self.target()).await
    }

    /// A POST of `body` on a fresh connection.
    pub async fn post(&self, body: &[u8]) -> Response {
        http::request(self.addr, "POST", &self.target(), &[], Some(body)).await
    }

    /// Sends `4<text>` and expects the echo on the next GET; answers pings met on the way.
    pub async fn assert_echoes(&self, text: &str) {
        self.post(format!("4{text}").as_bytes())
            .await
            .assert(200, "ok");
        let deadline = Instant::now() + WAIT;
        loop {
            let response = self.get().await;
            assert_eq!(response.status, 200, "{response:?}");
            let body = response.text();
            let records: Vec<&str> = body.split('\x1e').collect();
            if records.contains(&"2") {
                self.post(b"3").await.assert(200, "ok");
            }
            if records.iter().any(|r| r.strip_prefix('4') == Some(text)) {
                return;
            }
            assert!(Instant::now() < deadline, "no echo of {text:?}");
        }
    }
}

/// Opens a direct WebSocket session; returns the client and its sid.
pub async fn ws_open(addr: SocketAddr) -> (Ws, String) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}{W}"))
        .await
        .expect("websocket handshake");
    let open = ws_text(&mut ws).await.expect("open packet");
    let sid = sid_of(&open);
    (ws, sid)
}

/// Connects a WebSocket to an existing session (before the probe).
pub async fn ws_connect(addr: SocketAddr, sid: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}{}", websocket(sid)))
        .await
        .expect("websocket handshake");
    ws
}

/// The next text message within [`WAIT`], answering server pings (`2`) on the way. `None` when
/// the connection closed.
pub async fn ws_text(ws: &mut Ws) -> Option<String> {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time");
        match message {
            Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                ws.send(Message::text("3")).await.ok()?;
            }
            Some(Ok(Message::Text(t))) => return Some(t.as_str().to_owned()),
            Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(Message::Frame(_))) => {}
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
        }
    }
}

/// Sends a text frame.
pub async fn ws_send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text.to_owned()))
        .await
        .expect("websocket send");
}

/// Sends `4<text>` and expects it back.
pub async fn ws_assert_echoes(ws: &mut Ws, text: &str) {
    ws_send(ws, &format!("4{text}")).await;
    let expected = format!("4{text}");
    loop {
        let got = ws_text(ws).await.expect("echo before close");
        if got == expected {
            return;
        }
    }
}

/// Waits until the server closes `ws`; returns its close code (`None`: no close frame).
pub async fn ws_closed(ws: &mut Ws) -> Option<u16> {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("the server closed the websocket in time");
        match message {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

/// Upgrades a polling session to WebSocket the way clients do: a pending GET, `2probe` →
/// `3probe`, the GET released with `6`, then `5`. Returns the upgraded socket and what the
/// released GET carried.
pub async fn upgrade(session: &Polling) -> (Ws, String) {
    let pending = {
        let session = session.clone();
        tokio::spawn(async move { session.get().await })
    };
    let mut ws = ws_connect(session.addr, &session.sid).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_text(&mut ws).await.as_deref(), Some("3probe"));
    let released = pending.await.expect("pending GET");
    assert_eq!(released.status, 200, "{released:?}");
    let body = released.text();
    assert!(
        body.split('\x1e').any(|r| r == "6"),
        "the pending GET was not released with a noop: {body:?}"
    );
    ws_send(&mut ws, "5").await;
    (ws, body)
}

/// U3: the sid is unknown. Requests on a session that is closing may still be answered (a last
/// `1`/`6` poll, a `400 code 3` on a WebSocket session); keeps asking until the answer is
/// `400 {"code":1,"message":"Session ID unknown"}`, failing after [`WAIT`]. A GET that blocks
/// means the session is alive, which fails the test too.
pub async fn assert_sid_gone(addr: SocketAddr, sid: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let response = tokio::time::timeout(left, http::get(addr, &polling(sid)))
            .await
            .unwrap_or_else(|_| panic!("session {sid} is still alive (its GET blocked)"));
        if response.status == 400 && response.text() == UNKNOWN_SID {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "session {sid} still known: {response:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// U2: a WebSocket session opened before a case, kept alive in the background (it answers
/// pings), that must still echo afterwards.
pub struct Canary {
    pub sid: String,
    out: mpsc::UnboundedSender<String>,
    inbox: mpsc::UnboundedReceiver<String>,
    count: usize,
    ended: Arc<Mutex<Option<String>>>,
    state: Arc<super::State>,
}

impl Canary {
    /// `state` is the server's handler state, used to say why the canary died, if it does.
    pub async fn open(addr: SocketAddr, state: Arc<super::State>) -> Canary {
        let (mut ws, sid) = ws_open(addr).await;
        let (out, mut outbox) = mpsc::unbounded_channel::<String>();
        let (deliver, inbox) = mpsc::unbounded_channel::<String>();
        let ended = Arc::new(Mutex::new(None::<String>));
        let why = ended.clone();
        tokio::spawn(async move {
            let reason = loop {
                tokio::select! {
                    text = outbox.recv() => match text {
                        Some(text) => if let Err(e) = ws.send(Message::text(text)).await {
                            break format!("send failed: {e}");
                        },
                        None => break "dropped".to_owned(),
                    },
                    message = ws.next() => match message {
                        Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                            if let Err(e) = ws.send(Message::text("3")).await {
                                break format!("pong failed: {e}");
                            }
                        }
                        Some(Ok(Message::Text(t))) => {
                            if deliver.send(t.as_str().to_owned()).is_err() {
                                break "dropped".to_owned();
                            }
                        }
                        Some(Ok(Message::Close(frame))) => break format!("closed by the server: {frame:?}"),
                        Some(Ok(_)) => {}
                        Some(Err(e)) => break format!("read failed: {e}"),
                        None => break "connection ended".to_owned(),
                    },
                }
            };
            *why.lock().unwrap() = Some(reason);
        });
        Canary {
            sid,
            out,
            inbox,
            count: 0,
            ended,
            state,
        }
    }

    /// Why the canary is dead, from both ends (failure path only: it may block briefly to let
    /// the server record the close).
    fn dead(&self) -> String {
        let mut server = None;
        for _ in 0..100 {
            server = self.state.close_of(&self.sid);
            if server.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let client = self.ended.lock().unwrap().clone();
        let opened = self.state.opened_at.lock().unwrap().get(&self.sid).copied();
        format!(
            "the canary's connection ended: {}; server-side close: {:?}",
            client.unwrap_or_else(|| "unknown".to_owned()),
            server.map(|(reason, at)| (reason, opened.map(|o| at - o)))
        )
    }

    /// Sends a fresh message and expects its echo within [`WAIT`].
    pub async fn assert_echoes(&mut self) {
        self.count += 1;
        let text = format!("4canary-{}", self.count);
        if self.out.send(text.clone()).is_err() {
            panic!("{}", self.dead());
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.inbox.recv()).await {
                Ok(Some(got)) if got == text => return,
                Ok(Some(_)) => {}
                Ok(None) => panic!("{}", self.dead()),
                Err(_) => panic!("the canary got no echo within {WAIT:?}"),
            }
        }
    }

    /// Round-trip time of one echo.
    pub async fn latency(&mut self) -> Duration {
        let start = Instant::now();
        self.assert_echoes().await;
        start.elapsed()
    }
}
