//! The seed examples (`examples/seed/`, the Flask-SocketIO documentation ported), each run as
//! its own process, the way `cargo run --example` runs it, and driven by a real WebSocket
//! client ([`tests::ws::Client`]); what an example prints is read from its stdout.
//!
//! Why processes rather than the in-process `TestClient`: `#[on]` handlers register in the
//! binary that links them, and the examples handle the same events (`message`, `connect`, ...),
//! so no two of them can share a test binary. Each example is therefore its own binary, built
//! once per run of this file (`cargo build -p examples --example seed_...`), listening on a
//! free port given in `PORT`. The one example that serves nothing (`seed_external_emit`) is
//! tested against an in-process server and its `TestClient`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};
use socketio::testing::TestClient;
use socketio::{Emitter, SocketIo};
use tests::eio::{sid_of, Polling, P};
use tests::redis::{free_port, Redis};
use tests::wait::{eventually, until, EXTERNAL_WAIT};
use tests::ws::{event_frame, Client, Msg, Packet};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// Every seed example, as named in `examples/Cargo.toml`.
const SEEDS: &[&str] = &[
    "seed_setup",
    "seed_receive_message",
    "seed_receive_json",
    "seed_receive_custom",
    "seed_receive_args",
    "seed_receive_namespace",
    "seed_receive_ack",
    "seed_send_echo",
    "seed_send_namespace",
    "seed_send_tuple",
    "seed_send_callback",
    "seed_send_ack_values",
    "seed_broadcast",
    "seed_broadcast_server",
    "seed_rooms",
    "seed_connection_events",
    "seed_error_handlers",
    "seed_error_event",
    "seed_login_connect",
    "seed_authenticated_only",
    "seed_message_queue",
    "seed_external_emit",
    "seed_room_api",
    "seed_session",
];

/// The directory of the example binaries, after building every seed example once (a no-op
/// when they are up to date), with the profile and target directory of this test.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary's path");
        // <target>/<profile>/deps/seed_examples-<hash>
        let profile_dir = exe.ancestors().nth(2).expect("the profile directory");
        let target_dir = profile_dir.parent().expect("the target directory");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the workspace");
        let mut cargo = std::process::Command::new(env!("CARGO"));
        cargo
            .current_dir(workspace)
            .args(["build", "--quiet", "-p", "examples", "--target-dir"])
            .arg(target_dir);
        if !cfg!(debug_assertions) {
            cargo.arg("--release");
        }
        for name in SEEDS {
            cargo.args(["--example", name]);
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "building the seed examples failed");
        profile_dir.join("examples")
    })
}

/// A seed example running as its own process on a free port, killed on drop, with what it
/// printed (stdout, and stderr lines prefixed `stderr: `).
struct Example {
    name: &'static str,
    addr: SocketAddr,
    output: Arc<Mutex<Vec<String>>>,
    _child: Child,
}

impl Example {
    /// Starts `name` and waits until it listens.
    async fn start(name: &'static str) -> Example {
        Example::start_with(name, &[]).await
    }

    /// Starts `name` with extra environment variables and waits until it listens.
    async fn start_with(name: &'static str, env: &[(&str, &str)]) -> Example {
        let port = free_port();
        let mut child = Command::new(examples_dir().join(name))
            .env("PORT", port.to_string())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let output = Arc::new(Mutex::new(Vec::new()));
        collect(child.stdout.take(), &output, "");
        collect(child.stderr.take(), &output, "stderr: ");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        until(EXTERNAL_WAIT, || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{name} exited ({status}): {:#?}", output.lock().unwrap());
            }
            std::net::TcpStream::connect(addr)
                .map(drop)
                .map_err(|e| format!("{name} does not listen on {addr}: {e}"))
        })
        .await;
        Example {
            name,
            addr,
            output,
            _child: child,
        }
    }

    /// A client connected to namespace `/`.
    async fn client(&self) -> Client {
        let (client, _) = Client::connected(self.addr, "/").await;
        client.with_wait(EXTERNAL_WAIT)
    }

    /// A client connected to `/` whose handshake carries the cookie `session=<token>`: a
    /// polling handshake with the header, upgraded to WebSocket, as a browser connects.
    async fn client_with_session(&self, token: &str) -> Client {
        let cookie = format!("session={token}");
        let open =
            tests::http::request(self.addr, "GET", P, &[("Cookie", cookie.as_str())], None).await;
        assert_eq!(open.status, 200, "{open:?}");
        let polling = Polling {
            addr: self.addr,
            sid: sid_of(&open.text()),
        };
        let (mut client, _) = polling.upgrade().await;
        client.join("/").await;
        client.with_wait(EXTERNAL_WAIT)
    }

    /// Everything printed so far.
    fn output(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }

    /// Waits until the example printed a line starting with `prefix`; returns the rest.
    async fn printed_after(&self, prefix: &str) -> String {
        until(EXTERNAL_WAIT, || {
            let output = self.output.lock().unwrap();
            output
                .iter()
                .find_map(|line| line.strip_prefix(prefix))
                .map(str::to_owned)
                .ok_or_else(|| {
                    format!(
                        "{} printed no line starting with {prefix:?}: {output:#?}",
                        self.name
                    )
                })
        })
        .await
    }

    /// Waits until the example printed `line`.
    async fn printed(&self, line: &str) {
        let rest = self.printed_after(line).await;
        assert_eq!(rest, "", "{}: {:#?}", self.name, self.output());
    }
}

/// Reads the lines of `stream` into `output`, each behind `prefix`.
fn collect(
    stream: Option<impl AsyncRead + Unpin + Send + 'static>,
    output: &Arc<Mutex<Vec<String>>>,
    prefix: &'static str,
) {
    let (stream, output) = (stream.expect("a piped stream"), output.clone());
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            output.lock().unwrap().push(format!("{prefix}{line}"));
        }
    });
}

/// The text frame of an event on `namespace`: `42[/ns,]<array>`.
fn frame(namespace: &str, array: Value) -> String {
    event_frame(namespace, None, &array.to_string())
}

/// The first argument of the next event, which must be `name`.
async fn next_arg(client: &mut Client, name: &str) -> Value {
    client.expect(name).await.arg().clone()
}

// ---------------------------------------------------------------------------------------------
// Initialization
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn setup_serves_the_default_namespace_and_refuses_others() {
    let example = Example::start("seed_setup").await;
    let mut client = example.client().await;
    assert!(!client.sid.is_empty());
    client.send("40/chat,").await;
    assert_eq!(
        client.text().await,
        r#"44/chat,{"message":"Invalid namespace"}"#
    );
}

// ---------------------------------------------------------------------------------------------
// Receiving messages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn receive_message_prints_the_text() {
    let example = Example::start("seed_receive_message").await;
    let mut client = example.client().await;
    client.emit("message", &[json!("hello there")]).await;
    example.printed("message: hello there").await;
}

#[tokio::test]
async fn receive_json_prints_the_value() {
    let example = Example::start("seed_receive_json").await;
    let mut client = example.client().await;
    client
        .emit("json", &[json!({"a": [1, 2], "b": null})])
        .await;
    example.printed(r#"json: {"a":[1,2],"b":null}"#).await;
}

#[tokio::test]
async fn receive_custom_takes_a_string_a_number_or_json() {
    let example = Example::start("seed_receive_custom").await;
    let mut client = example.client().await;
    client.emit("new order", &[json!("tea")]).await;
    example.printed(r#"new order: "tea""#).await;
    client.emit("new order", &[json!(7)]).await;
    example.printed("new order: 7").await;
    client
        .emit("new order", &[json!({"cups": 2, "item": "tea"})])
        .await;
    example
        .printed(r#"new order: {"cups":2,"item":"tea"}"#)
        .await;
}

#[tokio::test]
async fn receive_args_takes_three_arguments() {
    let example = Example::start("seed_receive_args").await;
    let mut client = example.client().await;
    let args = [json!("knight"), json!("g1"), json!("f3")];
    client.emit("move", &args).await;
    example.printed("move: knight from g1 to f3").await;
}

#[tokio::test]
async fn receive_namespace_handles_the_event_in_its_namespace_only() {
    let example = Example::start("seed_receive_namespace").await;
    let mut client = example.client().await;
    client.join("/monitor").await;
    // The same event on `/` first: nobody handles it.
    client
        .emit("status", &[json!("on the default namespace")])
        .await;
    client
        .send(&frame("/monitor", json!(["status", {"cpu": 3}])))
        .await;
    example.printed(r#"status on /monitor: {"cpu":3}"#).await;
    assert_eq!(example.output(), [r#"status on /monitor: {"cpu":3}"#]);
}

#[tokio::test]
async fn receive_ack_answers_with_two_values() {
    let example = Example::start("seed_receive_ack").await;
    let mut client = example.client().await;
    let ack = client.call("add", &[json!(2), json!(40)]).await;
    assert_eq!(ack, [json!("sum"), json!(42)]);
    example.printed("add: 2 + 40").await;
}

// ---------------------------------------------------------------------------------------------
// Sending messages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn send_echo_answers_with_send_json_and_emit() {
    let example = Example::start("seed_send_echo").await;
    let mut client = example.client().await;
    client.emit("message", &[json!("hi")]).await;
    assert_eq!(next_arg(&mut client, "message").await, "hi");
    client.emit("json", &[json!({"k": [1]})]).await;
    assert_eq!(next_arg(&mut client, "json").await, json!({"k": [1]}));
    client.emit("ping me", &[json!({"n": 1})]).await;
    assert_eq!(next_arg(&mut client, "pong").await, json!({"n": 1}));
}

#[tokio::test]
async fn send_namespace_reaches_the_same_client_in_chat() {
    let example = Example::start("seed_send_namespace").await;
    let mut client = example.client().await;
    client.join("/chat").await;
    client.emit("message", &[json!("hi")]).await;
    assert_eq!(client.text().await, r#"42/chat,["message","hi"]"#);
    client.emit("relay", &[json!({"x": 1})]).await;
    assert_eq!(client.text().await, r#"42/chat,["relayed",{"x":1}]"#);

    // A client that has not joined /chat is sent nothing; once it has, it is.
    let mut outsider = example.client().await;
    outsider.emit("message", &[json!("lost")]).await;
    outsider.join("/chat").await;
    outsider.emit("relay", &[json!(2)]).await;
    assert_eq!(outsider.text().await, r#"42/chat,["relayed",2]"#);
}

#[tokio::test]
async fn send_tuple_sends_three_arguments() {
    let example = Example::start("seed_send_tuple").await;
    let mut client = example.client().await;
    client.join("/chat").await;
    client.emit("score", &[json!([2, 1])]).await;
    assert_eq!(
        client.text().await,
        r#"42/chat,["scored","home","away",[2,1]]"#
    );
}

#[tokio::test]
async fn send_callback_runs_once_the_client_acknowledges() {
    let example = Example::start("seed_send_callback").await;
    let mut client = example.client().await;
    client.emit("question", &[json!("6 x 7?")]).await;
    let Packet::Event {
        name, args, ack, ..
    } = client.recv().await
    else {
        panic!("expected the quiz event");
    };
    assert_eq!((name.as_str(), args), ("quiz", vec![json!("6 x 7?")]));
    let id = ack.expect("the quiz asks for an acknowledgement");
    assert!(example.output().is_empty(), "{:?}", example.output());
    client.send(&format!("43{id}[42]")).await;
    example.printed("quiz received, answer: [42]").await;
}

#[tokio::test]
async fn send_ack_values_answers_with_three_values() {
    let example = Example::start("seed_send_ack_values").await;
    let mut client = example.client().await;
    let ack = client.call("register", &[json!("zoë")]).await;
    assert_eq!(ack, [json!("registered"), json!(3), json!("zoë")]);
}

// ---------------------------------------------------------------------------------------------
// Broadcasting
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn broadcast_reaches_every_client_and_the_sender() {
    let example = Example::start("seed_broadcast").await;
    let mut ann = example.client().await;
    let mut bob = example.client().await;
    ann.emit("shout", &[json!("hey")]).await;
    assert_eq!(next_arg(&mut ann, "shouted").await, "hey");
    assert_eq!(next_arg(&mut bob, "shouted").await, "hey");
}

#[tokio::test]
async fn broadcast_server_ticks_from_a_background_task() {
    let example = Example::start("seed_broadcast_server").await;
    let mut client = example.client().await;
    let first = next_arg(&mut client, "tick").await;
    let second = next_arg(&mut client, "tick").await;
    let count = |tick: Value| tick["count"].as_u64().expect("a count");
    assert_eq!(count(second), count(first) + 1);
}

// ---------------------------------------------------------------------------------------------
// Rooms
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rooms_tell_the_members_who_joins_and_leaves() {
    let example = Example::start("seed_rooms").await;
    let entry = |name: &str, room: &str| [json!({"username": name, "room": room})];
    let (mut ann, mut bob, mut cy) = (
        example.client().await,
        example.client().await,
        example.client().await,
    );
    ann.emit("join", &entry("ann", "rust")).await;
    assert_eq!(next_arg(&mut ann, "message").await, "ann joined rust");
    bob.emit("join", &entry("bob", "rust")).await;
    assert_eq!(next_arg(&mut bob, "message").await, "bob joined rust");
    assert_eq!(next_arg(&mut ann, "message").await, "bob joined rust");
    // Cy, in no room, heard nothing: its first message is its own join.
    cy.emit("join", &entry("cy", "go")).await;
    assert_eq!(next_arg(&mut cy, "message").await, "cy joined go");

    ann.emit("leave", &entry("ann", "rust")).await;
    assert_eq!(next_arg(&mut bob, "message").await, "ann left rust");
    // Ann, out of the room, did not hear it: her next message is her join of `go`.
    ann.emit("join", &entry("ann", "go")).await;
    assert_eq!(next_arg(&mut ann, "message").await, "ann joined go");
    assert_eq!(next_arg(&mut cy, "message").await, "ann joined go");
}

// ---------------------------------------------------------------------------------------------
// Connection events
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn connection_events_greet_on_connect_and_print_on_disconnect() {
    let example = Example::start("seed_connection_events").await;
    let mut client = example.client().await;
    client.join("/chat").await;
    assert_eq!(
        client.text().await,
        r#"42/chat,["welcome",{"status":"connected"}]"#
    );
    client.send("41/chat,").await;
    example.printed("a client left /chat").await;
}

// ---------------------------------------------------------------------------------------------
// Error handling
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn error_handlers_declare_their_namespaces() {
    let example = Example::start("seed_error_handlers").await;
    let mut client = example.client().await;
    client.join("/chat").await;
    client.send("40/elsewhere,").await;
    assert_eq!(
        client.text().await,
        r#"44/elsewhere,{"message":"Invalid namespace"}"#
    );
}

#[tokio::test]
async fn error_event_names_the_failed_event_and_its_arguments() {
    let example = Example::start("seed_error_event").await;
    let mut client = example.client().await;
    client.emit("explode", &[json!(1), json!("two")]).await;
    example.printed(r#"explode failed with [1,"two"]"#).await;
    client.emit("explode", &[]).await;
    example.printed("explode failed with []").await;
    // The default error handler took both failures: the built-in one printed nothing.
    let expected = [r#"explode failed with [1,"two"]"#, "explode failed with []"];
    assert_eq!(example.output(), expected);
}

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

/// The demo user's session token, as the authentication examples print it.
async fn demo_token(example: &Example) -> String {
    example
        .printed_after("demo login: ann, cookie session=")
        .await
}

#[tokio::test]
async fn login_connect_refuses_anonymous_users_and_announces_the_others() {
    let example = Example::start("seed_login_connect").await;
    let token = demo_token(&example).await;

    let mut anonymous = Client::open(example.addr).await;
    anonymous.send("40").await;
    let refusal = anonymous.text().await;
    assert!(refusal.starts_with("44{"), "{refusal}");

    let mut first = example.client_with_session(&token).await;
    let news = json!({"message": "ann arrived"});
    assert_eq!(next_arg(&mut first, "news").await, news);
    let mut second = example.client_with_session(&token).await;
    assert_eq!(next_arg(&mut second, "news").await, news);
    assert_eq!(next_arg(&mut first, "news").await, news);
}

#[tokio::test]
async fn authenticated_only_disconnects_anonymous_users() {
    let example = Example::start("seed_authenticated_only").await;
    let token = demo_token(&example).await;

    let mut anonymous = example.client().await;
    let mut ann = example.client_with_session(&token).await;
    ann.emit("hello", &[]).await;
    let news = json!({"message": "ann says hello"});
    assert_eq!(next_arg(&mut ann, "news").await, news);
    assert_eq!(next_arg(&mut anonymous, "news").await, news);

    anonymous.emit("hello", &[]).await;
    assert_eq!(anonymous.recv().await, Packet::Disconnect);
}

// ---------------------------------------------------------------------------------------------
// Deployment: several workers, emitting from an external process
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn message_queue_delivers_what_another_process_emits() {
    let redis = Redis::start();
    let url = redis.url();
    let example = Example::start_with("seed_message_queue", &[("REDIS_URL", &url)]).await;
    let mut client = example.client().await;
    let emitter = Emitter::connect(&url).await.unwrap();
    // The server subscribes in the background: emit until one gets through.
    let expected = Msg::Text(r#"42["news","from the queue"]"#.into());
    let mut delivered = false;
    for _ in 0..100 {
        emitter.emit("news", "from the queue").await.unwrap();
        if let Ok(Some(msg)) = client.next_within(Duration::from_millis(300)).await {
            assert_eq!(msg, expected);
            delivered = true;
            break;
        }
    }
    assert!(delivered, "nothing came through the queue");
}

#[tokio::test]
async fn external_emit_reaches_a_server_on_the_queue() {
    let redis = Redis::start();
    let url = redis.url();
    let io = SocketIo::builder()
        .message_queue(url.clone())
        .namespace("/news")
        .build()
        .unwrap();
    eventually(EXTERNAL_WAIT, "the server's message queue is up", || {
        io.queue_stats()
            .is_some_and(|s| s.connected && s.subscribed)
    })
    .await;
    let client = TestClient::builder(&io)
        .namespace("/news")
        .timeout(EXTERNAL_WAIT)
        .connect()
        .await
        .unwrap();

    let status = tokio::time::timeout(
        EXTERNAL_WAIT,
        Command::new(examples_dir().join("seed_external_emit"))
            .env("REDIS_URL", &url)
            .kill_on_drop(true)
            .status(),
    )
    .await
    .expect("seed_external_emit ends")
    .expect("seed_external_emit runs");
    assert!(status.success(), "seed_external_emit: {status}");

    let received = client.recv().await.unwrap();
    assert_eq!(received.name(), "headline");
    assert_eq!(received.data::<String>().unwrap(), "stop press");
}

// ---------------------------------------------------------------------------------------------
// From the prose: rooms by sid, rooms(), close_room(); the session
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn room_api_reaches_one_client_by_sid_lists_and_closes_rooms() {
    let example = Example::start("seed_room_api").await;
    let mut ann = example.client().await;
    let mut bob = example.client().await;
    let ann_sid = ann.sid.clone();

    let rooms = ann.call("join", &[json!("lobby")]).await;
    assert_eq!(rooms, [json!([ann_sid, "lobby"])]);

    bob.emit("whisper", &[json!(ann_sid), json!("psst")]).await;
    assert_eq!(next_arg(&mut ann, "whisper").await, "psst");

    assert!(ann.call("close", &[json!("lobby")]).await.is_empty());
    let rooms = ann.call("join", &[json!("attic")]).await;
    assert_eq!(rooms, [json!([ann_sid, "attic"])]);
}

#[tokio::test]
async fn session_keeps_a_value_per_connection() {
    let example = Example::start("seed_session").await;
    let mut ann = example.client().await;
    let mut bob = example.client().await;
    let (ann_sid, bob_sid) = (ann.sid.clone(), bob.sid.clone());

    let whoami = ann.call("whoami", &[]).await;
    assert_eq!(whoami, [Value::Null, json!(ann_sid), json!("/")]);
    ann.emit("set nick", &[json!("ann")]).await;
    let whoami = ann.call("whoami", &[]).await;
    assert_eq!(whoami, [json!("ann"), json!(ann_sid), json!("/")]);
    let whoami = bob.call("whoami", &[]).await;
    assert_eq!(whoami, [Value::Null, json!(bob_sid), json!("/")]);
}
