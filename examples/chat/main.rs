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

use std::process::ExitCode;

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
    println!("chat running: open http://127.0.0.1:{port}/ in your browser (Ctrl-C to stop)");
    let site = app::pages().merge(client_js::route(client));
    io.serve_with(listener, site, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
