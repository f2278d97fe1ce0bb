//! Holds many idle Socket.IO connections over WebSocket, to measure what each costs the server.
//!
//! Each connection opens an Engine.IO session on WebSocket, CONNECTs to `/`, answers every
//! ping and does nothing else. Source addresses are spread over 127.0.0.2, 127.0.0.3, ... so
//! that more connections than one address has ephemeral ports can be held. With `--pid`, the
//! server's resident memory (`VmRSS` of `/proc/<pid>/status`) is read before the first
//! connection and once all are connected, and the difference is reported per connection.
//!
//! ```sh
//! cargo build --release -p examples --example bench_server --example idle_conns
//! PORT=3300 target/release/examples/bench_server & server=$!
//! ulimit -n 20000
//! target/release/examples/idle_conns --addr 127.0.0.1:3300 -n 10000 --hold 60 --pid $server
//! ```
//!
//! One process opens at most `ulimit -Hn` files: `scripts/idle-connections` holds more
//! connections than that over several servers and holders, and reports on all of them.
//!
//! Options: `--addr` (default 127.0.0.1:3000), `-n` connections (default 1000), `--hold`
//! seconds to hold them once connected (default 60: more than one ping interval of the default
//! 25 s), or `--hold stdin`: until standard input closes, so that a script running several
//! holders (`scripts/idle-connections`) ends them all at once; `--sources` source addresses
//! (default 16), `--pid` the server's process id.
//!
//! The report: connected, pings answered, connections the server closed, connection failures,
//! missed pings and the longest wait for a ping. A ping counts as missed each time a connection
//! waited longer than the ping interval plus timeout for the next one (between two pings, from
//! the CONNECT to the first, or from the last to the end of the hold).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;

/// Handshakes in flight at once (the server's listen backlog is finite).
const CONNECTING: usize = 256;

/// The ping interval plus timeout of the server's defaults (25 s + 20 s).
const PING_DEADLINE: Duration = Duration::from_secs(45);

#[derive(Default)]
struct Stats {
    connected: AtomicUsize,
    pings: AtomicU64,
    closed: AtomicUsize,
    failed: AtomicUsize,
    /// Each connection's pings, for the missed-ping count.
    pings_of: Mutex<Vec<Pings>>,
}

/// When a connection last answered a ping (or connected), and its waits longer than
/// [`PING_DEADLINE`] so far.
#[derive(Clone, Copy, Default)]
struct Pings {
    last: Option<Instant>,
    missed: u32,
    longest: Duration,
}

impl Pings {
    /// Notes a ping (or the CONNECT) at `now`.
    fn at(&mut self, now: Instant) {
        if let Some(last) = self.last {
            self.wait(now - last);
        }
        self.last = Some(now);
    }

    /// Notes a wait of `wait` for a ping.
    fn wait(&mut self, wait: Duration) {
        self.longest = self.longest.max(wait);
        if wait > PING_DEADLINE {
            self.missed += 1;
        }
    }
}

/// How long to hold the connections once all are up.
enum Hold {
    For(Duration),
    UntilStdinCloses,
}

struct Options {
    addr: SocketAddr,
    count: usize,
    hold: Hold,
    sources: u8,
    pid: Option<u32>,
}

fn options() -> Options {
    let mut options = Options {
        addr: "127.0.0.1:3000".parse().expect("a socket address"),
        count: 1000,
        hold: Hold::For(Duration::from_secs(60)),
        sources: 16,
        pid: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--addr" => options.addr = value.parse().unwrap_or_else(|_| bad(&flag, &value)),
            "-n" => options.count = value.parse().unwrap_or_else(|_| bad(&flag, &value)),
            "--hold" if value == "stdin" => options.hold = Hold::UntilStdinCloses,
            "--hold" => {
                options.hold = Hold::For(Duration::from_secs(
                    value.parse().unwrap_or_else(|_| bad(&flag, &value)),
                ))
            }
            "--sources" => options.sources = value.parse().unwrap_or_else(|_| bad(&flag, &value)),
            "--pid" => options.pid = Some(value.parse().unwrap_or_else(|_| bad(&flag, &value))),
            _ => panic!("unknown option {flag}"),
        }
    }
    options
}

fn bad<T>(flag: &str, value: &str) -> T {
    panic!("bad value {value:?} for {flag}")
}

/// The server's resident memory in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server runs");
    let kb: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kb * 1024
}

#[tokio::main]
async fn main() {
    let options = options();
    let stats = Arc::new(Stats {
        pings_of: Mutex::new(vec![Pings::default(); options.count]),
        ..Stats::default()
    });
    let before = options.pid.map(rss);
    let gate = Arc::new(Semaphore::new(CONNECTING));
    let start = Instant::now();
    for i in 0..options.count {
        let source = Ipv4Addr::new(
            127,
            0,
            0,
            2 + (i % usize::from(options.sources.max(1))) as u8,
        );
        let permit = gate.clone().acquire_owned().await.expect("semaphore open");
        let stats = stats.clone();
        let addr = options.addr;
        tokio::spawn(async move {
            if let Err(e) = hold(addr, source, i, &stats, permit).await {
                if stats.failed.fetch_add(1, Ordering::Relaxed) < 5 {
                    eprintln!("connection {i}: {e}");
                }
            }
        });
    }
    // Wait until every connection is up (or failed).
    loop {
        let done = stats.connected.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed);
        if done >= options.count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connected = stats.connected.load(Ordering::Relaxed);
    println!(
        "connected {connected} of {} in {:.1?}",
        options.count,
        start.elapsed()
    );
    // Let the server settle (tasks finish their first turns, allocator caches fill).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report_rss = |label: &str| {
        if let (Some(pid), Some(before)) = (options.pid, before) {
            let now = rss(pid);
            let per = now.saturating_sub(before) as f64 / connected.max(1) as f64;
            println!(
                "server RSS {label}: {:.1} MB (before: {:.1} MB), {per:.0} B per connection",
                now as f64 / 1e6,
                before as f64 / 1e6
            );
        }
    };
    report_rss("connected");
    match options.hold {
        Hold::For(hold) => tokio::time::sleep(hold).await,
        Hold::UntilStdinCloses => {
            tokio::task::spawn_blocking(|| {
                std::io::copy(&mut std::io::stdin(), &mut std::io::sink())
            })
            .await
            .expect("stdin reader ran")
            .map(drop)
            .unwrap_or_else(|e| eprintln!("stdin: {e}"));
        }
    }
    report_rss("after the hold");
    let now = Instant::now();
    let (mut missed, mut longest) = (0, Duration::ZERO);
    for pings in stats.pings_of.lock().expect("not poisoned").iter_mut() {
        if let Some(last) = pings.last {
            pings.wait(now - last);
        }
        missed += u64::from(pings.missed);
        longest = longest.max(pings.longest);
    }
    println!(
        "connected {connected}, pings answered {}, closed by the server {}, failed {}, \
         missed pings {missed}, longest wait for a ping {:.1} s",
        stats.pings.load(Ordering::Relaxed),
        stats.closed.load(Ordering::Relaxed),
        stats.failed.load(Ordering::Relaxed),
        longest.as_secs_f64(),
    );
}

/// One connection: handshake, CONNECT to `/`, then answer pings until the server closes.
async fn hold(
    addr: SocketAddr,
    source: Ipv4Addr,
    index: usize,
    stats: &Stats,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> std::io::Result<()> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let mut stream = socket.connect(addr).await?;
    stream
        .write_all(
            format!(
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\n\
                 Upgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        )
        .await?;
    let mut buf = Vec::with_capacity(256);
    let head_end = loop {
        read_more(&mut stream, &mut buf).await?;
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    if !buf.starts_with(b"HTTP/1.1 101") {
        return Err(std::io::Error::other(format!(
            "refused: {}",
            String::from_utf8_lossy(&buf[..head_end])
        )));
    }
    buf.drain(..head_end);
    let mut permit = Some(permit);
    loop {
        while let Some((opcode, payload, used)) = frame(&buf) {
            match (opcode, payload.first()) {
                (0x1, Some(b'0')) => send(&mut stream, b"40").await?,
                (0x1, Some(b'4')) if payload.get(1) == Some(&b'0') && permit.is_some() => {
                    permit = None;
                    stats.pings_of.lock().expect("not poisoned")[index].at(Instant::now());
                    stats.connected.fetch_add(1, Ordering::Relaxed);
                }
                (0x1, Some(b'2')) => {
                    send(&mut stream, b"3").await?;
                    stats.pings.fetch_add(1, Ordering::Relaxed);
                    stats.pings_of.lock().expect("not poisoned")[index].at(Instant::now());
                }
                (0x8, _) => {
                    stats.closed.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                _ => {}
            }
            buf.drain(..used);
        }
        if read_more(&mut stream, &mut buf).await? == 0 {
            stats.closed.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 1024];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// The server frame at the start of `buf` (unmasked): opcode, payload, bytes used.
fn frame(buf: &[u8]) -> Option<(u8, &[u8], usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (len, at) = match b1 & 0x7f {
        126 => (
            usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
            4,
        ),
        127 => (
            usize::try_from(u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?)).ok()?,
            10,
        ),
        len => (usize::from(len), 2),
    };
    Some((b0 & 0x0f, buf.get(at..at + len)?, at + len))
}

/// Sends a masked text frame.
async fn send(stream: &mut TcpStream, text: &[u8]) -> std::io::Result<()> {
    const MASK: [u8; 4] = [0x12, 0x34, 0x56, 0x78];
    let mut out = vec![0x81, 0x80 | text.len() as u8];
    out.extend_from_slice(&MASK);
    out.extend(text.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
    stream.write_all(&out).await
}
