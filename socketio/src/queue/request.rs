//! Cluster-wide requests of this server (`fetch_sockets`, broadcasts with acknowledgements,
//! `server_side_emit` with acknowledgements) waiting for the answers of the other servers.
//!
//! A request has a number unique on this server; the answers name it (`req`) and this server
//! (`to`), and the bus hands them to the request's [`Request::next`]. Which servers are
//! expected to answer is fixed when the request starts: those heard from within the heartbeat
//! timeout.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::wire::{Message, Op, WireError};
use crate::sync::Mutex;

/// The open requests of one server, by number.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    open: Mutex<HashMap<u64, mpsc::UnboundedSender<Message>>>,
    next: AtomicU64,
}

impl Requests {
    /// Registers a new request expecting answers from `expected`.
    pub(crate) fn open(self: &Arc<Self>, expected: HashSet<String>) -> Request {
        let req = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        self.open.lock().insert(req, tx);
        Request {
            req,
            rx,
            expected,
            sent: true,
            _guard: Guard {
                requests: Arc::downgrade(self),
                req,
            },
        }
    }

    /// Hands an answer to its request; an answer to a request that ended meanwhile (timed
    /// out, dropped) is ignored.
    pub(crate) fn deliver(&self, message: Message) -> Result<(), WireError> {
        let Some(req) = message.header.req else {
            return Err(WireError(format!("{:?} without req", message.header.op)));
        };
        if let Some(tx) = self.open.lock().get(&req) {
            let _ = tx.send(message);
        }
        Ok(())
    }

    /// How many requests wait for answers.
    pub(crate) fn len(&self) -> usize {
        self.open.lock().len()
    }
}

/// Forgets a request when its waiter goes away.
#[derive(Debug)]
struct Guard {
    requests: Weak<Requests>,
    req: u64,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(requests) = self.requests.upgrade() {
            requests.open.lock().remove(&self.req);
        }
    }
}

/// One open request: its number, who is expected to answer, and the answers as they come.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) req: u64,
    rx: mpsc::UnboundedReceiver<Message>,
    expected: HashSet<String>,
    sent: bool,
    _guard: Guard,
}

impl Request {
    /// The servers expected to answer.
    pub(crate) fn expected(&self) -> &HashSet<String> {
        &self.expected
    }

    /// The request could not be published: nobody will answer.
    pub(crate) fn unsent(&mut self) {
        self.sent = false;
    }

    /// The next answer, or `None` at `deadline` (or at once when the request was not sent,
    /// or nobody is expected and nothing is pending).
    pub(crate) async fn next(&mut self, deadline: Instant) -> Option<Message> {
        if !self.sent {
            return None;
        }
        tokio::time::timeout_at(deadline, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// Reads one answer of kind `op` from each expected server, until every one answered or
    /// `deadline`; hands each to `take` with the answering server's uid (a second answer of a
    /// server, or another kind, is ignored). Returns how many expected servers stayed silent.
    pub(crate) async fn one_from_each(
        &mut self,
        op: Op,
        deadline: Instant,
        mut take: impl FnMut(String, Message),
    ) -> usize {
        let mut waiting = self.expected.clone();
        let mut answered = HashSet::new();
        while !waiting.is_empty() {
            let Some(message) = self.next(deadline).await else {
                break;
            };
            let uid = message.header.uid.clone();
            if message.header.op != op || !answered.insert(uid.clone()) {
                continue;
            }
            waiting.remove(&uid);
            take(uid, message);
        }
        waiting.len()
    }
}
