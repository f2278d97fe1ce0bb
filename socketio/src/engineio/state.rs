//! [`EngineState`]: the session table behind an engine, and delivery to its handler.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::{CloseReason, EngineConfig, EngineHandler, EngineSession, Sid, Str};
use crate::sync::RwLock;

/// What an [`Engine`](super::Engine) handle points to: the options, the handler and the live
/// sessions, shared by the transports and the heartbeat tasks.
pub(crate) struct EngineState<H: EngineHandler> {
    pub(crate) config: EngineConfig,
    pub(crate) handler: H,
    sessions: RwLock<HashMap<Sid, Arc<EngineSession<H::Data>>>>,
}

impl<H: EngineHandler> EngineState<H> {
    pub(crate) fn new(config: EngineConfig, handler: H) -> Self {
        EngineState {
            config,
            handler,
            sessions: RwLock::new(HashMap::new()),
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
    /// client's own close request counts as gone, even before the table forgets it.
    pub(crate) fn session(&self, sid: Sid) -> Option<Arc<EngineSession<H::Data>>> {
        let session = self.sessions.read().get(&sid).cloned()?;
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
        self.handler.on_message(session, text);
    }

    pub(crate) fn deliver_binary(&self, session: &Arc<EngineSession<H::Data>>, data: Bytes) {
        if data.len() > self.config.max_http_buffer_size {
            session.close(CloseReason::ParseError);
            return;
        }
        self.handler.on_binary(session, data);
    }
}
