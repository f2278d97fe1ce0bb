//! Connection state recovery kept in memory: `Recovery`, which the adapter a server with
//! [`Builder::connection_state_recovery`](crate::Builder::connection_state_recovery) wraps
//! around its own uses (socket.io's `SessionAwareAdapter`), and so does the message-queue
//! adapter, across processes.
//!
//! Every event packet broadcast gets an offset, a per-namespace counter appended as its last
//! argument (prefixed with the server's bus id, `<uid>-<n>`, with a message queue), and is kept
//! for `max_disconnection_duration`, with the packets other servers stamped. A socket whose
//! connection was lost is saved as a [`PersistedSession`] with what another server needs to
//! restore it (`LostSession`); when its client comes back with the private id and the last
//! offset it received, the session is taken and the packets it missed that reach its rooms are
//! handed to the namespace to send again (see `Store::missed`).
//!
//! Everything a peer can grow is bounded: packets by age, count and bytes, sessions by age,
//! count and bytes, the servers known by their offsets by count. Expired entries go on the next operation of the namespace (there is no timer).

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
/// The bounds apply to each namespace (with a message queue, each server keeps the broadcasts
/// of every server of the cluster within them). A client that missed more frames than half of
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
    /// Bytes of packets kept at most (default 64 MiB), and, separately, bytes of lost sessions
    /// kept at most; the oldest go first.
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

/// What connection state recovery keeps for one namespace of this process: the broadcasts it
/// delivered, each with its offset, and the sessions of lost sockets, behind one gate. The
/// in-memory [`RecoveringAdapter`] uses it alone; the message-queue adapter stamps its own
/// broadcasts, keeps those of the other processes with their offsets, and shares the sessions
/// it saves (see [`LostSession`]).
pub(crate) struct Recovery {
    options: RecoveryOptions,
    /// The process that stamps this one's broadcasts (the message queue's uid; empty without
    /// a message queue, which keeps offsets plain counters).
    origin: Arc<str>,
    /// Read by every broadcast from the moment its packet is kept until its last copy is
    /// queued; written by a restore while it collects the missed packets and makes the socket a
    /// member again. So a packet is either among the missed ones or delivered live, never both
    /// and never neither.
    gate: RwLock<()>,
    store: Mutex<Store>,
}

/// A lost socket's session as the process that held the socket saved it, with what another
/// process needs to tell which packets the client missed: the last offset it had seen of each
/// process, and the offsets of the last packets that reached the socket, in the order it
/// delivered them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LostSession {
    pub(crate) session: PersistedSession,
    /// The last offset number seen from each process (`frontier`): every packet of that
    /// process numbered up to it was seen before the socket was lost (a process publishes its
    /// packets in order, and the message queue delivers one publisher's messages in order).
    pub(crate) frontier: Vec<(String, u64)>,
    /// The last packets (at most [`MAX_TAIL`]) that reached the socket, oldest first, by
    /// process and number.
    pub(crate) tail: Vec<(String, u64)>,
    /// Whether `tail` holds every packet kept that reached the socket (the scan went through
    /// all of them).
    pub(crate) whole: bool,
}

/// At most this many packets in a [`LostSession`]'s tail: a client that missed more packets
/// before its disconnection was noticed gets a fresh session (the namespace refuses more than
/// half of `max_queued_packets` frames anyway, 512 by default).
pub(crate) const MAX_TAIL: usize = 1024;
/// A session's tail is looked for among this many of the last packets kept (a persist runs for
/// each lost socket, possibly thousands at once when a server shuts down).
const TAIL_SCAN: usize = 16_384;
/// At most this many processes are known by their offsets (as many as the message queue
/// counts servers); packets of more are delivered without being kept.
pub(crate) const MAX_ORIGINS: usize = 4096;

#[derive(Default)]
struct Store {
    /// The number of this process's next packet.
    next: u64,
    packets: VecDeque<Kept>,
    /// The bytes of `packets`.
    bytes: usize,
    /// What was seen of each process that stamps packets, this one included.
    origins: HashMap<Arc<str>, Seen>,
    sessions: HashMap<Sid, Saved>,
    /// When each session was saved, oldest first (entries of sessions restored since stay until
    /// they reach the front).
    saved: VecDeque<(Instant, Sid)>,
    /// The bytes of `sessions`.
    session_bytes: usize,
}

/// What was seen of one process's packets.
struct Seen {
    /// The highest number seen.
    last: u64,
    /// The highest number dropped from the kept packets (too old, or beyond the bounds).
    dropped: Option<u64>,
    /// Packets kept from it.
    kept: usize,
    /// When the last one was seen.
    at: Instant,
}

/// A packet as broadcast, with its offset.
struct Kept {
    origin: Arc<str>,
    seq: u64,
    at: Instant,
    target: Target,
    /// `None` for a volatile packet: it has an offset, so that the client's last offset stays
    /// one of ours, but is not sent again.
    packet: Option<EncodedPacket>,
    size: usize,
}

struct Saved {
    lost: LostSession,
    /// Saved by this process, whose kept packets are in the order it delivered them.
    local: bool,
    at: Instant,
    size: usize,
}

/// What a kept packet or session costs beyond its bytes (offset, times, the deque slot).
const KEPT_OVERHEAD: usize = 64;

/// The offset string of packet `seq` stamped by `origin`: the number alone for a process
/// without message queue (socket.io's counter), `<uid>-<number>` with one.
fn offset_text(origin: &str, seq: u64) -> String {
    if origin.is_empty() {
        seq.to_string()
    } else {
        format!("{origin}-{seq}")
    }
}

/// The process and number an offset string names (untrusted: the client sends it back).
fn parse_offset(offset: &str) -> Option<(&str, u64)> {
    let (origin, seq) = match offset.rsplit_once('-') {
        Some(("", _)) => return None,
        Some(split) => split,
        None => ("", offset),
    };
    if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((origin, seq.parse().ok()?))
}

impl Recovery {
    /// The recovery of one namespace, whose broadcasts `origin` stamps.
    pub(crate) fn new(options: RecoveryOptions, origin: &str) -> Self {
        Recovery {
            options,
            origin: origin.into(),
            gate: RwLock::new(()),
            store: Mutex::new(Store::default()),
        }
    }

    /// A broadcast of this process: stamps `packet` with the next offset and keeps it, calls
    /// `publish` with the stamped packet and its number while no other packet can be stamped
    /// (so the other processes receive them in order), then `deliver`. A packet that takes no
    /// offset (not an event, or one with an acknowledgement id) goes to both as it is, with no
    /// number.
    pub(crate) fn broadcast(
        &self,
        packet: &EncodedPacket,
        target: &Target,
        publish: impl FnOnce(&EncodedPacket, Option<u64>),
        deliver: impl FnOnce(&EncodedPacket),
    ) {
        let _gate = self.gate.read();
        let stamped = {
            let mut store = self.store.lock();
            let seq = store.next;
            match packet::with_offset(packet, &offset_text(&self.origin, seq)) {
                Some(stamped) => {
                    store.next += 1;
                    store.keep(&self.origin, seq, &stamped, target, &self.options);
                    publish(&stamped, Some(seq));
                    Some(stamped)
                }
                None => {
                    publish(packet, None);
                    None
                }
            }
        };
        deliver(stamped.as_ref().unwrap_or(packet));
    }

    /// A broadcast of the process `origin`, stamped there with number `seq`: keeps it, then
    /// `deliver`s it.
    pub(crate) fn broadcast_from(
        &self,
        origin: &str,
        seq: u64,
        packet: &EncodedPacket,
        target: &Target,
        deliver: impl FnOnce(),
    ) {
        let _gate = self.gate.read();
        self.store
            .lock()
            .keep(origin, seq, packet, target, &self.options);
        deliver();
    }

    /// Saves the session of a socket whose connection was lost, and returns it as the other
    /// processes need it.
    pub(crate) fn persist(&self, session: PersistedSession) -> LostSession {
        let mut store = self.store.lock();
        let lost = store.describe(session);
        store.save(lost.clone(), true, &self.options);
        lost
    }

    /// Saves a session another process lost.
    pub(crate) fn keep_lost(&self, lost: LostSession) {
        self.store.lock().save(lost, false, &self.options);
    }

    /// Forgets the session of `pid` (another process restored it).
    pub(crate) fn forget(&self, pid: Sid) {
        self.store.lock().remove_session(pid);
    }

    /// [`Adapter::restore_session`], on what this process kept.
    pub(crate) fn restore(
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

impl Store {
    /// Keeps packet `seq` of `origin`, already stamped.
    fn keep(
        &mut self,
        origin: &str,
        seq: u64,
        stamped: &EncodedPacket,
        target: &Target,
        options: &RecoveryOptions,
    ) {
        let now = Instant::now();
        let origin = match self.origins.get_key_value(origin) {
            Some((name, _)) => name.clone(),
            None if self.origins.len() >= MAX_ORIGINS => {
                self.expire(now, options);
                if self.origins.len() >= MAX_ORIGINS {
                    return;
                }
                Arc::from(origin)
            }
            None => Arc::from(origin),
        };
        let seen = self.origins.entry(origin.clone()).or_insert(Seen {
            last: seq,
            dropped: None,
            kept: 0,
            at: now,
        });
        seen.last = seen.last.max(seq);
        seen.kept += 1;
        seen.at = now;
        let frames: usize = stamped.frames().iter().map(|f| f.len()).sum();
        let rooms: usize = target
            .rooms
            .iter()
            .chain(&target.except)
            .map(String::len)
            .sum();
        let kept = (!stamped.is_volatile()).then(|| stamped.clone());
        let size = KEPT_OVERHEAD + rooms + kept.as_ref().map_or(0, |_| frames);
        self.bytes += size;
        self.packets.push_back(Kept {
            origin,
            seq,
            at: now,
            target: target.clone(),
            packet: kept,
            size,
        });
        self.expire(now, options);
    }

    /// Drops the packets and sessions that are too old, or beyond the bounds, and the
    /// processes of which nothing is kept any more and nothing was seen for as long.
    fn expire(&mut self, now: Instant, options: &RecoveryOptions) {
        let ttl = options.max_disconnection_duration;
        while let Some(front) = self.packets.front() {
            let over = self.packets.len() > options.max_packets || self.bytes > options.max_bytes;
            if !over && now.duration_since(front.at) < ttl {
                break;
            }
            self.bytes -= front.size;
            if let Some(seen) = self.origins.get_mut(&front.origin) {
                seen.kept -= 1;
                seen.dropped = Some(seen.dropped.map_or(front.seq, |d| d.max(front.seq)));
            }
            self.packets.pop_front();
        }
        self.origins
            .retain(|_, seen| seen.kept > 0 || now.duration_since(seen.at) < ttl);
        while let Some(&(at, pid)) = self.saved.front() {
            if self.saved.len() <= options.max_sessions
                && self.session_bytes <= options.max_bytes
                && now.duration_since(at) < ttl
            {
                break;
            }
            self.saved.pop_front();
            if self.sessions.get(&pid).is_some_and(|saved| saved.at == at) {
                self.remove_session(pid);
            }
        }
    }

    fn remove_session(&mut self, pid: Sid) -> Option<LostSession> {
        let saved = self.sessions.remove(&pid)?;
        self.session_bytes -= saved.size;
        Some(saved.lost)
    }

    /// `session` with this process's frontier and the tail of the packets that reached it.
    fn describe(&self, session: PersistedSession) -> LostSession {
        let frontier = self
            .origins
            .iter()
            .map(|(origin, seen)| (origin.to_string(), seen.last))
            .collect();
        let mut tail = Vec::new();
        let mut scanned = 0;
        for kept in self.packets.iter().rev() {
            if tail.len() == MAX_TAIL || scanned == TAIL_SCAN {
                break;
            }
            scanned += 1;
            if reaches(&kept.target, &session) {
                tail.push((kept.origin.to_string(), kept.seq));
            }
        }
        tail.reverse();
        LostSession {
            whole: scanned == self.packets.len(),
            session,
            frontier,
            tail,
        }
    }

    fn save(&mut self, lost: LostSession, local: bool, options: &RecoveryOptions) {
        let now = Instant::now();
        let ids = |ids: &[(String, u64)]| -> usize { ids.iter().map(|(o, _)| o.len() + 16).sum() };
        let size = KEPT_OVERHEAD
            + lost.session.rooms.iter().map(String::len).sum::<usize>()
            + ids(&lost.frontier)
            + ids(&lost.tail);
        let pid = lost.session.pid;
        self.remove_session(pid);
        self.saved.push_back((now, pid));
        self.session_bytes += size;
        self.sessions.insert(
            pid,
            Saved {
                lost,
                local,
                at: now,
                size,
            },
        );
        self.expire(now, options);
    }

    /// Takes the session of `pid` with the packets it missed since `offset`, if every one of
    /// them is still kept here (see `Store::missed`).
    fn take(&mut self, pid: Sid, offset: &str) -> Option<(PersistedSession, Vec<EncodedPacket>)> {
        let saved = self.sessions.get(&pid)?;
        let missed = self.missed(&saved.lost, saved.local, offset)?;
        let lost = self.remove_session(pid)?;
        Some((lost.session, missed))
    }

    /// The packets the client of `lost` missed after the one numbered `offset`, in order:
    ///
    /// 1. those of the tail after `offset` (delivered to the socket, or queued for it, after
    ///    the last one the client received), in the order the holding process delivered them
    ///    (when this process is that one, `local`, those it kept after `offset` when the tail
    ///    does not hold `offset`);
    /// 2. then those numbered beyond the frontier (the holding process had not seen them when
    ///    the socket was lost), in the order this process received them.
    ///
    /// `None` when that cannot be told exactly: `offset` is not one of the tail's (and the
    /// session is not `local` nor its tail whole, or `offset` is not kept here), a packet of the tail is not kept here, one
    /// beyond the frontier was dropped, or this process has not yet seen every packet the
    /// holding process had.
    fn missed(&self, lost: &LostSession, local: bool, offset: &str) -> Option<Vec<EncodedPacket>> {
        let (origin, seq) = parse_offset(offset)?;
        let frontier: HashMap<&str, u64> = lost
            .frontier
            .iter()
            .map(|(origin, last)| (origin.as_str(), *last))
            .collect();
        let before = |o: &str, s: u64| frontier.get(o).is_some_and(|last| s <= *last);
        if !before(origin, seq) {
            return None;
        }
        for (o, last) in &frontier {
            if self.origins.get(*o).is_none_or(|seen| seen.last < *last) {
                return None; // this process is behind the one that held the socket
            }
        }
        for (o, seen) in &self.origins {
            if seen.dropped.is_some_and(|d| !before(o, d)) {
                return None; // a packet it had not seen was dropped here
            }
        }
        // Where each packet of the tail (and the client's last one) is among those kept here.
        let mut at: HashMap<(&str, u64), usize> = lost
            .tail
            .iter()
            .map(|(o, s)| ((o.as_str(), *s), usize::MAX))
            .collect();
        at.insert((origin, seq), usize::MAX);
        for (i, kept) in self.packets.iter().enumerate() {
            if let Some(slot) = at.get_mut(&(&*kept.origin, kept.seq)) {
                *slot = i;
            }
        }
        let found = |id: &(&str, u64)| at.get(id).copied().filter(|&i| i != usize::MAX);
        let tail: Vec<(&str, u64)> = lost.tail.iter().map(|(o, s)| (o.as_str(), *s)).collect();
        let after: Vec<usize> = match tail.iter().position(|id| *id == (origin, seq)) {
            Some(i) => tail[i + 1..].iter().map(found).collect::<Option<_>>()?,
            None if local => {
                // What followed it here, and had been seen when the socket was lost.
                let last = found(&(origin, seq))?;
                (last + 1..self.packets.len())
                    .filter(|&i| {
                        self.packets
                            .get(i)
                            .is_some_and(|kept| before(&kept.origin, kept.seq))
                    })
                    .collect()
            }
            None if lost.whole => {
                // The client's last packet no longer reaches the socket's rooms (it left one
                // since): what follows it here, of the tail.
                let last = found(&(origin, seq))?;
                tail.iter()
                    .map(found)
                    .collect::<Option<Vec<_>>>()?
                    .into_iter()
                    .filter(|&i| i > last)
                    .collect()
            }
            None => return None,
        };
        let session = &lost.session;
        let resend = |kept: &Kept| {
            reaches(&kept.target, session)
                .then(|| kept.packet.clone())
                .flatten()
        };
        let mut missed: Vec<EncodedPacket> = after
            .into_iter()
            .filter_map(|i| self.packets.get(i).and_then(resend))
            .collect();
        missed.extend(
            self.packets
                .iter()
                .filter(|kept| !before(&kept.origin, kept.seq))
                .filter_map(resend),
        );
        Some(missed)
    }
}

/// Whether a broadcast to `target` reaches the socket of `session`, in its rooms.
fn reaches(target: &Target, session: &PersistedSession) -> bool {
    let in_any = |rooms: &[String]| session.rooms.iter().any(|room| rooms.contains(room));
    target.exclude != Some(session.sid)
        && !in_any(&target.except)
        && (target.rooms.is_empty() || in_any(&target.rooms))
}

/// An adapter that keeps what recovery needs around another one, which keeps the rooms: the
/// recovery of a server without message queue.
pub(crate) struct RecoveringAdapter {
    inner: Arc<dyn Adapter>,
    recovery: Recovery,
}

impl RecoveringAdapter {
    pub(crate) fn new(inner: Arc<dyn Adapter>, options: RecoveryOptions) -> Self {
        RecoveringAdapter {
            inner,
            recovery: Recovery::new(options, ""),
        }
    }
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
        self.recovery.broadcast(
            packet,
            target,
            |_, _| {},
            |packet| self.inner.broadcast(packet, target, local),
        );
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
        self.recovery.persist(session);
    }

    fn restore_session(
        &self,
        pid: Sid,
        offset: &str,
        resume: &mut dyn FnMut(PersistedSession, Vec<EncodedPacket>),
    ) -> bool {
        self.recovery.restore(pid, offset, resume)
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
        adapter.broadcast(&asked, &Target::default(), &Nobody);
        adapter.broadcast(&packet::disconnect("/"), &Target::default(), &Nobody);
        let store = adapter.recovery.store.lock();
        assert_eq!((store.next, store.packets.len()), (0, 0));
    }

    #[test]
    fn packets_are_bounded_by_count_and_bytes() {
        let adapter = adapter(RecoveryOptions {
            max_packets: 3,
            ..RecoveryOptions::default()
        });
        for i in 0..5 {
            emit(&adapter, &i.to_string(), Target::default());
        }
        let saved = session(&[]);
        adapter.persist_session(saved.clone());
        emit(&adapter, "5", Target::default());
        emit(&adapter, "6", Target::default());
        assert_eq!(adapter.recovery.store.lock().packets.len(), 3);
        assert_eq!(restore(&adapter, saved.pid, "2"), None, "3 was dropped");
        assert_eq!(
            restore(&adapter, saved.pid, "3").unwrap(),
            [
                r#"42["e","4","4"]"#,
                r#"42["e","5","5"]"#,
                r#"42["e","6","6"]"#
            ]
        );

        let adapter = self::adapter(RecoveryOptions {
            max_packets: 3,
            ..RecoveryOptions::default()
        });
        emit(&adapter, "0", Target::default());
        let saved = session(&[]);
        adapter.persist_session(saved.clone());
        for i in 1..5 {
            emit(&adapter, &i.to_string(), Target::default());
        }
        assert_eq!(
            restore(&adapter, saved.pid, "0"),
            None,
            "1 was missed and dropped"
        );

        let adapter = self::adapter(RecoveryOptions {
            max_bytes: 1000,
            ..RecoveryOptions::default()
        });
        let big = "x".repeat(300);
        for _ in 0..10 {
            emit(&adapter, &big, Target::default());
        }
        let store = adapter.recovery.store.lock();
        assert!(
            store.bytes <= 1000 && store.packets.len() == 2,
            "{}",
            store.bytes
        );
    }

    /// Two processes of a cluster: what `a` delivers and publishes, `b` keeps with the same
    /// offsets.
    struct Cluster {
        a: Recovery,
        b: Recovery,
    }

    impl Cluster {
        fn new() -> Self {
            Cluster {
                a: Recovery::new(RecoveryOptions::default(), "a1"),
                b: Recovery::new(RecoveryOptions::default(), "b2"),
            }
        }

        /// `from` broadcasts `data` to `target`; `to` receives it (in the order of the calls).
        fn emit(from: &Recovery, to: &[&Recovery], data: &str, target: Target) -> String {
            let packet = packet::event("/", "e", data, None).unwrap();
            let mut published = None;
            from.broadcast(
                &packet,
                &target,
                |stamped, seq| published = Some((stamped.clone(), seq.unwrap())),
                |_| {},
            );
            let (stamped, seq) = published.unwrap();
            for other in to {
                other.broadcast_from(&from.origin, seq, &stamped, &target, || {});
            }
            offset_text(&from.origin, seq)
        }
    }

    fn restore_on(recovery: &Recovery, pid: Sid, offset: &str) -> Option<Vec<String>> {
        let mut got = None;
        recovery.restore(pid, offset, &mut |_, missed| {
            got = Some(missed.iter().map(text).collect());
        });
        got
    }

    #[test]
    fn another_process_restores_what_the_client_missed_in_order_once() {
        let Cluster { a, b } = Cluster::new();
        let saved = session(&["room"]);
        // The client got "a0", "b0" and "b1" from `a`; "a1" was queued for it when it was lost.
        let last = Cluster::emit(&a, &[&b], "a0", to("room"));
        assert_eq!(last, "a1-0");
        Cluster::emit(&b, &[&a], "b0", to("room"));
        let last = Cluster::emit(&b, &[&a], "b1", to("room"));
        Cluster::emit(&a, &[&b], "a1", to("room"));
        Cluster::emit(&a, &[&b], "other", to("elsewhere"));
        // `b` emitted "b2" before `a`'s next message reached it: `a` had not seen it.
        Cluster::emit(&b, &[], "b2", to("room"));
        let lost = a.persist(saved.clone());
        assert_eq!(lost.frontier.len(), 2);
        b.keep_lost(lost);
        Cluster::emit(&b, &[&a], "b3", to("room"));
        Cluster::emit(&a, &[&b], "a2", Target::default());
        assert_eq!(
            restore_on(&b, saved.pid, &last).unwrap(),
            [
                r#"42["e","a1","a1-1"]"#,
                r#"42["e","b2","b2-2"]"#,
                r#"42["e","b3","b2-3"]"#,
                r#"42["e","a2","a1-3"]"#
            ]
        );
        assert_eq!(restore_on(&b, saved.pid, &last), None, "taken");
    }

    #[test]
    fn another_process_refuses_what_it_cannot_tell() {
        let Cluster { a, b } = Cluster::new();
        let saved = session(&[]);
        let first = Cluster::emit(&a, &[&b], "0", Target::default());
        let last = Cluster::emit(&a, &[], "1", Target::default());
        b.keep_lost(a.persist(saved.clone()));
        for offset in [
            last.as_str(),  // `b` never got it: it is behind `a`
            first.as_str(), // and so the missed "1" is unknown here
            "a1-9",         // never stamped
            "b2-0",         // neither
            "0",            // a number alone is a server's without message queue
            "-0",
            "a1-",
            "a1-+0",
        ] {
            assert_eq!(restore_on(&b, saved.pid, offset), None, "{offset:?}");
        }
        // Once `b` got "1", `a`'s session can be restored there.
        let Cluster { a, b } = Cluster::new();
        let last = Cluster::emit(&a, &[&b], "0", Target::default());
        b.keep_lost(a.persist(saved.clone()));
        assert_eq!(restore_on(&b, saved.pid, &last), Some(vec![]));
        assert_eq!(restore_on(&b, Sid::random(), &last), None, "unknown pid");
    }

    #[test]
    fn a_busy_namespace_restores_on_the_same_process_and_refuses_on_another() {
        let Cluster { a, b } = Cluster::new();
        let saved = session(&["a"]);
        let last = Cluster::emit(&a, &[&b], "mine", to("a"));
        // More packets to another room than the holder scans for the tail.
        for i in 0..TAIL_SCAN {
            Cluster::emit(&a, &[&b], &i.to_string(), to("b"));
        }
        let lost = a.persist(saved.clone());
        assert!(!lost.whole && lost.tail.is_empty());
        b.keep_lost(lost);
        Cluster::emit(&a, &[&b], "missed", to("a"));
        assert_eq!(restore_on(&b, saved.pid, &last), None, "b cannot tell");
        assert_eq!(
            restore_on(&a, saved.pid, &last).unwrap(),
            [format!(r#"42["e","missed","a1-{}"]"#, TAIL_SCAN + 1)]
        );
    }

    #[test]
    fn a_client_that_left_the_room_of_its_last_packet_is_restored_after_it() {
        let Cluster { a, b } = Cluster::new();
        let last = Cluster::emit(&a, &[&b], "left", to("gone"));
        Cluster::emit(&a, &[&b], "missed", Target::default());
        let saved = session(&[]);
        b.keep_lost(a.persist(saved.clone()));
        assert_eq!(
            restore_on(&b, saved.pid, &last).unwrap(),
            [r#"42["e","missed","a1-1"]"#]
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
        assert!(adapter.recovery.store.lock().sessions.is_empty());
    }
}
