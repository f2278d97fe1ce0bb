//! Criterion U1, no panic: one process-wide panic hook that counts panics per server.
//!
//! A [`Server`](crate::server::Server) started on its own runtime gets an id ([`next_id`]) and
//! names every thread of that runtime [`thread_name`]`(id)`. The hook reads the name of the
//! panicking thread, so a panic anywhere in a server (request handlers, heartbeat tasks, hyper
//! connection tasks, even one that tokio catches) is counted for that server and no other test.
//!
//! Panics whose message contains [`DELIBERATE`] are counted apart and not printed: they belong
//! to a test whose handler panics on purpose. Every other panic is handed over to the default
//! hook, so its message is still printed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once, OnceLock};

/// Panics whose message contains this are expected by the test that causes them.
pub const DELIBERATE: &str = "deliberate panic from a test handler";

/// The prefix of a server runtime's thread names.
const PREFIX: &str = "srv-";

/// Panics counted for one server.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// Panics without [`DELIBERATE`] in their message.
    pub unexpected: usize,
    /// Panics carrying [`DELIBERATE`].
    pub deliberate: usize,
}

fn counts() -> &'static Mutex<HashMap<usize, Count>> {
    static COUNTS: OnceLock<Mutex<HashMap<usize, Count>>> = OnceLock::new();
    COUNTS.get_or_init(Default::default)
}

/// A fresh server id.
pub fn next_id() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The name of the threads of server `id` (short: Linux keeps 15 bytes of a thread name, which
/// [`Server::cpu_time`](crate::server::Server::cpu_time) reads back).
pub fn thread_name(id: usize) -> String {
    format!("{PREFIX}{id}")
}

/// Installs the hook (once per process).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let deliberate = message.contains(DELIBERATE);
            let id = std::thread::current()
                .name()
                .and_then(|name| name.strip_prefix(PREFIX))
                .and_then(|id| id.parse::<usize>().ok());
            if let Some(id) = id {
                // Nothing can panic while this lock is held, so waiting for it is safe.
                let mut map = counts().lock().unwrap_or_else(|e| e.into_inner());
                let count = map.entry(id).or_default();
                if deliberate {
                    count.deliberate += 1;
                } else {
                    count.unexpected += 1;
                }
            }
            if !deliberate {
                default(info);
            }
        }));
    });
}

/// The panics counted so far for server `id`.
pub fn count(id: usize) -> Count {
    counts()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .copied()
        .unwrap_or_default()
}
