//! Foreign emitters and mixed clusters (`tests/foreign_emitters.rs`, `tests/mixed_cluster.rs`):
//! the real python-socketio / Flask-SocketIO managers (`tests/python/foreign_emitter.py`), a
//! real Flask-SocketIO server (`tests/python/foreign_server.py`) and Node's
//! `@socket.io/redis-emitter` (`tests/js/redis_emitter.js`), run as subprocesses; and raw
//! publications for garbage.
//!
//! The interpreters come from the same places as the interop suite's
//! ([`crate::interop`]): `SOCKETIO_TEST_PYTHON`, `SOCKETIO_TEST_NODE`,
//! `SOCKETIO_TEST_NODE_MODULES`.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::interop::{env_path, workspace};
use crate::wait::{EXTERNAL_WAIT, SCRIPT_TIMEOUT};
use crate::ws::{Client, Packet};

/// The python of the test venv, with a script of `tests/python/`.
fn python(script: &str) -> Command {
    let python = env_path("SOCKETIO_TEST_PYTHON").unwrap_or(workspace().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "no Python at {}: run `python3 -m venv .venv && .venv/bin/pip install -r \
         tests/python/requirements.txt` (or set SOCKETIO_TEST_PYTHON)",
        python.display()
    );
    let mut command = Command::new(python);
    command
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(workspace().join("tests/python").join(script));
    command
}

/// Node with `tests/js/node_modules`, running `tests/js/redis_emitter.js`.
fn node_emitter() -> Command {
    let modules =
        env_path("SOCKETIO_TEST_NODE_MODULES").unwrap_or(workspace().join("tests/js/node_modules"));
    assert!(
        modules
            .join("@socket.io/redis-emitter/package.json")
            .is_file(),
        "@socket.io/redis-emitter is not installed in {}: run `npm ci --prefix tests/js`",
        modules.display()
    );
    let node = env_path("SOCKETIO_TEST_NODE").unwrap_or_else(|| "node".into());
    let mut command = Command::new(node);
    command
        .env("NODE_PATH", &modules)
        .arg(workspace().join("tests/js/redis_emitter.js"));
    command
}

/// Runs `command` to its end (within [`SCRIPT_TIMEOUT`]); panics with its output unless it
/// succeeded and printed `{"done": true}`.
async fn run(mut command: Command, what: &str) {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what} ran for more than {SCRIPT_TIMEOUT:?}"))
        .expect("wait for the script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("\"done\""),
        "{what} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
}

/// Which python-socketio publisher `foreign_emitter.py` uses.
#[derive(Debug, Clone, Copy)]
pub enum Manager {
    /// Flask-SocketIO's `SocketIO(message_queue=url)` without an app.
    Flask,
    /// `socketio.RedisManager(url, write_only=True)`.
    Redis,
    /// `socketio.KombuManager(url, write_only=True)`.
    Kombu,
}

impl Manager {
    fn name(self) -> &'static str {
        match self {
            Manager::Flask => "flask",
            Manager::Redis => "redis",
            Manager::Kombu => "kombu",
        }
    }
}

/// Publishes `ops` (see `tests/python/foreign_emitter.py`) with `manager` on `channel`.
pub async fn python_emit(manager: Manager, url: &str, channel: &str, ops: Value) {
    let mut command = python("foreign_emitter.py");
    command.args([manager.name(), url, channel, &ops.to_string()]);
    run(command, &format!("foreign_emitter.py {}", manager.name())).await;
}

/// Publishes `ops` (see `tests/js/redis_emitter.js`) with Node's redis-emitter.
pub async fn node_emit(url: &str, ops: Value) {
    let mut command = node_emitter();
    command.args([url, &ops.to_string()]);
    run(command, "redis_emitter.js").await;
}

/// A Flask-SocketIO server on a message queue (Redis or RabbitMQ) with a python-socketio client
/// in room `news` (`tests/python/foreign_server.py`), killed on drop.
pub struct FlaskServer {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    /// Its client's socket id.
    pub sid: String,
}

impl FlaskServer {
    /// Starts it on `channel` of the message queue at `url` (`redis://` or `amqp://`, in
    /// Kombu's spelling) and waits until its subscription delivers.
    pub async fn start(url: &str, channel: &str) -> FlaskServer {
        let mut command = python("foreign_server.py");
        command
            .args([url, channel])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("start foreign_server.py");
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut server = FlaskServer {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
            sid: String::new(),
        };
        let ready = server.line().await;
        assert_eq!(ready["ready"], true, "{ready}");
        server.sid = ready["sid"].as_str().expect("the client's sid").to_owned();
        server
    }

    /// Sends a command (see the script) and waits until it is done.
    pub async fn command(&mut self, command: Value) {
        let line = format!("{command}\n");
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("write to foreign_server.py");
        let answer = self.line().await;
        assert_eq!(answer["ok"], true, "{command}: {answer}");
    }

    /// The next JSON line it prints.
    pub async fn line(&mut self) -> Value {
        let line = tokio::time::timeout(EXTERNAL_WAIT, self.lines.next_line())
            .await
            .expect("foreign_server.py printed nothing in time")
            .expect("read foreign_server.py")
            .expect("foreign_server.py ended early");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
    }

    /// Every event its client received before `bye` (or before the server disconnected it),
    /// once it is done.
    pub async fn received(mut self) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let line = self.line().await;
            if line["done"] == true {
                let _ = tokio::time::timeout(EXTERNAL_WAIT, self.child.wait()).await;
                return events;
            }
            events.push(line);
        }
    }
}

/// PUBLISHes `payload` on `channel` of the Redis server on `port`, byte for byte (RESP by
/// hand: garbage must reach the servers exactly as written).
pub async fn publish_raw(port: u16, channel: &str, payload: &[u8]) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to redis");
    let mut command = Vec::new();
    command.extend_from_slice(b"*3\r\n$7\r\nPUBLISH\r\n");
    for part in [channel.as_bytes(), payload] {
        command.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
        command.extend_from_slice(part);
        command.extend_from_slice(b"\r\n");
    }
    stream.write_all(&command).await.expect("publish");
    let mut reply = BufReader::new(stream).lines();
    let answer = tokio::time::timeout(EXTERNAL_WAIT, reply.next_line())
        .await
        .expect("redis answers PUBLISH")
        .expect("read the answer");
    assert!(
        answer.as_deref().is_some_and(|a| a.starts_with(':')),
        "{answer:?}"
    );
}

/// The events (name, arguments, attachments) a [`Client`] got before the event `marker`.
pub async fn events_before(client: &mut Client, marker: &str) -> Vec<(String, Vec<Value>, usize)> {
    client
        .until_marker(marker)
        .await
        .into_iter()
        .map(|packet| match packet {
            Packet::Event {
                name,
                args,
                attachments,
                ..
            } => (name, args, attachments.len()),
            other => panic!("expected events, got {other:?}"),
        })
        .collect()
}

/// The names of `events`.
pub fn names(events: &[(String, Vec<Value>, usize)]) -> Vec<&str> {
    events.iter().map(|(name, ..)| name.as_str()).collect()
}
