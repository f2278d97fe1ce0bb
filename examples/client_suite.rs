//! The server the official JavaScript client's own test suite expects (socket.io-client
//! 4.8.3, `packages/socket.io-client/test` in the socket.io monorepo), written on our public
//! API in place of the suite's Node server; `scripts/client-suite` runs the suite against it
//! and `docs/conformance.md` records the results.
//!
//! On 127.0.0.1:$PORT (default 3210, the port the suite hard-codes), with `pingInterval` 2 s,
//! connection state recovery, and every new connection held 10 ms before it is answered
//! (the suite's `allowRequest`, there so that a client timeout of 0 always fires first):
//! - `/`: refuses a connection whose query has `fail`; answers `hi` with `hi`, acknowledges
//!   `echo` with its argument, `getAckDate` with a date, `getHandshake` with the handshake and
//!   `getId` with the socket id; on `ack` it asks the client with an acknowledgement and emits
//!   `got it` when the answer is `5, {test: true}`; `getDate`, `getDateObj`, `getUtf8`, `false`,
//!   `doge` and `getbin` get dates, strings, `false` and binary back; the binary events
//!   (`buffa`, `jsonbuff`, `abuff1`/`abuff2`, `blob`, `jsonblob`, `blob1`..`blob3`) are
//!   checked, their order too, and confirmed;
//! - `/foo`: acknowledges `getId`; `/abc` emits `handshake` on connect; `/no` refuses every
//!   connection; `/timeout_socket`, `/valid` and `/asd` only exist.
//!
//! ```sh
//! scripts/client-suite                 # builds this example, runs the suite against it
//! cargo run --example client_suite     # or by hand, then mocha in the suite's folder
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use socketio::{
    on, Auth, Binary, ConnectError, Data, Handshake, RecoveryOptions, Session, Socket, SocketIo,
};

/// How long a new connection waits before it is answered (the suite's `allowRequest` delay).
const ADMISSION_DELAY: Duration = Duration::from_millis(10);

/// What the binary ordering checks have seen on this connection (`abuff1`, `blob1`, `blob2`).
#[derive(Clone, Copy, Default)]
struct Seen {
    abuff1: bool,
    blob1: bool,
    blob2: bool,
}

/// Binary sent with JSON around it (`jsonbuff`, `jsonblob`).
#[derive(Deserialize)]
struct Mixed {
    hello: String,
    /// Only deserialized: that it is binary is the check (socket.io's `Buffer.isBuffer`).
    #[serde(rename = "message")]
    _message: Binary,
    goodbye: String,
}

impl Mixed {
    fn is_expected(&self) -> bool {
        self.hello == "lol" && self.goodbye == "gotcha"
    }
}

/// The current time as JSON renders a JavaScript `Date`: ISO 8601 in UTC, milliseconds.
fn now_iso() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm, proleptic Gregorian).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60,
        now.subsec_millis()
    )
}

/// socket.io's `socket.handshake`: headers, query (decoded), address, url, auth (the Node
/// server's `time` and `issued`, when the connection opened, are left out).
fn handshake_json(socket: &Socket, auth: Value) -> Value {
    let handshake = socket.handshake();
    let headers: Map<String, Value> = handshake
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), Value::String(value))
        })
        .collect();
    let query: Map<String, Value> = handshake
        .query_pairs()
        .into_iter()
        .map(|(key, value)| (key, Value::String(value)))
        .collect();
    json!({
        "headers": headers,
        "address": socket.client_addr().map(|ip| ip.to_string()),
        "xdomain": handshake.headers.contains_key("origin"),
        "secure": false,
        "url": handshake.uri.to_string(),
        "query": query,
        "auth": auth,
    })
}

/// The main namespace's middleware: a `fail` query parameter refuses the connection.
async fn main_middleware(handshake: Handshake) -> Result<(), ConnectError> {
    match handshake.query("fail") {
        Some(fail) if !fail.is_empty() => Err("Auth failed (main namespace)".into()),
        _ => Ok(()),
    }
}

/// `/no`'s middleware refuses everyone.
async fn no_middleware() -> Result<(), ConnectError> {
    Err("Auth failed (custom namespace)".into())
}

#[on("connect", namespace = "/abc")]
async fn abc_connect(socket: Socket, Auth(auth): Auth<Value>) {
    socket.emit("handshake", &handshake_json(&socket, auth));
}

#[on("getId", namespace = "/foo")]
async fn foo_get_id(socket: Socket) -> String {
    socket.id().to_string()
}

#[on("getId")]
async fn get_id(socket: Socket) -> String {
    socket.id().to_string()
}

#[on("getHandshake")]
async fn get_handshake(socket: Socket) -> Value {
    // The auth the client sent (socket.io's `handshake.auth`) is not an extractor of message
    // handlers; the suite reads the query only.
    handshake_json(&socket, json!({}))
}

#[on("hi")]
async fn hi(socket: Socket) {
    socket.emit("hi", &());
}

#[on("echo")]
async fn echo(Data(arg): Data<Value>) -> Value {
    arg
}

/// Asks the client, with an acknowledgement, and says `got it` when it answers `5, {test: true}`.
/// The client's own `ack` is answered when the question is settled (answered or timed out).
#[on("ack")]
async fn ack(socket: Socket) {
    let Ok(answer) = socket.emit_with_ack("ack", &()).await else {
        return;
    };
    if let Ok((5, b)) = answer.deserialize::<(i64, Value)>() {
        if b["test"].as_bool() == Some(true) {
            socket.emit("got it", &());
        }
    }
}

#[on("getAckDate")]
async fn get_ack_date() -> String {
    now_iso()
}

#[on("getDate")]
async fn get_date(socket: Socket) {
    socket.emit("takeDate", &now_iso());
}

#[on("getDateObj")]
async fn get_date_obj(socket: Socket) {
    socket.emit("takeDateObj", &json!({ "date": now_iso() }));
}

#[on("getUtf8")]
async fn get_utf8(socket: Socket) {
    for text in [
        "てすと",
        "Я Б Г Д Ж Й",
        "Ä ä Ü ü ß",
        "utf8 — string",
        "utf8 — string",
    ] {
        socket.emit("takeUtf8", text);
    }
}

#[on("false")]
async fn send_false(socket: Socket) {
    socket.emit("false", &false);
}

#[on("doge")]
async fn doge(socket: Socket) {
    socket.emit("doge", &Binary::from(b"asdfasdf".to_vec()));
}

#[on("getbin")]
async fn getbin(socket: Socket) {
    socket.emit("takebin", &Binary::from(b"asdfasdf".to_vec()));
}

#[on("buffa")]
async fn buffa(socket: Socket, data: Option<Data<Binary>>) {
    if data.is_some() {
        socket.emit("buffack", &());
    }
}

#[on("blob")]
async fn blob(socket: Socket, data: Option<Data<Binary>>) {
    if data.is_some() {
        socket.emit("back", &());
    }
}

#[on("jsonbuff")]
async fn jsonbuff(socket: Socket, Data(data): Data<Mixed>) {
    if data.is_expected() {
        socket.emit("jsonbuff-ack", &());
    }
}

#[on("jsonblob")]
async fn jsonblob(socket: Socket, Data(data): Data<Mixed>) {
    if data.is_expected() {
        socket.emit("jsonblob-ack", &());
    }
}

#[on("abuff1")]
async fn abuff1(seen: Session<Seen>, _data: Data<Binary>) {
    seen.update(|seen| seen.get_or_insert_with(Seen::default).abuff1 = true);
}

#[on("abuff2")]
async fn abuff2(socket: Socket, seen: Session<Seen>) {
    if seen.get().is_some_and(|seen| seen.abuff1) {
        socket.emit("abuff2-ack", &());
    }
}

#[on("blob1")]
async fn blob1(seen: Session<Seen>, _data: Data<Binary>) {
    seen.update(|seen| seen.get_or_insert_with(Seen::default).blob1 = true);
}

#[on("blob2")]
async fn blob2(seen: Session<Seen>, Data(text): Data<String>) {
    if text == "second" {
        seen.update(|seen| {
            let seen = seen.get_or_insert_with(Seen::default);
            seen.blob2 = seen.blob1;
        });
    }
}

#[on("blob3")]
async fn blob3(socket: Socket, seen: Session<Seen>, _data: Data<Binary>) {
    if seen.get().is_some_and(|seen| seen.blob1 && seen.blob2) {
        socket.emit("blob3-ack", &());
    }
}

/// Holds every request that opens a connection (no `sid`) for [`ADMISSION_DELAY`]
/// (socket.io's `allowRequest`, which the suite uses to delay the handshake).
async fn admission_delay(request: Request, next: Next) -> Response {
    let opens = !request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .any(|pair| pair.starts_with("sid="));
    if opens {
        tokio::time::sleep(ADMISSION_DELAY).await;
    }
    next.run(request).await
}

fn socketio() -> Result<SocketIo, socketio::BuildError> {
    SocketIo::builder()
        .ping_interval(Duration::from_secs(2))
        .connection_state_recovery(RecoveryOptions::default())
        .connect_middleware("/", main_middleware)
        .connect_middleware("/no", no_middleware)
        .namespace("/timeout_socket")
        .namespace("/valid")
        .namespace("/asd")
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT={port:?} is not a port number"))?,
        Err(_) => 3210,
    };
    let io = socketio()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let app = axum::Router::new()
        .merge(io.router())
        .layer(middleware::from_fn(admission_delay));
    println!("client suite server on http://127.0.0.1:{port}");
    io.serve_app(listener, app, socketio::shutdown_signal())
        .await?;
    Ok(())
}
