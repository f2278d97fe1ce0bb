//! Inbound back-pressure: how many of a connection's handlers are still running, and whether
//! its transport may read the next packet.
//!
//! A handler that finishes without waiting costs nothing here. One that waits runs as a task
//! and is counted until it ends; while a connection has `max_pending_handlers` of them, its
//! transport reads nothing more from the client (a WebSocket is not read, a polling POST is not
//! answered), so a client that sends events faster than its handlers finish is slowed down to
//! their pace by TCP itself, and what it can make the server hold is bounded. Pongs are not read
//! while the connection is paused either: a client that keeps it saturated through a whole
//! heartbeat is disconnected (`ping timeout`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

/// The handlers of one connection that are still running.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
    pending: AtomicUsize,
    /// The transport's reader, waiting for room.
    reader: AtomicWaker,
}

impl Backlog {
    /// Ready when fewer than `max` handlers are pending; otherwise registers the reader to be
    /// woken when one ends.
    pub(crate) fn poll_room(&self, max: usize, cx: &mut Context<'_>) -> Poll<()> {
        if self.pending.load(Ordering::Acquire) < max {
            return Poll::Ready(());
        }
        self.reader.register(cx.waker());
        // A handler may have ended between the load and the registration.
        if self.pending.load(Ordering::Acquire) < max {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// How many handlers are pending.
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }
}

/// What keeps a [`Backlog`]: the connection.
pub(crate) trait HasBacklog: Send + Sync + 'static {
    fn backlog(&self) -> &Backlog;
}

/// Counts one pending handler of a connection for as long as it lives.
pub(crate) struct PendingHandler<C: HasBacklog>(Arc<C>);

impl<C: HasBacklog> PendingHandler<C> {
    pub(crate) fn new(connection: Arc<C>) -> Self {
        connection.backlog().pending.fetch_add(1, Ordering::AcqRel);
        PendingHandler(connection)
    }
}

impl<C: HasBacklog> Drop for PendingHandler<C> {
    fn drop(&mut self) {
        let backlog = self.0.backlog();
        backlog.pending.fetch_sub(1, Ordering::AcqRel);
        backlog.reader.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn room_while_under_the_bound() {
        let backlog = Backlog::default();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(backlog.poll_room(1, &mut cx).is_ready());
        backlog.pending.store(1, Ordering::Release);
        assert!(backlog.poll_room(1, &mut cx).is_pending());
        assert!(backlog.poll_room(2, &mut cx).is_ready());
    }
}
