//! A namespace: its handlers, its connected sockets and its adapter.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, RwLock};

use futures_util::FutureExt;

use crate::adapter::{Adapter, EncodedPacket, LocalSockets, Target};
use crate::engineio::Str;
use crate::handler::{
    self, ConnectContext, DisconnectContext, ErasedConnectHandler, ErasedDisconnectHandler,
    ErasedErrorHandler, ErasedMessageHandler, MessageContext, Site,
};
use crate::server::Shared;
use crate::{encode, Args, DisconnectReason, Sid, Socket};

/// The handlers of one namespace, fixed when the server is built.
#[derive(Default, Clone)]
pub(crate) struct Handlers {
    pub(crate) connect: Option<ErasedConnectHandler>,
    pub(crate) disconnect: Option<ErasedDisconnectHandler>,
    pub(crate) events: HashMap<Box<str>, ErasedMessageHandler>,
    pub(crate) catch_all: Option<ErasedMessageHandler>,
    /// The namespace's own error handler, or else the default one.
    pub(crate) error: Option<ErasedErrorHandler>,
}

pub(crate) struct Namespace {
    pub(crate) path: String,
    handlers: Handlers,
    sockets: RwLock<HashMap<Sid, Socket>>,
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) shared: Arc<Shared>,
}

impl Namespace {
    pub(crate) fn new(
        path: String,
        handlers: Handlers,
        adapter: Arc<dyn Adapter>,
        shared: Arc<Shared>,
    ) -> Self {
        Namespace {
            path,
            handlers,
            sockets: RwLock::new(HashMap::new()),
            adapter,
            shared,
        }
    }

    pub(crate) fn handled_events(&self) -> Vec<String> {
        let h = &self.handlers;
        let mut names: Vec<String> = h.events.keys().map(|k| k.to_string()).collect();
        for (present, name) in [
            (h.connect.is_some(), "connect"),
            (h.disconnect.is_some(), "disconnect"),
            (h.catch_all.is_some(), "*"),
            (h.error.is_some(), "error"),
        ] {
            if present {
                names.push(name.to_owned());
            }
        }
        names.sort();
        names
    }

    pub(crate) fn error_handler(&self) -> Option<&ErasedErrorHandler> {
        self.handlers.error.as_ref()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Sid, Socket>> {
        self.sockets.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Sid, Socket>> {
        self.sockets.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The connected sockets.
    pub(crate) fn sockets(&self) -> Vec<Socket> {
        self.read().values().cloned().collect()
    }

    pub(crate) fn socket(&self, sid: Sid) -> Option<Socket> {
        self.read().get(&sid).cloned()
    }

    /// The connected sockets a broadcast target selects.
    pub(crate) fn select(&self, target: &Target) -> Vec<Socket> {
        let sockets = self.read();
        let excluded: Vec<Sid> = target
            .except
            .iter()
            .flat_map(|r| self.adapter.members(r))
            .collect();
        let keep = |sid: &Sid| {
            Some(*sid) != target.exclude
                && !excluded.contains(sid)
                && target.except.iter().all(|r| r != sid.as_str())
        };
        if target.rooms.is_empty() {
            return sockets
                .values()
                .filter(|s| keep(&s.id()))
                .cloned()
                .collect();
        }
        let mut sids: Vec<Sid> = target
            .rooms
            .iter()
            .flat_map(|r| {
                let mut members = self.adapter.members(r);
                if let Ok(sid) = r.parse::<Sid>() {
                    members.push(sid);
                }
                members
            })
            .collect();
        sids.sort();
        sids.dedup();
        sids.into_iter()
            .filter(keep)
            .filter_map(|sid| sockets.get(&sid).cloned())
            .collect()
    }

    /// Runs the connect handler, then answers CONNECT (or CONNECT_ERROR). With
    /// `always_connect`, answers first and disconnects on refusal.
    pub(crate) async fn connect(self: Arc<Self>, socket: Socket, auth: Option<Str>) {
        let always_connect = self.shared.config.always_connect;
        if always_connect {
            self.accept(&socket);
        }
        let verdict = match &self.handlers.connect {
            Some(handler) => {
                let ctx = ConnectContext {
                    socket: socket.clone(),
                    auth,
                };
                // A panicking connect handler refuses the connection (and is reported) rather
                // than leaving the client without an answer.
                match AssertUnwindSafe(handler(ctx)).catch_unwind().await {
                    Ok(verdict) => verdict,
                    Err(panic) => {
                        handler::fail(
                            Site::socket(&socket),
                            crate::Error::new(
                                crate::ErrorKind::Panic,
                                handler::panic_message(&*panic),
                            ),
                        );
                        Err(crate::ConnectError::new("Internal server error"))
                    }
                }
            }
            None => Ok(()),
        };
        match verdict {
            Ok(()) if !always_connect => self.accept(&socket),
            Ok(()) => {}
            Err(refusal) => {
                handler::fail(
                    Site::socket(&socket),
                    crate::Error::new(crate::ErrorKind::ConnectRefused, refusal.clone()),
                );
                if always_connect {
                    socket.disconnect();
                } else {
                    // Already disconnected (the client left, the connection closed) while the
                    // handler ran: nobody to answer.
                    let connecting = socket.mark_disconnected().is_some();
                    self.adapter.leave_all(socket.id());
                    if connecting {
                        let packet = encode::connect_error(
                            &self.path,
                            refusal.message(),
                            refusal.get_data(),
                        );
                        let _ = socket.send_frames(packet.frames());
                    }
                    crate::client::forget_socket(&socket);
                }
            }
        }
    }

    fn accept(&self, socket: &Socket) {
        self.write().insert(socket.id(), socket.clone());
        let answer = encode::connect(&self.path, socket.id().as_str());
        if socket.mark_connected(&answer).is_err() {
            // Disconnected while the connect handler ran, or the answer could not be queued:
            // forget the socket and the rooms the handler joined (`remove_socket` does nothing
            // for a socket already marked disconnected).
            self.write().remove(&socket.id());
            self.adapter.leave_all(socket.id());
            self.remove_socket(
                socket,
                DisconnectReason::Transport(crate::engineio::CloseReason::TransportError),
            );
        }
    }

    /// Dispatches an event to its handler, or to the catch-all.
    pub(crate) fn dispatch(&self, socket: &Socket, event: Str, args: Args, ack_id: Option<u64>) {
        let handler = self
            .handlers
            .events
            .get(event.as_str())
            .or(self.handlers.catch_all.as_ref());
        let Some(handler) = handler else {
            tracing::debug!(namespace = %self.path, event = %event, "no handler for event");
            return;
        };
        let site = Site::event(socket, &event, ack_id);
        let ctx = MessageContext {
            socket: socket.clone(),
            event,
            args,
            ack_id,
        };
        handler::run(handler(ctx), site);
    }

    /// Takes the socket out of the namespace and its rooms, then runs the disconnect handler
    /// (only for a socket that was connected: one that leaves while its connect handler runs
    /// never connected, as in socket.io).
    pub(crate) fn remove_socket(&self, socket: &Socket, reason: DisconnectReason) {
        let Some(was_connected) = socket.mark_disconnected() else {
            return;
        };
        self.write().remove(&socket.id());
        self.adapter.leave_all(socket.id());
        crate::client::forget_socket(socket);
        tracing::debug!(namespace = %self.path, sid = %socket.id(), %reason, "socket disconnected");
        if !was_connected {
            return;
        }
        if let Some(handler) = &self.handlers.disconnect {
            let ctx = DisconnectContext {
                socket: socket.clone(),
                reason,
            };
            handler::run(handler(ctx), Site::socket(socket));
        }
    }
}

impl LocalSockets for Namespace {
    fn send_to(&self, sid: Sid, packet: &EncodedPacket) {
        if let Some(socket) = self.read().get(&sid) {
            let _ = socket.send_packet(packet);
        }
    }

    fn send_all(&self, packet: &EncodedPacket, skip: &dyn Fn(Sid) -> bool) {
        for (sid, socket) in self.read().iter() {
            if !skip(*sid) {
                let _ = socket.send_packet(packet);
            }
        }
    }

    fn contains(&self, sid: Sid) -> bool {
        self.read().contains_key(&sid)
    }

    fn sids(&self) -> Vec<Sid> {
        self.read().keys().copied().collect()
    }

    fn disconnect(&self, sid: Sid) {
        if let Some(socket) = self.socket(sid) {
            socket.disconnect();
        }
    }

    fn send_with_ack(
        &self,
        sid: Sid,
        packet: &EncodedPacket,
        timeout: std::time::Duration,
    ) -> Option<crate::AckFuture> {
        let socket = self.socket(sid)?;
        Some(socket.send_with_ack(packet, timeout))
    }
}
