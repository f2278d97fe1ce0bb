//! A background task, started once at startup, emits `tick` to every client every second.
//!
//! ```sh
//! npm ci --prefix tests/js          # once: installs socket.io-client for the page
//! cargo run --example background    # then open http://127.0.0.1:5000/ in a few tabs
//! ```
//!
//! `PORT` changes the port (default 5000). The logic is in `app.rs`; its tests are
//! `tests/tests/example_background.rs`.

mod app;
#[path = "../support/client_js.rs"]
mod client_js;
#[path = "../support/runner.rs"]
mod runner;

use std::process::ExitCode;
use std::time::Duration;

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
    app::start_ticker(io.clone(), Duration::from_secs(1)); // once, before serving
    println!("background running: open http://127.0.0.1:{port}/ (Ctrl-C to stop)");
    let site = app::pages().merge(client_js::route(client));
    runner::serve(io, listener, site).await
}
