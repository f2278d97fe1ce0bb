//! The in-process transport: a session that no HTTP request carries, used by the test client
//! ([`crate::testing`]).
//!
//! Its frames go in through the path the HTTP transports use ([`receive`]) and come out of the
//! session's outbound queue, which the in-process client drains in place of a WebSocket writer.
//! The session counts as a WebSocket session, so no polling request can address it.

use std::sync::Arc;

use super::packet::decode_text;
use super::polling::receive;
use super::session::{CloseReason, EngineSession, Handshake, Transport};
use super::{Engine, EngineHandler, HttpError};
use super::{Frame, Str};

impl<H: EngineHandler> Engine<H> {
    /// Opens a session for `handshake` without any HTTP request: it gets a sid, a heartbeat and
    /// the handler's `on_open`, like a session opened over WebSocket; the connection limits
    /// apply to it as to the others.
    pub(crate) fn open_in_process(
        &self,
        handshake: Handshake,
    ) -> Result<Arc<EngineSession<H::Data>>, HttpError> {
        self.open_with(handshake, Transport::WebSocket)
    }

    /// Hands one frame from an in-process client to its session, as a transport would: a text
    /// frame is one Engine.IO packet (`"3"`, `"4..."`), a binary frame one binary message.
    pub(crate) fn receive_in_process(&self, session: &Arc<EngineSession<H::Data>>, frame: Frame) {
        if session.is_closed() {
            return;
        }
        match frame {
            Frame::Text(text) => match decode_text(Str::whole(text)) {
                Ok(packet) => receive(&self.inner, session, packet),
                Err(e) => {
                    tracing::debug!(sid = %session.sid(), error = %e, "malformed in-process packet");
                    session.close(CloseReason::ParseError);
                }
            },
            Frame::Binary(data) => self.inner.deliver_binary(session, data),
        }
    }
}
