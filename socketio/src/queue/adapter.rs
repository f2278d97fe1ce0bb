//! The message-queue adapter: an inner adapter for this process's rooms, plus publications so
//! that the other processes apply the same operation to their sockets.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use super::bus::{Bus, Route};
use super::wire::{self, Header, Message, Op, WireError};
use crate::ack::AckFuture;
use crate::adapter::{Adapter, EncodedPacket, LocalSockets, Target};
use crate::engineio::Sid;
use crate::error::AckError;

/// One namespace's adapter on a server with a message queue.
pub(crate) struct QueueAdapter {
    ns: String,
    inner: Arc<dyn Adapter>,
    bus: Arc<Bus>,
    local: OnceLock<Weak<dyn LocalSockets>>,
}

impl QueueAdapter {
    /// The adapter of namespace `ns`, keeping rooms in `inner` and registered on `bus`.
    pub(crate) fn new(ns: &str, inner: Arc<dyn Adapter>, bus: Arc<Bus>) -> Arc<Self> {
        let adapter = Arc::new(QueueAdapter {
            ns: ns.to_owned(),
            inner,
            bus,
            local: OnceLock::new(),
        });
        let route: Weak<dyn Route> = Arc::downgrade(&adapter) as Weak<QueueAdapter>;
        adapter.bus.route(ns, route);
        adapter
    }

    fn header(&self, op: Op, target: &Target) -> Header {
        Header::new(self.bus.uid(), op).target(&self.ns, target)
    }

    /// Whether `target` only names sockets of this process by id: then nobody else has work.
    fn only_local(target: &Target, local: &dyn LocalSockets) -> bool {
        !target.rooms.is_empty()
            && target
                .rooms
                .iter()
                .all(|room| room.parse::<Sid>().is_ok_and(|sid| local.contains(sid)))
    }

    /// Publishes; a failure was already counted and logged by the bus, and this process's
    /// sockets were served before, so there is nothing else to do.
    fn publish(&self, payload: bytes::Bytes) {
        let _ = self.bus.publish(payload);
    }
}

impl Adapter for QueueAdapter {
    fn join(&self, sid: Sid, room: &str) {
        self.inner.join(sid, room);
    }

    fn leave(&self, sid: Sid, room: &str) {
        self.inner.leave(sid, room);
    }

    fn leave_all(&self, sid: Sid) {
        self.inner.leave_all(sid);
    }

    fn rooms(&self, sid: Sid) -> Vec<String> {
        self.inner.rooms(sid)
    }

    fn members(&self, room: &str) -> Vec<Sid> {
        self.inner.members(room)
    }

    fn close_room(&self, room: &str) {
        self.inner.close_room(room);
        let mut header = self.header(Op::CloseRoom, &Target::default());
        header.names = vec![room.to_owned()];
        self.publish(wire::encode(header, &[]));
    }

    fn broadcast(&self, packet: &EncodedPacket, target: &Target, local: &dyn LocalSockets) {
        // Local first: this process's sockets never depend on the broker.
        self.inner.broadcast(packet, target, local);
        if !Self::only_local(target, local) {
            self.publish(wire::encode_packet(
                self.header(Op::Broadcast, target),
                packet,
            ));
        }
    }

    fn attach(&self, local: Weak<dyn LocalSockets>) {
        let _ = self.local.set(local);
    }

    fn add_sockets(&self, target: &Target, rooms: &[String], local: &dyn LocalSockets) {
        self.inner.add_sockets(target, rooms, local);
        if !Self::only_local(target, local) {
            let mut header = self.header(Op::Join, target);
            header.names = rooms.to_vec();
            self.publish(wire::encode(header, &[]));
        }
    }

    fn del_sockets(&self, target: &Target, rooms: &[String], local: &dyn LocalSockets) {
        self.inner.del_sockets(target, rooms, local);
        if !Self::only_local(target, local) {
            let mut header = self.header(Op::Leave, target);
            header.names = rooms.to_vec();
            self.publish(wire::encode(header, &[]));
        }
    }

    fn disconnect_sockets(&self, target: &Target, local: &dyn LocalSockets) {
        let only_local = Self::only_local(target, local);
        self.inner.disconnect_sockets(target, local);
        if !only_local {
            self.publish(wire::encode(self.header(Op::Disconnect, target), &[]));
        }
    }

    fn emit_with_ack(
        &self,
        sid: Sid,
        packet: &EncodedPacket,
        timeout: Duration,
        local: &dyn LocalSockets,
    ) -> Option<AckFuture> {
        if local.contains(sid) {
            return local.send_with_ack(sid, packet, timeout);
        }
        let mut header = Header::new(self.bus.uid(), Op::AckRequest);
        header.ns = self.ns.clone();
        header.sid = Some(sid.as_str().to_owned());
        Some(self.bus.request_ack(header, packet, timeout))
    }
}

impl Route for QueueAdapter {
    fn on_message(&self, message: Message) -> Result<(), WireError> {
        let Some(local) = self.local.get().and_then(Weak::upgrade) else {
            return Ok(()); // the namespace is gone (server shutting down)
        };
        let local = &*local;
        let header = &message.header;
        match header.op {
            Op::Broadcast => {
                let packet = message.packet(&self.ns)?;
                self.inner.broadcast(&packet, &header.to_target(), local);
            }
            Op::Join => self
                .inner
                .add_sockets(&header.to_target(), &header.names, local),
            Op::Leave => self
                .inner
                .del_sockets(&header.to_target(), &header.names, local),
            Op::Disconnect => self.inner.disconnect_sockets(&header.to_target(), local),
            Op::CloseRoom => {
                for room in &header.names {
                    self.inner.close_room(room);
                }
            }
            Op::AckRequest => self.answer_ack(&message, local)?,
            Op::AckResponse => {} // handled by the bus
        }
        Ok(())
    }
}

impl QueueAdapter {
    /// Sends the requested EVENT to our socket and publishes its acknowledgement for the
    /// asking process; a socket that is not here is someone else's business.
    fn answer_ack(&self, message: &Message, local: &dyn LocalSockets) -> Result<(), WireError> {
        let header = &message.header;
        let sid = header
            .sid
            .as_deref()
            .and_then(|s| s.parse::<Sid>().ok())
            .ok_or_else(|| WireError("ack_request without a valid sid".into()))?;
        if !local.contains(sid) {
            return Ok(());
        }
        let (Some(req), Some(origin)) = (header.req, header.to_origin()) else {
            return Err(WireError("ack_request without req".into()));
        };
        let packet = message.packet(&self.ns)?;
        let timeout = Bus::remote_ack_timeout(header.timeout_ms);
        let Some(answer) = local.send_with_ack(sid, &packet, timeout) else {
            return Ok(());
        };
        let bus = self.bus.clone();
        let ns = self.ns.clone();
        tokio::spawn(async move {
            let mut reply = Header::new(bus.uid(), Op::AckResponse);
            reply.ns = ns;
            reply.to = Some(origin);
            reply.req = Some(req);
            let payload = match answer.await {
                Ok(args) => wire::encode_args(reply, &args),
                Err(AckError::Timeout) => return, // the asker times out by itself
                Err(e) => {
                    reply.error = Some(e.to_string());
                    wire::encode(reply, &[])
                }
            };
            let _ = bus.publish(payload);
        });
        Ok(())
    }
}

impl Header {
    /// The process an `ack_request` came from.
    fn to_origin(&self) -> Option<String> {
        (!self.uid.is_empty()).then(|| self.uid.clone())
    }
}
