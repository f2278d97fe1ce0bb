//! The server under soak: namespace `/` with one handler per kind of traffic the load sends,
//! and a ticker that broadcasts on its own.
//!
//! * `echo` acknowledges with its arguments (client → server acknowledgements);
//! * `join` / `leave` move the socket in or out of a room (acknowledged with nothing);
//! * `shout` `[room, text]` broadcasts `shout` to the room, the sender included;
//! * `ask` `n` makes the server call the client (`question` `n`, which the client answers with
//!   `n + 1`) and acknowledges with `{"answer": <what the client said>}`, or `{"lost": <why>}`
//!   when the client's answer never came (server → client acknowledgements);
//! * `burst` `n` sends the socket `n` events of [`BURST_BYTES`] each (at most [`MAX_BURST`]):
//!   how the clients that stop reading get a backlog;
//! * [`ticker`] broadcasts `tick` to everyone every second and `news` of [`NEWS_BYTES`] to room
//!   [`NEWS`] four times a second.

use std::time::Duration;

use serde_json::{json, Value};
use socketio::{Ack, Args, Builder, Data, Event, Socket, SocketIo};

/// The room that gets the `news` broadcasts.
pub const NEWS: &str = "news";

/// Size of one `news` broadcast.
pub const NEWS_BYTES: usize = 1024;

/// Size of one `burst` event.
pub const BURST_BYTES: usize = 4096;

/// Most events one `burst` may ask for (4 MB at [`BURST_BYTES`]).
pub const MAX_BURST: u32 = 1000;

/// How long the server waits for the client's answer to `question`: longer than any wait of a
/// well-behaved client on a loaded machine, so that a lost answer is a real loss.
pub const QUESTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Acknowledges with the received arguments.
async fn echo(event: Event) -> Args {
    event.args().clone()
}

/// Joins the room named by the argument.
async fn join(socket: Socket, Data(room): Data<String>) {
    socket.join(&room);
}

/// Leaves the room named by the argument.
async fn leave(socket: Socket, Data(room): Data<String>) {
    socket.leave(&room);
}

/// Broadcasts `shout` with `text` to `room`, the sender included.
async fn shout(io: SocketIo, Data((room, text)): Data<(String, String)>) {
    io.to(room).emit("shout", &text);
}

/// Calls the client back with `question` `n`; acknowledges with its answer or with why it was
/// lost.
async fn ask(socket: Socket, Data(n): Data<u64>) -> Ack<Value> {
    let answer = socket
        .emit_with_ack("question", &n)
        .timeout(QUESTION_TIMEOUT)
        .await;
    Ack(match answer {
        Ok(args) => match args.first::<Value>() {
            Some(Ok(value)) => json!({ "answer": value }),
            other => json!({ "lost": format!("unreadable answer: {other:?}") }),
        },
        Err(e) => json!({ "lost": e.to_string() }),
    })
}

/// Sends the socket `n` events of [`BURST_BYTES`] (a backlog for a client that does not read).
async fn burst(socket: Socket, Data(n): Data<u32>) {
    let body = "b".repeat(BURST_BYTES);
    for _ in 0..n.min(MAX_BURST) {
        if socket.try_emit("burst", &body).is_err() {
            break;
        }
    }
}

/// The server's handlers (see the module docs), with the soak's heartbeat.
pub fn builder(ping_interval: Duration, ping_timeout: Duration) -> Builder {
    SocketIo::builder()
        .ping_interval(ping_interval)
        .ping_timeout(ping_timeout)
        .on("/", "echo", echo)
        .on("/", "join", join)
        .on("/", "leave", leave)
        .on("/", "shout", shout)
        .on("/", "ask", ask)
        .on("/", "burst", burst)
}

/// Broadcasts `tick` to everyone every second and `news` to [`NEWS`] four times a second,
/// forever.
pub async fn ticker(io: SocketIo) {
    let news = "n".repeat(NEWS_BYTES);
    let mut every = tokio::time::interval(Duration::from_millis(250));
    for count in 0u64.. {
        every.tick().await;
        io.to(NEWS).emit("news", &news);
        if count % 4 == 0 {
            io.emit("tick", &count);
        }
    }
}
