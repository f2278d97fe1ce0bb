//! Differential test against Flask-SocketIO itself: the same app written twice, once with
//! Flask-SocketIO (`tests/flask/app.py`) and once with socketio-rs (the Rust port below), driven
//! by the same python-socketio client scenarios (`tests/flask/scenarios.py`); the transcripts
//! of what the clients observed must be equal, socket ids aside.
//!
//! The Flask app runs once per test binary: the first test starts it on a free 127.0.0.1 port
//! (`app.py 0` prints the port it got), runs every scenario against it in one go, one after the
//! other (its broadcasts would reach the clients of concurrent scenarios), and kills it. Each
//! test then serves the Rust port in-process on 127.0.0.1:0 and runs its scenario against it.
//!
//! A difference kept on purpose is asserted as that difference, with its reason, by the
//! scenario's `expected` function; every other scenario expects the Flask transcript unchanged.
//!
//! Python: `SOCKETIO_TEST_PYTHON` (set by `scripts/test`), default `.venv/bin/python`, with
//! `tests/python/requirements.txt` installed (python-socketio and Flask-SocketIO, pinned). A
//! missing Flask-SocketIO fails the test: CI installs it. `SOCKETIO_TEST_VERBOSE=1` prints every
//! transcript (with `-- --nocapture`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use socketio::{
    AckError, Args, Auth, ConnectError, Data, DisconnectReason, Event, Handshake, Session, Socket,
    SocketIo,
};

/// How long the Flask app may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long every scenario together may run against the Flask app.
const ALL_TIMEOUT: Duration = Duration::from_secs(300);
/// How long one scenario may run against the Rust server (each of its waits is bounded by the
/// script's own 10 s).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

// --- the Rust port of tests/flask/app.py ---------------------------------------------------

/// How long the server waits for the client's answer to `question`, and to `slow question`,
/// which the client never answers (app.py's CALL_TIMEOUT and SLOW_CALL_TIMEOUT).
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
const SLOW_CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// `session["user"]`.
#[derive(Clone)]
struct User(String);

/// `session["count"]`.
#[derive(Clone)]
struct Count(i64);

#[derive(Deserialize)]
struct Membership {
    username: String,
    room: String,
}

#[derive(Deserialize)]
struct RoomText {
    room: String,
    text: String,
}

/// The app: the same handlers as app.py, in the same order.
fn app() -> SocketIo {
    SocketIo::builder()
        // '/': the documentation's examples
        .on("/", "message", message)
        .on("/", "json", json_event)
        .on("/", "my event", my_event)
        .on("/", "multi", multi)
        .on("/", "whoami", whoami)
        .on("/", "ack nothing", ack_nothing)
        .on("/", "ack none", ack_none)
        .on("/", "ack one", ack_one)
        .on("/", "ack list", ack_list)
        .on("/", "ack tuple", ack_tuple)
        .on("/", "ack null", ack_null)
        .on("/", "ack dict", ack_dict)
        .on("/", "none", none)
        .on("/", "count args", count_args)
        .on("/", "broadcast", broadcast)
        .on("/", "broadcast others", broadcast_others)
        .on("/", "broadcast send", broadcast_send)
        .on("/", "to chat", to_chat)
        .on("/", "join", join)
        .on("/", "leave", leave)
        .on("/", "room others", room_others)
        .on("/", "room all", room_all)
        .on("/", "close room", close_room)
        .on("/", "set user", set_user)
        .on("/", "get user", get_user)
        .on("/", "count", count)
        .on("/", "raise", raise)
        .on("/", "divide", divide)
        .on("/", "add one", add_one)
        .on("/", "two params", two_params)
        .on_error("/", |socket: Socket, event: Event| async move {
            failure(&socket, "/", &event)
        })
        .on("/", "query", query)
        .on("/", "ask", ask)
        .on("/", "ask slow", ask_slow)
        .on("/", "kick me", kick_me)
        .on("/", "sync", sync)
        // '/chat': a second namespace
        .on("/chat", "my event", chat_my_event)
        .on("/chat", "get user", get_user)
        .on("/chat", "count", count)
        .on("/chat", "raise", raise)
        .on_error("/chat", |socket: Socket, event: Event| async move {
            failure(&socket, "/chat", &event)
        })
        .on("/chat", "sync", sync)
        // '/private': authentication, connect-time emits, disconnect reasons
        .on_connect("/private", private_connect)
        .on_disconnect("/private", private_disconnect)
        .on("/private", "get user", get_user)
        .on("/private", "raise", raise)
        .on("/private", "kick me", kick_me)
        .on("/private", "sync", sync)
        .on_error_default(|socket: Socket, event: Event| async move {
            failure(&socket, "default", &event)
        })
        // '/vip': a connect handler answering true or false
        .on_connect("/vip", vip_connect)
        .on("/vip", "sync", sync)
        .build()
        .expect("the Rust port of app.py builds")
}

async fn message(socket: Socket, Data(message): Data<Value>) {
    socket.send(&message);
}

/// `send(data, json=True)`: Flask-SocketIO sends it as a `json` event.
async fn json_event(socket: Socket, Data(data): Data<Value>) {
    socket.emit("json", &data);
}

async fn my_event(socket: Socket, Data(data): Data<Value>) -> (&'static str, i32) {
    socket.emit("my response", &data);
    ("one", 2)
}

async fn multi(
    socket: Socket,
    Data((arg1, arg2, arg3)): Data<(Value, Value, Value)>,
) -> (&'static str, &'static str, i32) {
    socket.emit("my response", &("foo", "bar", [arg1, arg2, arg3]));
    ("foo", "bar", 123)
}

async fn whoami(socket: Socket) -> String {
    socket.id().to_string()
}

async fn ack_nothing() {}

async fn ack_none() -> Option<String> {
    None
}

async fn ack_one() -> &'static str {
    "x"
}

async fn ack_list() -> Vec<i32> {
    vec![1, 2]
}

async fn ack_tuple() -> (&'static str, i32, bool) {
    ("a", 1, true)
}

async fn ack_null() -> (Option<String>,) {
    (None,)
}

async fn ack_dict() -> Value {
    json!({ "k": "v", "n": [1, null] })
}

async fn none(socket: Socket) {
    socket.emit("nothing", &None::<String>);
    socket.emit("one null", &(None::<String>,));
}

/// `def count_args(*args): return len(args), list(args)`.
async fn count_args(event: Event) -> (usize, Vec<Value>) {
    let args: Vec<Value> = event
        .args()
        .raw()
        .map(|raw| serde_json::from_str(raw).expect("arguments are JSON"))
        .collect();
    (args.len(), args)
}

async fn broadcast(socket: Socket, Data(data): Data<Value>) {
    socket.everyone().emit("my response", &data);
}

async fn broadcast_others(socket: Socket, Data(data): Data<Value>) {
    socket.broadcast().emit("my response", &data);
}

async fn broadcast_send(socket: Socket, Data(data): Data<Value>) {
    socket.everyone().send(&data);
}

async fn to_chat(io: SocketIo, Data(data): Data<Value>) {
    io.of("/chat").emit("news", &data);
}

async fn join(socket: Socket, Data(m): Data<Membership>) {
    socket.join(&m.room);
    socket
        .within(&m.room)
        .send(&format!("{} has entered the room.", m.username));
}

async fn leave(socket: Socket, Data(m): Data<Membership>) {
    socket.leave(&m.room);
    socket
        .within(&m.room)
        .send(&format!("{} has left the room.", m.username));
}

async fn room_others(socket: Socket, Data(m): Data<RoomText>) {
    socket.to(&m.room).emit("room message", &m.text);
}

async fn room_all(socket: Socket, Data(m): Data<RoomText>) {
    socket.within(&m.room).emit("room message", &m.text);
}

async fn close_room(io: SocketIo, socket: Socket, Data(room): Data<String>) {
    io.close_room(socket.namespace(), &room);
}

async fn set_user(user: Session<User>, Data(name): Data<String>) -> String {
    user.set(User(name.clone()));
    name
}

async fn get_user(user: Session<User>) -> Option<String> {
    user.get().map(|user| user.0)
}

async fn count(count: Session<Count>) -> i64 {
    count.update(|count| {
        let n = count.as_ref().map_or(0, |c| c.0) + 1;
        *count = Some(Count(n));
        n
    })
}

async fn raise(Data(data): Data<Value>) -> Result<(), String> {
    Err(format!("raised: {data}"))
}

/// Divides by zero as Python's `a // b` does: here with a panic, there with
/// ZeroDivisionError; both reach the error handler.
async fn divide(Data((a, b)): Data<(i64, i64)>) -> i64 {
    a / b
}

async fn add_one(Data(n): Data<i64>) -> i64 {
    n + 1
}

async fn two_params(Data((a, b)): Data<(Value, Value)>) -> (Value, Value) {
    (a, b)
}

/// What every error handler does: tells the client, and answers its ack with the same report
/// (Flask's `request.event` gives the event and its arguments).
fn failure(socket: &Socket, handler: &str, event: &Event) -> Value {
    let args: Vec<Value> = event
        .args()
        .raw()
        .map(|raw| serde_json::from_str(raw).expect("arguments are JSON"))
        .collect();
    let report = json!({ "handler": handler, "event": event.name(), "args": args });
    socket.emit("error handled", &report);
    report
}

async fn query(
    handshake: Handshake,
) -> (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    (
        handshake.query("room"),
        handshake.query("plus"),
        handshake.query("encplus"),
        handshake.query("missing"),
    )
}

/// `return call("question", question, timeout=...)`: the client's answer, as it came.
async fn ask(socket: Socket, Data(question): Data<Value>) -> Result<Args, AckError> {
    socket
        .emit_with_ack("question", &question)
        .timeout(CALL_TIMEOUT)
        .await
}

async fn ask_slow(socket: Socket) -> &'static str {
    match socket
        .emit_with_ack("slow question", &())
        .timeout(SLOW_CALL_TIMEOUT)
        .await
    {
        Err(AckError::Timeout) => "timeout",
        _ => "answered",
    }
}

async fn kick_me(socket: Socket) {
    socket.disconnect();
}

async fn sync() {}

async fn chat_my_event(socket: Socket, Data(data): Data<Value>) {
    socket.emit("my response", &json!({ "ns": "/chat", "data": data }));
}

async fn private_connect(
    socket: Socket,
    Auth(auth): Auth<Option<Value>>,
    user: Session<User>,
    handshake: Handshake,
) -> Result<(), ConnectError> {
    let Some(auth) = auth else {
        return Err(ConnectError::new("authentication required").data(json!({ "code": 401 })));
    };
    if auth["token"] != "s3cret" {
        return Err(
            ConnectError::new("bad token").data(json!({ "code": 403, "token": auth.get("token") }))
        );
    }
    let name = auth["user"].as_str().unwrap_or_default().to_owned();
    user.set(User(name.clone()));
    socket.emit(
        "welcome",
        &json!({ "user": name, "room": handshake.query("room") }),
    );
    socket.everyone().emit("joined", &name);
    Ok(())
}

async fn private_disconnect(socket: Socket, reason: DisconnectReason, user: Session<User>) {
    let left = json!({ "user": user.get().map(|u| u.0), "reason": reason.as_str() });
    socket.broadcast().emit("left", &left);
}

async fn vip_connect(Auth(auth): Auth<Option<Value>>) -> bool {
    auth.is_some_and(|auth| auth["vip"] == true)
}

// --- the scenarios ----------------------------------------------------------------------

/// The Flask transcript is the expected one.
fn same(flask: Value) -> Value {
    flask
}

#[test]
fn echo() {
    differential("echo", same);
}

#[test]
fn several_arguments() {
    differential("several_arguments", same);
}

#[test]
fn acks() {
    differential("acks", same);
}

#[test]
fn none_payloads() {
    differential("none_payloads", same);
}

#[test]
fn broadcast_to_everyone_and_the_others() {
    differential("broadcast", same);
}

#[test]
fn rooms() {
    differential("rooms", same);
}

#[test]
fn namespaces() {
    differential("namespaces", same);
}

#[test]
fn connect_refused() {
    differential("connect_refused", same);
}

#[test]
fn unknown_namespace() {
    differential("unknown_namespace", invalid_namespace);
}

#[test]
fn error_handlers() {
    differential("error_handlers", connect_answer_first);
}

#[test]
fn extra_arguments() {
    differential("extra_arguments", same);
}

#[test]
fn session() {
    differential("session", connect_answer_first);
}

#[test]
fn connect_emits() {
    differential("connect_emits", connect_answer_first);
}

#[test]
fn disconnect_reasons() {
    differential("disconnect_reasons", connect_answer_first);
}

#[test]
fn query_string() {
    differential("query_string", same);
}

#[test]
fn call_timeout() {
    differential("call_timeout", same);
}

/// Deliberate difference: what a connect handler emits reaches the client after the
/// namespace's CONNECT answer, not before it.
///
/// Flask-SocketIO (with its default `always_connect=False`) sends each emit of the connect
/// handler as it happens, and the CONNECT answer once the handler returned, so a client sees
/// events on a namespace it is not connected to yet (python-socketio runs their handlers
/// anyway; socket.io-client buffers them). socketio-rs holds them back until the connection is
/// accepted, as socket.io (Node) does: a client never receives an event before `connect`, and
/// a refused client receives nothing but the refusal. The events and their order among
/// themselves are the same; only `["connect"]` moves before them.
fn connect_answer_first(mut flask: Value) -> Value {
    for namespaces in flask.as_object_mut().expect("clients").values_mut() {
        for entries in namespaces.as_object_mut().expect("namespaces").values_mut() {
            let entries = entries.as_array_mut().expect("entries");
            let first_not_event = entries.iter().position(|e| e[0] != "event");
            if let Some(at) = first_not_event.filter(|&at| entries[at] == json!(["connect"])) {
                let connect = entries.remove(at);
                entries.insert(0, connect);
            }
        }
    }
    flask
}

/// Deliberate difference (README, "Deliberate differences from Flask-SocketIO"): a namespace the
/// server does not have is refused with `{"message": "Invalid namespace"}`, as the Socket.IO v5
/// protocol and its official test suite require; Flask-SocketIO sends the bare string
/// `"Unable to connect"`.
fn invalid_namespace(mut flask: Value) -> Value {
    let entries = flask["A"]["/nowhere"]
        .as_array_mut()
        .expect("A's /nowhere entries");
    assert_eq!(
        entries[0],
        json!(["connect_error", "Unable to connect"]),
        "Flask-SocketIO refuses an unknown namespace with a bare string"
    );
    entries[0] = json!(["connect_error", { "message": "Invalid namespace" }]);
    flask
}

// --- the harness ------------------------------------------------------------------------

/// Runs `scenario` against the Rust port and asserts its transcript is `expected(flask's)`.
fn differential(scenario: &str, expected: fn(Value) -> Value) {
    let flask = flask_transcript(scenario);
    let ours = rust_transcript(scenario);
    if std::env::var_os("SOCKETIO_TEST_VERBOSE").is_some() {
        eprintln!(
            "--- {scenario}, Flask-SocketIO:\n{}--- {scenario}, socketio-rs:\n{}",
            render(&flask),
            render(&ours)
        );
    }
    let expected = expected(flask.clone());
    if ours != expected {
        panic!(
            "scenario {scenario:?}: socketio-rs and Flask-SocketIO differ\n{}\
             --- expected (Flask-SocketIO's transcript, deliberate differences applied):\n{}\
             --- socketio-rs:\n{}",
            differences(&expected, &ours),
            render(&expected),
            render(&ours)
        );
    }
}

/// A transcript, one entry a line.
fn render(transcript: &Value) -> String {
    let mut out = String::new();
    for (client, namespaces) in transcript.as_object().into_iter().flatten() {
        for (ns, entries) in namespaces.as_object().into_iter().flatten() {
            out.push_str(&format!("{client} {ns}\n"));
            for entry in entries.as_array().into_iter().flatten() {
                out.push_str(&format!("    {entry}\n"));
            }
        }
    }
    out
}

/// The (client, namespace) lists that differ, side by side, from the first difference on.
fn differences(expected: &Value, ours: &Value) -> String {
    let lists = |t: &Value| -> BTreeMap<(String, String), Vec<Value>> {
        let mut out = BTreeMap::new();
        for (client, namespaces) in t.as_object().into_iter().flatten() {
            for (ns, entries) in namespaces.as_object().into_iter().flatten() {
                let entries = entries.as_array().cloned().unwrap_or_default();
                out.insert((client.clone(), ns.clone()), entries);
            }
        }
        out
    };
    let (expected, ours) = (lists(expected), lists(ours));
    let keys: BTreeSet<_> = expected.keys().chain(ours.keys()).cloned().collect();
    let mut out = String::new();
    for key in keys {
        let none = Vec::new();
        let e = expected.get(&key).unwrap_or(&none);
        let o = ours.get(&key).unwrap_or(&none);
        if e == o {
            continue;
        }
        let from = e.iter().zip(o).take_while(|(a, b)| a == b).count();
        out.push_str(&format!(
            "client {} namespace {} (from entry {from}):\n",
            key.0, key.1
        ));
        for i in from..e.len().max(o.len()) {
            let show = |v: Option<&Value>| v.map_or("-".to_owned(), Value::to_string);
            out.push_str(&format!(
                "  expected {}\n  ours     {}\n",
                show(e.get(i)),
                show(o.get(i))
            ));
        }
    }
    out
}

/// The workspace root.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The Python of the tests, checked to have python-socketio and Flask-SocketIO.
fn python() -> PathBuf {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let python = std::env::var_os("SOCKETIO_TEST_PYTHON")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace().join(".venv/bin/python"));
            let install = "run `python3 -m venv .venv && .venv/bin/pip install -r \
                           tests/python/requirements.txt` (or set SOCKETIO_TEST_PYTHON)";
            assert!(
                python.exists(),
                "no Python at {}: {install}",
                python.display()
            );
            let probe = Command::new(&python)
                .args(["-c", "import flask, flask_socketio, socketio"])
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
            assert!(
                probe.status.success(),
                "Flask-SocketIO or python-socketio is missing from {}: {install}\n{}",
                python.display(),
                String::from_utf8_lossy(&probe.stderr)
            );
            python
        })
        .clone()
}

/// The transcript of `scenario` against the Flask app.
fn flask_transcript(scenario: &str) -> Value {
    static ALL: Mutex<Option<HashMap<String, Value>>> = Mutex::new(None);
    let mut all = ALL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let all = all.get_or_insert_with(run_flask);
    let result = all
        .get(scenario)
        .unwrap_or_else(|| panic!("scenarios.py has no scenario {scenario:?}"));
    transcript_of("Flask-SocketIO", result)
}

/// Starts the Flask app, runs every scenario against it, stops it; the results by scenario.
fn run_flask() -> HashMap<String, Value> {
    let python = python();
    let mut app = KillOnDrop(
        Command::new(&python)
            .arg(workspace().join("tests/flask/app.py"))
            .arg("0")
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start tests/flask/app.py: {e}")),
    );
    let stdout = app.0.stdout.take().expect("piped stdout");
    let stderr = app.0.stderr.take().expect("piped stderr");
    let app_log = std::thread::spawn(move || read_to_string(stderr));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = ready_tx.send(line);
    });
    let ready = ready_rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
    let port = serde_json::from_str::<Value>(&ready)
        .ok()
        .and_then(|v| v["port"].as_u64());
    let Some(port) = port else {
        let _ = app.0.kill();
        panic!(
            "tests/flask/app.py did not report its port within {START_TIMEOUT:?} (stdout \
             {ready:?}); its stderr:\n{}",
            app_log.join().unwrap_or_default()
        );
    };
    let run = run_scenarios(&format!("http://127.0.0.1:{port}"), "all", ALL_TIMEOUT);
    let _ = app.0.kill();
    let _ = app.0.wait();
    let app_log = app_log.join().unwrap_or_default();
    let results: HashMap<String, Value> = run
        .results
        .into_iter()
        .map(|r| (r["scenario"].as_str().unwrap_or_default().to_owned(), r))
        .collect();
    if results.is_empty() {
        panic!(
            "scenarios.py reported nothing against the Flask app ({}):\n{}\n--- app.py's \
             stderr:\n{app_log}",
            run.status, run.stderr
        );
    }
    results
}

/// The transcript of `scenario` against the Rust port, served on 127.0.0.1:0.
fn rust_transcript(scenario: &str) -> Value {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let run = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app().serve_with(listener, axum::Router::new(), async {
            let _ = stopped.await;
        }));
        let scenario = scenario.to_owned();
        let run =
            tokio::task::spawn_blocking(move || run_scenarios(&url, &scenario, SCENARIO_TIMEOUT))
                .await
                .expect("the scenario runner does not panic");
        let _ = stop.send(());
        match tokio::time::timeout(Duration::from_secs(10), server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("the Rust server failed: {e}"),
            Ok(Err(e)) => panic!("the Rust server panicked: {e}"),
            Err(_) => panic!("the Rust server did not stop within 10 s"),
        }
        run
    });
    let result = run
        .results
        .iter()
        .find(|r| r["scenario"] == scenario)
        .unwrap_or_else(|| {
            panic!(
                "scenarios.py reported nothing for {scenario:?} against socketio-rs ({}):\n{}",
                run.status, run.stderr
            )
        });
    transcript_of("socketio-rs", result)
}

/// A scenario's transcript; panics with the client's traceback if it crashed.
fn transcript_of(server: &str, result: &Value) -> Value {
    if let Some(crash) = result.get("crashed") {
        panic!(
            "scenario {} crashed against {server}:\n{}",
            result["scenario"],
            crash.as_str().unwrap_or_default()
        );
    }
    result["transcript"].clone()
}

/// What a run of scenarios.py printed.
struct Run {
    results: Vec<Value>,
    stderr: String,
    status: String,
}

/// Runs `scenarios.py url scenario`, killing it after `timeout`.
fn run_scenarios(url: &str, scenario: &str, timeout: Duration) -> Run {
    let mut child = KillOnDrop(
        Command::new(python())
            .arg(workspace().join("tests/flask/scenarios.py"))
            .args([url, scenario])
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start tests/flask/scenarios.py: {e}")),
    );
    let stdout = child.0.stdout.take().expect("piped stdout");
    let stderr = child.0.stderr.take().expect("piped stderr");
    let stdout = std::thread::spawn(move || read_to_string(stdout));
    let stderr = std::thread::spawn(move || read_to_string(stderr));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.0.try_wait().expect("wait for scenarios.py") {
            Some(status) => break status.to_string(),
            None if Instant::now() >= deadline => {
                let _ = child.0.kill();
                let _ = child.0.wait();
                break format!("killed after {timeout:?}");
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let results = stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("scenarios.py printed {line:?}, not JSON ({e})"))
        })
        .collect();
    Run {
        results,
        stderr,
        status,
    }
}

fn read_to_string(mut pipe: impl Read) -> String {
    let mut bytes = Vec::new();
    let _ = pipe.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A child process killed when the test lets go of it, panicking or not.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
