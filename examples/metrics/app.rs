//! A server whose metrics are scraped by Prometheus on `GET /metrics` (feature `prometheus`).
//! Shared by `main.rs` and `tests/tests/metrics.rs`.

use socketio::{Data, Socket, SocketIo};

/// `echo` acknowledges with its argument; `join` puts the socket in a room and tells the room;
/// a new socket is asked for its name with an acknowledgement (a server-side `call`).
pub fn socketio() -> Result<SocketIo, socketio::BuildError> {
    SocketIo::builder()
        .on("/", "echo", |Data(text): Data<String>| async move { text })
        .on(
            "/",
            "join",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.join(&room);
                socket.within(&room).emit("joined", &room);
            },
        )
        .on_connect("/", |socket: Socket| async move {
            tokio::spawn(async move {
                let _ = socket.emit_with_ack("name?", &()).await;
            });
        })
        .build()
}

/// The `/metrics` route (installs the process's Prometheus recorder: call it once).
pub fn metrics() -> Result<axum::Router, socketio::metrics::PrometheusError> {
    socketio::metrics::prometheus_router()
}
