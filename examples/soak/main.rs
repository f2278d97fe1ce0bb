//! An hour of churn: mixed load on one server, its memory, descriptors and tasks measured
//! every minute (docs/reliability.md, "An hour of churn").
//!
//! The server runs in a child process (this binary with `--serve`), so that its resident
//! memory and descriptors, read from `/proc/<pid>`, are its own; it reports its tokio tasks,
//! live sessions and panics on `GET /soak/stats`. The load runs here (see
//! `harness/load.rs`). At the end the table is printed, then what went wrong, if anything (the
//! exit status is then 1).
//!
//! ```sh
//! cargo build --release --example soak -p examples
//! nice target/release/examples/soak --minutes 60 --clients 40 --slow 3
//! ```
//!
//! Options: `--minutes N` (60), `--clients N` well-behaved clients at any time (40), `--slow N`
//! slow readers (3), `--checkpoint-every N` minutes (10), `--ping-interval-ms` /
//! `--ping-timeout-ms` of the server (5000 / 5000). `RUST_LOG` filters the log lines (`warn`).

mod harness;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use harness::run::{self, Config, Sample, Target};
use harness::{app, http, probe};

/// The command line, as `--name value` pairs.
struct Options(Vec<String>);

impl Options {
    fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }

    fn number(&self, name: &str, default: u64) -> u64 {
        self.0
            .iter()
            .position(|a| a == name)
            .and_then(|i| self.0.get(i + 1))
            .map(|v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{name} wants a number, got {v:?}"))
            })
            .unwrap_or(default)
    }
}

#[tokio::main]
async fn main() -> io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(io::stderr)
        .init();
    let options = Options(std::env::args().skip(1).collect());
    let ping_interval = Duration::from_millis(options.number("--ping-interval-ms", 5000));
    let ping_timeout = Duration::from_millis(options.number("--ping-timeout-ms", 5000));
    if options.flag("--serve") {
        return serve(ping_interval, ping_timeout).await;
    }
    let config = Config {
        minutes: options.number("--minutes", 60) as u32,
        clients: options.number("--clients", 40) as usize,
        slow: options.number("--slow", 3) as usize,
        sample_every: Duration::from_secs(5),
        checkpoint_every: options.number("--checkpoint-every", 10) as u32,
        warmup: 1,
        drain_wait: 2 * (ping_interval + ping_timeout) + Duration::from_secs(60),
    };
    let server = Server::spawn(ping_interval, ping_timeout).await?;
    let report = run::run(&server, config).await?;
    println!("\n{}\n\n{}\n", report.table(), report.summary());
    let failures = report.failures();
    if failures.is_empty() {
        println!("flat: no leak, no panic, no lost acknowledgement");
        Ok(())
    } else {
        for failure in &failures {
            println!("FAILED: {failure}");
        }
        std::process::exit(1)
    }
}

/// The child: the soak's server on 127.0.0.1:0 (its address printed on the first line), with
/// `GET /soak/stats` answering `<tasks> <sessions> <panics>`.
async fn serve(ping_interval: Duration, ping_timeout: Duration) -> io::Result<()> {
    let panics = Arc::new(AtomicUsize::new(0));
    let counted = panics.clone();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counted.fetch_add(1, Ordering::Relaxed);
        default_hook(info);
    }));
    let io = app::builder(ping_interval, ping_timeout).build()?;
    tokio::spawn(app::ticker(io.clone()));
    let stats = {
        let io = io.clone();
        get(move || async move {
            let tasks = tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks();
            let sessions = io.connection_count();
            format!("{tasks} {sessions} {}", panics.load(Ordering::Relaxed))
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    let routes = axum::Router::new().route("/soak/stats", stats);
    io.serve_with(listener, routes, std::future::pending())
        .await
}

/// The server in its child process.
struct Server {
    addr: SocketAddr,
    pid: String,
    _child: Child,
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts the child and reads its address.
    async fn spawn(ping_interval: Duration, ping_timeout: Duration) -> io::Result<Server> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--serve")
            .arg("--ping-interval-ms")
            .arg(ping_interval.as_millis().to_string())
            .arg("--ping-timeout-ms")
            .arg(ping_timeout.as_millis().to_string())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| io::Error::other("the server exited at once"))?
            .to_string();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout.read_line(&mut line).await?;
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| io::Error::other(format!("unexpected first line {line:?}")))?;
        Ok(Server {
            addr,
            pid,
            _child: child,
            _stdout: stdout,
        })
    }
}

impl Target for Server {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    async fn sample(&self) -> io::Result<Sample> {
        let (status, body) = http::request(self.addr, "GET", "/soak/stats", None).await?;
        let numbers: Vec<usize> = body.split(' ').filter_map(|n| n.parse().ok()).collect();
        let [tasks, sessions, panics] = numbers[..] else {
            return Err(io::Error::other(format!(
                "stats answered {status} {body:?}"
            )));
        };
        Ok(Sample {
            rss_kib: probe::rss_kib(&self.pid)?,
            fds: probe::fds(&self.pid)?,
            tasks,
            sessions,
            panics,
        })
    }
}
