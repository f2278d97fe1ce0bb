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

use std::process::ExitCode;
use std::time::Duration;

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
    let io = app::socketio()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            format!("cannot listen on 127.0.0.1:{port}: {e} (set PORT to use another port)")
        })?;
    app::start_ticker(io.clone(), Duration::from_secs(1)); // once, before serving
    println!("background running: open http://127.0.0.1:{port}/ (Ctrl-C to stop)");
    let site = app::pages().merge(client_js::route(client));
    io.serve_with(listener, site, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
