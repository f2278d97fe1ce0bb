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
