//! One Engine.IO connection seen from Socket.IO: routes its packets to namespace sockets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::task::AbortHandle;

use crate::engineio::{CloseReason, EngineHandler, Session, Str};
use crate::handler;
use crate::namespace::Namespace;
use crate::protocol::{self, BinaryCollector, PacketKind, SplitPacket};
use crate::server::Shared;
use crate::{encode, Args, DisconnectReason, Socket};

/// The Engine.IO session type of a Socket.IO server.
pub(crate) type EngineSession = Session<ClientState>;

/// What a connection keeps: its namespace sockets, a binary packet awaiting attachments, and
/// the timer that closes it if it joins no namespace.
#[derive(Default)]
pub struct ClientState {
    sockets: Mutex<Vec<Socket>>,
    pending_binary: Mutex<Option<BinaryCollector>>,
    connect_timer: Mutex<Option<AbortHandle>>,
}

impl ClientState {
    fn sockets(&self) -> std::sync::MutexGuard<'_, Vec<Socket>> {
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn socket(&self, namespace: &str) -> Option<Socket> {
        self.sockets()
            .iter()
            .find(|s| s.namespace() == namespace)
            .cloned()
    }

    fn pending_binary(&self) -> std::sync::MutexGuard<'_, Option<BinaryCollector>> {
        self.pending_binary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn stop_connect_timer(&self) {
        if let Some(timer) = self
            .connect_timer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            timer.abort();
        }
    }
}

impl std::fmt::Debug for ClientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientState").finish_non_exhaustive()
    }
}

/// Removes a socket from its connection's list (it left its namespace).
pub(crate) fn forget_socket(socket: &Socket) {
    socket
        .inner
        .session
        .data()
        .sockets()
        .retain(|s| s.id() != socket.id());
}

/// The Socket.IO layer as the engine's handler.
pub struct Client {
    pub(crate) namespaces: HashMap<String, Arc<Namespace>>,
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("namespaces", &self.namespaces.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Ends a connection that broke the protocol.
fn violation(session: &EngineSession, what: &dyn std::fmt::Display) {
    tracing::debug!(sid = %session.sid(), error = %what, "protocol violation: closing the connection");
    session.close(CloseReason::ParseError);
}

impl EngineHandler for Client {
    type Data = ClientState;

    fn on_open(&self, session: &Arc<EngineSession>) {
        let weak = Arc::downgrade(session);
        let timeout = self.shared.config.connect_timeout;
        let timer = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(session) = weak.upgrade() {
                if session.data().sockets().is_empty() {
                    tracing::debug!(sid = %session.sid(), "no namespace joined within connect_timeout");
                    session.close(CloseReason::ForcedClose);
                }
            }
        });
        *session
            .data()
            .connect_timer
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(timer.abort_handle());
    }

    fn on_message(&self, session: &Arc<EngineSession>, text: Str) {
        let state = session.data();
        if state.pending_binary().is_some() {
            return violation(
                session,
                &"text packet while binary attachments were expected",
            );
        }
        if matches!(text.as_bytes().first(), Some(b'5' | b'6')) {
            let limits = &self.shared.limits;
            let max = self.shared.config.engine.get_max_http_buffer_size();
            match BinaryCollector::new(Bytes::copy_from_slice(text.as_bytes()), limits, max) {
                Ok(collector) if collector.is_complete() => self.finish_binary(session, collector),
                Ok(collector) => *state.pending_binary() = Some(collector),
                Err(e) => violation(session, &e),
            }
            return;
        }
        match protocol::decode_split(text.as_str(), &self.shared.limits) {
            Ok(packet) => self.handle(session, &text, packet, Vec::new()),
            Err(e) => violation(session, &e),
        }
    }

    fn on_binary(&self, session: &Arc<EngineSession>, data: Bytes) {
        let mut pending = session.data().pending_binary();
        let Some(collector) = pending.as_mut() else {
            drop(pending);
            return violation(session, &"binary message without a binary packet");
        };
        match collector.push(data) {
            Ok(true) => {
                if let Some(collector) = pending.take() {
                    drop(pending);
                    self.finish_binary(session, collector);
                }
            }
            Ok(false) => {}
            Err(e) => {
                drop(pending);
                violation(session, &e);
            }
        }
    }

    fn on_close(&self, session: &Arc<EngineSession>, reason: CloseReason) {
        let state = session.data();
        state.stop_connect_timer();
        state.pending_binary().take();
        let sockets = std::mem::take(&mut *state.sockets());
        for socket in sockets {
            socket
                .inner
                .ns
                .remove_socket(&socket, DisconnectReason::Transport(reason));
        }
    }
}

impl Client {
    fn finish_binary(&self, session: &Arc<EngineSession>, collector: BinaryCollector) {
        let (text, attachments) = collector.into_parts();
        let text = Str::from(text);
        match protocol::decode_split(text.as_str(), &self.shared.limits) {
            Ok(packet) => self.handle(session, &text, packet, attachments),
            Err(e) => violation(session, &e),
        }
    }

    fn handle(
        &self,
        session: &Arc<EngineSession>,
        text: &Str,
        split: SplitPacket<'_>,
        attachments: Vec<Bytes>,
    ) {
        let SplitPacket {
            packet,
            event,
            args,
        } = split;
        let state = session.data();
        match packet.kind {
            PacketKind::Connect => {
                let Some(ns) = self.namespaces.get(packet.namespace) else {
                    let refusal =
                        encode::connect_error(packet.namespace, "Invalid namespace", None);
                    for frame in refusal.frames() {
                        let _ = session.send(frame.clone());
                    }
                    return;
                };
                if state.socket(packet.namespace).is_some() {
                    return violation(session, &"second CONNECT for a connected namespace");
                }
                state.stop_connect_timer();
                let socket = Socket::new(ns.clone(), session.clone());
                state.sockets().push(socket.clone());
                let auth = packet.payload.map(|p| text.slice_ref(p));
                let connecting = Box::pin(ns.clone().connect(socket.clone(), auth));
                handler::run(connecting, handler::Site::socket(&socket));
            }
            PacketKind::Disconnect => {
                if let Some(socket) = state.socket(packet.namespace) {
                    socket
                        .inner
                        .ns
                        .remove_socket(&socket, DisconnectReason::ClientNamespaceDisconnect);
                }
            }
            PacketKind::Event | PacketKind::BinaryEvent => {
                // As in socket.io, a namespace socket exists for events only once its CONNECT
                // was accepted: an event while the connect handler runs is a violation.
                let Some(socket) = state
                    .socket(packet.namespace)
                    .filter(|socket| socket.is_accepted())
                else {
                    return violation(session, &"event for a namespace that is not connected");
                };
                // `decode_split` validated the payload and split it in the same pass.
                let Some(name) = event else {
                    return violation(session, &"event without payload");
                };
                let name = match name {
                    std::borrow::Cow::Borrowed(name) => text.slice_ref(name),
                    std::borrow::Cow::Owned(name) => Str::from(name),
                };
                let items = args.iter().map(|raw| text.slice_ref(raw.get())).collect();
                let ns = socket.inner.ns.clone();
                ns.dispatch(&socket, name, Args::new(items, attachments), packet.id);
            }
            PacketKind::Ack | PacketKind::BinaryAck => {
                let (Some(socket), Some(id)) = (state.socket(packet.namespace), packet.id) else {
                    return;
                };
                let items = args.iter().map(|raw| text.slice_ref(raw.get())).collect();
                socket.resolve_ack(id, Args::new(items, attachments));
            }
            PacketKind::ConnectError => violation(
                session,
                &"CONNECT_ERROR packets only travel from server to client",
            ),
        }
    }
}
