//! The servers of the cluster as this one knows them from their heartbeats: who counts as an
//! expected responder of a cluster-wide request. Pure bookkeeping, no I/O.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::sync::Mutex;

/// How often a server announces itself (socket.io's `heartbeatInterval`).
pub(crate) const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// How long a server counts after its last heartbeat (socket.io's `heartbeatTimeout`).
pub(crate) const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `fetch_sockets` and `server_side_emit` acknowledgements wait for the other
/// servers by default (socket.io's `requestsTimeout`).
pub(crate) const DEFAULT_REQUESTS_TIMEOUT: Duration = Duration::from_secs(5);

/// At most this many servers are remembered: a broker flooded with heartbeats of invented ids
/// cannot make the table grow without bound.
const MAX_MEMBERS: usize = 4096;

/// The heartbeat timing of a cluster (set on the builder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    pub(crate) heartbeat_interval: Duration,
    pub(crate) heartbeat_timeout: Duration,
    pub(crate) requests_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            heartbeat_timeout: DEFAULT_HEARTBEAT_TIMEOUT,
            requests_timeout: DEFAULT_REQUESTS_TIMEOUT,
        }
    }
}

/// The other servers, by uid, with when each was last heard from.
#[derive(Debug)]
pub(crate) struct Members {
    timeout: Duration,
    last_seen: Mutex<HashMap<String, Instant>>,
}

impl Members {
    /// An empty table; a server counts for `timeout` after its last heartbeat.
    pub(crate) fn new(timeout: Duration) -> Self {
        Members {
            timeout,
            last_seen: Mutex::new(HashMap::new()),
        }
    }

    /// `uid` sent a heartbeat now; `true` if it was not counted before.
    pub(crate) fn seen(&self, uid: &str) -> bool {
        self.seen_at(uid, Instant::now())
    }

    fn seen_at(&self, uid: &str, now: Instant) -> bool {
        let mut table = self.last_seen.lock();
        if let Some(last) = table.get_mut(uid) {
            let was_alive = now.saturating_duration_since(*last) < self.timeout;
            *last = now;
            return !was_alive;
        }
        if table.len() >= MAX_MEMBERS {
            let timeout = self.timeout;
            table.retain(|_, last| now.saturating_duration_since(*last) < timeout);
            if table.len() >= MAX_MEMBERS {
                return false;
            }
        }
        table.insert(uid.to_owned(), now);
        true
    }

    /// `uid` said goodbye; `true` if it was counted.
    pub(crate) fn gone(&self, uid: &str) -> bool {
        self.last_seen.lock().remove(uid).is_some()
    }

    /// The servers heard from within the timeout.
    pub(crate) fn alive(&self) -> HashSet<String> {
        self.alive_at(Instant::now())
    }

    fn alive_at(&self, now: Instant) -> HashSet<String> {
        self.last_seen
            .lock()
            .iter()
            .filter(|(_, last)| now.saturating_duration_since(**last) < self.timeout)
            .map(|(uid, _)| uid.clone())
            .collect()
    }

    /// Forgets the servers silent for longer than the timeout; returns their uids.
    pub(crate) fn prune(&self) -> Vec<String> {
        self.prune_at(Instant::now())
    }

    fn prune_at(&self, now: Instant) -> Vec<String> {
        let mut dropped = Vec::new();
        self.last_seen.lock().retain(|uid, last| {
            let alive = now.saturating_duration_since(*last) < self.timeout;
            if !alive {
                dropped.push(uid.clone());
            }
            alive
        });
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_counts_from_its_first_heartbeat_until_the_timeout() {
        let members = Members::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(members.alive_at(t0).is_empty());
        assert!(members.seen_at("a", t0), "new");
        assert!(!members.seen_at("a", t0 + Duration::from_secs(5)), "known");
        assert!(members.seen_at("b", t0 + Duration::from_secs(6)));
        let at = |s| members.alive_at(t0 + Duration::from_secs(s));
        assert_eq!(at(14).len(), 2);
        assert_eq!(at(15), HashSet::from(["b".to_owned()]), "a timed out");
        assert_eq!(members.prune_at(t0 + Duration::from_secs(15)), ["a"]);
        assert!(members.seen_at("a", t0 + Duration::from_secs(16)), "back");
        assert!(members.gone("b"));
        assert!(!members.gone("b"));
        assert_eq!(at(16), HashSet::from(["a".to_owned()]));
    }

    #[test]
    fn invented_ids_cannot_grow_the_table_without_bound() {
        let members = Members::new(Duration::from_secs(10));
        let now = Instant::now();
        for i in 0..MAX_MEMBERS + 100 {
            members.seen_at(&i.to_string(), now);
        }
        assert_eq!(members.alive_at(now).len(), MAX_MEMBERS);
    }
}
