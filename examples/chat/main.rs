//! A chat with rooms, nicknames, join/leave notices, a typing indicator and per-room history,
//! served with its web page (the official JavaScript client, served from its npm package).
//!
//! ```sh
//! npm ci --prefix tests/js          # once: installs socket.io-client for the page
//! cargo run --example chat          # then open http://127.0.0.1:5000/
//! ```
//!
//! `PORT` changes the port (default 5000); `SOCKETIO_CLIENT_JS` points at another copy of
//! `socket.io.min.js`. The logic is in `app.rs`; its tests are `tests/tests/example_chat.rs`
//! and, in a real browser, `tests/tests/browser_chat.rs`.

mod app;
#[path = "../support/client_js.rs"]
mod client_js;
#[path = "../support/runner.rs"]
mod runner;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    runner::init_tracing();
    runner::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let port = runner::port()?;
    let client = client_js::load()?;
    let io = app::socketio()?;
    let listener = runner::listen(port).await?;
    println!("chat running: open http://127.0.0.1:{port}/ in your browser (Ctrl-C to stop)");
    let site = app::pages().merge(client_js::route(client));
    runner::serve(io, listener, site).await
}
