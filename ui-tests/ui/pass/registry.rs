//! Handlers declared with the macros, one in a submodule, are all found by the builder.

use serde::Deserialize;
use socketio::{on, on_error, on_error_default, ConnectError, Data, Error, Event, Socket, SocketIo};

#[derive(Deserialize)]
struct Join {
    room: String,
}

#[on("message")]
async fn message(socket: Socket, Data(text): Data<String>) {
    let _ = socket.send(&text);
}

#[on("my event")]
async fn my_event(Data(json): Data<serde_json::Value>) -> (&'static str, i32) {
    let _ = json;
    ("one", 2)
}

#[on("join", namespace = "/chat")]
async fn join(socket: Socket, Data(j): Data<Join>) {
    socket.join(&j.room);
}

#[on("connect", namespace = "/chat")]
async fn connect(socket: Socket) -> Result<(), ConnectError> {
    let _ = socket.emit("welcome", "hi");
    Ok(())
}

#[on("disconnect", namespace = "/chat")]
async fn disconnect(reason: socketio::DisconnectReason) {
    let _ = reason;
}

#[on("*")]
async fn catch_all(event: Event) {
    let _ = event.name();
}

#[on_error(namespace = "/chat")]
async fn chat_error(error: Error) -> String {
    error.to_string()
}

#[on_error_default]
async fn default_error(error: Error, event: Option<Event>) {
    let _ = (error, event);
}

mod nested {
    #[socketio::on("ping", namespace = "/chat")]
    async fn ping() -> &'static str {
        "pong"
    }
}

fn main() {
    let io = SocketIo::builder().build().expect("the registry is consistent");
    assert_eq!(io.namespaces(), ["/", "/chat"]);
    assert_eq!(io.handled_events("/"), ["*", "error", "message", "my event"]);
    assert_eq!(
        io.handled_events("/chat"),
        ["connect", "disconnect", "error", "join", "ping"]
    );
}
