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

use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT={port:?} is not a port number"))?,
        Err(_) => 5000,
    };
    let client = client_js::load()?;
    let logins = Arc::new(app::Logins::default());
    let io = app::socketio(logins.clone())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            format!("cannot listen on 127.0.0.1:{port}: {e} (set PORT to use another port)")
        })?;
    println!("auth running: open http://127.0.0.1:{port}/ and sign in as alice / wonderland (Ctrl-C to stop)");
    let site = app::pages(logins).merge(client_js::route(client));
    io.serve_with(listener, site, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
