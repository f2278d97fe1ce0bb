//! [`Observer`]: what an instrument of the server (the Admin UI) hears of its connections,
//! sockets, rooms and packets, and [`ObservedAdapter`], which reports room changes.
//!
//! A server has at most one observer, set when it is built; without one, each hook is a check
//! of an `Option` that is `None`. Hooks run on the task that caused the change, often inside a
//! handler or a broadcast: they must not block, and they must not take the locks of the
//! namespace they hear about (the namespace's own broadcasts and room changes are done before
//! they are called).

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::server_core::ServerCore;
use super::socket::{Connection, Socket};
use crate::ack::AckFuture;
use crate::adapter::{
    Adapter, AdapterFactory, ClusterFuture, EncodedPacket, LocalSockets, SocketData, Target,
};
use crate::args::Args;
use crate::engineio::{CloseReason, Sid};
use crate::reason::DisconnectReason;

/// Hears what happens on one server.
pub(crate) trait Observer: std::fmt::Debug + Send + Sync + 'static {
    /// An Engine.IO connection opened.
    fn connection_opened(&self, connection: &Connection);
    /// A connection moved from polling to WebSocket.
    fn connection_upgraded(&self, connection: &Connection);
    /// A connection closed.
    fn connection_closed(&self, connection: &Connection, reason: CloseReason);
    /// An Engine.IO message of `bytes` bytes arrived (text or binary).
    fn message_received(&self, bytes: usize);
    /// A socket's CONNECT was accepted.
    fn socket_connected(&self, socket: &Socket);
    /// A connected socket left its namespace.
    fn socket_disconnected(&self, socket: &Socket, reason: DisconnectReason);
    /// An event is handed to its handler.
    fn event_received(&self, socket: &Socket, event: &str, args: &Args);
    /// A packet is queued for a socket.
    fn packet_sent(&self, socket: &Socket, packet: &EncodedPacket);
    /// The socket `sid` of `namespace` joined `room` on this process.
    fn room_joined(&self, namespace: &str, room: &str, sid: Sid);
    /// The socket `sid` of `namespace` left `room` on this process.
    fn room_left(&self, namespace: &str, room: &str, sid: Sid);
}

impl ServerCore {
    /// Sets what hears the server.
    pub(crate) fn set_observer(&mut self, observer: Arc<dyn Observer>) {
        self.observer = Some(Arc::new(observer));
    }

    /// What hears the server, if anything does. Each hook site is `if let Some(..)`: a server
    /// without an observer pays one check of an `Option`.
    #[inline]
    pub(crate) fn observer(&self) -> Option<&dyn Observer> {
        let observer = self.observer.as_deref()?;
        observer
            .downcast_ref::<Arc<dyn Observer>>()
            .map(|observer| &**observer)
    }
}

/// Wraps every adapter `factory` makes so that `observer` hears its room changes.
///
/// The wrapper sits under the message-queue adapter, where the rooms of this process are kept:
/// it sees what this process's sockets join and leave, whoever asked (a handler, a broadcast
/// operator, another process).
pub(crate) fn observe(factory: AdapterFactory, observer: Arc<dyn Observer>) -> AdapterFactory {
    Arc::new(move |namespace: &str| {
        Arc::new(ObservedAdapter {
            namespace: namespace.to_owned(),
            inner: factory(namespace),
            observer: observer.clone(),
        }) as Arc<dyn Adapter>
    })
}

/// An adapter that reports the room changes of the one it wraps; everything else passes
/// through.
struct ObservedAdapter {
    namespace: String,
    inner: Arc<dyn Adapter>,
    observer: Arc<dyn Observer>,
}

impl ObservedAdapter {
    /// The rooms of each socket of this process that `target` selects.
    fn memberships(&self, target: &Target, local: &dyn LocalSockets) -> Vec<(Sid, Vec<String>)> {
        crate::adapter::select(&*self.inner, target, local)
            .into_iter()
            .map(|sid| (sid, self.inner.rooms(sid)))
            .collect()
    }
}

impl Adapter for ObservedAdapter {
    fn join(&self, sid: Sid, room: &str) {
        let new = !self.inner.rooms(sid).iter().any(|r| r == room);
        self.inner.join(sid, room);
        if new {
            self.observer.room_joined(&self.namespace, room, sid);
        }
    }

    fn leave(&self, sid: Sid, room: &str) {
        let member = self.inner.rooms(sid).iter().any(|r| r == room);
        self.inner.leave(sid, room);
        if member {
            self.observer.room_left(&self.namespace, room, sid);
        }
    }

    fn leave_all(&self, sid: Sid) {
        let rooms = self.inner.rooms(sid);
        self.inner.leave_all(sid);
        for room in rooms {
            self.observer.room_left(&self.namespace, &room, sid);
        }
    }

    fn rooms(&self, sid: Sid) -> Vec<String> {
        self.inner.rooms(sid)
    }

    fn members(&self, room: &str) -> Vec<Sid> {
        self.inner.members(room)
    }

    fn close_room(&self, room: &str) {
        let members = self.inner.members(room);
        self.inner.close_room(room);
        for sid in members {
            self.observer.room_left(&self.namespace, room, sid);
        }
    }

    fn broadcast(&self, packet: &EncodedPacket, target: &Target, local: &dyn LocalSockets) {
        self.inner.broadcast(packet, target, local);
    }

    fn attach(&self, local: Weak<dyn LocalSockets>) {
        self.inner.attach(local);
    }

    // The wrapped adapter may reach other processes in its own way: it does the work, and the
    // changes it made to this process's sockets are reported by comparing their rooms.
    fn add_sockets(&self, target: &Target, rooms: &[String], local: &dyn LocalSockets) {
        let before = self.memberships(target, local);
        self.inner.add_sockets(target, rooms, local);
        for (sid, had) in before {
            let now = self.inner.rooms(sid);
            for room in rooms.iter().filter(|r| !had.contains(r) && now.contains(r)) {
                self.observer.room_joined(&self.namespace, room, sid);
            }
        }
    }

    fn del_sockets(&self, target: &Target, rooms: &[String], local: &dyn LocalSockets) {
        let before = self.memberships(target, local);
        self.inner.del_sockets(target, rooms, local);
        for (sid, had) in before {
            let now = self.inner.rooms(sid);
            for room in rooms.iter().filter(|r| had.contains(r) && !now.contains(r)) {
                self.observer.room_left(&self.namespace, room, sid);
            }
        }
    }

    fn disconnect_sockets(&self, target: &Target, local: &dyn LocalSockets) {
        self.inner.disconnect_sockets(target, local);
    }

    fn emit_with_ack(
        &self,
        sid: Sid,
        packet: &EncodedPacket,
        timeout: Duration,
        local: &dyn LocalSockets,
    ) -> Option<AckFuture> {
        self.inner.emit_with_ack(sid, packet, timeout, local)
    }

    fn fetch_sockets(
        &self,
        target: &Target,
        timeout: Option<Duration>,
        local: &dyn LocalSockets,
    ) -> ClusterFuture<SocketData> {
        self.inner.fetch_sockets(target, timeout, local)
    }

    fn broadcast_with_ack(
        &self,
        packet: &EncodedPacket,
        target: &Target,
        timeout: Duration,
        local: &dyn LocalSockets,
    ) -> ClusterFuture<(Sid, Args)> {
        self.inner
            .broadcast_with_ack(packet, target, timeout, local)
    }
}
