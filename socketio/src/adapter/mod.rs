//! Room membership and broadcast delivery, behind an object-safe trait so a message-queue
//! adapter (Redis, RabbitMQ) can stand in for the in-memory one.
//!
//! An adapter serves one namespace. The in-memory [`LocalAdapter`] knows the rooms of this
//! process; the message-queue adapter (configured with
//! [`Builder::message_queue`](crate::Builder::message_queue)) wraps one and also publishes every
//! broadcast and room operation so that the other processes apply it to their sockets.

mod cluster;
mod local;
mod recovery;

pub use cluster::{ClusterFuture, Incomplete, Replies, SocketData};
pub use local::LocalAdapter;
pub use recovery::RecoveryOptions;
pub(crate) use recovery::{LostSession, RecoveringAdapter, Recovery, MAX_ORIGINS, MAX_TAIL};

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::ack::AckFuture;
use crate::args::Args;
use crate::engineio::Sid;
pub use crate::packet::EncodedPacket;

/// Makes the adapter of each namespace, given its path.
pub(crate) type AdapterFactory = Arc<dyn Fn(&str) -> Arc<dyn Adapter> + Send + Sync>;

/// Who a broadcast goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// Rooms whose members receive it; empty means every socket of the namespace.
    pub rooms: Vec<String>,
    /// Rooms whose members are left out.
    pub except: Vec<String>,
    /// One socket left out (the sender of a `socket.broadcast()`).
    pub exclude: Option<Sid>,
}

/// What connection state recovery keeps of a socket whose connection was lost (socket.io's
/// `Session`), to give it back to the same client when it reconnects in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistedSession {
    /// The socket id, which the recovered socket keeps.
    pub sid: Sid,
    /// The private id the client sends back to claim the session; a secret, unlike `sid`.
    pub pid: Sid,
    /// The rooms the socket was in, its own room included.
    pub rooms: Vec<String>,
}

/// The sockets of one namespace on this process, as the adapter sees them.
pub trait LocalSockets: Send + Sync {
    /// Queues `packet` for the socket `sid`, if it is connected here.
    fn send_to(&self, sid: Sid, packet: &EncodedPacket);
    /// Queues `packet` for each of `sids` that is connected here, as [`send_to`](Self::send_to)
    /// for each (which the default calls; an implementation can look them all up at once).
    fn send_to_each(&self, sids: &[Sid], packet: &EncodedPacket) {
        for &sid in sids {
            self.send_to(sid, packet);
        }
    }
    /// Queues `packet` for every connected socket for which `skip` is false.
    fn send_all(&self, packet: &EncodedPacket, skip: &dyn Fn(Sid) -> bool);
    /// Whether `sid` is a socket connected here.
    fn contains(&self, sid: Sid) -> bool;
    /// The ids of the sockets connected here.
    fn sids(&self) -> Vec<Sid>;
    /// Disconnects the socket `sid` (server-side disconnect), if it is connected here.
    fn disconnect(&self, sid: Sid);
    /// Sends `packet` (an EVENT or BINARY_EVENT encoded without an acknowledgement id) to the
    /// socket `sid` with a fresh acknowledgement id, and returns the wait for its answer; `None`
    /// when `sid` is not connected here.
    fn send_with_ack(
        &self,
        sid: Sid,
        packet: &EncodedPacket,
        timeout: Duration,
    ) -> Option<AckFuture>;
    /// Describes the socket `sid` for `fetch_sockets` (its id, namespace, rooms, handshake),
    /// if it is connected here. The default knows nothing.
    fn describe(&self, sid: Sid) -> Option<SocketData> {
        let _ = sid;
        None
    }
}

impl Target {
    /// Resolves the target against the rooms `members_into` knows and the sockets connected
    /// here: the one place where the selection rules live. A room named by a socket id selects
    /// that socket when it is connected here.
    pub(crate) fn resolve(
        &self,
        members_into: impl Fn(&str, &mut HashSet<Sid>),
        local: &dyn LocalSockets,
    ) -> Selection {
        let collect = |rooms: &[String]| {
            let mut sids = HashSet::new();
            for room in rooms {
                members_into(room, &mut sids);
                if let Ok(sid) = room.parse::<Sid>() {
                    if local.contains(sid) {
                        sids.insert(sid);
                    }
                }
            }
            sids
        };
        Selection {
            rooms: (!self.rooms.is_empty()).then(|| collect(&self.rooms)),
            excluded: collect(&self.except),
            exclude: self.exclude,
        }
    }
}

/// The sockets a [`Target`] selects, resolved against the rooms of the moment.
pub(crate) struct Selection {
    /// The members of the target's rooms; `None` means every socket of the namespace.
    pub(crate) rooms: Option<HashSet<Sid>>,
    excluded: HashSet<Sid>,
    exclude: Option<Sid>,
}

impl Selection {
    /// Whether `sid`, if it is in the rooms, is left out.
    pub(crate) fn skips(&self, sid: Sid) -> bool {
        Some(sid) == self.exclude || self.excluded.contains(&sid)
    }

    /// Whether no socket is left out: [`skips`](Self::skips) is always false.
    pub(crate) fn skips_none(&self) -> bool {
        self.exclude.is_none() && self.excluded.is_empty()
    }

    /// The selected sockets connected here, sorted.
    pub(crate) fn sids(&self, local: &dyn LocalSockets) -> Vec<Sid> {
        let mut sids: Vec<Sid> = match &self.rooms {
            Some(members) => members.iter().copied().collect(),
            None => local.sids(),
        };
        sids.retain(|sid| !self.skips(*sid));
        sids.sort_unstable();
        sids
    }
}

/// The ids of the sockets connected here that `target` selects, according to `adapter`'s rooms.
pub(crate) fn select<A: Adapter + ?Sized>(
    adapter: &A,
    target: &Target,
    local: &dyn LocalSockets,
) -> Vec<Sid> {
    target
        .resolve(|room, into| into.extend(adapter.members(room)), local)
        .sids(local)
}

/// Rooms and broadcasts for one namespace.
///
/// Every socket is implicitly in a room named by its id. Implementations must not block: they
/// run on the emitting task, often while a handler runs.
pub trait Adapter: Send + Sync + 'static {
    /// Adds `sid` to `room`.
    fn join(&self, sid: Sid, room: &str);
    /// Removes `sid` from `room`.
    fn leave(&self, sid: Sid, room: &str);
    /// Removes `sid` from every room (on disconnect).
    fn leave_all(&self, sid: Sid);
    /// The rooms `sid` is in, its own room first.
    fn rooms(&self, sid: Sid) -> Vec<String>;
    /// The sockets in `room`.
    fn members(&self, room: &str) -> Vec<Sid>;
    /// Removes every socket from `room`.
    fn close_room(&self, room: &str);
    /// Delivers `packet` to the sockets `target` selects.
    fn broadcast(&self, packet: &EncodedPacket, target: &Target, local: &dyn LocalSockets);

    // Cluster operations. Each default acts on this process only, which is all a single-process
    // adapter needs; the message-queue adapter overrides them to reach every process.

    /// Called once when the namespace is ready, with the handle through which an adapter that
    /// receives work from other processes reaches this namespace's sockets. The default ignores
    /// it.
    fn attach(&self, local: Weak<dyn LocalSockets>) {
        let _ = local;
    }

    /// Makes the sockets `target` selects join `rooms` (socket.io's `socketsJoin`).
    fn add_sockets(&self, target: &Target, rooms: &[String], local: &dyn LocalSockets) {
        for sid in select(self, target, local) {
            for room in rooms {
                self.join(sid, room);
            }
        }
    }

    /// Makes the sockets `target` selects leave `rooms` (socket.io's `socketsLeave`).
    fn del_sockets(&self, target: &Target, rooms: &[String], local: &dyn LocalSockets) {
        for sid in select(self, target, local) {
            for room in rooms {
                self.leave(sid, room);
            }
        }
    }

    /// Disconnects the sockets `target` selects.
    fn disconnect_sockets(&self, target: &Target, local: &dyn LocalSockets) {
        for sid in select(self, target, local) {
            local.disconnect(sid);
        }
    }

    /// Sends `packet` (an EVENT encoded without an acknowledgement id) to the socket `sid` and
    /// waits up to `timeout` for its acknowledgement, wherever that socket is connected. The
    /// default only finds sockets of this process; `None` means the adapter cannot reach `sid`.
    fn emit_with_ack(
        &self,
        sid: Sid,
        packet: &EncodedPacket,
        timeout: Duration,
        local: &dyn LocalSockets,
    ) -> Option<AckFuture> {
        local.send_with_ack(sid, packet, timeout)
    }

    /// The sockets `target` selects, described (socket.io's `fetchSockets`), within `timeout`
    /// (`None`: the adapter's default). The default describes the sockets of this process;
    /// the message-queue adapter adds those of every other process.
    fn fetch_sockets(
        &self,
        target: &Target,
        timeout: Option<Duration>,
        local: &dyn LocalSockets,
    ) -> ClusterFuture<SocketData> {
        let _ = timeout;
        let sockets = select(self, target, local)
            .into_iter()
            .filter_map(|sid| local.describe(sid))
            .collect();
        Box::pin(std::future::ready(Replies::complete_with(sockets)))
    }

    /// Sends `packet` (an EVENT encoded without an acknowledgement id) to every socket
    /// `target` selects, each with an acknowledgement id of its own, and gathers the answers
    /// that arrive within `timeout` (socket.io's `timeout(..).emit(.., callback)` on a
    /// broadcast). The default reaches the sockets of this process; the message-queue adapter
    /// those of every process.
    fn broadcast_with_ack(
        &self,
        packet: &EncodedPacket,
        target: &Target,
        timeout: Duration,
        local: &dyn LocalSockets,
    ) -> ClusterFuture<(Sid, Args)> {
        let waits: FuturesUnordered<_> = select(self, target, local)
            .into_iter()
            .filter_map(|sid| {
                let ack = local.send_with_ack(sid, packet, timeout)?;
                Some(async move { (sid, ack.await) })
            })
            .collect();
        Box::pin(async move {
            let outcomes: Vec<_> = waits.collect().await;
            let asked = outcomes.len();
            let items: Vec<(Sid, Args)> = outcomes
                .into_iter()
                .filter_map(|(sid, outcome)| outcome.ok().map(|args| (sid, args)))
                .collect();
            let missing = asked - items.len();
            Replies::partial(items, 0, missing)
        })
    }

    // Connection state recovery (see `Builder::connection_state_recovery`). The defaults keep
    // nothing, as an adapter of a server without recovery needs; the server wraps its adapter
    // in one that keeps sessions and packets in memory when recovery is on.

    /// Keeps `session`, whose connection was lost without either side asking for it, so that
    /// [`restore_session`](Self::restore_session) can give it back. The default forgets it.
    fn persist_session(&self, session: PersistedSession) {
        let _ = session;
    }

    /// Gives back the session saved under the private id `pid`, if it is still kept and every
    /// packet emitted after `offset` (the last one the client received, as it sent it: an
    /// untrusted string) is too: calls `resume` with the session and the packets of those that
    /// reach its rooms, in order, then returns `true`. The session is taken: a second restore
    /// with the same `pid` fails. `false`, without calling `resume`, otherwise (the client then
    /// gets a fresh session). The default keeps nothing and always returns `false`.
    ///
    /// No broadcast of the namespace may run from the moment the missed packets are collected
    /// until `resume` returns, so that the recovered socket, which `resume` makes a member of
    /// the namespace and of its rooms, gets each packet exactly once.
    fn restore_session(
        &self,
        pid: Sid,
        offset: &str,
        resume: &mut dyn FnMut(PersistedSession, Vec<EncodedPacket>),
    ) -> bool {
        let _ = (pid, offset, resume);
        false
    }
}
