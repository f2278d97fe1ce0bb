//! Connection state recovery kept in memory: the adapter a server with
//! [`Builder::connection_state_recovery`](crate::Builder::connection_state_recovery) wraps
//! around its own (socket.io's `SessionAwareAdapter`).
//!
//! Every event packet broadcast through it gets an offset, a per-namespace counter appended as
//! its last argument, and is kept for `max_disconnection_duration`. A socket whose connection
//! was lost is saved as a [`PersistedSession`]; when its client comes back with the private id
//! and the last offset it received, the session is taken and the packets after that offset
//! that reach its rooms are handed to the namespace to send again.
//!
//! Everything a peer can grow is bounded: packets by age, count and bytes, sessions by age and
//! count. Expired entries go on the next operation of the namespace (there is no timer).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::{Adapter, EncodedPacket, LocalSockets, PersistedSession, Target};
use crate::ack::AckFuture;
use crate::engineio::Sid;
use crate::packet;
use crate::sync::{Mutex, RwLock};

/// Connection state recovery (socket.io 4.6's `connectionStateRecovery`): a client whose
/// connection was lost for less than `max_disconnection_duration` gets its socket back (same
/// id, same rooms) and the events it missed. Give it to
/// [`Builder::connection_state_recovery`](crate::Builder::connection_state_recovery).
///
/// The bounds apply to each namespace. A client that missed more frames than half of
/// [`max_queued_packets`](crate::Builder::max_queued_packets) (512 by default; an event with
/// binary attachments counts one frame each) gets a fresh session: they are queued at once, and
/// a full queue closes the connection.
///
/// ```
/// use std::time::Duration;
/// use socketio::RecoveryOptions;
///
/// let options = RecoveryOptions {
///     max_disconnection_duration: Duration::from_secs(30),
///     ..RecoveryOptions::default()
/// };
/// let io = socketio::SocketIo::builder()
///     .connection_state_recovery(options)
///     .build()
///     .unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryOptions {
    /// How long a lost socket's session, and every packet emitted, is kept (socket.io's
    /// `maxDisconnectionDuration`, default 2 minutes).
    pub max_disconnection_duration: Duration,
    /// Whether a recovered socket skips the connect middlewares (socket.io's
    /// `skipMiddlewares`, default `true`). Its connect handler runs either way.
    pub skip_middlewares: bool,
    /// Packets kept at most (default 100,000); the oldest go first.
    pub max_packets: usize,
    /// Bytes of packets kept at most (default 64 MiB); the oldest go first.
    pub max_bytes: usize,
    /// Lost sessions kept at most (default 100,000); the oldest go first.
    pub max_sessions: usize,
}

impl Default for RecoveryOptions {
    fn default() -> Self {
        RecoveryOptions {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_packets: 100_000,
            max_bytes: 64 << 20,
            max_sessions: 100_000,
        }
    }
}

/// An adapter that keeps what recovery needs around another one, which keeps the rooms.
pub(crate) struct RecoveringAdapter {
    inner: Arc<dyn Adapter>,
    options: RecoveryOptions,
    /// Read by every broadcast from the moment its packet is kept until its last copy is
    /// queued; written by a restore while it collects the missed packets and makes the socket a
    /// member again. So a packet is either among the missed ones or delivered live, never both
    /// and never neither.
    gate: RwLock<()>,
    store: Mutex<Store>,
}

#[derive(Default)]
struct Store {
    /// The offset of the next kept packet.
    next: u64,
    packets: VecDeque<Kept>,
    /// The bytes of `packets`.
    bytes: usize,
    sessions: HashMap<Sid, Saved>,
    /// When each session was saved, oldest first (entries of sessions restored since stay until
    /// they reach the front).
    saved: VecDeque<(Instant, Sid)>,
}

/// A packet as broadcast, with its offset.
struct Kept {
    offset: u64,
    at: Instant,
    target: Target,
    /// `None` for a volatile packet: it has an offset, so that the client's last offset stays
    /// one of ours, but is not sent again.
    packet: Option<EncodedPacket>,
    size: usize,
}

struct Saved {
    session: PersistedSession,
    at: Instant,
}

/// What a kept packet costs beyond its bytes (offset, times, the deque slot).
const KEPT_OVERHEAD: usize = 64;

impl RecoveringAdapter {
    pub(crate) fn new(inner: Arc<dyn Adapter>, options: RecoveryOptions) -> Self {
        RecoveringAdapter {
            inner,
            options,
            gate: RwLock::new(()),
            store: Mutex::new(Store::default()),
        }
    }

    /// The packet with its offset, kept for recovery; `None` for a packet that takes none (not
    /// an event, or one with an acknowledgement id), which is sent as it is.
    fn keep(&self, packet: &EncodedPacket, target: &Target) -> Option<EncodedPacket> {
        let now = Instant::now();
        let mut store = self.store.lock();
        let offset = store.next;
        let stamped = packet::with_offset(packet, &offset.to_string())?;
        store.next += 1;
        let frames: usize = stamped.frames().iter().map(|f| f.len()).sum();
        let rooms: usize = target
            .rooms
            .iter()
            .chain(&target.except)
            .map(String::len)
            .sum();
        let kept = if stamped.is_volatile() {
            None
        } else {
            Some(stamped.clone())
        };
        let size = KEPT_OVERHEAD + rooms + kept.as_ref().map_or(0, |_| frames);
        store.bytes += size;
        store.packets.push_back(Kept {
            offset,
            at: now,
            target: target.clone(),
            packet: kept,
            size,
        });
        store.expire(now, &self.options);
        Some(stamped)
    }
}

impl Store {
    /// The offset of the oldest packet kept (`next` when none is).
    fn first_kept(&self) -> u64 {
        self.packets.front().map_or(self.next, |kept| kept.offset)
    }

    /// Drops the packets and sessions that are too old, or beyond the bounds.
    fn expire(&mut self, now: Instant, options: &RecoveryOptions) {
        let ttl = options.max_disconnection_duration;
        while let Some(front) = self.packets.front() {
            let over = self.packets.len() > options.max_packets || self.bytes > options.max_bytes;
            if !over && now.duration_since(front.at) < ttl {
                break;
            }
            self.bytes -= front.size;
            self.packets.pop_front();
        }
        while let Some(&(at, pid)) = self.saved.front() {
            if self.saved.len() <= options.max_sessions && now.duration_since(at) < ttl {
                break;
            }
            self.saved.pop_front();
            if self.sessions.get(&pid).is_some_and(|saved| saved.at == at) {
                self.sessions.remove(&pid);
            }
        }
    }

    /// Takes the session of `pid` with the packets it missed since `offset`, if every packet
    /// after `offset` is still kept.
    fn take(&mut self, pid: Sid, offset: &str) -> Option<(PersistedSession, Vec<EncodedPacket>)> {
        let offset: u64 = offset.parse().ok()?;
        let first = self.first_kept();
        if offset >= self.next || offset + 1 < first {
            return None;
        }
        let skip = usize::try_from(offset + 1 - first).ok()?;
        let session = self.sessions.remove(&pid)?.session;
        let missed = self
            .packets
            .iter()
            .skip(skip)
            .filter(|kept| reaches(&kept.target, &session))
            .filter_map(|kept| kept.packet.clone())
            .collect();
        Some((session, missed))
    }
}

/// Whether a broadcast to `target` reaches the socket of `session`, in its rooms.
fn reaches(target: &Target, session: &PersistedSession) -> bool {
    let in_any = |rooms: &[String]| session.rooms.iter().any(|room| rooms.contains(room));
    target.exclude != Some(session.sid)
        && !in_any(&target.except)
        && (target.rooms.is_empty() || in_any(&target.rooms))
}

impl Adapter for RecoveringAdapter {
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
    }

    fn broadcast(&self, packet: &EncodedPacket, target: &Target, local: &dyn LocalSockets) {
        let _gate = self.gate.read();
        match self.keep(packet, target) {
            Some(stamped) => self.inner.broadcast(&stamped, target, local),
            None => self.inner.broadcast(packet, target, local),
        }
    }

    fn attach(&self, local: Weak<dyn LocalSockets>) {
        self.inner.attach(local);
    }

    fn add_sockets(&self, target: &Target, rooms: &[String], local: &dyn LocalSockets) {
        self.inner.add_sockets(target, rooms, local);
    }

    fn del_sockets(&self, target: &Target, rooms: &[String], local: &dyn LocalSockets) {
        self.inner.del_sockets(target, rooms, local);
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

    fn persist_session(&self, session: PersistedSession) {
        let now = Instant::now();
        let mut store = self.store.lock();
        store.saved.push_back((now, session.pid));
        store
            .sessions
            .insert(session.pid, Saved { session, at: now });
        store.expire(now, &self.options);
    }

    fn restore_session(
        &self,
        pid: Sid,
        offset: &str,
        resume: &mut dyn FnMut(PersistedSession, Vec<EncodedPacket>),
    ) -> bool {
        let _gate = self.gate.write();
        let taken = {
            let mut store = self.store.lock();
            store.expire(Instant::now(), &self.options);
            store.take(pid, offset)
        };
        let Some((session, missed)) = taken else {
            return false;
        };
        resume(session, missed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::LocalAdapter;
    use crate::engineio::Frame;

    /// The sockets of a namespace where nobody is connected.
    struct Nobody;

    impl LocalSockets for Nobody {
        fn send_to(&self, _: Sid, _: &EncodedPacket) {}
        fn send_all(&self, _: &EncodedPacket, _: &dyn Fn(Sid) -> bool) {}
        fn contains(&self, _: Sid) -> bool {
            false
        }
        fn sids(&self) -> Vec<Sid> {
            Vec::new()
        }
        fn disconnect(&self, _: Sid) {}
        fn send_with_ack(&self, _: Sid, _: &EncodedPacket, _: Duration) -> Option<AckFuture> {
            None
        }
    }

    fn adapter(options: RecoveryOptions) -> RecoveringAdapter {
        RecoveringAdapter::new(Arc::new(LocalAdapter::new()), options)
    }

    fn text(packet: &EncodedPacket) -> String {
        match &packet.frames()[0] {
            Frame::Text(t) => t.as_str().to_owned(),
            Frame::Binary(_) => panic!("binary first frame"),
        }
    }

    fn emit(adapter: &RecoveringAdapter, data: &str, target: Target) {
        let packet = packet::event("/", "e", data, None).unwrap();
        adapter.broadcast(&packet, &target, &Nobody);
    }

    fn to(room: &str) -> Target {
        Target {
            rooms: vec![room.into()],
            ..Target::default()
        }
    }

    fn session(rooms: &[&str]) -> PersistedSession {
        let sid = Sid::random();
        let mut all = vec![sid.to_string()];
        all.extend(rooms.iter().map(|r| r.to_string()));
        PersistedSession {
            sid,
            pid: Sid::random(),
            rooms: all,
        }
    }

    /// The texts of the missed packets, or `None` when the restore fails.
    fn restore(adapter: &RecoveringAdapter, pid: Sid, offset: &str) -> Option<Vec<String>> {
        let mut got = None;
        let restored = adapter.restore_session(pid, offset, &mut |_, missed| {
            got = Some(missed.iter().map(text).collect());
        });
        assert_eq!(restored, got.is_some());
        got
    }

    #[test]
    fn missed_packets_are_those_after_the_offset_that_reach_the_rooms() {
        let adapter = adapter(RecoveryOptions::default());
        let saved = session(&["a"]);
        emit(&adapter, "0", Target::default());
        adapter.persist_session(saved.clone());
        emit(&adapter, "1", to("a"));
        emit(&adapter, "2", to("b"));
        emit(&adapter, "3", to(saved.sid.as_str()));
        emit(
            &adapter,
            "4",
            Target {
                exclude: Some(saved.sid),
                ..Target::default()
            },
        );
        emit(
            &adapter,
            "5",
            Target {
                except: vec!["a".into()],
                ..Target::default()
            },
        );
        let volatile = packet::event("/", "e", "6", None)
            .unwrap()
            .with_volatile(true);
        adapter.broadcast(&volatile, &Target::default(), &Nobody);
        emit(&adapter, "7", Target::default());
        assert_eq!(
            restore(&adapter, saved.pid, "0").unwrap(),
            [
                r#"42["e","1","1"]"#,
                r#"42["e","3","3"]"#,
                r#"42["e","7","7"]"#
            ]
        );
        assert_eq!(restore(&adapter, saved.pid, "0"), None, "taken");
    }

    #[test]
    fn unknown_pids_and_offsets_restore_nothing() {
        let adapter = adapter(RecoveryOptions::default());
        let saved = session(&[]);
        emit(&adapter, "0", Target::default());
        emit(&adapter, "1", Target::default());
        adapter.persist_session(saved.clone());
        for offset in ["2", "-1", "", "x", "18446744073709551615", "1.0", "１"] {
            assert_eq!(restore(&adapter, saved.pid, offset), None, "{offset:?}");
        }
        assert_eq!(restore(&adapter, Sid::random(), "0"), None);
        assert_eq!(restore(&adapter, saved.pid, "1"), Some(vec![]));
    }

    #[test]
    fn acknowledged_and_non_event_packets_take_no_offset() {
        let adapter = adapter(RecoveryOptions::default());
        let asked = packet::with_ack_id(&packet::event("/", "e", "x", None).unwrap(), 3).unwrap();
        assert!(adapter.keep(&asked, &Target::default()).is_none());
        assert!(adapter
            .keep(&packet::disconnect("/"), &Target::default())
            .is_none());
        assert_eq!(adapter.store.lock().next, 0);
    }

    #[test]
    fn packets_are_bounded_by_count_and_bytes() {
        let adapter = adapter(RecoveryOptions {
            max_packets: 3,
            ..RecoveryOptions::default()
        });
        let saved = session(&[]);
        adapter.persist_session(saved.clone());
        for i in 0..10 {
            emit(&adapter, &i.to_string(), Target::default());
        }
        assert_eq!(adapter.store.lock().packets.len(), 3);
        assert_eq!(restore(&adapter, saved.pid, "5"), None, "6 was dropped");
        assert_eq!(restore(&adapter, saved.pid, "6").map(|m| m.len()), Some(3));

        let adapter = self::adapter(RecoveryOptions {
            max_bytes: 1000,
            ..RecoveryOptions::default()
        });
        let big = "x".repeat(300);
        for _ in 0..10 {
            emit(&adapter, &big, Target::default());
        }
        let store = adapter.store.lock();
        assert!(
            store.bytes <= 1000 && store.packets.len() == 2,
            "{}",
            store.bytes
        );
    }

    #[test]
    fn sessions_are_bounded_by_count_and_age() {
        let adapter = adapter(RecoveryOptions {
            max_sessions: 2,
            ..RecoveryOptions::default()
        });
        emit(&adapter, "0", Target::default());
        let sessions: Vec<_> = (0..3).map(|_| session(&[])).collect();
        for s in &sessions {
            adapter.persist_session(s.clone());
        }
        assert_eq!(restore(&adapter, sessions[0].pid, "0"), None, "evicted");
        assert!(restore(&adapter, sessions[2].pid, "0").is_some());

        let adapter = self::adapter(RecoveryOptions {
            max_disconnection_duration: Duration::ZERO,
            ..RecoveryOptions::default()
        });
        let saved = session(&[]);
        adapter.persist_session(saved.clone());
        assert_eq!(restore(&adapter, saved.pid, "0"), None, "expired");
        assert!(adapter.store.lock().sessions.is_empty());
    }
}
