//! The server's log lines, for the tests and for whoever reads a failure.
//!
//! One process-wide `tracing` subscriber ([`install`], called by every
//! [`Server`](crate::server::Server)) with two outputs:
//! * a capture in memory of the warnings and of the `socketio::client` debug lines (the line
//!   that names each protocol violation), so a test can check why a connection was closed
//!   ([`lines`], [`wait_line`]);
//! * the test writer (shown for a failing test, or with `-- --nocapture`), filtered by
//!   `RUST_LOG` (`warn` when unset): `RUST_LOG=socketio=debug cargo test ... -- --nocapture`.

use std::sync::{Mutex, Once, OnceLock};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::wait::{until, WAIT};

/// What the capture keeps.
const CAPTURED: &str = "warn,socketio::dispatch=debug";

fn captured() -> &'static Mutex<Vec<u8>> {
    static LOG: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOG.get_or_init(Default::default)
}

/// Appends formatted log lines to the capture.
struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        captured()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the subscriber (once per process; a no-op if another one was installed first).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let capture = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(|| Capture)
            .with_filter(EnvFilter::new(CAPTURED));
        let print = tracing_subscriber::fmt::layer()
            .with_test_writer()
            .with_filter(
                EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
            );
        let _ = tracing_subscriber::registry()
            .with(capture)
            .with(print)
            .try_init();
    });
}

/// The captured log lines that contain every one of `needles`.
pub fn lines(needles: &[&str]) -> Vec<String> {
    let log = captured().lock().unwrap_or_else(|e| e.into_inner());
    String::from_utf8_lossy(&log)
        .lines()
        .filter(|line| needles.iter().all(|n| line.contains(n)))
        .map(str::to_owned)
        .collect()
}

/// Waits (within [`WAIT`]) until a captured log line contains every one of `needles`; returns
/// the last such line.
pub async fn wait_line(needles: &[&str]) -> String {
    until(WAIT, || {
        lines(needles)
            .pop()
            .ok_or_else(|| format!("no log line containing {needles:?}"))
    })
    .await
}
