//! Flask-Login with Socket.IO on tower-sessions: sign in on a plain axum form, which puts your
//! user id in the HTTP session, and only then join the `/private` namespace (a `CurrentUser`
//! extractor reads the same session).
//!
//! ```sh
//! npm ci --prefix tests/js          # once: installs socket.io-client for the page
//! cargo run --example auth          # then open http://127.0.0.1:5000/ (alice / wonderland)
//! ```
//!
//! `PORT` changes the port (default 5000). The logic is in `app.rs`; its tests are
//! `tests/tests/example_auth.rs` and `tests/tests/browser_auth.rs`.

mod app;
#[path = "../support/client_js.rs"]
mod client_js;
// `runner::serve` goes unused: this example serves its own app, whose session layer wraps the
// Socket.IO routes too.
#[path = "../support/runner.rs"]
#[allow(dead_code)]
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
    println!("auth running: open http://127.0.0.1:{port}/ and sign in as alice / wonderland (Ctrl-C to stop)");
    let site = app::app(&io, app::pages().merge(client_js::route(client)));
    io.serve_app(listener, site, socketio::shutdown_signal())
        .await?;
    Ok(())
}
