//! Deployment proven with real parts: Debian's nginx, run with the README's "Deployment"
//! configuration (read from README.md, not copied) on a free port in front of the chat example,
//! driven by the official JavaScript client (`tests/js/deploy_nginx.js`) with the same-origin
//! check on (the default).
//!
//! Two clients join a room and chat through nginx over polling, WebSocket, and polling upgraded
//! to WebSocket, presenting nginx's address as their `Origin`, as a page nginx serves would: it
//! passes because nginx forwards `Host $http_host`. A foreign `Origin` is refused with
//! `400 Not an accepted origin.`. nginx's access log proves the traffic went through it.
//!
//! The two processes behind `ip_hash` are `deploy_nginx_cluster.rs` (the two examples cannot
//! share a test binary: their handlers register in it). As in `example_chat.rs`, the example's
//! app (`app.rs`) is served in the test process, on its own 127.0.0.1 port; nginx is a process of
//! the test (`tests::nginx`), and a missing nginx fails the test with the command that installs
//! it (`.ci/run` installs it). `SOCKETIO_TEST_VERBOSE=1` prints every script's output and every
//! nginx configuration and log (with `-- --nocapture`).

#[path = "../../examples/chat/app.rs"]
mod chat;

use std::net::SocketAddr;

use serde_json::json;
use tests::eio::{P, W};
use tests::http;
use tests::interop::Mode;
use tests::nginx::{client, replace, snippet, Nginx};
use tests::raw_ws::{self, RawWs};
use tests::server::{Options, Server};

const BAD_ORIGIN: &str = r#"{"code":4,"message":"Not an accepted origin."}"#;

/// The README's "Deployment" block, proxying to `upstream`, in a `server` listening on the
/// test's port.
fn deployment_config(upstream: SocketAddr) -> String {
    let location = replace(
        &snippet("README.md", "## Deployment"),
        "proxy_pass http://127.0.0.1:5000;",
        &format!("proxy_pass http://{upstream};"),
    );
    let location: String = location.lines().map(|l| format!("    {l}\n")).collect();
    format!("server {{\n    listen {{listen}};\n{location}}}\n")
}

/// The chat example, as `cargo run --example chat` serves it (but on a free port).
fn chat_server() -> Server {
    let io = chat::socketio().expect("the chat server");
    Options::new()
        .test_runtime()
        .routes(chat::pages())
        .start(io)
}

async fn chat_through_nginx(mode: Mode) {
    let server = chat_server();
    let nginx = Nginx::start(&deployment_config(server.addr));
    let out = client(&["chat", &nginx.url(), mode.as_str()]).await;

    let joined = out.get("joined");
    assert_eq!(joined["ann"]["members"], json!(["ann"]), "{out}");
    assert_eq!(joined["bob"]["members"], json!(["ann", "bob"]), "{out}");
    assert_eq!(joined["notice"]["nick"], "bob", "{out}");
    let opened_on = match mode {
        Mode::WebSocket => "websocket",
        Mode::Polling | Mode::Upgrade => "polling",
    };
    for who in ["ann", "bob"] {
        let transport = &out.get("transport")[who];
        assert_eq!(transport["opened"], opened_on, "{who}: {out}");
        assert_eq!(transport["now"], mode.final_transport(), "{who}: {out}");
    }
    let text = format!("hello through nginx ({})", mode.as_str());
    for who in ["ann", "bob"] {
        let message = &out.get("message")[who];
        assert_eq!(message["nick"], "ann", "{who}: {out}");
        assert_eq!(message["text"], text, "{who}: {out}");
    }

    // Every request went through nginx, on the transports of the mode.
    match mode {
        Mode::Polling => {
            nginx.wait_logged("GET", "polling", 200).await;
            nginx.wait_logged("POST", "polling", 200).await;
        }
        Mode::WebSocket => nginx.wait_logged("GET", "websocket", 101).await,
        Mode::Upgrade => {
            nginx.wait_logged("GET", "polling", 200).await;
            nginx.wait_logged("GET", "websocket", 101).await;
        }
    }
    let unexpected = match mode {
        Mode::Polling => Some("websocket"),
        Mode::WebSocket => Some("polling"),
        Mode::Upgrade => None,
    };
    let logged = nginx.logged();
    assert!(
        !logged
            .iter()
            .any(|(_, t, _)| Some(t.as_str()) == unexpected),
        "{} mode used another transport: {logged:?}",
        mode.as_str()
    );

    drop(nginx);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_through_nginx_over_polling() {
    chat_through_nginx(Mode::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_through_nginx_over_websocket() {
    chat_through_nginx(Mode::WebSocket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_through_nginx_with_the_upgrade() {
    chat_through_nginx(Mode::Upgrade).await;
}

/// Through nginx the same-origin check compares the `Origin` with the address the browser used
/// (nginx's, forwarded as `Host`): that origin passes, any other (the backend's own address
/// included) is refused, on polling and WebSocket alike, and the official client reports it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_origin_is_refused_through_nginx() {
    let server = chat_server();
    let nginx = Nginx::start(&deployment_config(server.addr));
    let own = nginx.url();

    let handshake = http::request(nginx.addr, "GET", P, &[("Origin", &own)], None).await;
    assert_eq!(handshake.status, 200, "{handshake:?}");
    assert!(handshake.text().starts_with("0{"), "{handshake:?}");
    let upgrade = raw_ws::upgrade_request(nginx.addr, W, &[("Origin", &own)]);
    let ws = RawWs::connect_with(nginx.addr, &upgrade).await;
    assert!(ws.is_ok(), "own origin, WebSocket: {:?}", ws.err());
    drop(ws);

    let backend = server.url();
    for origin in ["http://evil.example", backend.as_str()] {
        let refused = http::request(nginx.addr, "GET", P, &[("Origin", origin)], None).await;
        refused.assert(400, BAD_ORIGIN);
        let upgrade = raw_ws::upgrade_request(nginx.addr, W, &[("Origin", origin)]);
        let refused = RawWs::connect_with(nginx.addr, &upgrade)
            .await
            .err()
            .unwrap_or_else(|| panic!("WebSocket through nginx accepted Origin {origin}"));
        refused.assert(400, BAD_ORIGIN);
    }

    for mode in [Mode::Polling, Mode::WebSocket] {
        let out = client(&["foreign", &own, mode.as_str(), "http://evil.example"]).await;
        let error = out.get("connect_error");
        assert_eq!(error["connected"], false, "{out}");
        if mode == Mode::Polling {
            assert_eq!(error["message"], "xhr poll error", "{out}");
            assert_eq!(error["description"], 400, "{out}");
        } else {
            assert_eq!(error["message"], "websocket error", "{out}");
            let description = error["description"].as_str().unwrap_or_default();
            assert!(description.contains("400"), "{out}");
        }
    }

    drop(nginx);
    server.stop().await;
}

/// Behind a proxy named with `Builder::trusted_proxies`, handlers see the client's address,
/// forwarded by nginx in `X-Forwarded-For` (the README's block sets it), and not a value the
/// client made up. The client connects from 127.0.0.2; nginx reaches the server from 127.0.0.1,
/// the trusted proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_see_the_clients_address_behind_a_trusted_proxy() {
    let io = socketio::SocketIo::builder()
        .trusted_proxies(["127.0.0.1".parse().unwrap()])
        .on_connect("/whoami", |socket: socketio::Socket| async move {
            let addr = socket.client_addr().map(|a| a.to_string());
            socket.emit("addr", &addr);
        })
        .build()
        .expect("a server");
    let server = Options::new().test_runtime().start(io);
    let nginx = Nginx::start(&deployment_config(server.addr));

    let (_, open) = from_127_0_0_2(
        nginx.addr,
        "GET",
        P,
        &[("X-Forwarded-For", "203.0.113.9")],
        "",
    )
    .await;
    let sid = tests::eio::sid_of(open.trim_start_matches(|c: char| c != '0'));
    let session = format!("{P}&sid={sid}");
    from_127_0_0_2(nginx.addr, "POST", &session, &[], "40/whoami,").await;
    let mut seen = String::new();
    while !seen.contains("addr") {
        let (status, body) = from_127_0_0_2(nginx.addr, "GET", &session, &[], "").await;
        assert_eq!(status, 200, "{body}");
        seen.push_str(&body);
    }
    assert!(
        seen.contains(r#"42/whoami,["addr","127.0.0.2"]"#),
        "expected the client's own address, not the made-up one: {seen}"
    );
    drop(nginx);
    server.stop().await;
}

/// One HTTP/1.1 request from 127.0.0.2 (so that the client is not the proxy's address):
/// the status and the body.
async fn from_127_0_0_2(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.2:0".parse().unwrap())
        .expect("127.0.0.2 is a loopback address");
    let mut stream = socket.connect(addr).await.expect("nginx answers");
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        tests::wait::EXTERNAL_WAIT,
        stream.read_to_string(&mut response),
    )
    .await
    .expect("nginx answers in time")
    .unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}
