//! Metrics: the server's counters and gauges for Prometheus on `GET /metrics`.
//!
//! ```sh
//! cargo run -p examples --example metrics --features metrics
//! curl -s http://127.0.0.1:5000/metrics | grep socketio_
//! ```
//!
//! `PORT` changes the port (default 5000). The metric names are listed in the `socketio::metrics`
//! docs; the logic is in `app.rs`, its test `tests/tests/metrics.rs`.

mod app;
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
    let io = app::socketio()?;
    let site = app::metrics()?;
    let listener = runner::listen(port).await?;
    println!("metrics running: curl http://127.0.0.1:{port}/metrics (Ctrl-C to stop)");
    runner::serve(io, listener, site).await
}
