//! The official Socket.IO Admin UI (`@socket.io/admin-ui` 0.5.1, pinned in `tests/js`) against
//! the server side of `socketio::admin`:
//!
//! * its protocol, spoken by the suite's WebSocket client exactly as the UI speaks it (the
//!   namespace `/admin`, the login in the CONNECT payload, the events the server sends and the
//!   requests the UI makes);
//! * the UI itself, served by the `admin` example from the npm package and driven in headless
//!   Chromium by `tests/js/browser_admin.js`: it logs in and shows a connected socket and its
//!   room. The screenshot's path is printed.

#[path = "../../examples/admin/app.rs"]
mod app;
#[path = "../../examples/support/client_js.rs"]
mod client_js;

use std::net::SocketAddr;

use serde_json::{json, Value};
use socketio::admin::AdminUi;
use socketio::{Data, Socket, SocketIo};
use tests::browser::Browser;
use tests::redis::{free_port, Redis};
use tests::server::{Options, Server};
use tests::wait::{eventually, EXTERNAL_WAIT, WAIT};
use tests::ws::{connect_sid, Client, Packet};

/// The bcrypt hash (cost 4, to keep the tests fast) of the password `secret`, made by the
/// UI's own bcrypt (bcryptjs).
const HASH: &str = "$2a$04$MZb11OrC3tM4DPnEWDZRL.bB7BvOqrFuOCLbJtN6WBg2ACIqp221i";

/// A server whose Admin UI logs in as `admin` / `secret`, with a `join` event on `/` that joins
/// the room given (acknowledged once done).
fn server(admin: AdminUi) -> Server {
    let io = SocketIo::builder()
        .admin_ui(admin.server_id("test-server"))
        .on(
            "/",
            "join",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.join(room);
            },
        )
        .build()
        .expect("a valid server");
    Server::start(io)
}

fn login() -> Value {
    json!({ "username": "admin", "password": "secret" })
}

/// A client of the admin namespace, as the UI's.
struct Admin {
    client: Client,
    sid: String,
    next_ack: u64,
}

/// What the server answered to the admin CONNECT.
enum Answer {
    Connected(Admin),
    Refused(Value),
}

impl Answer {
    fn admin(self) -> Admin {
        match self {
            Answer::Connected(admin) => admin,
            Answer::Refused(error) => panic!("admin login refused: {error}"),
        }
    }
}

impl Admin {
    /// Opens a connection and joins `/admin` with `auth`.
    async fn connect(addr: SocketAddr, auth: &Value) -> Answer {
        let mut client = Client::open(addr).await;
        client.send(&format!("40/admin,{auth}")).await;
        let frame = client.text().await;
        if let Some(sid) = connect_sid(&frame, "/admin") {
            return Answer::Connected(Admin {
                client,
                sid,
                next_ack: 1,
            });
        }
        let error = frame
            .strip_prefix("44/admin,")
            .unwrap_or_else(|| panic!("expected CONNECT or CONNECT_ERROR, got {frame:?}"));
        Answer::Refused(serde_json::from_str(error).expect("CONNECT_ERROR data"))
    }

    /// The next frame of `/admin`: an event (name, arguments) or an acknowledgement (`ack:<id>`,
    /// arguments).
    async fn next(&mut self) -> (String, Vec<Value>) {
        let frame = self.client.text().await;
        if let Some(array) = frame.strip_prefix("42/admin,") {
            let mut items: Vec<Value> = serde_json::from_str(array).expect("event array");
            let name = items.remove(0).as_str().expect("event name").to_owned();
            return (name, items);
        }
        let Some(rest) = frame.strip_prefix("43/admin,") else {
            panic!("unexpected frame on the admin connection: {frame:?}");
        };
        let at = rest.find('[').expect("ack array");
        let args = serde_json::from_str(&rest[at..]).expect("ack array");
        (format!("ack:{}", &rest[..at]), args)
    }

    /// The arguments of the next `name` event, skipping the others (stats arrive any time);
    /// fails the test if none arrives within [`WAIT`].
    async fn expect(&mut self, name: &str) -> Vec<Value> {
        let mut skipped = Vec::new();
        let found = tokio::time::timeout(WAIT, async {
            loop {
                let (got, args) = self.next().await;
                if got == name {
                    return args;
                }
                skipped.push(got);
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no {name} within {WAIT:?}; got {skipped:?}"))
    }

    /// The next `name` event whose arguments satisfy `wanted`, within [`EXTERNAL_WAIT`]
    /// (the periodic stats may take a few rounds).
    async fn expect_where(&mut self, name: &str, wanted: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let found = tokio::time::timeout(EXTERNAL_WAIT, async {
            loop {
                let args = self.expect(name).await;
                if wanted(&args) {
                    return args;
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no {name} as expected within {EXTERNAL_WAIT:?}"))
    }

    /// Sends a request of the UI with an acknowledgement id and waits for the acknowledgement:
    /// the server handled it when this returns. Returns the events that came before the
    /// acknowledgement, but the stats (what the request made the server report).
    async fn request(&mut self, array: Value) -> Vec<(String, Vec<Value>)> {
        let id = self.next_ack;
        self.next_ack += 1;
        self.client.send(&format!("42/admin,{id}{array}")).await;
        let ack = format!("ack:{id}");
        let mut before = Vec::new();
        let answered = tokio::time::timeout(WAIT, async {
            loop {
                let (name, args) = self.next().await;
                if name == ack {
                    return;
                }
                if name != "server_stats" {
                    before.push((name, args));
                }
            }
        })
        .await;
        assert!(answered.is_ok(), "{array} not acknowledged within {WAIT:?}");
        before
    }
}

/// The arguments of the `name` event among `reported`.
fn reported_event<'a>(reported: &'a [(String, Vec<Value>)], name: &str) -> &'a [Value] {
    reported
        .iter()
        .find(|(got, _)| got == name)
        .map(|(_, args)| args.as_slice())
        .unwrap_or_else(|| panic!("no {name} in {reported:?}"))
}

/// A client of `/` in `room`; returns it and its socket id.
async fn member(addr: SocketAddr, room: &str) -> (Client, String) {
    let (mut client, sid) = Client::connected(addr, "/").await;
    client.call("join", &[json!(room)]).await;
    (client, sid)
}

#[tokio::test]
async fn login_gets_config_stats_and_every_socket_with_its_rooms() {
    let server = server(AdminUi::basic_auth("admin", HASH));
    let (member, sid) = member(server.addr, "lobby").await;

    let mut admin = Admin::connect(server.addr, &login()).await.admin();
    let session = admin.expect("session").await;
    assert!(
        session[0].as_str().is_some_and(|s| s.len() >= 16),
        "{session:?}"
    );
    let config = admin.expect("config").await;
    let features = &config[0]["supportedFeatures"];
    for feature in [
        "EMIT",
        "JOIN",
        "LEAVE",
        "DISCONNECT",
        "AGGREGATED_EVENTS",
        "ALL_EVENTS",
    ] {
        assert!(
            features.as_array().unwrap().contains(&json!(feature)),
            "{feature} missing in {features}"
        );
    }

    let stats = &admin.expect("server_stats").await[0];
    assert_eq!(stats["serverId"], "test-server");
    assert_eq!(stats["pid"], std::process::id());
    assert_eq!(stats["clientsCount"], 2, "{stats}");
    assert_eq!(stats["pollingClientsCount"], 0, "{stats}");
    assert!(stats["uptime"].as_f64().is_some() && stats["hostname"].is_string());
    let namespaces = stats["namespaces"].as_array().unwrap();
    assert!(
        namespaces.contains(&json!({ "name": "/", "socketsCount": 1 })),
        "{stats}"
    );
    assert!(
        namespaces.contains(&json!({ "name": "/admin", "socketsCount": 1 })),
        "{stats}"
    );

    let sockets = admin.expect("all_sockets").await.remove(0);
    let socket = sockets
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sid.as_str())
        .unwrap_or_else(|| panic!("{sid} missing in {sockets}"));
    assert_eq!(socket["nsp"], "/");
    assert_eq!(socket["rooms"], json!([sid, "lobby"]));
    assert_eq!(socket["clientId"], member.eio_sid.as_str());
    assert_eq!(socket["transport"], "websocket");
    assert_eq!(socket["handshake"]["address"], "127.0.0.1");
    assert_eq!(socket["handshake"]["query"]["EIO"], "4");
    assert!(socket["handshake"]["url"]
        .as_str()
        .unwrap()
        .starts_with("/socket.io/?EIO=4"));
    assert!(socket["handshake"]["issued"].as_u64().unwrap() > 0);
    assert!(socket["handshake"]["headers"]["host"].is_string());
    assert!(
        sockets
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == admin.sid.as_str()),
        "the admin socket is listed too: {sockets}"
    );
}

#[tokio::test]
async fn a_wrong_login_is_refused_with_connect_error() {
    let server = server(AdminUi::basic_auth("admin", HASH));
    for auth in [
        json!({ "username": "admin", "password": "wrong" }),
        json!({ "username": "root", "password": "secret" }),
        json!({ "sessionId": "not-a-session" }),
        json!({}),
    ] {
        match Admin::connect(server.addr, &auth).await {
            Answer::Refused(error) => {
                assert_eq!(error, json!({ "message": "invalid credentials" }), "{auth}")
            }
            Answer::Connected(_) => panic!("{auth} logged in"),
        }
    }
    // Without auth, anyone may log in.
    let open = self::server(AdminUi::without_auth());
    let mut admin = Admin::connect(open.addr, &json!({})).await.admin();
    admin.expect("config").await;
}

#[tokio::test]
async fn a_session_id_logs_in_again_without_the_password() {
    let server = server(AdminUi::basic_auth("admin", HASH));
    let mut first = Admin::connect(server.addr, &login()).await.admin();
    let session = first.expect("session").await.remove(0);
    let mut again = Admin::connect(server.addr, &json!({ "sessionId": session }))
        .await
        .admin();
    let (name, _) = again.next().await;
    assert_eq!(name, "config", "no new session for a known one");
}

#[tokio::test]
async fn connections_rooms_and_events_are_reported_as_they_happen() {
    let server = server(AdminUi::basic_auth("admin", HASH));
    let mut admin = Admin::connect(server.addr, &login()).await.admin();
    admin.expect("all_sockets").await;

    let (mut member, sid) = Client::connected(server.addr, "/").await;
    let connected = admin
        .expect_where("socket_connected", |a| a[0]["id"] == sid.as_str())
        .await;
    assert_eq!(connected[0]["nsp"], "/");
    assert_eq!(connected[0]["rooms"], json!([sid]));
    assert!(
        connected[1].as_str().unwrap().ends_with('Z'),
        "an ISO date: {connected:?}"
    );

    // The event is reported as it reaches its handler, which then joins the room.
    member.call("join", &[json!("lobby")]).await;
    let received = admin.expect("event_received").await;
    assert_eq!(
        received[..3],
        [json!("/"), json!(sid), json!(["join", "lobby"])]
    );
    let joined = admin.expect("room_joined").await;
    assert_eq!(joined[..3], [json!("/"), json!("lobby"), json!(sid)]);

    member.close().await;
    let left = admin.expect_where("room_left", |a| a[1] == "lobby").await;
    assert_eq!(left[..3], [json!("/"), json!("lobby"), json!(sid)]);
    let gone = admin.expect("socket_disconnected").await;
    assert_eq!(
        gone[..3],
        [json!("/"), json!(sid), json!("transport close")]
    );

    // The periodic stats count the connection and its disconnection.
    let stats = admin
        .expect_where("server_stats", |a| {
            a[0]["aggregatedEvents"]
                .as_array()
                .is_some_and(|events| events.iter().any(|e| e["type"] == "rawDisconnection"))
        })
        .await;
    let events = stats[0]["aggregatedEvents"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["subType"] == "transport close" && e["count"].as_u64() >= Some(1)),
        "{events:?}"
    );
}

#[tokio::test]
async fn the_ui_joins_leaves_and_disconnects_sockets() {
    let server = server(AdminUi::basic_auth("admin", HASH));
    let (mut member, sid) = member(server.addr, "lobby").await;
    let mut admin = Admin::connect(server.addr, &login()).await.admin();
    admin.expect("all_sockets").await;

    let reported = admin.request(json!(["join", "/", "vip", sid])).await;
    assert_eq!(
        server.io.rooms(sid.parse().unwrap()),
        [sid.as_str(), "lobby", "vip"]
    );
    let joined = reported_event(&reported, "room_joined");
    assert_eq!(joined[..3], [json!("/"), json!("vip"), json!(sid)]);

    // The sockets of room `vip` leave `lobby`.
    let reported = admin.request(json!(["leave", "/", "lobby", "vip"])).await;
    assert_eq!(server.io.rooms(sid.parse().unwrap()), [sid.as_str(), "vip"]);
    let left = reported_event(&reported, "room_left");
    assert_eq!(left[..3], [json!("/"), json!("lobby"), json!(sid)]);

    let reported = admin
        .request(json!(["emit", "/", "vip", "notice", "hello", 42]))
        .await;
    let sent = reported_event(&reported, "event_sent");
    assert_eq!(
        sent[..3],
        [json!("/"), json!(sid), json!(["notice", "hello", 42])]
    );
    assert_eq!(
        member.expect("notice").await,
        Packet::Event {
            name: "notice".into(),
            args: vec![json!("hello"), json!(42)],
            ack: None,
            attachments: vec![],
        }
    );

    let reported = admin.request(json!(["_disconnect", "/", false, sid])).await;
    assert_eq!(member.recv().await, Packet::Disconnect);
    let gone = reported_event(&reported, "socket_disconnected");
    assert_eq!(
        gone[..3],
        [json!("/"), json!(sid), json!("server namespace disconnect")]
    );
    assert!(
        server.io.connection_open(member.eio_sid.parse().unwrap()),
        "only the namespace was left"
    );

    // `close`: the whole connection.
    let (mut other, other_sid) = self::member(server.addr, "lobby").await;
    admin
        .request(json!(["_disconnect", "/", true, other_sid]))
        .await;
    other.closed().await;
    eventually(WAIT, "the connection closed", || {
        !server.io.connection_open(other.eio_sid.parse().unwrap())
    })
    .await;
}

#[tokio::test]
async fn a_readonly_ui_cannot_act_on_sockets() {
    let server = server(AdminUi::basic_auth("admin", HASH).readonly(true));
    let (_member, sid) = member(server.addr, "lobby").await;
    let mut admin = Admin::connect(server.addr, &login()).await.admin();
    let config = admin.expect("config").await;
    assert_eq!(
        config[0]["supportedFeatures"],
        json!(["AGGREGATED_EVENTS", "ALL_EVENTS"])
    );

    admin.request(json!(["_disconnect", "/", true, sid])).await;
    admin.request(json!(["join", "/", "vip", sid])).await;
    admin
        .request(json!(["emit", "/", null, "notice", "hello"]))
        .await;
    let socket = server.io.socket(sid.parse().unwrap());
    assert!(socket.is_some_and(|s| s.connected()), "the socket stays");
    assert_eq!(
        server.io.rooms(sid.parse().unwrap()),
        [sid.as_str(), "lobby"]
    );
}

/// In a cluster the stats reach the other processes' admins through the broker, once it is
/// connected: stats due while the broker is unreachable (at a server's start, or during an
/// outage) are not published into a failure; each used to count and log a failed publication.
#[tokio::test]
async fn clustered_stats_wait_for_the_broker_connection() {
    let port = free_port();
    let server = Server::start(
        SocketIo::builder()
            .admin_ui(AdminUi::basic_auth("admin", HASH).server_id("clustered"))
            .message_queue(format!("redis://127.0.0.1:{port}/"))
            .channel(format!("admin-stats.{}", std::process::id())),
    );
    let queue = || server.io.queue_stats().expect("a message queue");
    // Stats are due at the start and every 2 s: more than one comes while no broker listens.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert!(!queue().connected, "{:?}", queue());
    assert_eq!(queue().publish_failed, 0, "{:?}", queue());
    let _redis = Redis::start_on(port, &[]);
    // The stats are the only publications of an idle server.
    eventually(
        EXTERNAL_WAIT,
        "the stats published through the broker",
        || queue().published >= 1,
    )
    .await;
    assert_eq!(queue().publish_failed, 0, "{:?}", queue());
}

#[tokio::test]
async fn a_bad_hash_or_namespace_fails_the_build() {
    let error = SocketIo::builder()
        .admin_ui(AdminUi::basic_auth("admin", "secret"))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("bcrypt hash"), "{error}");
    let error = SocketIo::builder()
        .admin_ui(AdminUi::without_auth().namespace("admin"))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("admin_ui"), "{error}");
}

/// The UI in headless Chromium, served by the admin example: it logs in, lists a socket of `/`
/// and its room, and shows the socket's page with that room. The screenshot of that page is
/// saved (`$SOCKETIO_TEST_ADMIN_SCREENSHOT`, or `target/tmp/browser_admin/admin-ui.png`) and
/// its path printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_ui_shows_a_socket_and_its_room_in_a_browser() {
    let browser = Browser::find();
    let ui = app::ui_dir().expect("the Admin UI's files");
    let client = browser
        .client_bundle()
        .map_or_else(client_js::load, Ok)
        .expect("the Socket.IO browser client");
    let io = app::socketio(HASH).expect("the admin example's server");
    let site = app::pages(ui, client_js::ROUTE).merge(client_js::route(client));
    let server = Options::new().test_runtime().routes(site).start(io.clone());
    let (_member, sid) = member(server.addr, "lobby").await;
    eventually(WAIT, "the member in its room", || {
        io.rooms(sid.parse().unwrap()).contains(&"lobby".to_owned())
    })
    .await;

    let screenshot = std::env::var("SOCKETIO_TEST_ADMIN_SCREENSHOT")
        .unwrap_or_else(|_| format!("{}/browser_admin/admin-ui.png", env!("CARGO_TARGET_TMPDIR")));
    let url = format!(
        "http://{}{}?user={}&password=secret&sid={sid}&room=lobby",
        server.addr,
        app::UI_ROUTE,
        app::USERNAME
    );
    let output = browser
        .run_with_screenshot(
            "browser_admin",
            &url,
            env!("CARGO_TARGET_TMPDIR"),
            &screenshot,
        )
        .await;
    assert!(output.contains(r#""step":"socket-listed""#), "{output}");
    assert!(output.contains(r#""step":"room-shown""#), "{output}");
    println!("Admin UI screenshot: {screenshot}");
    server.stop().await;
}
