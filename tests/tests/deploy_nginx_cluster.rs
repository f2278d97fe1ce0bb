//! Deployment proven with real parts, several processes: two processes of the cluster example
//! on a `redis-server` of the test, behind Debian's nginx with the `ip_hash` upstream the README
//! shows under "Several processes" (and, in a second test, the one of docs/multi-process.md),
//! read from the documents, not copied, on a free port. The official JavaScript client
//! (`tests/js/deploy_nginx.js`) connects through nginx over polling, WebSocket and the upgrade,
//! with nginx's address as its `Origin` (the same-origin check is on), and directly to the
//! process the others are not on.
//!
//! The clients through nginx all land on one process (`ip_hash`: one client IP, one process;
//! long-polling works only so), and a broadcast from the other process reaches them through
//! Redis, and theirs reach it.
//!
//! As in `example_cluster.rs`, a "process" is the example's app (`app.rs`) served in the test
//! process on its own 127.0.0.1 port with its own Redis connections: to Redis, nginx and each
//! other they are separate servers. nginx is a process of the test (`tests::nginx`); a missing
//! nginx fails the test with the command that installs it (`.ci/run` installs it). The chat
//! example behind the single-process configuration is `deploy_nginx.rs`.

#[path = "../../examples/cluster/app.rs"]
mod cluster;

use std::net::SocketAddr;

use serde_json::{json, Value};
use tests::nginx::{client, replace, snippet, with_upstreams, Nginx};
use tests::redis::Redis;
use tests::server::{Options, Server};
use tests::wait::{eventually, EXTERNAL_WAIT};

/// The `upstream` + `server` blocks of `file` under `heading`, with the test's processes as the
/// upstream servers and the test's port instead of 80.
fn cluster_config(file: &str, heading: &str, upstreams: &[SocketAddr]) -> String {
    let config = replace(&snippet(file, heading), "listen 80;", "listen {listen};");
    with_upstreams(&config, upstreams)
}

/// A cluster process named `name`, on its own port, once its Redis connections are up.
async fn cluster_process(redis: &Redis, name: &str) -> Server {
    let io = cluster::socketio(&redis.url(), name).expect("the cluster server");
    eventually(
        EXTERNAL_WAIT,
        format!("{name}'s message queue is up"),
        || {
            io.queue_stats()
                .is_some_and(|s| s.connected && s.subscribed)
        },
    )
    .await;
    Options::new()
        .test_runtime()
        .routes(cluster::pages())
        .start(io)
}

async fn broadcast_across_processes_behind_nginx(file: &str, heading: &str) {
    let redis = Redis::start();
    let a = cluster_process(&redis, "A").await;
    let b = cluster_process(&redis, "B").await;
    let nginx = Nginx::start(&cluster_config(file, heading, &[a.addr, b.addr]));
    let direct = json!({ "A": a.url(), "B": b.url() }).to_string();
    let out = client(&["cluster", &nginx.url(), &direct]).await;

    // ip_hash: one client IP, one process, for every transport.
    let proxied = out.get("proxied");
    let here = proxied["servers"][0]
        .as_str()
        .expect("a server name")
        .to_owned();
    assert!(here == "A" || here == "B", "{out}");
    assert_eq!(proxied["servers"], json!([here, here, here]), "{out}");
    assert_eq!(
        proxied["transports"],
        json!([
            { "opened": "polling", "now": "polling" },
            { "opened": "websocket", "now": "websocket" },
            { "opened": "polling", "now": "websocket" },
        ]),
        "{out}"
    );
    let other = if here == "A" { "B" } else { "A" };
    assert_eq!(out.get("direct")["server"], other, "{out}");

    // The other process's broadcast reached every client through nginx, via Redis ...
    let relayed = json!({ "text": "from the other process", "via": other });
    assert_eq!(
        out.get("to-proxied")["messages"],
        json!([relayed, relayed, relayed]),
        "{out}"
    );
    // ... and theirs reached the other process's client.
    let back: Vec<Value> = ["polling", "websocket", "upgrade"]
        .iter()
        .map(|mode| json!({ "text": format!("from behind nginx ({mode})"), "via": here }))
        .collect();
    assert_eq!(out.get("to-direct")["messages"], json!(back), "{out}");

    // They went through nginx.
    nginx.wait_logged("POST", "polling", 200).await;
    nginx.wait_logged("GET", "websocket", 101).await;

    drop(nginx);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_crosses_processes_behind_the_readme_ip_hash_config() {
    broadcast_across_processes_behind_nginx("README.md", "## Several processes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_crosses_processes_behind_the_guide_ip_hash_config() {
    broadcast_across_processes_behind_nginx("docs/multi-process.md", "## nginx").await;
}
