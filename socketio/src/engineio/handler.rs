//! [`EngineHandler`]: what the layer above Engine.IO implements.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;

use super::{CloseReason, EngineSession, Str};

/// What the layer above Engine.IO implements: it is told of sessions opening, messages arriving
/// and sessions closing. Calls for one session never overlap and arrive in order.
pub trait EngineHandler: Send + Sync + 'static {
    /// Data kept per session, created when the session opens.
    type Data: Default + Send + Sync + 'static;

    /// A session opened. Frames sent from here go out right after the open packet.
    fn on_open(&self, session: &Arc<EngineSession<Self::Data>>);

    /// A text message arrived.
    fn on_message(&self, session: &Arc<EngineSession<Self::Data>>, text: Str);

    /// A binary message arrived.
    fn on_binary(&self, session: &Arc<EngineSession<Self::Data>>, data: Bytes);

    /// Whether the session's next message may be read: until this is ready, its transport
    /// reads nothing more from the client (a WebSocket is not read, a polling POST waits), so a
    /// client is slowed to the pace at which this layer takes its messages. Registers `cx` to
    /// be woken when it becomes ready. The default is always ready.
    fn poll_ready(
        &self,
        session: &Arc<EngineSession<Self::Data>>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let _ = (session, cx);
        Poll::Ready(())
    }

    /// How long after a session opens [`on_open_timeout`](Self::on_open_timeout) is called for
    /// it, if it is still open then; read once per session. The default is `None`: never.
    ///
    /// The session's heartbeat task keeps this deadline along with its own, so a layer that
    /// must act on sessions that stay idle after opening needs no task of its own per session.
    fn open_timeout(&self) -> Option<Duration> {
        None
    }

    /// The session has been open for [`open_timeout`](Self::open_timeout). The default does
    /// nothing.
    fn on_open_timeout(&self, session: &Arc<EngineSession<Self::Data>>) {
        let _ = session;
    }

    /// The session moved from polling to WebSocket (the upgrade completed). The default does
    /// nothing.
    fn on_upgrade(&self, session: &Arc<EngineSession<Self::Data>>) {
        let _ = session;
    }

    /// The session closed; it is already gone from the table.
    fn on_close(&self, session: &Arc<EngineSession<Self::Data>>, reason: CloseReason);
}
