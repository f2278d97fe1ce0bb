//! The Prometheus endpoint (feature `prometheus`).

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder};

/// Handler-duration buckets, in seconds: from a handler that does not wait to one that waits on
/// a slow service.
const DURATION_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
];

/// The Prometheus recorder could not be installed.
#[derive(Debug)]
pub struct PrometheusError(BuildError);

impl std::fmt::Display for PrometheusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot install the Prometheus recorder ({}); a process has one global metrics \
             recorder: install it once, before serving",
            self.0
        )
    }
}

impl std::error::Error for PrometheusError {}

/// Installs a Prometheus recorder as the process's `metrics` recorder, and returns a router
/// that serves its text format on `GET /metrics`: merge it into the application's router (the
/// server's own metrics and any the application records with the `metrics` macros appear
/// there). Fails if the process already has a recorder.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let io = socketio::SocketIo::builder().build()?;
/// let app = socketio::metrics::prometheus_router()?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// io.serve_with(listener, app, socketio::shutdown_signal()).await?;
/// # Ok(()) }
/// ```
pub fn prometheus_router() -> Result<axum::Router, PrometheusError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("socketio_handler_duration_seconds".into()),
            DURATION_BUCKETS,
        )
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(PrometheusError)?;
    let render = move || {
        let handle = handle.clone();
        async move {
            handle.run_upkeep();
            (
                [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                handle.render(),
            )
        }
    };
    Ok(axum::Router::new().route("/metrics", get(render)))
}
