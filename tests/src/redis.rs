//! A `redis-server` process per test ([`Redis`]), and a pausable TCP proxy in front of one
//! ([`proxy`]) for the partition tests.

pub mod proxy;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use crate::wait::{EXTERNAL_WAIT, POLL};

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

    /// Starts the process and waits (blocking, within [`EXTERNAL_WAIT`]) until it listens.
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
        let deadline = Instant::now() + EXTERNAL_WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {}",
                self.port
            );
            std::thread::sleep(POLL);
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
