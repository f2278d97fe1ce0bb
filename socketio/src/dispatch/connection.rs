//! [`ConnectionState`]: what one Engine.IO connection keeps for Socket.IO.

use bytes::Bytes;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::MutexGuard;
#[cfg(feature = "admin-ui")]
use std::time::SystemTime;

use super::backlog::{Backlog, HasBacklog};
use crate::engineio::EngineSession;
use crate::protocol::BinaryCollector;
use crate::sync::Mutex;
use crate::typemap::TypeMap;

/// The Socket.IO side of one connection: its namespace sockets (`S`, the socket handle type),
/// its session values, a binary packet awaiting attachments, its handlers still running, and the
/// timer that closes the connection if it joins no namespace.
pub(crate) struct ConnectionState<S> {
    sockets: Mutex<Vec<S>>,
    /// The [`Session`](crate::Session) values, by type: one session per connection, shared by
    /// its namespaces, as in Flask-SocketIO.
    values: Mutex<TypeMap>,
    pending_binary: Mutex<Option<BinaryCollector>>,
    /// No namespace was admitted yet (and the connection is open): `connect_timeout` applies.
    awaiting_connect: AtomicBool,
    backlog: Backlog,
    /// When the connection opened (its handshake): what the Admin UI shows as its creation.
    #[cfg(feature = "admin-ui")]
    opened: SystemTime,
}

impl<S> Default for ConnectionState<S> {
    fn default() -> Self {
        ConnectionState {
            sockets: Mutex::new(Vec::new()),
            values: Mutex::new(TypeMap::default()),
            pending_binary: Mutex::new(None),
            awaiting_connect: AtomicBool::new(true),
            backlog: Backlog::default(),
            #[cfg(feature = "admin-ui")]
            opened: SystemTime::now(),
        }
    }
}

impl<S: Clone> ConnectionState<S> {
    /// The first socket for which `matches` holds.
    pub(crate) fn find(&self, matches: impl Fn(&S) -> bool) -> Option<S> {
        self.sockets.lock().iter().find(|s| matches(s)).cloned()
    }

    /// Its sockets, one per namespace joined (or being joined).
    #[cfg(feature = "admin-ui")]
    pub(crate) fn sockets(&self) -> Vec<S> {
        self.sockets.lock().clone()
    }

    /// Adds a socket.
    pub(crate) fn add(&self, socket: S) {
        self.sockets.lock().push(socket);
    }

    /// Forgets the sockets for which `matches` holds.
    pub(crate) fn forget(&self, matches: impl Fn(&S) -> bool) {
        self.sockets.lock().retain(|s| !matches(s));
    }

    /// How many namespaces the connection joined (or is joining).
    pub(crate) fn len(&self) -> usize {
        self.sockets.lock().len()
    }

    /// Whether the connection has joined no namespace.
    pub(crate) fn is_empty(&self) -> bool {
        self.sockets.lock().is_empty()
    }

    /// Takes every socket out (the connection closed).
    pub(crate) fn take_all(&self) -> Vec<S> {
        std::mem::take(&mut *self.sockets.lock())
    }
}

impl<S> ConnectionState<S> {
    /// When the connection opened.
    #[cfg(feature = "admin-ui")]
    pub(crate) fn opened(&self) -> SystemTime {
        self.opened
    }

    /// The connection's session values.
    pub(crate) fn values(&self) -> MutexGuard<'_, TypeMap> {
        self.values.lock()
    }

    /// The connection's handlers still running (inbound back-pressure).
    pub(crate) fn backlog(&self) -> &Backlog {
        &self.backlog
    }

    /// Whether a binary packet waits for attachments.
    pub(crate) fn awaits_attachments(&self) -> bool {
        self.pending_binary.lock().is_some()
    }

    /// Keeps `collector` until its attachments arrived.
    pub(crate) fn await_attachments(&self, collector: BinaryCollector) {
        *self.pending_binary.lock() = Some(collector);
    }

    /// Adds an attachment to the waiting packet: `Ok(None)` while more are expected, the
    /// complete packet once the last arrived; `Err` for an attachment nobody expects or one the
    /// limits refuse.
    pub(crate) fn push_attachment(&self, data: Bytes) -> Result<Option<BinaryCollector>, String> {
        let mut pending = self.pending_binary.lock();
        let Some(collector) = pending.as_mut() else {
            return Err("binary message without a binary packet".into());
        };
        match collector.push(data) {
            Ok(true) => Ok(pending.take()),
            Ok(false) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Drops a half-received binary packet.
    pub(crate) fn drop_pending(&self) {
        self.pending_binary.lock().take();
    }

    /// Whether the connection still awaits its first namespace (`connect_timeout` applies).
    pub(crate) fn awaits_connect(&self) -> bool {
        self.awaiting_connect.load(Ordering::Acquire)
    }

    /// Ends `connect_timeout` for this connection (a namespace was admitted, or the connection
    /// closed).
    pub(crate) fn stop_connect_timeout(&self) {
        self.awaiting_connect.store(false, Ordering::Release);
    }
}

impl<S: Send + Sync + 'static> HasBacklog for EngineSession<ConnectionState<S>> {
    fn backlog(&self) -> &Backlog {
        &self.data().backlog
    }
}

impl<S> std::fmt::Debug for ConnectionState<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionState").finish_non_exhaustive()
    }
}
