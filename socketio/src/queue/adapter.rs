//! The message-queue adapter: an inner adapter for this process's rooms, plus publications so
//! that the other processes apply the same operation to their sockets, and the cluster-wide
//! requests of one namespace (`fetch_sockets`, broadcasts with acknowledgements): the asking
//! side gathers the answers, the answering side describes or asks its own sockets.
//!
//! With connection state recovery, the adapter stamps this process's broadcasts, keeps those
//! of every process with the offsets they were stamped with, shares the sessions of the
//! sockets it loses and forgets those another process recovered (see the [module
//! docs](super#connection-state-recovery)).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::bus::{Bus, Route};
use super::foreign::python::{self, SocketOp};
use super::lost;
use super::request::Request;
use super::sockets;
use super::wire::{self, Header, Message, Op, WireError};
use crate::ack::AckFuture;
use crate::adapter::{
    select, Adapter, ClusterFuture, EncodedPacket, LocalSockets, PersistedSession, Recovery,
    RecoveryOptions, Replies, SocketData, Target,
};
use crate::args::Args;
use crate::engineio::Sid;
use crate::error::AckError;

/// One namespace's adapter on a server with a message queue.
pub(crate) struct QueueAdapter {
    ns: String,
    inner: Arc<dyn Adapter>,
    bus: Arc<Bus>,
    local: OnceLock<Weak<dyn LocalSockets>>,
    /// python-socketio servers share the channel: operations are published in their format
    /// too ([`Builder::python_socketio_peers`](crate::Builder::python_socketio_peers)).
    python_peers: bool,
    /// Connection state recovery, when it is on.
    recovery: Option<Recovery>,
}

impl QueueAdapter {
    /// The adapter of namespace `ns`, keeping rooms in `inner` and registered on `bus`; with
    /// `python_peers`, it publishes for python-socketio servers too; with `recovery`, it keeps
    /// what connection state recovery needs.
    pub(crate) fn new(
        ns: &str,
        inner: Arc<dyn Adapter>,
        bus: Arc<Bus>,
        python_peers: bool,
        recovery: Option<RecoveryOptions>,
    ) -> Arc<Self> {
        let adapter = Arc::new(QueueAdapter {
            ns: ns.to_owned(),
            recovery: recovery.map(|options| Recovery::new(options, bus.uid())),
            inner,
            bus,
            local: OnceLock::new(),
            python_peers,
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

    /// With python-socketio peers, publishes the copies of an operation (`what`) in their
    /// format, marked as copies so that socketio-rs servers skip them; what that format cannot
    /// say is counted and logged instead.
    fn publish_python(
        &self,
        what: &str,
        copies: impl FnOnce(python::Sender<'_>) -> Result<Vec<bytes::Bytes>, String>,
    ) {
        if !self.python_peers {
            return;
        }
        let sender = python::Sender {
            uid: self.bus.uid(),
            copy: true,
        };
        match copies(sender) {
            Ok(payloads) => payloads
                .into_iter()
                .for_each(|payload| self.publish(payload)),
            Err(why) => self
                .bus
                .untranslated(&format!("{what} on {}: {why}", self.ns)),
        }
    }

    /// `target` without this process's sockets (python-socketio servers have none of them).
    fn not_here(target: &Target, local: &dyn LocalSockets) -> Target {
        let mut remote = target.clone();
        remote
            .rooms
            .retain(|room| !room.parse::<Sid>().is_ok_and(|sid| local.contains(sid)));
        remote
    }

    /// python-socketio's operations on sockets by id, for the sockets of `remote` (see
    /// [`not_here`](Self::not_here)).
    fn publish_python_socket_ops(&self, op: SocketOp, remote: &Target, rooms: &[String]) {
        let what = format!("`{}`", op.method());
        self.publish_python(&what, |sender| {
            python::encode_socket_ops(sender, op, &self.ns, remote, rooms)
        });
    }

    /// A cluster-wide request, which python-socketio servers do not answer: counted and logged
    /// (rate-limited).
    fn python_peers_miss(&self, what: &str) {
        if self.python_peers {
            self.bus.untranslated(&format!(
                "{what} on {}: python-socketio servers do not answer cluster-wide requests, their sockets are left out",
                self.ns
            ));
        }
    }

    /// Opens a request of `op` for `target` and publishes it, with `parts`; a request that
    /// could not be published expects no answer.
    fn request(
        &self,
        op: Op,
        target: &Target,
        timeout: Duration,
        packet: Option<&EncodedPacket>,
    ) -> Request {
        let mut request = self.bus.open_request();
        let mut header = self.header(op, target);
        header.req = Some(request.req);
        header.timeout_ms = Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        let payload = match packet {
            Some(packet) => wire::encode_packet(header, packet),
            None => wire::encode(header, &[]),
        };
        if self.bus.publish(payload).is_err() {
            request.unsent();
        }
        request
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
        self.publish_python("`close_room`", |sender| {
            Ok(vec![python::encode_close_room(sender, &self.ns, room)])
        });
    }

    fn broadcast(&self, packet: &EncodedPacket, target: &Target, local: &dyn LocalSockets) {
        let only_local = Self::only_local(target, local);
        if let Some(recovery) = &self.recovery {
            // Every broadcast is published, even one for sockets of this process only: the
            // other processes keep it, in case its recipient comes back to one of them.
            let publish = |stamped: &EncodedPacket, offset: Option<u64>| {
                let mut header = self.header(Op::Broadcast, target);
                header.offset = offset;
                self.publish(wire::encode_packet(header, stamped));
            };
            let deliver = |stamped: &EncodedPacket| self.inner.broadcast(stamped, target, local);
            recovery.broadcast(packet, target, publish, deliver);
        } else {
            // Local first: this process's sockets never depend on the broker.
            self.inner.broadcast(packet, target, local);
            if !only_local {
                self.publish(wire::encode_packet(
                    self.header(Op::Broadcast, target),
                    packet,
                ));
            }
        }
        if !only_local {
            self.publish_python("an emit", |sender| {
                python::encode_emit(sender, &self.ns, target, packet)
                    .map(|payload| vec![payload])
                    .map_err(|e| e.0)
            });
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
            let remote = Self::not_here(target, local);
            self.publish_python_socket_ops(SocketOp::EnterRoom, &remote, rooms);
        }
    }

    fn del_sockets(&self, target: &Target, rooms: &[String], local: &dyn LocalSockets) {
        self.inner.del_sockets(target, rooms, local);
        if !Self::only_local(target, local) {
            let mut header = self.header(Op::Leave, target);
            header.names = rooms.to_vec();
            self.publish(wire::encode(header, &[]));
            let remote = Self::not_here(target, local);
            self.publish_python_socket_ops(SocketOp::LeaveRoom, &remote, rooms);
        }
    }

    fn disconnect_sockets(&self, target: &Target, local: &dyn LocalSockets) {
        let only_local = Self::only_local(target, local);
        // Before this process's sockets are gone from `local`.
        let remote = Self::not_here(target, local);
        self.inner.disconnect_sockets(target, local);
        if !only_local {
            self.publish(wire::encode(self.header(Op::Disconnect, target), &[]));
            self.publish_python_socket_ops(SocketOp::Disconnect, &remote, &[]);
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

    fn fetch_sockets(
        &self,
        target: &Target,
        timeout: Option<Duration>,
        local: &dyn LocalSockets,
    ) -> ClusterFuture<SocketData> {
        let here = self.inner.fetch_sockets(target, timeout, local);
        if Self::only_local(target, local) {
            return here;
        }
        self.python_peers_miss("`fetch_sockets`");
        let timeout = timeout.unwrap_or(self.bus.timing().requests_timeout);
        let request = self.request(Op::FetchSockets, target, timeout, None);
        let ns = self.ns.clone();
        Box::pin(async move {
            let here = here.await;
            here.merge(gather_sockets(request, &ns, timeout).await)
        })
    }

    fn broadcast_with_ack(
        &self,
        packet: &EncodedPacket,
        target: &Target,
        timeout: Duration,
        local: &dyn LocalSockets,
    ) -> ClusterFuture<(Sid, Args)> {
        let here = self
            .inner
            .broadcast_with_ack(packet, target, timeout, local);
        if Self::only_local(target, local) {
            return here;
        }
        self.python_peers_miss("`emit_with_acks`");
        let request = self.request(Op::BroadcastAck, target, timeout, Some(packet));
        Box::pin(async move {
            let (here, there) = tokio::join!(here, gather_acks(request, timeout));
            here.merge(there)
        })
    }

    fn persist_session(&self, session: PersistedSession) {
        let Some(recovery) = &self.recovery else {
            return self.inner.persist_session(session);
        };
        let lost = recovery.persist(session);
        let mut header = Header::new(self.bus.uid(), Op::Session);
        header.ns = self.ns.clone();
        self.publish(wire::encode(header, &[&lost::encode(&lost)]));
    }

    fn restore_session(
        &self,
        pid: Sid,
        offset: &str,
        resume: &mut dyn FnMut(PersistedSession, Vec<EncodedPacket>),
    ) -> bool {
        let Some(recovery) = &self.recovery else {
            return self.inner.restore_session(pid, offset, resume);
        };
        if !recovery.restore(pid, offset, resume) {
            return false;
        }
        let mut header = Header::new(self.bus.uid(), Op::SessionTaken);
        header.ns = self.ns.clone();
        header.sid = Some(pid.as_str().to_owned());
        self.publish(wire::encode(header, &[]));
        true
    }
}

/// The sockets the other servers describe, until each expected one answered or `timeout`.
async fn gather_sockets(mut request: Request, ns: &str, timeout: Duration) -> Replies<SocketData> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut items = Vec::new();
    let silent = request
        .one_from_each(Op::FetchSocketsResponse, deadline, |uid, message| {
            let described = message
                .parts
                .first()
                .ok_or_else(|| WireError("no sockets".into()))
                .and_then(|json| sockets::decode(json, ns));
            match described {
                Ok(sockets) => items.extend(sockets),
                Err(e) => {
                    tracing::warn!(server = %uid, error = %e, "message queue: ignored a malformed fetch_sockets answer");
                }
            }
        })
        .await;
    Replies::partial(items, silent, 0)
}

/// The acknowledgements of the other servers' sockets: each server first says how many
/// sockets it asked, then forwards their answers; until every expected server said so and
/// every socket answered, or `timeout`.
async fn gather_acks(mut request: Request, timeout: Duration) -> Replies<(Sid, Args)> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut silent: HashSet<String> = request.expected().clone();
    // Per answering server: sockets asked (once it said), answers received.
    let mut progress: HashMap<String, (Option<u64>, u64)> = HashMap::new();
    let mut items = Vec::new();
    let done = |silent: &HashSet<String>, progress: &HashMap<String, (Option<u64>, u64)>| {
        silent.is_empty()
            && progress
                .values()
                .all(|(asked, got)| asked.is_some_and(|asked| *got >= asked))
    };
    while !done(&silent, &progress) {
        let Some(message) = request.next(deadline).await else {
            break;
        };
        let uid = message.header.uid.clone();
        match message.header.op {
            Op::BroadcastAckCount => {
                silent.remove(&uid);
                progress.entry(uid).or_default().0 = Some(message.header.count.unwrap_or(0));
            }
            Op::BroadcastAckResponse => {
                let sid = message
                    .header
                    .sid
                    .as_deref()
                    .and_then(|s| s.parse::<Sid>().ok());
                match (sid, message.args()) {
                    (Some(sid), Ok(args)) => {
                        progress.entry(uid).or_default().1 += 1;
                        items.push((sid, args));
                    }
                    _ => {
                        tracing::warn!(server = %uid, "message queue: ignored a malformed broadcast acknowledgement")
                    }
                }
            }
            _ => {}
        }
    }
    let missing_acks: u64 = progress
        .values()
        .map(|(asked, got)| asked.unwrap_or(0).saturating_sub(*got))
        .sum();
    Replies::partial(
        items,
        silent.len(),
        usize::try_from(missing_acks).unwrap_or(usize::MAX),
    )
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
                let target = header.to_target();
                match (&self.recovery, header.offset) {
                    (Some(recovery), Some(seq)) => {
                        recovery.broadcast_from(&header.uid, seq, &packet, &target, || {
                            self.inner.broadcast(&packet, &target, local)
                        })
                    }
                    _ => self.inner.broadcast(&packet, &target, local),
                }
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
            Op::FetchSockets => self.answer_fetch(header, local),
            Op::BroadcastAck => self.answer_broadcast_ack(&message, local)?,
            Op::Session => {
                if let Some(recovery) = &self.recovery {
                    let part = message
                        .parts
                        .first()
                        .ok_or_else(|| WireError("session without its part".into()))?;
                    recovery.keep_lost(lost::decode(part)?);
                }
            }
            Op::SessionTaken => {
                if let Some(recovery) = &self.recovery {
                    let pid = header
                        .sid
                        .as_deref()
                        .and_then(|s| s.parse::<Sid>().ok())
                        .ok_or_else(|| WireError("session_taken without a valid sid".into()))?;
                    recovery.forget(pid);
                }
            }
            // Handled by the bus.
            Op::AckResponse
            | Op::Heartbeat
            | Op::Hello
            | Op::Goodbye
            | Op::FetchSocketsResponse
            | Op::BroadcastAckCount
            | Op::BroadcastAckResponse
            | Op::ServerEvent
            | Op::ServerEventResponse => {}
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

impl QueueAdapter {
    /// Describes our sockets that the request's target selects, for the asking server.
    fn answer_fetch(&self, header: &Header, local: &dyn LocalSockets) {
        let Some(answer) = header.answer(self.bus.uid(), Op::FetchSocketsResponse) else {
            return;
        };
        let described: Vec<SocketData> = select(&*self.inner, &header.to_target(), local)
            .into_iter()
            .filter_map(|sid| local.describe(sid))
            .collect();
        self.publish(wire::encode(answer, &[&sockets::encode(&described)]));
    }

    /// Sends the requested EVENT, with acknowledgement, to our sockets that the target
    /// selects; tells the asking server how many, then forwards each answer.
    fn answer_broadcast_ack(
        &self,
        message: &Message,
        local: &dyn LocalSockets,
    ) -> Result<(), WireError> {
        let header = &message.header;
        let (Some(count), Some(reply)) = (
            header.answer(self.bus.uid(), Op::BroadcastAckCount),
            header.answer(self.bus.uid(), Op::BroadcastAckResponse),
        ) else {
            return Err(WireError("broadcast_ack without req".into()));
        };
        let packet = message.packet(&self.ns)?;
        let timeout = Bus::remote_ack_timeout(header.timeout_ms);
        let mut waits: FuturesUnordered<_> = select(&*self.inner, &header.to_target(), local)
            .into_iter()
            .filter_map(|sid| {
                let ack = local.send_with_ack(sid, &packet, timeout)?;
                Some(async move { (sid, ack.await) })
            })
            .collect();
        let mut count = count;
        count.count = Some(waits.len() as u64);
        self.publish(wire::encode(count, &[]));
        if waits.is_empty() {
            return Ok(());
        }
        let bus = self.bus.clone();
        tokio::spawn(async move {
            while let Some((sid, outcome)) = waits.next().await {
                // A socket that does not answer is counted missing by the asker.
                if let Ok(args) = outcome {
                    let mut reply = reply.clone();
                    reply.sid = Some(sid.as_str().to_owned());
                    let _ = bus.publish(wire::encode_args(reply, &args));
                }
            }
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
