//! Flask-Login with Socket.IO: sign in on a plain axum form, get a session cookie, and only then
//! join the `/private` namespace (a `CurrentUser` extractor reads the cookie).
//!
//! ```sh
//! npm ci --prefix tests/js          # once: installs socket.io-client for the page
//! cargo run --example auth          # then open http://127.0.0.1:5000/ (alice / wonderland)
//! ```
//!
//! `PORT` changes the port (default 5000). The logic is in `app.rs`; its tests are
//! `tests/tests/example_auth.rs`.

mod app;
#[path = "../support/client_js.rs"]
mod client_js;
#[path = "../support/runner.rs"]
mod runner;

use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    runner::init_tracing();
    runner::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let port = runner::port()?;
    let client = client_js::load()?;
    let logins = Arc::new(app::Logins::default());
    let io = app::socketio(logins.clone())?;
    let listener = runner::listen(port).await?;
    println!("auth running: open http://127.0.0.1:{port}/ and sign in as alice / wonderland (Ctrl-C to stop)");
    let site = app::pages(logins).merge(client_js::route(client));
    runner::serve(io, listener, site).await
}
