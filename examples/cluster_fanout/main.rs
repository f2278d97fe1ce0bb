//! A 3-process cluster under fan-out load, every feature on: its throughput, delivery latency,
//! CPU and memory, every delivery accounted for (docs/multi-process.md, "Measured: a
//! 3-process cluster under fan-out").
//!
//! ```sh
//! cargo build --release -p examples --example cluster_fanout --features cluster-fanout
//! target/release/examples/cluster_fanout                        # its own redis-server
//! target/release/examples/cluster_fanout --broker amqp://127.0.0.1:5672
//! ```
//!
//! The servers run in child processes (this binary with `--serve`, see `server.rs`), so that
//! the CPU and memory read from `/proc/<pid>` are theirs; they share a message queue: a
//! `redis-server` this program starts on a free port, `REDIS_URL`, or `--broker <url>`
//! (`redis://` or `amqp://`). The receivers are spread round-robin over the processes and join
//! one room; the senders (sender `i` on process `i mod P`) keep a window of broadcasts in
//! flight, each broadcast sent to the room by the process the sender is on, and through the
//! broker by the others. After a warm-up the measurement runs for a while, then the load stops,
//! every broadcast sent must have reached every receiver exactly once, and each process's
//! `/metrics` must agree with what its clients saw (see `load.rs`).
//!
//! Options: `--processes P` (3), `--receivers R` (1000), `--senders S` (3), `--window W`
//! broadcasts in flight (64), `--payload N` bytes of padding per broadcast (32), `--warmup S`
//! seconds (5), `--seconds S` measured (15), `--broker URL`, `--admin-mode development` (the
//! Admin UI reports every event; default `production`, its stats only), `--no-recovery` (do not ask for
//! connection state recovery; asked by default, and reported off when this build refuses it
//! with a message queue). `RUST_LOG` filters the log lines (`warn`). The exit status is 1 when
//! a delivery is missing or duplicated, a client broke, or a count disagrees. Its smoke test,
//! with tiny numbers on Redis and RabbitMQ, is `tests/tests/example_cluster_fanout.rs`.

mod load;
mod server;

#[path = "../soak/harness/http.rs"]
mod http;
#[allow(dead_code)] // this example reads the resident memory only
#[path = "../soak/harness/probe.rs"]
mod probe;

use std::error::Error;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::{ExitCode, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::watch;
use tokio::time::Instant;

use socketio::admin::Mode;

use load::{Found, Histogram, Live, Receiver, Sender, Shared, STEP_WAIT};

/// The Admin UI's password in the servers (its hash is made once, here).
const ADMIN_PASSWORD: &str = "changeit";

/// Receivers connecting at once.
const CONNECTING: usize = 64;

/// The command line, as `--name value` pairs.
struct Options(Vec<String>);

impl Options {
    fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }

    fn text(&self, name: &str) -> Option<String> {
        let i = self.0.iter().position(|a| a == name)?;
        self.0.get(i + 1).cloned()
    }

    fn number(&self, name: &str, default: u64) -> Result<u64, String> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("{name} wants a number, got {v:?}")),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = Options(std::env::args().skip(1).collect());
    let outcome = if options.flag("--serve") {
        serve(&options).await.map(|()| true)
    } else {
        measure(&options).await
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The child: one server.
async fn serve(options: &Options) -> Result<(), Box<dyn Error>> {
    let setup = server::Setup {
        broker: options.text("--broker").ok_or("--serve needs --broker")?,
        channel: options.text("--channel").ok_or("--serve needs --channel")?,
        name: options
            .text("--name")
            .unwrap_or_else(|| "fanout".to_owned()),
        admin_hash: std::env::var("FANOUT_ADMIN_HASH")?,
        admin_mode: admin_mode(options)?,
        recovery: !options.flag("--no-recovery"),
    };
    server::serve(setup).await
}

/// `--admin-mode production` (the default) or `development`.
fn admin_mode(options: &Options) -> Result<Mode, String> {
    match options.text("--admin-mode").as_deref() {
        None | Some("production") => Ok(Mode::Production),
        Some("development") => Ok(Mode::Development),
        Some(other) => Err(format!(
            "--admin-mode wants production or development, got {other:?}"
        )),
    }
}

/// How the measurement runs.
struct Config {
    processes: usize,
    receivers: usize,
    senders: usize,
    window: usize,
    payload: usize,
    warmup: Duration,
    measured: Duration,
    admin_mode: Mode,
    recovery: bool,
}

impl Config {
    fn of(options: &Options) -> Result<Config, String> {
        let config = Config {
            processes: options.number("--processes", 3)? as usize,
            receivers: options.number("--receivers", 1000)? as usize,
            senders: options.number("--senders", 3)? as usize,
            window: options.number("--window", 64)? as usize,
            payload: options.number("--payload", 32)? as usize,
            warmup: Duration::from_secs(options.number("--warmup", 5)?),
            measured: Duration::from_secs(options.number("--seconds", 15)?),
            admin_mode: admin_mode(options)?,
            recovery: !options.flag("--no-recovery"),
        };
        if config.processes == 0 || config.receivers == 0 || config.senders == 0 {
            return Err("--processes, --receivers and --senders want at least 1".into());
        }
        if config.window == 0 || config.measured.is_zero() {
            return Err("--window and --seconds want at least 1".into());
        }
        Ok(config)
    }
}

/// The broker: its URL, what it is, and its process when known (for its CPU).
struct Broker {
    url: String,
    what: String,
    pid: Option<String>,
    _own: Option<Child>,
}

impl Broker {
    async fn pick(options: &Options) -> Result<Broker, Box<dyn Error>> {
        if let Some(url) = options.text("--broker") {
            let pid = if url.starts_with("amqp") {
                find_process("beam.smp")
            } else {
                None
            };
            let what = match &pid {
                Some(_) => "RabbitMQ, its beam.smp process measured".to_owned(),
                None => "given with --broker, not measured".to_owned(),
            };
            return Ok(Broker {
                url,
                what,
                pid,
                _own: None,
            });
        }
        if let Ok(url) = std::env::var("REDIS_URL") {
            return Ok(Broker {
                url,
                what: "REDIS_URL, not measured".to_owned(),
                pid: None,
                _own: None,
            });
        }
        Broker::own_redis().await
    }

    /// A `redis-server` of this run on a free port, without persistence.
    async fn own_redis() -> Result<Broker, Box<dyn Error>> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start redis-server ({e}): install it or set REDIS_URL"))?;
        let pid = child.id().map(|p| p.to_string());
        let deadline = Instant::now() + STEP_WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                return Err(format!("redis-server did not listen on port {port}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Broker {
            url: format!("redis://127.0.0.1:{port}/"),
            what: "redis-server of this run".to_owned(),
            pid,
            _own: Some(child),
        })
    }
}

/// The process whose command name is `name`, if exactly one.
fn find_process(name: &str) -> Option<String> {
    let mut found = std::fs::read_dir("/proc").ok()?.filter_map(|entry| {
        let entry = entry.ok()?;
        let pid = entry.file_name().into_string().ok()?;
        let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
        (comm.trim() == name).then_some(pid)
    });
    let pid = found.next()?;
    found.next().is_none().then_some(pid)
}

/// CPU time of process `pid` so far, in clock ticks (`utime + stime` of `/proc/<pid>/stat`).
fn cpu_ticks(pid: &str) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    field(11).unwrap_or(0) + field(12).unwrap_or(0)
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 when unknown).
fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// One server process.
struct Server {
    addr: SocketAddr,
    pid: String,
    recovery: String,
    _child: Child,
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    async fn spawn(
        index: usize,
        broker: &str,
        channel: &str,
        admin_hash: &str,
        config: &Config,
    ) -> Result<Server, Box<dyn Error>> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["--serve", "--broker", broker, "--channel", channel])
            .args(["--name", &format!("fanout-{}", index + 1)])
            .env("FANOUT_ADMIN_HASH", admin_hash)
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        if config.admin_mode == Mode::Development {
            command.args(["--admin-mode", "development"]);
        }
        if !config.recovery {
            command.arg("--no-recovery");
        }
        let mut child = command.spawn()?;
        let pid = child.id().ok_or("a server exited at once")?.to_string();
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(90), stdout.read_line(&mut line))
            .await
            .map_err(|_| "a server did not start in time")??;
        let (addr, recovery) = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|rest| rest.split_once(" recovery: "))
            .and_then(|(addr, recovery)| Some((addr.parse().ok()?, recovery.to_owned())))
            .ok_or_else(|| format!("server {}: unexpected first line {line:?}", index + 1))?;
        Ok(Server {
            addr,
            pid,
            recovery,
            _child: child,
            _stdout: stdout,
        })
    }

    /// The counters of its `/metrics` this measurement checks.
    async fn metrics(&self) -> Result<Metrics, Box<dyn Error>> {
        let (status, body) = http::request(self.addr, "GET", "/metrics", None).await?;
        if status != 200 {
            return Err(format!("/metrics answered {status}").into());
        }
        let (_, queue) = http::request(self.addr, "GET", "/fanout/queue", None).await?;
        let queue: Vec<u64> = queue.split(' ').filter_map(|n| n.parse().ok()).collect();
        let mut metrics = Metrics {
            fanout_received: 0,
            events_sent: 0,
            bytes_sent: 0,
            published: queue.first().copied().unwrap_or(0),
            received: queue.get(1).copied().unwrap_or(0),
            publish_failed: queue.get(2).copied().unwrap_or(0),
        };
        for line in body.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let value = value as u64;
            if series.starts_with("socketio_events_received_total{")
                && series.contains("event=\"fanout\"")
            {
                metrics.fanout_received += value;
            } else if series.starts_with("socketio_events_sent_total{")
                && series.contains("namespace=\"/\"")
            {
                metrics.events_sent += value;
            } else if series == "socketio_bytes_sent_total" {
                metrics.bytes_sent = value;
            }
        }
        Ok(metrics)
    }
}

/// What a server's `/metrics` and queue counts say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Metrics {
    /// `socketio_events_received_total{event="fanout"}`: broadcasts asked of it.
    fanout_received: u64,
    /// `socketio_events_sent_total{namespace="/"}`: its emits.
    events_sent: u64,
    /// `socketio_bytes_sent_total`: the bytes of every frame it sent.
    bytes_sent: u64,
    /// Messages it published to the queue.
    published: u64,
    /// Messages it received from the queue.
    received: u64,
    /// Publications that failed.
    publish_failed: u64,
}

/// The clients of one process.
#[derive(Default)]
struct Clients {
    receivers: Vec<Arc<Live>>,
    senders: Vec<Arc<Live>>,
}

impl Clients {
    fn deliveries(&self) -> u64 {
        self.receivers
            .iter()
            .map(|l| l.deliveries.load(Ordering::Relaxed))
            .sum()
    }

    fn bytes(&self) -> u64 {
        self.receivers
            .iter()
            .chain(&self.senders)
            .map(|l| l.bytes.load(Ordering::Relaxed))
            .sum()
    }
}

/// A reading at the start or the end of the measurement.
struct Reading {
    at: Instant,
    sent: u64,
    cpu: Vec<u64>,
    deliveries: Vec<u64>,
    broker_cpu: u64,
    client_cpu: u64,
}

fn reading(shared: &Shared, servers: &[Server], clients: &[Clients], broker: &Broker) -> Reading {
    Reading {
        at: Instant::now(),
        sent: shared.next_id.load(Ordering::Relaxed),
        cpu: servers.iter().map(|s| cpu_ticks(&s.pid)).collect(),
        deliveries: clients.iter().map(Clients::deliveries).collect(),
        broker_cpu: broker.pid.as_deref().map(cpu_ticks).unwrap_or(0),
        client_cpu: cpu_ticks("self"),
    }
}

/// Runs the whole measurement and prints the report; `Ok(false)` when something is wrong.
async fn measure(options: &Options) -> Result<bool, Box<dyn Error>> {
    let config = Config::of(options)?;
    let load_before = load_average();
    let broker = Broker::pick(options).await?;
    let channel = format!("cluster-fanout-{}", std::process::id());
    let admin_hash = socketio::admin::hash_password(ADMIN_PASSWORD)?;
    let mut servers = Vec::new();
    for index in 0..config.processes {
        servers.push(Server::spawn(index, &broker.url, &channel, &admin_hash, &config).await?);
    }
    // Publications that failed before the load (none is expected: the Admin UI publishes its
    // stats once the broker connection is up): not part of the load.
    let mut failed_at_start = Vec::new();
    for server in &servers {
        failed_at_start.push(server.metrics().await?.publish_failed);
    }
    let rss_idle: Vec<u64> = servers
        .iter()
        .map(|s| probe::rss_kib(&s.pid))
        .collect::<Result<_, _>>()?;

    // The receivers, round-robin over the processes, each in the room before the load starts.
    let shared = Arc::new(Shared::new(
        config.receivers as u32,
        config.window,
        config.payload,
    ));
    let mut clients: Vec<Clients> = (0..config.processes).map(|_| Clients::default()).collect();
    let joining = (0..config.receivers).map(|n| {
        let process = n % config.processes;
        let live = Arc::new(Live::default());
        clients[process].receivers.push(live.clone());
        let addr = servers[process].addr;
        async move { Receiver::join(addr, live).await }
    });
    let joined: Vec<Result<Receiver, String>> =
        futures_util::stream::iter(joining.collect::<Vec<_>>())
            .buffer_unordered(CONNECTING)
            .collect()
            .await;
    let mut receivers = Vec::new();
    for receiver in joined {
        receivers.push(receiver.map_err(|e| format!("a receiver could not join: {e}"))?);
    }
    let mut senders = Vec::new();
    let mut senders_per_process = vec![0usize; config.processes];
    for n in 0..config.senders {
        let process = n % config.processes;
        let live = Arc::new(Live::default());
        clients[process].senders.push(live.clone());
        senders_per_process[process] += 1;
        senders.push((process, Sender::connect(servers[process].addr, live).await?));
    }
    let (stop_receivers, receivers_stop) = watch::channel(false);
    let receiving: Vec<_> = receivers
        .into_iter()
        .map(|r| tokio::spawn(r.run(shared.clone(), receivers_stop.clone())))
        .collect();
    let (stop_senders, senders_stop) = watch::channel(false);
    let sending: Vec<_> = senders
        .into_iter()
        .map(|(process, s)| (process, s.start(shared.clone(), senders_stop.clone())))
        .collect();

    // Warm-up, then the measured window.
    tokio::time::sleep(config.warmup).await;
    shared.measuring.store(true, Ordering::Relaxed);
    let start = reading(&shared, &servers, &clients, &broker);
    tokio::time::sleep(config.measured).await;
    let end = reading(&shared, &servers, &clients, &broker);
    shared.measuring.store(false, Ordering::Relaxed);
    let rss_loaded: Vec<u64> = servers
        .iter()
        .map(|s| probe::rss_kib(&s.pid))
        .collect::<Result<_, _>>()?;
    let load_after = load_average();

    // Stop sending, and let what is in flight arrive.
    stop_senders.send_replace(true);
    let mut sent_per_process = vec![0u64; config.processes];
    let mut problems = Vec::new();
    for (process, sender) in sending {
        match sender.await? {
            Ok(sent) => sent_per_process[process] += sent,
            Err(e) => problems.push(format!("a sender on process {} broke: {e}", process + 1)),
        }
    }
    let sent = shared.next_id.load(Ordering::Relaxed);
    let mut progress = (shared.completed.load(Ordering::Relaxed), Instant::now());
    while shared.completed.load(Ordering::Relaxed) < sent {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let completed = shared.completed.load(Ordering::Relaxed);
        if completed != progress.0 {
            progress = (completed, Instant::now());
        } else if progress.1.elapsed() > STEP_WAIT {
            break;
        }
    }

    // Each process's counters against its clients' (read twice around the scrape: a ping
    // sent meanwhile would make them differ; then again).
    let mut metrics = Vec::new();
    for (server, clients) in servers.iter().zip(&clients) {
        let mut attempt = 0;
        let (got, seen) = loop {
            let before = clients.bytes();
            let got = server.metrics().await?;
            let after = clients.bytes();
            attempt += 1;
            if (before == after && got.bytes_sent == after) || attempt == 5 {
                break (got, after);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        metrics.push((got, seen));
    }

    stop_receivers.send_replace(true);
    let mut latency = Histogram::default();
    let (mut unique, mut duplicates, mut unexpected) = (0u64, 0u64, 0u64);
    for receiver in receiving {
        let found: Found = receiver.await?;
        latency.merge(&found.latency);
        unique += found.unique_below(sent);
        duplicates += found.duplicates;
        unexpected += found.unexpected;
        if let Some(why) = found.broken {
            problems.push(format!("a receiver broke: {why}"));
        }
    }
    let expected = sent * config.receivers as u64;
    let missing = expected - unique.min(expected);

    // The report.
    let seconds = end.at.duration_since(start.at).as_secs_f64();
    let tick = ticks_per_second();
    let cpu_s = |a: u64, b: u64| b.saturating_sub(a) as f64 / tick;
    let broadcasts = end.sent - start.sent;
    let deliveries: u64 = end.deliveries.iter().sum::<u64>() - start.deliveries.iter().sum::<u64>();
    let recovery = &servers[0].recovery;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "cluster_fanout: {} processes, broker {} ({}), {} receivers, {} senders, window {}, \
         payload {} B, warm-up {} s, measured {:.1} s",
        config.processes,
        broker.url,
        broker.what,
        config.receivers,
        config.senders,
        config.window,
        config.payload,
        config.warmup.as_secs(),
        seconds
    );
    let _ = writeln!(
        out,
        "on: message queue (heartbeat 2 s / 5 s), metrics with the Prometheus /metrics, Admin UI \
         (basic auth, {} mode), tracing at warn, limits at their defaults; recovery: {recovery}",
        match config.admin_mode {
            Mode::Development => "development",
            Mode::Production => "production",
        }
    );
    let _ = writeln!(
        out,
        "load average before {load_before}, at the end of the measurement {load_after}\n"
    );
    let _ = writeln!(
        out,
        "| broadcasts/s | deliveries/s | latency p50 | p90 | p99 | max | sent | missing | duplicates |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let _ = writeln!(
        out,
        "| {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} |\n",
        broadcasts as f64 / seconds,
        deliveries as f64 / seconds,
        ms(latency.quantile(0.5)),
        ms(latency.quantile(0.9)),
        ms(latency.quantile(0.99)),
        ms(latency.quantile(1.0)),
        sent,
        missing,
        duplicates
    );
    let _ = writeln!(
        out,
        "| process | receivers | senders | CPU % | deliveries/s | deliveries per core-s | RSS idle → loaded (MiB) | fanout received (metrics / sent) | events sent | bytes sent (metrics / clients) | queue published / received |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut server_cpu = 0.0;
    for (i, server) in servers.iter().enumerate() {
        let cpu = cpu_s(start.cpu[i], end.cpu[i]);
        server_cpu += cpu;
        let delivered = end.deliveries[i] - start.deliveries[i];
        let (m, seen) = metrics[i];
        let _ = writeln!(
            out,
            "| {} (pid {}) | {} | {} | {:.0} | {:.0} | {:.0} | {:.1} → {:.1} | {} / {} | {} | {} / {} | {} / {} |",
            i + 1,
            server.pid,
            clients[i].receivers.len(),
            senders_per_process[i],
            100.0 * cpu / seconds,
            delivered as f64 / seconds,
            delivered as f64 / cpu.max(f64::EPSILON),
            rss_idle[i] as f64 / 1024.0,
            rss_loaded[i] as f64 / 1024.0,
            m.fanout_received,
            sent_per_process[i],
            m.events_sent,
            m.bytes_sent,
            seen,
            m.published,
            m.received
        );
        if m.fanout_received != sent_per_process[i] || m.events_sent != sent_per_process[i] {
            problems.push(format!(
                "process {}: the metrics count {} fanout events received and {} sent, its senders \
                 sent {}",
                i + 1,
                m.fanout_received,
                m.events_sent,
                sent_per_process[i]
            ));
        }
        if m.bytes_sent != seen {
            problems.push(format!(
                "process {}: the metrics count {} bytes sent, its clients received {seen}",
                i + 1,
                m.bytes_sent
            ));
        }
        if m.publish_failed > failed_at_start[i] {
            problems.push(format!(
                "process {}: {} publications failed during the load",
                i + 1,
                m.publish_failed - failed_at_start[i]
            ));
        }
    }
    let _ = writeln!(
        out,
        "\nservers: {:.0} % CPU together, {:.0} deliveries per server core-s; broker: {}; \
         clients (this process): {:.0} % CPU",
        100.0 * server_cpu / seconds,
        deliveries as f64 / server_cpu.max(f64::EPSILON),
        match broker.pid {
            Some(_) => format!(
                "{:.0} % CPU",
                100.0 * cpu_s(start.broker_cpu, end.broker_cpu) / seconds
            ),
            None => "not measured".to_owned(),
        },
        100.0 * cpu_s(start.client_cpu, end.client_cpu) / seconds
    );
    let startup_failures: u64 = failed_at_start.iter().sum();
    if startup_failures > 0 {
        let _ = writeln!(
            out,
            "({startup_failures} publications failed at startup, before the broker connection \
             was up: not part of the load)"
        );
    }
    println!("{out}");
    if missing + duplicates + unexpected > 0 {
        problems.push(format!(
            "{missing} deliveries missing, {duplicates} duplicated, {unexpected} unexpected \
             messages ({sent} broadcasts × {} receivers)",
            config.receivers
        ));
    }
    if broadcasts == 0 {
        problems.push("no broadcast in the measured window".to_owned());
    }
    for problem in &problems {
        println!("FAILED: {problem}");
    }
    if problems.is_empty() {
        println!(
            "every delivery accounted for: {sent} broadcasts × {} receivers, none missing, none \
             duplicated; the metrics agree",
            config.receivers
        );
    }
    Ok(problems.is_empty())
}

/// µs as milliseconds, one decimal.
fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}
