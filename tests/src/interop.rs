//! The interop suite (issue 3): the official JavaScript client (socket.io-client) and the
//! Python client (python-socketio) run scenarios against a server started in-process.
//!
//! Each test starts its own [`Server`](crate::server::Server) on 127.0.0.1:0 (on the test's
//! runtime) with the handlers of its scenario ([`servers`]), then runs one client script as a
//! subprocess — `tests/js/interop.js` or `tests/python/interop.py`, given the URL, the transport
//! [`Mode`] and the scenario name. The script prints JSON lines of what it observed
//! ([`Observed`]); the test asserts on them, and on what the server's handlers reported through
//! a [`Recorder`] ([`scenarios`]). `interop_rust.rs` drives the Rust client `rust_socketio`
//! against the same [`servers`].
//!
//! Where the clients come from (set by `scripts/test`; defaults relative to the workspace):
//! - `SOCKETIO_TEST_NODE`: the node binary (default `node` from `PATH`);
//! - `SOCKETIO_TEST_NODE_MODULES`: the `node_modules` holding socket.io-client (default
//!   `tests/js/node_modules`), also put on `NODE_PATH`;
//! - `SOCKETIO_TEST_PYTHON`: a Python with python-socketio (default `.venv/bin/python`).
//!
//! `SOCKETIO_TEST_VERBOSE=1` prints every script's output (with `-- --nocapture`).
//!
//! A missing client fails the test with the command that installs it: CI installs them, and a
//! skipped interop test would hide exactly the regressions this suite exists for.

pub mod scenarios;
pub mod servers;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::watch;

use crate::wait::{EXTERNAL_WAIT, SCRIPT_TIMEOUT};

/// The transports a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// HTTP long-polling only.
    Polling,
    /// WebSocket only, from the first request.
    WebSocket,
    /// Polling first, then the upgrade to WebSocket (the clients' default).
    Upgrade,
}

impl Mode {
    /// The name the scripts take.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Polling => "polling",
            Mode::WebSocket => "websocket",
            Mode::Upgrade => "upgrade",
        }
    }

    /// The transport a connection ends up on.
    pub fn final_transport(self) -> &'static str {
        match self {
            Mode::Polling => "polling",
            Mode::WebSocket | Mode::Upgrade => "websocket",
        }
    }
}

/// The client implementations driven by scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptClient {
    /// socket.io-client (Node).
    Js,
    /// python-socketio (threaded client).
    Python,
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The path in environment variable `var`, if it is set and not empty.
pub fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

impl ScriptClient {
    /// The client's scenario script: `tests/js/interop.js` or `tests/python/interop.py`.
    fn script(self) -> &'static str {
        match self {
            ScriptClient::Js => "interop.js",
            ScriptClient::Python => "interop.py",
        }
    }

    /// The command that runs `scenario` of `script` (a file of `tests/js` or `tests/python`)
    /// in `mode` against `url`. Panics, saying how to install it, when the client is missing.
    fn command(
        self,
        script: &str,
        url: &str,
        mode: Mode,
        scenario: &str,
    ) -> tokio::process::Command {
        let root = workspace();
        let mut command = match self {
            ScriptClient::Js => {
                let modules = env_path("SOCKETIO_TEST_NODE_MODULES")
                    .unwrap_or(root.join("tests/js/node_modules"));
                assert!(
                    modules.join("socket.io-client/package.json").is_file(),
                    "socket.io-client is not installed in {}: run `npm ci --prefix tests/js` \
                     (or set SOCKETIO_TEST_NODE_MODULES)",
                    modules.display()
                );
                let node = env_path("SOCKETIO_TEST_NODE").unwrap_or_else(|| "node".into());
                let mut command = tokio::process::Command::new(node);
                let node_path = match std::env::var_os("NODE_PATH") {
                    Some(rest) if !rest.is_empty() => {
                        let mut paths = vec![modules.clone()];
                        paths.extend(std::env::split_paths(&rest));
                        std::env::join_paths(paths).expect("valid NODE_PATH")
                    }
                    _ => modules.clone().into_os_string(),
                };
                command
                    .env("NODE_PATH", node_path)
                    .arg(root.join("tests/js").join(script));
                command
            }
            ScriptClient::Python => {
                let python =
                    env_path("SOCKETIO_TEST_PYTHON").unwrap_or(root.join(".venv/bin/python"));
                assert!(
                    python.exists(),
                    "no Python client at {}: run `python3 -m venv .venv && .venv/bin/pip install \
                     -r tests/python/requirements.txt` (or set SOCKETIO_TEST_PYTHON)",
                    python.display()
                );
                let mut command = tokio::process::Command::new(python);
                command
                    .env("PYTHONUNBUFFERED", "1")
                    .env("PYTHONDONTWRITEBYTECODE", "1")
                    .arg(root.join("tests/python").join(script));
                command
            }
        };
        command
            .args([url, mode.as_str(), scenario])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs the client script for `scenario` and returns what it observed. Panics (with its
    /// output) if it fails, times out or never reports `done`.
    pub async fn run(self, url: &str, mode: Mode, scenario: &str) -> Observed {
        self.run_script(self.script(), url, mode, scenario).await
    }

    /// [`run`](Self::run) with another script of the client's folder (`tests/js/msgpack.js`,
    /// say), which follows the same conventions.
    pub async fn run_script(self, script: &str, url: &str, mode: Mode, scenario: &str) -> Observed {
        let started = Instant::now();
        let mut child = match self.command(script, url, mode, scenario).spawn() {
            Ok(child) => child,
            Err(e) => panic!(
                "cannot start the {self:?} client ({e}): {}",
                match self {
                    ScriptClient::Js => "install Node.js 20 or set SOCKETIO_TEST_NODE",
                    ScriptClient::Python =>
                        "set SOCKETIO_TEST_PYTHON to a Python with python-socketio",
                }
            ),
        };
        // Read both pipes while the script runs, so a script that times out still shows what
        // it printed.
        let stdout = tokio::spawn(read_all(child.stdout.take().expect("piped stdout")));
        let stderr = tokio::spawn(read_all(child.stderr.take().expect("piped stderr")));
        let status = match tokio::time::timeout(SCRIPT_TIMEOUT, child.wait()).await {
            Ok(status) => Some(status.expect("wait for the client script")),
            Err(_) => {
                let _ = child.kill().await;
                None
            }
        };
        let stdout = stdout.await.expect("stdout reader");
        let stderr = stderr.await.expect("stderr reader");
        let lines = stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| json!({ "ev": "raw", "line": l })))
            .collect();
        let observed = Observed {
            client: self,
            mode,
            scenario: scenario.to_owned(),
            lines,
            stderr,
            elapsed: started.elapsed(),
        };
        if std::env::var_os("SOCKETIO_TEST_VERBOSE").is_some() {
            eprintln!("{observed}");
        }
        if self == ScriptClient::Js && observed.stderr.contains("Cannot find module 'socket.io-") {
            panic!(
                "node cannot load a socket.io package: run `npm ci --prefix tests/js` (or set \
                 SOCKETIO_TEST_NODE_MODULES)\n{observed}"
            );
        }
        if self == ScriptClient::Python && observed.stderr.contains("ModuleNotFoundError") {
            panic!(
                "python-socketio is missing: run `.venv/bin/pip install -r \
                 tests/python/requirements.txt` (or set SOCKETIO_TEST_PYTHON)\n{observed}"
            );
        }
        match status {
            None => panic!("the client script ran for more than {SCRIPT_TIMEOUT:?}:\n{observed}"),
            Some(status) if !status.success() || observed.find("done").is_none() => {
                panic!("the client script failed ({status}):\n{observed}")
            }
            Some(_) => {}
        }
        observed
    }
}

async fn read_all(mut pipe: impl tokio::io::AsyncRead + Unpin) -> String {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let _ = pipe.read_to_end(&mut buf).await;
    String::from_utf8_lossy(&buf).into_owned()
}

/// What a client script printed.
pub struct Observed {
    pub client: ScriptClient,
    pub mode: Mode,
    pub scenario: String,
    pub lines: Vec<Value>,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Observed {
    /// The first line reporting `ev`.
    pub fn find(&self, ev: &str) -> Option<&Value> {
        self.lines.iter().find(|l| l["ev"] == ev)
    }

    /// The first line reporting `ev`; panics with the whole output if there is none.
    pub fn get(&self, ev: &str) -> &Value {
        self.find(ev)
            .unwrap_or_else(|| panic!("the client reported no {ev:?}:\n{self}"))
    }

    /// Every line reporting `ev`.
    pub fn all(&self, ev: &str) -> Vec<&Value> {
        self.lines.iter().filter(|l| l["ev"] == ev).collect()
    }

    /// Checks the transport reported as `label` is the one `mode` ends on (after the upgrade, in
    /// upgrade mode).
    pub fn assert_transport(&self, label: &str) {
        assert_eq!(
            self.get(label)["name"],
            self.mode.final_transport(),
            "transport in {} mode:\n{self}",
            self.mode.as_str()
        );
    }
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "--- {:?} client, scenario {:?}, {} mode, {:?}; stdout:",
            self.client,
            self.scenario,
            self.mode.as_str(),
            self.elapsed
        )?;
        for line in &self.lines {
            let mut text = line.to_string();
            if text.len() > 2000 {
                let mut cut = 2000;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                text.push_str("...");
            }
            writeln!(f, "{text}")?;
        }
        writeln!(f, "--- stderr:\n{}---", self.stderr)
    }
}

/// What the server's handlers report: `{"ev": name, "data": value}` in order.
#[derive(Clone)]
pub struct Recorder(watch::Sender<Vec<Value>>);

impl Default for Recorder {
    fn default() -> Self {
        Recorder(watch::Sender::new(Vec::new()))
    }
}

impl Recorder {
    /// Records `data` under `ev`.
    pub fn push(&self, ev: &str, data: Value) {
        self.0
            .send_modify(|events| events.push(json!({ "ev": ev, "data": data })));
    }

    /// Everything recorded so far.
    pub fn all(&self) -> Vec<Value> {
        self.0.borrow().clone()
    }

    /// The data of every `ev` recorded so far.
    pub fn data(&self, ev: &str) -> Vec<Value> {
        self.0
            .borrow()
            .iter()
            .filter(|e| e["ev"] == ev)
            .map(|e| e["data"].clone())
            .collect()
    }

    /// Waits (within [`EXTERNAL_WAIT`]) until `count` events `ev` were recorded; returns their
    /// data.
    pub async fn wait(&self, ev: &str, count: usize) -> Vec<Value> {
        let mut rx = self.0.subscribe();
        let waited = tokio::time::timeout(
            EXTERNAL_WAIT,
            rx.wait_for(|events| events.iter().filter(|e| e["ev"] == ev).count() >= count),
        )
        .await;
        if waited.is_err() {
            panic!(
                "the server recorded fewer than {count} {ev:?} within {EXTERNAL_WAIT:?}: {:#}",
                Value::Array(self.all())
            );
        }
        self.data(ev)
    }

    /// Waits (within [`EXTERNAL_WAIT`]) until an `ev` whose data satisfies `pred` was recorded; returns its data.
    pub async fn wait_for(&self, ev: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let matching = |events: &[Value]| {
            events
                .iter()
                .find(|e| e["ev"] == ev && pred(&e["data"]))
                .map(|e| e["data"].clone())
        };
        let mut rx = self.0.subscribe();
        let waited = tokio::time::timeout(
            EXTERNAL_WAIT,
            rx.wait_for(|events| matching(events).is_some()),
        )
        .await;
        if waited.is_err() {
            panic!(
                "the server recorded no matching {ev:?} within {EXTERNAL_WAIT:?}: {:#}",
                Value::Array(self.all())
            );
        }
        matching(&self.0.borrow()).expect("recorded")
    }
}

/// Declares, for each scenario, one test per transport mode that runs it with `client`:
/// `<scenario>::polling`, `<scenario>::websocket`, `<scenario>::upgrade`.
#[macro_export]
macro_rules! interop_tests {
    ($client:expr; $($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[allow(unused_imports)]
                use super::*;
                use $crate::interop::{scenarios, Mode};

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn polling() {
                    scenarios::$scenario($client, Mode::Polling).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn websocket() {
                    scenarios::$scenario($client, Mode::WebSocket).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn upgrade() {
                    scenarios::$scenario($client, Mode::Upgrade).await;
                }
            }
        )+
    };
}
