//! Debian's `nginx` in front of the servers of a test ([`Nginx`]), configured with the snippets
//! the documentation shows ([`snippet`]): the deployment tests (`tests/deploy_nginx*.rs`) prove
//! the README's configuration, not a copy of it.
//!
//! Each [`Nginx`] is a process of the test: `nginx -p <dir> -c <dir>/nginx.conf -g 'daemon off;'`
//! with its own directory under the system temp dir (configuration, pid file, logs, temp paths:
//! nothing is written outside it), listening on a free 127.0.0.1 port, in one process
//! (`master_process off`: no worker switching to another user, so it runs alike as root and as
//! any user, and killing the one process stops it). It is killed, and its directory removed,
//! on drop. The system service is never used.
//!
//! [`Nginx::logged`] reads its access log (proof that the traffic went through it), and
//! [`client`] runs the official JavaScript client's script `tests/js/deploy_nginx.js`.
//!
//! Where nginx comes from: `$SOCKETIO_TEST_NGINX`, else `nginx` on `PATH`, else
//! `/usr/sbin/nginx` (not on a non-root user's `PATH` on Debian). A missing nginx fails the test
//! with the command that installs it (`.ci/run` does): a skipped deployment test would prove
//! nothing.

use std::fmt;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::interop::{env_path, workspace};
use crate::redis::free_port;
use crate::wait::{eventually, EXTERNAL_WAIT, POLL};

/// The first ```` ```nginx ```` block after the line `heading` of the Markdown file `file`
/// (relative to the workspace), without the indentation of its fence. Panics, naming the file
/// and heading, when there is none.
pub fn snippet(file: &str, heading: &str) -> String {
    let path = workspace().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines().skip_while(|l| l.trim_end() != heading).skip(1);
    let indent = lines
        .by_ref()
        .find(|l| l.trim() == "```nginx")
        .map(|fence| fence.len() - fence.trim_start().len())
        .unwrap_or_else(|| panic!("{file} has no ```nginx block after the line {heading:?}"));
    let mut block = String::new();
    for line in lines.by_ref() {
        if line.trim() == "```" {
            return block;
        }
        let cut = line.len() - line.trim_start().len();
        block.push_str(&line[cut.min(indent)..]);
        block.push('\n');
    }
    panic!("the ```nginx block after {heading:?} in {file} is not closed")
}

/// `text` with `from` replaced by `to`; panics if `text` does not contain `from` (the
/// documentation changed: the test must be adapted, not silently test something else).
pub fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the nginx snippet no longer contains {from:?}:\n{text}"
    );
    text.replace(from, to)
}

/// The `server host:port;` lines of `text`'s `upstream` block replaced by one line per address
/// of `upstreams` (at the indentation of the first). Panics if there are none.
pub fn with_upstreams(text: &str, upstreams: &[SocketAddr]) -> String {
    let is_server = |line: &str| {
        let line = line.trim();
        line.starts_with("server ") && line.ends_with(';') && !line.contains('{')
    };
    let first = text
        .lines()
        .find(|l| is_server(l))
        .unwrap_or_else(|| panic!("the nginx snippet lists no upstream servers:\n{text}"));
    let indent = &first[..first.len() - first.trim_start().len()];
    let mut out = String::new();
    let mut replaced = false;
    for line in text.lines() {
        if !is_server(line) {
            out.push_str(line);
            out.push('\n');
        } else if !replaced {
            for addr in upstreams {
                out.push_str(&format!("{indent}server {addr};\n"));
            }
            replaced = true;
        }
    }
    out
}

/// A directory of this test, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "socketio-nginx-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path); // a leftover of a killed run with the same pid
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An nginx process of this test (see the module docs), killed on drop.
pub struct Nginx {
    /// Where it listens: 127.0.0.1 and a port that was free.
    pub addr: SocketAddr,
    child: Child,
    dir: TempDir,
}

impl Nginx {
    /// Starts nginx with `server`, an `http`-level configuration (`upstream` and `server`
    /// blocks) in which every `{listen}` stands for the address it listens on (`127.0.0.1:port`),
    /// and waits (within [`EXTERNAL_WAIT`]) until it accepts connections. Should another process
    /// take the free port first, starts again on another.
    pub fn start(server: &str) -> Nginx {
        let binary = binary();
        for _ in 0..5 {
            match Nginx::try_start(&binary, server) {
                Ok(nginx) => return nginx,
                Err(taken) => eprintln!("{taken}; trying another port"),
            }
        }
        panic!("nginx found no free port in 5 attempts")
    }

    /// Starts nginx on a free port: `Err` when the port was taken meanwhile.
    fn try_start(binary: &Path, server: &str) -> Result<Nginx, String> {
        let dir = TempDir::new();
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let conf = config(&dir.0, &server.replace("{listen}", &addr.to_string()));
        let conf_path = dir.0.join("nginx.conf");
        std::fs::write(&conf_path, &conf)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf_path.display()));
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir.0)
            .arg("-c")
            .arg(&conf_path)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.0.join("stderr.log")).expect("stderr.log"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run nginx ({}: {e}): install it with `apt-get install -y nginx` \
                     (as .ci/run does) or set SOCKETIO_TEST_NGINX",
                    binary.display()
                )
            });
        let mut nginx = Nginx { addr, child, dir };
        nginx.wait_ready(&conf)?;
        Ok(nginx)
    }

    /// Waits until nginx has written its pid file (it does so once its sockets are bound) and
    /// accepts a connection.
    fn wait_ready(&mut self, conf: &str) -> Result<(), String> {
        let pid = self.child.id().to_string();
        let deadline = Instant::now() + EXTERNAL_WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let logs = self.logs();
                if logs.contains("Address already in use") {
                    return Err(format!("port {} was taken", self.addr.port()));
                }
                panic!(
                    "nginx exited ({status}) instead of listening on {}\n{logs}\n--- nginx.conf:\n{conf}",
                    self.addr,
                );
            }
            if read(&self.dir.0.join("nginx.pid")).trim() == pid
                && TcpStream::connect(self.addr).is_ok()
            {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on {} within {EXTERNAL_WAIT:?}\n{}\n--- nginx.conf:\n{conf}",
                self.addr,
                self.logs()
            );
            std::thread::sleep(POLL);
        }
    }

    /// `http://127.0.0.1:<port>`: the URL clients connect to, and the `Origin` of a page it
    /// serves.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The access log so far (nginx's `combined` format: one line per request, written when
    /// the request ends, a WebSocket when its connection closes).
    pub fn access_log(&self) -> String {
        read(&self.dir.0.join("access.log"))
    }

    /// `(method, transport, status)` of every `/socket.io/` request logged so far.
    pub fn logged(&self) -> Vec<(String, String, u16)> {
        self.access_log()
            .lines()
            .filter_map(|line| {
                // combined: ... "GET /socket.io/?EIO=4&transport=polling&t=x HTTP/1.1" 200 ...
                let mut parts = line.split('"');
                let request = parts.nth(1)?;
                let status = parts.next()?.split_whitespace().next()?.parse().ok()?;
                let (method, target) = request.split_once(' ')?;
                let query = target.strip_prefix("/socket.io/?")?;
                let transport = query
                    .split(['&', ' '])
                    .find_map(|kv| kv.strip_prefix("transport="))?;
                Some((method.to_owned(), transport.to_owned(), status))
            })
            .collect()
    }

    /// Waits (within [`EXTERNAL_WAIT`]) until a `method` request on `transport` answered with
    /// `status` was logged (a WebSocket is logged when its connection closes).
    pub async fn wait_logged(&self, method: &str, transport: &str, status: u16) {
        let what = format!("nginx logs a {method} {transport} request answered {status}");
        eventually(EXTERNAL_WAIT, &what, || {
            self.logged()
                .iter()
                .any(|(m, t, s)| m == method && t == transport && *s == status)
        })
        .await;
    }

    /// What nginx wrote: its stderr, error and access logs, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "--- nginx stderr:\n{}--- error.log:\n{}--- access.log:\n{}---",
            read(&self.dir.0.join("stderr.log")),
            read(&self.dir.0.join("error.log")),
            read(&self.dir.0.join("access.log")),
        )
    }

    /// The configuration it runs.
    pub fn config(&self) -> String {
        read(&self.dir.0.join("nginx.conf"))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() || std::env::var_os("SOCKETIO_TEST_VERBOSE").is_some() {
            eprintln!(
                "--- nginx on {}, nginx.conf:\n{}{}",
                self.addr,
                self.config(),
                self.logs()
            );
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The nginx binary (see the module docs).
fn binary() -> PathBuf {
    if let Some(path) = env_path("SOCKETIO_TEST_NGINX") {
        return path;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.is_file())
    });
    let binary = on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    assert!(
        binary.is_file(),
        "nginx is not installed (not on PATH, not /usr/sbin/nginx): install it with \
         `apt-get install -y nginx` (as .ci/run does) or set SOCKETIO_TEST_NGINX"
    );
    binary
}

/// The whole configuration: everything nginx writes goes to `dir`; `http` is the test's part.
fn config(dir: &Path, http: &str) -> String {
    let d = dir.display();
    let http: String = http
        .lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_owned()
            } else {
                format!("    {l}\n")
            }
        })
        .collect();
    format!(
        "# Written by tests::nginx: one process of the test, everything under {d}.\n\
         master_process off;\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/error.log notice;\n\
         events {{\n    worker_connections 1024;\n}}\n\
         http {{\n\
         \x20   access_log {d}/access.log;\n\
         \x20   client_body_temp_path {d}/client_body;\n\
         \x20   proxy_temp_path {d}/proxy;\n\
         \x20   fastcgi_temp_path {d}/fastcgi;\n\
         \x20   uwsgi_temp_path {d}/uwsgi;\n\
         \x20   scgi_temp_path {d}/scgi;\n\
         \n\
         {http}\
         }}\n"
    )
}

/// What `tests/js/deploy_nginx.js` printed.
pub struct Script {
    pub args: Vec<String>,
    pub lines: Vec<Value>,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Script {
    /// The first line reporting `ev`; panics with the whole output if there is none.
    pub fn get(&self, ev: &str) -> &Value {
        self.lines
            .iter()
            .find(|l| l["ev"] == ev)
            .unwrap_or_else(|| panic!("the client reported no {ev:?}:\n{self}"))
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "--- deploy_nginx.js {:?}, {:?}; stdout:",
            self.args, self.elapsed
        )?;
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        writeln!(f, "--- stderr:\n{}---", self.stderr)
    }
}

/// Runs `node tests/js/deploy_nginx.js <args>` (node and socket.io-client found as
/// [`crate::interop`] finds them) and returns what it printed; panics with its output if it
/// fails, runs longer than [`EXTERNAL_WAIT`] or never reports `done`.
pub async fn client(args: &[&str]) -> Script {
    let root = workspace();
    let modules =
        env_path("SOCKETIO_TEST_NODE_MODULES").unwrap_or(root.join("tests/js/node_modules"));
    assert!(
        modules.join("socket.io-client/package.json").is_file(),
        "socket.io-client is not installed in {}: run `npm ci --prefix tests/js` (or set \
         SOCKETIO_TEST_NODE_MODULES)",
        modules.display()
    );
    let node = env_path("SOCKETIO_TEST_NODE").unwrap_or_else(|| "node".into());
    let started = Instant::now();
    let child = tokio::process::Command::new(&node)
        .arg(root.join("tests/js/deploy_nginx.js"))
        .args(args)
        .env("NODE_PATH", &modules)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): install Node.js 20 or set SOCKETIO_TEST_NODE",
                node.display()
            )
        });
    let output = tokio::time::timeout(EXTERNAL_WAIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("deploy_nginx.js {args:?} ran for more than {EXTERNAL_WAIT:?}"))
        .expect("the output of deploy_nginx.js");
    let script = Script {
        args: args.iter().map(|a| a.to_string()).collect(),
        lines: String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| json!({ "ev": "raw", "line": l })))
            .collect(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    };
    if std::env::var_os("SOCKETIO_TEST_VERBOSE").is_some() {
        eprintln!("{script}");
    }
    assert!(
        output.status.success() && script.lines.iter().any(|l| l["ev"] == "done"),
        "deploy_nginx.js failed ({}):\n{script}",
        output.status
    );
    script
}
