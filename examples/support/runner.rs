//! What every web example's `main` does: logging, the port, the listener, and serving until
//! Ctrl-C, with errors that say what to do.

use std::process::ExitCode;

use socketio::SocketIo;
use tokio::net::TcpListener;

/// Logs through `tracing`, at `warn` unless `RUST_LOG` says otherwise.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
}

/// Turns the example's outcome into the process exit code, printing the error.
pub fn exit_code(outcome: Result<(), Box<dyn std::error::Error>>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The port from `PORT`, or 5000.
pub fn port() -> Result<u16, String> {
    match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT={port:?} is not a port number")),
        Err(_) => Ok(5000),
    }
}

/// Listens on 127.0.0.1:`port`.
pub async fn listen(port: u16) -> Result<TcpListener, String> {
    TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
        format!("cannot listen on 127.0.0.1:{port}: {e} (set PORT to use another port)")
    })
}

/// Serves `site` with the Socket.IO server merged in until Ctrl-C or SIGTERM, then closes
/// every connection cleanly.
pub async fn serve(
    io: SocketIo,
    listener: TcpListener,
    site: axum::Router,
) -> Result<(), Box<dyn std::error::Error>> {
    io.serve_with(listener, site, socketio::shutdown_signal())
        .await?;
    Ok(())
}
