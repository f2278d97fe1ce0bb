//! Server CPU per acknowledged binary echo, at a fixed rate: the binary row of the cost-growth
//! table in `docs/benchmarks.md`, which the shared load generator cannot fill (it sends no binary
//! attachments).
//!
//! Each client opens a WebSocket session, CONNECTs to `/` and, paced at its share of `--rate`,
//! emits `echo` with one binary attachment of `--bytes` bytes and an ack id
//! (`451-<id>["echo",{"_placeholder":true,"num":0}]` followed by the binary frame). It waits for
//! the ack (`461-<id>[{"_placeholder":true,"num":0}]` and a binary frame of the same length)
//! before its next emit, and answers pings. Any other answer is an error: the run stops and says
//! what arrived.
//!
//! With `--pid`, the server's user and system CPU time (`/proc/<pid>/stat`) is read at the start
//! and end of the measured window and reported per ack.
//!
//! ```sh
//! cargo build --release -p examples --example bench_server --example binary_echo_load
//! PORT=3300 target/release/examples/bench_server & server=$!
//! target/release/examples/binary_echo_load --addr 127.0.0.1:3300 --bytes 1000000 --rate 50 --pid $server
//! ```
//!
//! Options: `--addr` (default 127.0.0.1:3000), `-c` clients (default 5), `--rate` acks per
//! second in all (default 50), `--bytes` attachment size (default 1,000,000), `-d` measured
//! seconds (default 10), `--warmup` seconds (default 2), `--pid` the server's process id.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
type Failure = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    addr: String,
    clients: usize,
    rate: f64,
    bytes: usize,
    seconds: f64,
    warmup: f64,
    pid: Option<u32>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        addr: "127.0.0.1:3000".into(),
        clients: 5,
        rate: 50.0,
        bytes: 1_000_000,
        seconds: 10.0,
        warmup: 2.0,
        pid: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => o.addr = value,
            "-c" => o.clients = number(&flag, &value)?,
            "--rate" => o.rate = number(&flag, &value)?,
            "--bytes" => o.bytes = number(&flag, &value)?,
            "-d" => o.seconds = number(&flag, &value)?,
            "--warmup" => o.warmup = number(&flag, &value)?,
            "--pid" => o.pid = Some(number(&flag, &value)?),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if o.clients == 0 || o.rate <= 0.0 {
        return Err("-c and --rate must be positive".into());
    }
    Ok(o)
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: not a number: {value}"))
}

/// The server's user and system CPU time so far, in clock ticks (`/proc/<pid>/stat`).
fn cpu_ticks(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which ends with the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ').skip(11);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

async fn connect(addr: &str) -> Result<Ws, Failure> {
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    expect_text(&mut ws, "0{").await?;
    ws.send(Message::text("40")).await?;
    expect_text(&mut ws, "40").await?;
    Ok(ws)
}

/// The next text message other than a ping (which is answered), checked to start with `prefix`.
async fn expect_text(ws: &mut Ws, prefix: &str) -> Result<String, Failure> {
    loop {
        match ws
            .next()
            .await
            .ok_or("the server closed the connection")??
        {
            Message::Text(t) if t.as_str() == "2" => ws.send(Message::text("3")).await?,
            Message::Text(t) if t.starts_with(prefix) => return Ok(t.as_str().to_owned()),
            other => return Err(format!("expected {prefix:?}…, got {}", describe(&other)).into()),
        }
    }
}

fn describe(m: &Message) -> String {
    match m {
        Message::Text(t) => format!("text {:?}", t.chars().take(80).collect::<String>()),
        Message::Binary(b) => format!("{} binary bytes", b.len()),
        other => format!("{other:?}"),
    }
}

/// One client: emits, waits for the ack, sleeps to its next slot; returns the acks it received
/// inside the measured window `[from, to)`.
async fn client(
    addr: String,
    period: Duration,
    start: Instant,
    from: Instant,
    to: Instant,
    bytes: usize,
) -> Result<u64, Failure> {
    let mut ws = connect(&addr).await?;
    let attachment = bytes::Bytes::from(vec![0xA5u8; bytes]);
    let mut next = start;
    let mut acked = 0;
    for id in 0u64.. {
        tokio::time::sleep_until(next.into()).await;
        if Instant::now() >= to {
            break;
        }
        ws.send(Message::text(format!(
            "451-{id}[\"echo\",{{\"_placeholder\":true,\"num\":0}}]"
        )))
        .await?;
        ws.send(Message::Binary(attachment.clone())).await?;
        let header = expect_text(&mut ws, "461-").await?;
        let want = format!("461-{id}[{{\"_placeholder\":true,\"num\":0}}]");
        if header != want {
            return Err(format!("expected the ack {want:?}, got {header:?}").into());
        }
        match ws
            .next()
            .await
            .ok_or("the server closed the connection")??
        {
            Message::Binary(b) if b.len() == bytes => {}
            other => {
                return Err(
                    format!("expected {bytes} binary bytes, got {}", describe(&other)).into(),
                )
            }
        }
        let now = Instant::now();
        if now >= from && now < to {
            acked += 1;
        }
        next += period;
    }
    ws.close(None).await.ok();
    Ok(acked)
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let o = options().map_err(|e| format!("binary_echo_load: {e}"))?;
    let period = Duration::from_secs_f64(o.clients as f64 / o.rate);
    let start = Instant::now() + Duration::from_millis(500);
    let from = start + Duration::from_secs_f64(o.warmup);
    let to = from + Duration::from_secs_f64(o.seconds);
    let clients: Vec<_> = (0..o.clients)
        .map(|i| {
            // Spread the clients' slots over one period.
            let first = start + period.mul_f64(i as f64 / o.clients as f64);
            tokio::spawn(client(o.addr.clone(), period, first, from, to, o.bytes))
        })
        .collect();
    tokio::time::sleep_until(from.into()).await;
    let before = o.pid.and_then(cpu_ticks);
    tokio::time::sleep_until(to.into()).await;
    let after = o.pid.and_then(cpu_ticks);
    let mut acks = 0;
    for c in clients {
        acks += c.await??;
    }
    println!(
        "bytes {} clients {} target {}/s: {acks} acks in {} s ({:.1}/s)",
        o.bytes,
        o.clients,
        o.rate,
        o.seconds,
        acks as f64 / o.seconds
    );
    if let (Some((u0, s0)), Some((u1, s1))) = (before, after) {
        // Clock ticks are 1/100 s on Linux (USER_HZ).
        let per_ack = |ticks: u64| ticks as f64 * 10_000.0 / acks.max(1) as f64;
        println!(
            "server CPU per ack: {:.1} µs ({:.1} user + {:.1} system)",
            per_ack(u1 + s1 - u0 - s0),
            per_ack(u1 - u0),
            per_ack(s1 - s0)
        );
    }
    Ok(())
}
