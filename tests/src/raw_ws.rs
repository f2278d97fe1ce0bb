//! Raw WebSocket: a hand-made handshake and a tiny frame builder/reader, for sending frames no
//! well-behaved client library would send (the frame-layer cases of the Engine.IO tests).
//!
//! This is a different job from [`ws::Client`](crate::ws::Client), which speaks well-formed
//! WebSocket through tokio-tungstenite: here every byte on the wire is the test's choice.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::eio::{sid_of, W};
use crate::http::{self, Response};
use crate::wait::WAIT;

pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// The mask every client frame of these tests uses (any value is valid).
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Encodes one frame. `rsv` is the three reserved bits (0..=7), `mask` `None` sends it
/// unmasked (a protocol violation from a client).
pub fn frame(fin: bool, rsv: u8, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(((fin as u8) << 7) | ((rsv & 7) << 4) | (opcode & 0x0f));
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A complete, masked, final frame.
pub fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(true, 0, opcode, payload, Some(MASK))
}

/// A masked text frame.
pub fn text(payload: &str) -> Vec<u8> {
    masked(TEXT, payload.as_bytes())
}

/// A close frame payload: code + reason bytes.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// One frame from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsFrame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl WsFrame {
    /// The payload as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }

    /// The status code of a close frame (1005 when it has none).
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == CLOSE).then(|| match self.payload.as_slice() {
            [a, b, ..] => u16::from_be_bytes([*a, *b]),
            _ => 1005,
        })
    }
}

/// Takes one complete server frame off the front of `buf`, if there is one.
pub fn take_frame(buf: &mut Vec<u8>) -> Option<WsFrame> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (header, len) = match b1 & 0x7f {
        126 => (4, u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]) as usize),
        127 => {
            let mut n = [0u8; 8];
            n.copy_from_slice(buf.get(2..10)?);
            (10, u64::from_be_bytes(n) as usize)
        }
        n => (2, n as usize),
    };
    assert_eq!(b1 & 0x80, 0, "server frames must not be masked");
    let payload = buf.get(header..header + len)?.to_vec();
    buf.drain(..header + len);
    Some(WsFrame {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0f,
        payload,
    })
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A close frame with this code (1005: no code).
    Close(u16),
    /// The TCP connection ended without a close frame.
    Eof,
}

/// The upgrade request of a raw client: a valid RFC 6455 handshake plus `extra` headers.
pub fn upgrade_request(addr: SocketAddr, target: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut headers = vec![
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];
    headers.extend_from_slice(extra);
    http::build("GET", target, addr, &headers, None)
}

/// A raw WebSocket client connection.
pub struct RawWs {
    pub stream: TcpStream,
    pub buf: Vec<u8>,
}

impl RawWs {
    /// Performs the handshake for `target`; `Err` carries the non-101 response.
    pub async fn connect(addr: SocketAddr, target: &str) -> Result<RawWs, Response> {
        Self::connect_with(addr, &upgrade_request(addr, target, &[])).await
    }

    /// Sends `request` verbatim (it may carry trailing bytes) and reads the response.
    pub async fn connect_with(addr: SocketAddr, request: &[u8]) -> Result<RawWs, Response> {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Self::handshake_on(stream, request).await
    }

    /// A direct WebSocket session over a socket whose kernel receive buffer is fixed at
    /// `bytes` (no autotuning): what a client that stops reading can hold is then known.
    /// Returns the client, the sid, and the receive buffer the kernel reports (Linux doubles
    /// the request for its bookkeeping).
    pub async fn open_with_receive_buffer(addr: SocketAddr, bytes: u32) -> (RawWs, String, u32) {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        let reported = socket.recv_buffer_size().expect("SO_RCVBUF");
        let stream = socket.connect(addr).await.expect("connect");
        let mut ws = Self::handshake_on(stream, &upgrade_request(addr, W, &[]))
            .await
            .unwrap_or_else(|r| panic!("handshake refused: {r:?}"));
        let open = ws.next().await.expect("open packet");
        let sid = sid_of(&open.text());
        (ws, sid, reported)
    }

    /// Sends `request` on `stream` and reads the response.
    async fn handshake_on(mut stream: TcpStream, request: &[u8]) -> Result<RawWs, Response> {
        stream.set_nodelay(true).unwrap();
        stream.write_all(request).await.expect("write handshake");
        let mut buf = Vec::new();
        let response = tokio::time::timeout(WAIT, http::read_response(&mut stream, &mut buf))
            .await
            .expect("handshake response in time")
            .expect("handshake response");
        if response.status != 101 {
            return Err(response);
        }
        Ok(RawWs { stream, buf })
    }

    /// A direct WebSocket session: handshake, then the open packet. Returns the client and sid.
    pub async fn open(addr: SocketAddr) -> (RawWs, String) {
        let mut ws = Self::connect(addr, W)
            .await
            .unwrap_or_else(|r| panic!("handshake refused: {r:?}"));
        let open = ws.next().await.expect("open packet");
        let sid = sid_of(&open.text());
        (ws, sid)
    }

    /// Writes raw bytes.
    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    async fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    async fn read_frame(&mut self) -> io::Result<WsFrame> {
        loop {
            if let Some(frame) = take_frame(&mut self.buf) {
                return Ok(frame);
            }
            if self.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// The next frame within `wait`: `Ok(None)` when the connection ended, `Err` on timeout.
    pub async fn next_within(&mut self, wait: Duration) -> Result<Option<WsFrame>, ()> {
        match tokio::time::timeout(wait, self.read_frame()).await {
            Ok(Ok(frame)) => Ok(Some(frame)),
            Ok(Err(_)) => Ok(None),
            Err(_) => Err(()),
        }
    }

    /// The next frame within [`WAIT`] (`None`: connection ended).
    pub async fn next(&mut self) -> Option<WsFrame> {
        self.next_within(WAIT)
            .await
            .unwrap_or_else(|_| panic!("no frame within {WAIT:?}"))
    }

    /// The next text frame that is not a server ping (`2`), answering pings with `3`.
    pub async fn next_text(&mut self) -> Option<String> {
        loop {
            let frame = self.next().await?;
            match frame.opcode {
                TEXT if frame.payload == b"2" => {
                    let _ = self.send(&text("3")).await;
                }
                TEXT => return Some(frame.text()),
                CLOSE => return None,
                _ => {}
            }
        }
    }

    /// Reads until the server closes: returns the close code it sent, or [`Ending::Eof`].
    /// Data frames meanwhile are skipped. Fails the test after `wait`.
    pub async fn ending_within(&mut self, wait: Duration) -> Ending {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Ok(Some(frame)) => {
                    if let Some(code) = frame.close_code() {
                        return Ending::Close(code);
                    }
                }
                Ok(None) => return Ending::Eof,
                Err(()) => panic!("the server did not close the connection within {wait:?}"),
            }
        }
    }

    /// [`Self::ending_within`] with [`WAIT`].
    pub async fn ending(&mut self) -> Ending {
        self.ending_within(WAIT).await
    }

    /// After a close frame, waits for the TCP connection to end too.
    pub async fn expect_eof(&mut self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Ok(Some(_)) => {}
                Ok(None) => return,
                Err(()) => panic!("the server kept the TCP connection open"),
            }
        }
    }
}
