//! Initialization: a server with no handlers yet, created and run in `main`.
//!
//! Flask-SocketIO wraps a Flask app and runs it; here the builder collects the binary's
//! handlers and `serve` binds and runs until Ctrl-C. There is no `SECRET_KEY`: sessions stay on
//! the server, nothing is signed into a cookie. `PORT` picks the port (default 5000).
//!
//! `cargo run -p examples --example seed_setup`

mod support;

use socketio::SocketIo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let io = SocketIo::builder().build()?;
    io.serve(support::addr()).await
}
