//! Several servers on one message queue (`redis_*.rs`, `amqp_*.rs`, `example_cluster.rs`).
//!
//! "Several processes" are several [`SocketIo`] instances in the test process
//! ([`Server::spawn`]), each on its own 127.0.0.1:0 listener, with its own message-queue
//! connections and its own uid: to the broker and to each other they are indistinguishable from
//! separate processes (nothing but the bus connects them). Their clients are
//! [`Server::client`]s.
//!
//! Waits that involve the broker use [`EXTERNAL_WAIT`]; nothing sleeps a fixed time hoping the
//! servers are done.

use std::time::Duration;

use socketio::{Builder, Data, Socket, SocketIo};

use crate::server::Server;
use crate::wait::{until, EXTERNAL_WAIT};

/// The test servers' handlers: `join`/`leave` a room (acknowledged), and `shout` to a room
/// from a client (`socket.to(room).emit`).
pub fn builder(url: &str, channel: &str) -> Builder {
    SocketIo::builder()
        .message_queue(url)
        .channel(channel)
        // The ordering test bursts 10,000 messages at each client.
        .max_queued_packets(20_000)
        .on(
            "/",
            "join",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.join(&room);
            },
        )
        .on(
            "/",
            "leave",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.leave(&room);
            },
        )
        .on(
            "/",
            "shout",
            |socket: Socket, Data((room, text)): Data<(String, String)>| async move {
                socket.to(room).emit("shout", &text);
            },
        )
}

/// `n` servers on one message queue, waited for until every one is connected and subscribed.
pub async fn cluster(n: usize, url: &str, channel: &str) -> Vec<Server> {
    let servers: Vec<Server> = (0..n)
        .map(|_| Server::spawn(builder(url, channel)))
        .collect();
    until(EXTERNAL_WAIT, || {
        if servers.iter().all(Server::ready) {
            return Ok(());
        }
        let stats: Vec<_> = servers.iter().map(Server::stats).collect();
        Err(format!("servers not connected to {url}: {stats:#?}"))
    })
    .await;
    servers
}

/// A server of `builder` on its own runtime (so that its panics are counted), once connected
/// and subscribed to its message queue.
pub async fn subscribed(builder: Builder) -> Server {
    let server = Server::start(builder);
    until(EXTERNAL_WAIT, || {
        if server.ready() {
            Ok(())
        } else {
            Err(format!("not subscribed: {:#?}", server.stats()))
        }
    })
    .await;
    server
}

/// A channel (AMQP exchange) name no other test uses, so that tests sharing one RabbitMQ do
/// not hear each other.
pub fn exchange(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("sio-test.{test}.{}.{nanos}", std::process::id())
}

/// The heartbeat interval of the cluster-operation tests (`cluster_ops.rs`): short, so that a
/// dead server stops counting soon...
pub const HEARTBEAT: Duration = Duration::from_millis(300);

/// ... and the heartbeat timeout: ten intervals, so that a loaded machine that delays a few
/// heartbeats does not make a live server stop counting.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(3);

/// [`builder`] with the fast heartbeats of the cluster-operation tests.
pub fn ops_builder(url: &str, channel: &str) -> Builder {
    builder(url, channel).queue_heartbeat(HEARTBEAT, HEARTBEAT_TIMEOUT)
}

/// Waits until every server is connected, subscribed, and counts `others` other servers.
pub async fn wait_counted(servers: &[&Server], others: usize) {
    until(EXTERNAL_WAIT, || {
        if servers
            .iter()
            .all(|s| s.ready() && s.stats().servers == others)
        {
            return Ok(());
        }
        let stats: Vec<_> = servers.iter().map(|s| s.stats()).collect();
        Err(format!("servers do not count {others} others: {stats:#?}"))
    })
    .await;
}

/// `n` servers built by `build` (given `url` and `channel`), waited for until each one counts
/// the `n - 1` others.
pub async fn counted_cluster(
    n: usize,
    url: &str,
    channel: &str,
    build: impl Fn(&str, &str) -> Builder,
) -> Vec<Server> {
    let servers: Vec<Server> = (0..n).map(|_| Server::spawn(build(url, channel))).collect();
    wait_counted(&servers.iter().collect::<Vec<_>>(), n - 1).await;
    servers
}

/// Official socket.io-client sockets in a room of a cluster, answering `ask` broadcasts
/// (`tests/js/cluster_acks.js`): one WebSocket and one polling client per server URL. The
/// script runs until this is dropped (its stdin closes; it is killed on drop too).
pub struct JsMembers {
    /// The socket ids of the clients, each with its transport.
    pub sockets: Vec<(String, String)>,
    _child: tokio::process::Child,
}

impl JsMembers {
    /// Starts the script and waits until every client joined `room`.
    pub async fn start(room: &str, urls: &[String]) -> JsMembers {
        use std::process::Stdio;
        use tokio::io::{AsyncBufReadExt, BufReader};

        use crate::interop::{env_path, workspace};

        let modules = env_path("SOCKETIO_TEST_NODE_MODULES")
            .unwrap_or(workspace().join("tests/js/node_modules"));
        assert!(
            modules.join("socket.io-client/package.json").is_file(),
            "socket.io-client is not installed in {}: run `npm ci --prefix tests/js` \
             (or set SOCKETIO_TEST_NODE_MODULES)",
            modules.display()
        );
        let node = env_path("SOCKETIO_TEST_NODE").unwrap_or_else(|| "node".into());
        let mut child = tokio::process::Command::new(node)
            .env("NODE_PATH", &modules)
            .arg(workspace().join("tests/js/cluster_acks.js"))
            .arg(room)
            .args(urls)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start node tests/js/cluster_acks.js");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut sockets = Vec::new();
        loop {
            let line = tokio::time::timeout(EXTERNAL_WAIT, lines.next_line())
                .await
                .expect("cluster_acks.js got ready in time")
                .expect("read cluster_acks.js")
                .expect("cluster_acks.js ended early");
            let value: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
            match (value["ready"].as_str(), value["transport"].as_str()) {
                (Some("all"), _) => break,
                (Some(sid), Some(transport)) => {
                    sockets.push((sid.to_owned(), transport.to_owned()))
                }
                _ => panic!("cluster_acks.js: {value}"),
            }
        }
        JsMembers {
            sockets,
            _child: child,
        }
    }
}
