//! [`Dispatcher`]: the Socket.IO layer as the engine's handler, routing each connection's
//! packets to its namespace sockets.

use std::borrow::Cow;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;

use super::connection::ConnectionState;
use super::limits::{RateLimitPolicy, Refused};
use super::namespaces::NamespaceTable;
use super::run::run_now;
use super::server_core::ServerCore;
use super::socket::{Connection, Socket};
use crate::args::Args;
use crate::engineio::{CloseReason, EngineHandler, Str};
use crate::error::{Error, ErrorKind};
use crate::packet;
#[cfg(feature = "msgpack")]
use crate::protocol::Parser;
use crate::protocol::{self, ArgSlices, BinaryCollector, PacketKind, SplitPacket};
use crate::reason::DisconnectReason;

/// The server's namespaces, as the handler of its Engine.IO connections.
pub(crate) struct Dispatcher {
    pub(crate) namespaces: NamespaceTable,
    pub(crate) core: Arc<ServerCore>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .namespaces
            .all()
            .iter()
            .map(|ns| ns.path.clone())
            .collect();
        f.debug_struct("Dispatcher")
            .field("namespaces", &names)
            .finish_non_exhaustive()
    }
}

/// Ends a connection that broke the protocol.
fn violation(connection: &Connection, what: &dyn std::fmt::Display) {
    tracing::debug!(sid = %connection.sid(), error = %what, "protocol violation: closing the connection");
    connection.close(CloseReason::ParseError);
}

impl EngineHandler for Dispatcher {
    type Data = ConnectionState<Socket>;

    fn on_open(&self, connection: &Arc<Connection>) {
        if let Some(observer) = self.core.observer() {
            observer.connection_opened(connection);
        }
    }

    fn open_timeout(&self) -> Option<Duration> {
        Some(self.core.config.connect_timeout)
    }

    fn on_open_timeout(&self, connection: &Arc<Connection>) {
        let state = connection.data();
        if state.awaits_connect() && state.is_empty() {
            tracing::debug!(sid = %connection.sid(), "no namespace joined within connect_timeout");
            connection.close(CloseReason::ForcedClose);
        }
    }

    fn on_message(&self, connection: &Arc<Connection>, text: Str) {
        if let Some(observer) = self.core.observer() {
            observer.message_received(text.len());
        }
        #[cfg(feature = "msgpack")]
        if self.core.config.parser == Parser::MessagePack {
            return super::msgpack::refuse_text(connection, &text);
        }
        let state = connection.data();
        if state.awaits_attachments() {
            return violation(
                connection,
                &"text packet while binary attachments were expected",
            );
        }
        let limits = &self.core.config.limits;
        if matches!(text.as_bytes().first(), Some(b'5' | b'6')) {
            let max = self.core.config.engine.get_max_http_buffer_size();
            match BinaryCollector::new(Bytes::copy_from_slice(text.as_bytes()), limits, max) {
                Ok(collector) if collector.is_complete() => {
                    self.finish_binary(connection, collector)
                }
                Ok(collector) => state.await_attachments(collector),
                Err(e) => violation(connection, &e),
            }
            return;
        }
        match protocol::decode_split_into(text.as_str(), limits) {
            Ok(packet) => self.handle(connection, &text, packet, Vec::new()),
            Err(e) => violation(connection, &e),
        }
    }

    fn on_binary(&self, connection: &Arc<Connection>, data: Bytes) {
        if let Some(observer) = self.core.observer() {
            observer.message_received(data.len());
        }
        #[cfg(feature = "msgpack")]
        if self.core.config.parser == Parser::MessagePack {
            return match protocol::decode_msgpack(&data, &self.core.config.limits) {
                Ok((text, attachments)) => self.finish(connection, text, attachments),
                Err(e) => violation(connection, &e),
            };
        }
        match connection.data().push_attachment(data) {
            Ok(Some(collector)) => self.finish_binary(connection, collector),
            Ok(None) => {}
            Err(e) => violation(connection, &e),
        }
    }

    fn poll_ready(&self, connection: &Arc<Connection>, cx: &mut Context<'_>) -> Poll<()> {
        let max = self.core.config.max_pending_handlers;
        connection.data().backlog().poll_room(max, cx)
    }

    fn on_upgrade(&self, connection: &Arc<Connection>) {
        if let Some(observer) = self.core.observer() {
            observer.connection_upgraded(connection);
        }
    }

    fn on_close(&self, connection: &Arc<Connection>, reason: CloseReason) {
        if let Some(observer) = self.core.observer() {
            observer.connection_closed(connection, reason);
        }
        let state = connection.data();
        let pending = state.backlog().pending();
        if reason == CloseReason::PingTimeout && pending >= self.core.config.max_pending_handlers {
            crate::metrics::refused("max_pending_handlers");
            tracing::warn!(
                sid = %connection.sid(),
                pending,
                limit = "max_pending_handlers",
                "connection closed: its handlers stayed busy through a whole heartbeat, so its \
                 packets (pongs included) were not read; the client sends events faster than \
                 they finish (raise max_pending_handlers if they wait on purpose)"
            );
        }
        state.stop_connect_timeout();
        state.drop_pending();
        for socket in state.take_all() {
            socket
                .ns()
                .remove_socket(&socket, DisconnectReason::Transport(reason));
        }
    }
}

impl Dispatcher {
    /// An event over the socket's rate limit: dropped with an error to the error pipeline, or
    /// the socket disconnected, as the policy says. The first refusal of a run is logged at
    /// warn level, the next ones (until an event passes again) at debug level.
    fn over_rate(
        &self,
        socket: &Socket,
        event: Str,
        args: Args,
        ack_id: Option<u64>,
        refused: Refused,
    ) {
        let Some(limit) = self.core.config.rate_limit else {
            return;
        };
        let disconnect = limit.policy == RateLimitPolicy::Disconnect;
        let what = if disconnect {
            "socket disconnected: events over the rate limit"
        } else {
            "event dropped: over the rate limit"
        };
        crate::metrics::refused("max_events_per_second");
        if refused.first || disconnect {
            tracing::warn!(
                limit = "max_events_per_second",
                rate = limit.rate,
                burst = limit.burst,
                namespace = %socket.namespace(),
                sid = %socket.id(),
                client = ?socket.client_addr(),
                event = %event.as_str(),
                "{what}"
            );
        } else {
            tracing::debug!(
                limit = "max_events_per_second",
                rate = limit.rate,
                burst = limit.burst,
                namespace = %socket.namespace(),
                sid = %socket.id(),
                client = ?socket.client_addr(),
                event = %event.as_str(),
                "{what}"
            );
        }
        if disconnect {
            socket.disconnect();
            return;
        }
        let error = Error::new(
            ErrorKind::RateLimited,
            format!(
                "more than {} events per second (burst {}) on this socket",
                limit.rate, limit.burst
            ),
        );
        socket
            .ns()
            .report(socket, error, Some((event, args)), ack_id);
    }

    fn finish_binary(&self, connection: &Arc<Connection>, collector: BinaryCollector) {
        let (text, attachments) = collector.into_parts();
        self.finish(connection, text, attachments);
    }

    /// Handles a whole packet: its text and its attachments.
    fn finish(&self, connection: &Arc<Connection>, text: String, attachments: Vec<Bytes>) {
        let text = Str::from(text);
        match protocol::decode_split_into(text.as_str(), &self.core.config.limits) {
            Ok(packet) => self.handle(connection, &text, packet, attachments),
            Err(e) => violation(connection, &e),
        }
    }

    fn handle(
        &self,
        connection: &Arc<Connection>,
        text: &Str,
        split: SplitPacket<'_, ArgSlices<'_>>,
        attachments: Vec<Bytes>,
    ) {
        let SplitPacket {
            packet,
            event,
            args,
        } = split;
        let state = connection.data();
        let socket_of = |namespace: &str| state.find(|s| s.namespace() == namespace);
        match packet.kind {
            PacketKind::Connect => {
                if socket_of(packet.namespace).is_some() {
                    return violation(connection, &"second CONNECT for a connected namespace");
                }
                if let Some(max) = self.core.config.max_namespaces_per_connection {
                    if state.len() >= max {
                        crate::metrics::refused("max_namespaces_per_connection");
                        let proxies = &self.core.config.engine.trusted_proxies;
                        tracing::warn!(
                            limit = "max_namespaces_per_connection",
                            value = max,
                            namespace = packet.namespace,
                            sid = %connection.sid(),
                            client = ?connection.handshake().client_addr(proxies),
                            "namespace connection refused: too many namespaces"
                        );
                        let refusal = packet::connect_error(
                            packet.namespace,
                            "Too many namespaces on this connection",
                            None,
                        );
                        for frame in refusal.frames_for(self.core.config.parser) {
                            let _ = connection.send(frame.clone());
                        }
                        return;
                    }
                }
                let admitted = self
                    .namespaces
                    .admit(packet.namespace, |ns| ns.enter(connection, packet.payload));
                let Some((ns, socket)) = admitted else {
                    let refusal =
                        packet::connect_error(packet.namespace, "Invalid namespace", None);
                    for frame in refusal.frames_for(self.core.config.parser) {
                        let _ = connection.send(frame.clone());
                    }
                    return;
                };
                state.stop_connect_timeout();
                state.add(socket.clone());
                let auth = packet.payload.map(|p| text.slice_ref(p));
                run_now(Box::pin(ns.clone().connect(socket, auth)));
            }
            PacketKind::Disconnect => {
                if let Some(socket) = socket_of(packet.namespace) {
                    socket
                        .ns()
                        .remove_socket(&socket, DisconnectReason::ClientDisconnect);
                }
            }
            PacketKind::Event | PacketKind::BinaryEvent => {
                // As in socket.io, a namespace socket exists for events only once its CONNECT
                // was accepted: an event while the connect handler runs is a violation.
                let Some(socket) =
                    socket_of(packet.namespace).filter(|socket| socket.is_accepted())
                else {
                    return violation(connection, &"event for a namespace that is not connected");
                };
                // `decode_split` validated the payload and split it in the same pass.
                let Some(name) = event else {
                    return violation(connection, &"event without payload");
                };
                let name = match name {
                    Cow::Borrowed(name) => text.slice_ref(name),
                    Cow::Owned(name) => Str::from(name),
                };
                let items = args.iter().map(|raw| text.slice_ref(raw)).collect();
                let args = Args::new(items, attachments);
                if let Err(refused) = socket.take_event_token() {
                    return self.over_rate(&socket, name, args, packet.id, refused);
                }
                socket.ns().dispatch(&socket, name, args, packet.id);
            }
            PacketKind::Ack | PacketKind::BinaryAck => {
                let (Some(socket), Some(id)) = (socket_of(packet.namespace), packet.id) else {
                    return;
                };
                let items = args.iter().map(|raw| text.slice_ref(raw)).collect();
                socket.resolve_ack(id, Args::new(items, attachments));
            }
            PacketKind::ConnectError => violation(
                connection,
                &"CONNECT_ERROR packets only travel from server to client",
            ),
        }
    }
}
