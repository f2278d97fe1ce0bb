//! The one waiting policy of the suite: how long a test waits for something before it fails,
//! and the one polling loop ([`until`], [`eventually`]).
//!
//! Nothing in the suite sleeps a fixed time hoping the server is done: a test either reads what
//! it waits for (with a timeout from here) or polls a condition until a deadline from here.
//! The bounds are generous: the machine may have two cores, shared by the tests of a binary
//! (which run in parallel) and by other work.
//!
//! What each bound is for:
//! * [`WAIT`]: anything the server under test does by itself — answering a raw client, closing
//!   a session, running a handler, updating a gauge. The server runs in the test process.
//! * [`EXTERNAL_WAIT`]: anything that also depends on something outside the test process or
//!   outside this crate: a `redis-server` or RabbitMQ broker (starting, reconnecting, backing
//!   off, carrying a message), a client script (node, python), or a third-party client library
//!   (rust_socketio) and its own timers.
//! * [`SCRIPT_TIMEOUT`], [`BROWSER_SCRIPT_TIMEOUT`]: how long a whole client script may run.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// How long any wait for the in-process server may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// How long a wait that involves a broker, another process or a third-party client may take.
pub const EXTERNAL_WAIT: Duration = Duration::from_secs(30);

/// How long one interop client script (`tests/js/interop.js`, `tests/python/interop.py`) may
/// run.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(20);

/// How long the browser script (`tests/js/browser_chat.js`, which waits at most 15 s per step)
/// may run.
pub const BROWSER_SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// How often a polled condition is checked.
pub const POLL: Duration = Duration::from_millis(5);

/// Polls `probe` every [`POLL`] until it returns `Ok`, and returns that value. After `wait`,
/// fails the test with the message of the last `Err` (which can say what the state was).
pub async fn until<T>(wait: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + wait;
    loop {
        match probe() {
            Ok(value) => return value,
            Err(why) => assert!(Instant::now() < deadline, "{why}"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `condition` every [`POLL`] until it holds, failing the test after `wait` with
/// "timed out waiting for: `what`".
pub async fn eventually(wait: Duration, what: impl Display, mut condition: impl FnMut() -> bool) {
    until(wait, || {
        if condition() {
            Ok(())
        } else {
            Err(format!("timed out waiting for: {what}"))
        }
    })
    .await
}
