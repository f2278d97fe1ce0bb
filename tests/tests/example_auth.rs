//! The auth example (`examples/auth`): a login form on plain axum routes puts the user in the
//! HTTP session (tower-sessions), and only logged-in users join `/private`, whose handlers read
//! and write that same session (the `CurrentUser` extractor, `HttpSession`).
//!
//! Driven as a browser would: the form over HTTP, then a WebSocket (or long-polling) Socket.IO
//! connection whose handshake carries the session cookie.

#[path = "../../examples/auth/app.rs"]
mod app;

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use socketio::SocketIo;
use tests::http::{request, Conn, Response};
use tests::wait::EXTERNAL_WAIT;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const FORM: [(&str, &str); 1] = [("content-type", "application/x-www-form-urlencoded")];

/// The example's site (pages and Socket.IO inside the session layer) on 127.0.0.1:0.
struct Site {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Site {
    async fn start() -> Site {
        tests::logs::install();
        let io: SocketIo = app::socketio().expect("the auth server");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let site = app::app(&io, app::pages());
        let task = tokio::spawn(io.serve_app(listener, site, async {
            let _ = stopped.await;
        }));
        Site {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Signs in with the form; returns the session cookie (`id=...`).
    async fn login(&self, user: &str, password: &str) -> String {
        let body = format!("username={user}&password={password}");
        let response = request(self.addr, "POST", "/login", &FORM, Some(body.as_bytes())).await;
        assert_eq!(response.status, 303, "{response:?}");
        assert_eq!(response.header("location"), Some("/"));
        let set_cookie = response.header("set-cookie").expect("a session cookie");
        assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
        set_cookie.split(';').next().unwrap().to_owned()
    }

    async fn get(&self, path: &str, cookie: &str) -> Response {
        request(self.addr, "GET", path, &[("cookie", cookie)], None).await
    }

    async fn logout(&self, cookie: &str) {
        let response = request(self.addr, "POST", "/logout", &[("cookie", cookie)], None).await;
        assert_eq!(response.status, 303);
        assert_eq!(response.header("location"), Some("/login"));
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(EXTERNAL_WAIT, self.task)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
    }
}

/// A Socket.IO client over WebSocket, sending the cookie with its handshake as a browser does.
struct Sock {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Sock {
    async fn open(addr: SocketAddr, cookie: Option<&str>) -> Sock {
        let mut handshake = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket")
            .into_client_request()
            .unwrap();
        if let Some(cookie) = cookie {
            handshake
                .headers_mut()
                .insert("cookie", cookie.parse().unwrap());
        }
        let (ws, _) =
            tokio::time::timeout(EXTERNAL_WAIT, tokio_tungstenite::connect_async(handshake))
                .await
                .expect("a WebSocket handshake in time")
                .expect("a WebSocket handshake");
        let mut sock = Sock { ws };
        let open = sock.recv().await;
        assert!(open.starts_with("0{"), "{open}");
        sock
    }

    async fn send(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// The next Engine.IO message (pings answered on the way); `None` when the connection ended.
    async fn next(&mut self) -> Option<String> {
        loop {
            let message = tokio::time::timeout(EXTERNAL_WAIT, self.ws.next())
                .await
                .expect("a message from the server in time");
            match message {
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => self.send("3").await,
                Some(Ok(Message::Text(text))) => return Some(text.as_str().to_owned()),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    async fn recv(&mut self) -> String {
        self.next().await.expect("the connection is open")
    }

    /// Joins `/private`: `Ok`, or the refusal's message.
    async fn join(&mut self) -> Result<(), String> {
        self.send("40/private,").await;
        let answer = self.recv().await;
        if answer.starts_with("40/private,{") {
            return Ok(());
        }
        let error = answer
            .strip_prefix("44/private,")
            .unwrap_or_else(|| panic!("expected a CONNECT answer, got {answer:?}"));
        let error: Value = serde_json::from_str(error).unwrap();
        Err(error["message"].as_str().unwrap().to_owned())
    }

    /// Connects and joins `/private`, which must accept.
    async fn joined(addr: SocketAddr, cookie: &str) -> Sock {
        let mut sock = Sock::open(addr, Some(cookie)).await;
        sock.join().await.expect("a logged-in user joins /private");
        sock
    }

    /// The next event of `/private`: its name and first argument.
    async fn event(&mut self) -> (String, Value) {
        let packet = self.recv().await;
        let args = packet
            .strip_prefix("42/private,")
            .unwrap_or_else(|| panic!("expected an event of /private, got {packet:?}"));
        let args: Vec<Value> = serde_json::from_str(args).unwrap();
        (args[0].as_str().unwrap().to_owned(), args[1].clone())
    }

    async fn emit(&mut self, event: &str, text: &str) {
        let packet = serde_json::json!([event, text]);
        self.send(&format!("42/private,{packet}")).await;
    }
}

fn said(user: &str, text: &str) -> (String, Value) {
    (
        "message".into(),
        serde_json::json!({ "user": user, "text": text }),
    )
}

#[tokio::test]
async fn an_anonymous_visitor_is_refused() {
    let site = Site::start().await;
    let mut sock = Sock::open(site.addr, None).await;
    assert_eq!(
        sock.join().await,
        Err("not logged in: sign in at /login first".to_owned())
    );

    // A cookie that names no session is no better.
    let forged = "id=AAAAAAAAAAAAAAAAAAAAAA";
    let mut sock = Sock::open(site.addr, Some(forged)).await;
    assert!(sock.join().await.unwrap_err().contains("not logged in"));
    site.stop().await;
}

#[tokio::test]
async fn the_login_form_opens_the_session_the_pages_and_the_socket_share() {
    let site = Site::start().await;
    let anonymous = Conn::open(site.addr)
        .await
        .send("GET", "/", &[], None)
        .await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.header("location"), Some("/login"));

    let body = b"username=alice&password=nope";
    let wrong = request(site.addr, "POST", "/login", &FORM, Some(body)).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text().contains("Wrong user name or password."));
    assert!(wrong.header("set-cookie").is_none());

    let cookie = site.login("alice", "wonderland").await;
    let page = site.get("/", &cookie).await;
    assert_eq!(page.status, 200);
    assert!(page
        .text()
        .contains(r#"Signed in as <strong id="user">alice</strong>"#));

    let mut alice = Sock::joined(site.addr, &cookie).await;
    assert_eq!(
        alice.event().await,
        ("welcome".into(), "Hello alice, you are in.".into())
    );
    site.stop().await;
}

#[tokio::test]
async fn logged_in_users_are_greeted_by_name_and_chat() {
    let site = Site::start().await;
    let alice_cookie = site.login("alice", "wonderland").await;
    let bob_cookie = site.login("bob", "builder").await;

    let mut alice = Sock::joined(site.addr, &alice_cookie).await;
    assert_eq!(alice.event().await.1, "Hello alice, you are in.");
    let mut bob = Sock::joined(site.addr, &bob_cookie).await;
    assert_eq!(bob.event().await.1, "Hello bob, you are in.");
    assert_eq!(
        alice.event().await,
        ("presence".into(), "bob has joined".into())
    );

    bob.emit("message", "hi alice").await;
    assert_eq!(alice.event().await, said("bob", "hi alice"));
    assert_eq!(bob.event().await, said("bob", "hi alice"));
    site.stop().await;
}

/// Flask-SocketIO's `manage_session=False`: what the socket handler writes into the HTTP session
/// is in the session of the next HTTP request.
#[tokio::test]
async fn a_value_the_socket_writes_is_seen_by_the_next_http_request() {
    let site = Site::start().await;
    let cookie = site.login("alice", "wonderland").await;
    let before = site.get("/", &cookie).await.text();
    assert!(before.contains(r#"<q id="last"></q>"#), "{before}");

    let mut alice = Sock::joined(site.addr, &cookie).await;
    alice.event().await; // welcome
    alice.emit("message", "remember <me>").await;
    assert_eq!(alice.event().await, said("alice", "remember <me>"));

    let after = site.get("/", &cookie).await.text();
    assert!(
        after.contains(r#"<q id="last">remember &lt;me&gt;</q>"#),
        "{after}"
    );
    site.stop().await;
}

#[tokio::test]
async fn after_logout_the_next_event_disconnects_and_a_new_connect_is_refused() {
    let site = Site::start().await;
    let cookie = site.login("alice", "wonderland").await;
    let mut alice = Sock::joined(site.addr, &cookie).await;
    alice.event().await; // welcome

    site.logout(&cookie).await;
    assert_eq!(site.get("/", &cookie).await.status, 303);

    // The live session: the logout is seen by the next event (authenticated_only).
    alice.emit("message", "still there?").await;
    assert_eq!(
        alice.event().await,
        (
            "unauthorized".into(),
            "not logged in: sign in at /login first".into()
        )
    );
    assert_eq!(alice.recv().await, "41/private,");

    let mut again = Sock::open(site.addr, Some(&cookie)).await;
    assert!(again.join().await.unwrap_err().contains("not logged in"));
    site.stop().await;
}

/// A browser's first transport is long-polling: its handshake request carries the session too.
#[tokio::test]
async fn a_long_polling_connection_sees_the_session() {
    let site = Site::start().await;
    let cookie = site.login("bob", "builder").await;
    let headers = [("cookie", cookie.as_str())];
    let poll = "/socket.io/?EIO=4&transport=polling";
    let open = request(site.addr, "GET", poll, &headers, None).await;
    let open: Value = serde_json::from_str(open.text().strip_prefix('0').unwrap()).unwrap();
    let session = format!("{poll}&sid={}", open["sid"].as_str().unwrap());

    let post = request(site.addr, "POST", &session, &headers, Some(b"40/private,")).await;
    post.assert(200, "ok");
    let answer = request(site.addr, "GET", &session, &headers, None)
        .await
        .text();
    let packets: Vec<&str> = answer.split('\u{1e}').collect();
    assert!(packets[0].starts_with("40/private,{"), "{answer}");
    let welcome = match packets.get(1) {
        Some(packet) => packet.to_string(),
        None => request(site.addr, "GET", &session, &headers, None)
            .await
            .text(),
    };
    assert_eq!(
        welcome,
        r#"42/private,["welcome","Hello bob, you are in."]"#
    );
    site.stop().await;
}
