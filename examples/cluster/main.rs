//! Two server processes and an emitter worker, connected by Redis (Flask-SocketIO's
//! `message_queue`): a message sent on one server's page shows on the other's, and the
//! worker's ticks reach both.
//!
//! ```sh
//! redis-server --daemonize yes      # once (Debian: apt-get install redis-server)
//! npm ci --prefix tests/js          # once: installs socket.io-client for the page
//! cargo run --example cluster       # then open http://127.0.0.1:5000/ and http://127.0.0.1:5001/
//! ```
//!
//! This command starts the two servers as child processes (this same program, with
//! `CLUSTER_ROLE=server`) on `PORT` and `PORT + 1` (default 5000 and 5001), and runs the emitter
//! worker itself. `REDIS_URL` (default `redis://127.0.0.1:6379/`) names the broker. The
//! `emitter_worker` example can join in: it emits to the same room on the same channel. The
//! handlers are in `app.rs`; its tests are `tests/tests/example_cluster.rs`.

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
    let role = std::env::var("CLUSTER_ROLE").unwrap_or_default();
    let result = if role == "server" {
        server().await
    } else {
        supervisor().await
    };
    runner::exit_code(result)
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// Starts the two servers, then runs the worker until Ctrl-C (the servers stop with it).
async fn supervisor() -> Result<(), Box<dyn std::error::Error>> {
    let url = redis_url();
    let port = runner::port()?;
    client_js::load()?; // fail here, once, rather than in both servers
    if let Err(e) = socketio::Emitter::connect(&url).await {
        return Err(format!(
            "Redis is not reachable at {url} ({e}).\n\
             Start it with:  redis-server --daemonize yes   (Debian: apt-get install redis-server)\n\
             or set REDIS_URL."
        )
        .into());
    }
    let exe = std::env::current_exe()?;
    let mut servers = Servers(Vec::new());
    for (name, port) in [("server A", port), ("server B", port + 1)] {
        let child = std::process::Command::new(&exe)
            .env("CLUSTER_ROLE", "server")
            .env("CLUSTER_NAME", format!("{name} (:{port})"))
            .env("PORT", port.to_string())
            .env("REDIS_URL", &url)
            .spawn()?;
        servers.0.push(child);
    }
    println!(
        "cluster running: open http://127.0.0.1:{port}/ and http://127.0.0.1:{}/ (Ctrl-C to stop)",
        port + 1
    );
    tokio::select! {
        worker = app::run_worker(&url, Duration::from_secs(1)) => worker?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(()) // dropping `servers` stops them
}

/// The server processes, stopped when dropped.
struct Servers(Vec<std::process::Child>);

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One server process.
async fn server() -> Result<(), Box<dyn std::error::Error>> {
    let port = runner::port()?;
    let name = std::env::var("CLUSTER_NAME").unwrap_or_else(|_| format!(":{port}"));
    let client = client_js::load()?;
    let io = app::socketio(&redis_url(), &name)?;
    let listener = runner::listen(port).await?;
    let site = app::pages().merge(client_js::route(client));
    runner::serve(io, listener, site).await
}
