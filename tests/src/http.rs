//! A hand-written HTTP/1.1 client over `tokio::net::TcpStream`, able to send malformed requests
//! (the Engine.IO bad-input tests, polling, and the pages of the examples).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::wait::WAIT;

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether any `Access-Control-Allow-*` header is present.
    pub fn has_cors_headers(&self) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.to_ascii_lowercase().starts_with("access-control-allow-"))
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts status and exact body.
    #[track_caller]
    pub fn assert(&self, status: u16, body: &str) {
        assert_eq!(
            (self.status, self.text().as_str()),
            (status, body),
            "unexpected response {self:?}"
        );
    }
}

/// Builds the bytes of a request. `Host` is always sent; `Content-Length` when `body` is
/// `Some`.
pub fn build(
    method: &str,
    target: &str,
    addr: SocketAddr,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    if let Some(body) = body {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    if let Some(body) = body {
        out.extend_from_slice(body);
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn fill<R: AsyncRead + Unpin>(stream: &mut R, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Reads one response from `stream`; `buf` holds bytes already read and keeps what follows the
/// response (e.g. WebSocket frames after a `101`).
pub async fn read_response<R: AsyncRead + Unpin>(
    stream: &mut R,
    buf: &mut Vec<u8>,
) -> io::Result<Response> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if fill(stream, buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "closed before a response head: {:?}",
                    String::from_utf8_lossy(buf)
                ),
            ));
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, head.clone()))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if status == 101 || status == 204 || status == 304 {
        return Ok(response);
    }
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        loop {
            let line_end = loop {
                if let Some(i) = find(buf, b"\r\n") {
                    break i;
                }
                if fill(stream, buf).await? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            };
            let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, size_text))?;
            buf.drain(..line_end + 2);
            while buf.len() < size + 2 {
                if fill(stream, buf).await? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            response.body.extend_from_slice(&buf[..size]);
            buf.drain(..size + 2);
            if size == 0 {
                break;
            }
        }
    } else if let Some(len) = response.header("content-length") {
        let len: usize = len.parse().unwrap_or(0);
        while buf.len() < len {
            if fill(stream, buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        response.body = buf.drain(..len).collect();
    } else {
        while fill(stream, buf).await? > 0 {}
        response.body = std::mem::take(buf);
    }
    Ok(response)
}

/// A keep-alive HTTP/1.1 connection.
pub struct Conn {
    pub stream: TcpStream,
    pub buf: Vec<u8>,
    pub addr: SocketAddr,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
            addr,
        }
    }

    /// Writes raw bytes.
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Reads one response, failing the test after `wait`.
    pub async fn response_within(&mut self, wait: Duration) -> io::Result<Response> {
        match tokio::time::timeout(wait, read_response(&mut self.stream, &mut self.buf)).await {
            Ok(r) => r,
            Err(_) => panic!("no response within {wait:?}"),
        }
    }

    /// Reads one response within [`WAIT`].
    pub async fn response(&mut self) -> Response {
        self.response_within(WAIT).await.expect("response")
    }

    /// Sends a request and reads its response.
    pub async fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        let bytes = build(method, target, self.addr, headers, body);
        self.write(&bytes).await.expect("write request");
        self.response().await
    }

    /// Waits until the server closes the connection (EOF or reset), failing after `wait`.
    /// Whatever the server still sends meanwhile is discarded.
    pub async fn expect_eof(&mut self, wait: Duration) {
        let closed = tokio::time::timeout(wait, async {
            let mut chunk = [0u8; 16 * 1024];
            loop {
                match self.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "the server kept the connection open");
    }
}

/// One request on a fresh connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Response {
    Conn::open(addr)
        .await
        .send(method, target, headers, body)
        .await
}

/// `GET target` on a fresh connection.
pub async fn get(addr: SocketAddr, target: &str) -> Response {
    request(addr, "GET", target, &[], None).await
}

/// Raw bytes on a fresh connection; the response within [`WAIT`].
pub async fn raw(addr: SocketAddr, bytes: &[u8]) -> io::Result<Response> {
    let mut conn = Conn::open(addr).await;
    conn.write(bytes).await?;
    conn.response_within(WAIT).await
}

/// Closes `stream` with a TCP RST (`SO_LINGER` 0) instead of a FIN.
pub fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Writes `bytes` (ignoring a write error: the server may close early) and reads what comes
/// back within [`WAIT`]: `Ok` with a response, `Err` when the connection ended without one.
pub async fn raw_outcome(addr: SocketAddr, bytes: &[u8]) -> io::Result<Response> {
    let mut conn = Conn::open(addr).await;
    let _ = conn.write(bytes).await;
    tokio::time::timeout(WAIT, read_response(&mut conn.stream, &mut conn.buf))
        .await
        .unwrap_or_else(|_| panic!("the server neither answered nor closed within {WAIT:?}"))
}
