//! [`EngineState`]: the session table behind an engine, and delivery to its handler.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;

use super::polling::OpenPacket;
use super::{CloseReason, EngineConfig, EngineHandler, EngineSession, Handshake, HttpError};
use super::{FoldHash, Sid, Str};
use crate::sync::{Mutex, RwLock};

/// What an [`Engine`](super::Engine) handle points to: the options, the handler and the live
/// sessions, shared by the transports and the heartbeat tasks.
pub(crate) struct EngineState<H: EngineHandler> {
    pub(crate) config: EngineConfig,
    pub(crate) handler: H,
    /// The open packet for this configuration, but for its sid.
    pub(crate) open_packet: OpenPacket,
    sessions: RwLock<SessionTable<H::Data>>,
    /// The open sessions counted against the connection limits (only when one is set).
    gate: Mutex<Gate>,
}

/// The live sessions by id.
type SessionTable<D> = HashMap<Sid, Arc<EngineSession<D>>, FoldHash>;

/// Open sessions, in total and by client address, for `max_connections` and
/// `max_connections_per_address`. A session counts from its handshake until it closes (not
/// until the table forgets it, which may be later).
#[derive(Default)]
struct Gate {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

impl<H: EngineHandler> EngineState<H> {
    pub(crate) fn new(config: EngineConfig, handler: H) -> Self {
        EngineState {
            open_packet: OpenPacket::new(&config),
            config,
            handler,
            sessions: RwLock::new(HashMap::default()),
            gate: Mutex::new(Gate::default()),
        }
    }

    /// Whether any connection limit is set (else nothing is counted).
    fn gated(&self) -> bool {
        self.config.max_connections.is_some() || self.config.max_connections_per_address.is_some()
    }

    /// Counts a new session of `handshake` against the connection limits, or refuses it (and
    /// logs why). Every admitted session is [`release`](Self::release)d once when it closes.
    pub(crate) fn admit(&self, handshake: &Handshake) -> Result<(), HttpError> {
        if !self.gated() {
            return Ok(());
        }
        let config = &self.config;
        let address = handshake.client_addr(&config.trusted_proxies);
        let mut gate = self.gate.lock();
        if let Some(max) = config.max_connections.filter(|max| gate.total >= *max) {
            drop(gate);
            crate::metrics::refused("max_connections");
            tracing::warn!(
                limit = "max_connections",
                value = max,
                client = ?address,
                "connection refused: too many connections"
            );
            return Err(HttpError::TooManyConnections);
        }
        if let (Some(max), Some(address)) = (config.max_connections_per_address, address) {
            let count = gate.per_address.entry(address).or_insert(0);
            if *count >= max {
                if *count == 0 {
                    gate.per_address.remove(&address);
                }
                drop(gate);
                crate::metrics::refused("max_connections_per_address");
                tracing::warn!(
                    limit = "max_connections_per_address",
                    value = max,
                    client = %address,
                    "connection refused: too many connections from this address"
                );
                return Err(HttpError::TooManyConnectionsFromAddress);
            }
            *count += 1;
        }
        gate.total += 1;
        Ok(())
    }

    /// Stops counting a session that [`admit`](Self::admit) let in.
    pub(crate) fn release(&self, handshake: &Handshake) {
        if !self.gated() {
            return;
        }
        let address = handshake.client_addr(&self.config.trusted_proxies);
        let mut gate = self.gate.lock();
        gate.total = gate.total.saturating_sub(1);
        if let (Some(_), Some(address)) = (self.config.max_connections_per_address, address) {
            if let Some(count) = gate.per_address.get_mut(&address) {
                *count -= 1;
                if *count == 0 {
                    gate.per_address.remove(&address);
                }
            }
        }
    }

    /// The live sessions.
    pub(crate) fn sessions(&self) -> Vec<Arc<EngineSession<H::Data>>> {
        self.sessions.read().values().cloned().collect()
    }

    /// How many sessions are live.
    pub(crate) fn session_count(&self) -> usize {
        self.sessions.read().len()
    }

    /// Adds the session `make` builds for a fresh, unused sid.
    pub(crate) fn insert_new(
        &self,
        make: impl FnOnce(Sid) -> EngineSession<H::Data>,
    ) -> Arc<EngineSession<H::Data>> {
        let mut sessions = self.sessions.write();
        let mut sid = Sid::random();
        while sessions.contains_key(&sid) {
            sid = Sid::random();
        }
        let session = Arc::new(make(sid));
        sessions.insert(sid, session.clone());
        session
    }

    pub(crate) fn remove(&self, session: &EngineSession<H::Data>) {
        self.sessions.write().remove(&session.sid());
    }

    /// A session that requests may still address: a session closed for any reason but the
    /// client's own close request counts as gone, even before the table forgets it. One whose
    /// pong is overdue is closed here (ping timeout) rather than answered until the
    /// heartbeat's timer fires: a request that comes at the deadline finds it gone, as with
    /// the reference server, however the timer and the request are scheduled.
    pub(crate) fn session(&self, sid: Sid) -> Option<Arc<EngineSession<H::Data>>> {
        let session = self.sessions.read().get(&sid).cloned()?;
        if session.pong_overdue() {
            session.close(CloseReason::PingTimeout);
        }
        match session.close_reason() {
            None | Some(CloseReason::TransportClose) => Some(session),
            Some(_) => None,
        }
    }

    /// Hands a decoded message to the handler.
    pub(crate) fn deliver_text(&self, session: &Arc<EngineSession<H::Data>>, text: Str) {
        if text.len() > self.config.max_http_buffer_size {
            session.close(CloseReason::ParseError);
            return;
        }
        crate::metrics::bytes_received(text.len());
        self.handler.on_message(session, text);
    }

    pub(crate) fn deliver_binary(&self, session: &Arc<EngineSession<H::Data>>, data: Bytes) {
        if data.len() > self.config.max_http_buffer_size {
            session.close(CloseReason::ParseError);
            return;
        }
        crate::metrics::bytes_received(data.len());
        self.handler.on_binary(session, data);
    }
}
