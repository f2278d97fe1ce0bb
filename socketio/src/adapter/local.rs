//! The in-memory adapter: rooms of one process.

use std::collections::{HashMap, HashSet};
use std::sync::{RwLockReadGuard, RwLockWriteGuard};

use super::{Adapter, EncodedPacket, LocalSockets, Selection, Target};
use crate::engineio::Sid;
use crate::sync::RwLock;

/// Rooms kept in memory, for a server running as one process.
///
/// Two indexes behind one short-lived lock: room → members and socket → rooms. Broadcasting
/// copies the recipient list out of the lock before queueing anything.
#[derive(Debug, Default)]
pub struct LocalAdapter {
    index: RwLock<Index>,
}

#[derive(Debug, Default)]
struct Index {
    rooms: HashMap<String, HashSet<Sid>>,
    memberships: HashMap<Sid, HashSet<String>>,
}

impl LocalAdapter {
    /// An empty adapter.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read()
    }

    fn write(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write()
    }

    /// The sockets `target` selects.
    fn select(&self, target: &Target, local: &dyn LocalSockets) -> Selection {
        let index = self.index.read();
        target.resolve(
            |room, into| {
                if let Some(members) = index.rooms.get(room) {
                    into.extend(members.iter().copied());
                }
            },
            local,
        )
    }
}

impl Adapter for LocalAdapter {
    fn join(&self, sid: Sid, room: &str) {
        let mut index = self.write();
        index.rooms.entry(room.to_owned()).or_default().insert(sid);
        index
            .memberships
            .entry(sid)
            .or_default()
            .insert(room.to_owned());
    }

    fn leave(&self, sid: Sid, room: &str) {
        let mut index = self.write();
        if let Some(members) = index.rooms.get_mut(room) {
            members.remove(&sid);
            if members.is_empty() {
                index.rooms.remove(room);
            }
        }
        if let Some(rooms) = index.memberships.get_mut(&sid) {
            rooms.remove(room);
            if rooms.is_empty() {
                index.memberships.remove(&sid);
            }
        }
    }

    fn leave_all(&self, sid: Sid) {
        let mut index = self.write();
        let Some(rooms) = index.memberships.remove(&sid) else {
            return;
        };
        for room in rooms {
            if let Some(members) = index.rooms.get_mut(&room) {
                members.remove(&sid);
                if members.is_empty() {
                    index.rooms.remove(&room);
                }
            }
        }
    }

    fn rooms(&self, sid: Sid) -> Vec<String> {
        let mut rooms = vec![sid.to_string()];
        if let Some(joined) = self.read().memberships.get(&sid) {
            let mut joined: Vec<String> = joined.iter().cloned().collect();
            joined.sort();
            rooms.extend(joined);
        }
        rooms
    }

    fn members(&self, room: &str) -> Vec<Sid> {
        self.read()
            .rooms
            .get(room)
            .map(|members| members.iter().copied().collect())
            .unwrap_or_default()
    }

    fn close_room(&self, room: &str) {
        let mut index = self.write();
        let Some(members) = index.rooms.remove(room) else {
            return;
        };
        for sid in members {
            if let Some(rooms) = index.memberships.get_mut(&sid) {
                rooms.remove(room);
                if rooms.is_empty() {
                    index.memberships.remove(&sid);
                }
            }
        }
    }

    fn broadcast(&self, packet: &EncodedPacket, target: &Target, local: &dyn LocalSockets) {
        // One room, nothing excepted (`io.to(room).emit`): its members are the recipients,
        // copied out of the lock as they are, without the set that makes a union of rooms
        // (a hash and an insertion per member). A room named by a socket id may add that
        // socket, so it takes the general path.
        if let ([room], []) = (&target.rooms[..], &target.except[..]) {
            if room.parse::<Sid>().is_err() {
                let sids: Vec<Sid> = match self.read().rooms.get(room) {
                    Some(members) => members
                        .iter()
                        .copied()
                        .filter(|sid| Some(*sid) != target.exclude)
                        .collect(),
                    None => return,
                };
                local.send_to_each(&sids, packet);
                return;
            }
        }
        let selection = self.select(target, local);
        match &selection.rooms {
            None if selection.skips_none() => local.send_all(packet, &|_| false),
            None => local.send_all(packet, &|sid| selection.skips(sid)),
            Some(members) => {
                let sids: Vec<Sid> = members
                    .iter()
                    .copied()
                    .filter(|sid| !selection.skips(*sid))
                    .collect();
                local.send_to_each(&sids, packet);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder {
        connected: Vec<Sid>,
        got: Mutex<Vec<Sid>>,
    }

    impl LocalSockets for Recorder {
        fn send_to(&self, sid: Sid, _: &EncodedPacket) {
            self.got.lock().unwrap().push(sid);
        }
        fn send_all(&self, packet: &EncodedPacket, skip: &dyn Fn(Sid) -> bool) {
            for sid in &self.connected {
                if !skip(*sid) {
                    self.send_to(*sid, packet);
                }
            }
        }
        fn contains(&self, sid: Sid) -> bool {
            self.connected.contains(&sid)
        }
        fn sids(&self) -> Vec<Sid> {
            self.connected.clone()
        }
        fn disconnect(&self, _: Sid) {}
        fn send_with_ack(
            &self,
            _: Sid,
            _: &EncodedPacket,
            _: std::time::Duration,
        ) -> Option<crate::AckFuture> {
            None
        }
    }

    #[test]
    fn rooms_select_recipients_once_each() {
        let (a, b, c) = (Sid::random(), Sid::random(), Sid::random());
        let adapter = LocalAdapter::new();
        adapter.join(a, "x");
        adapter.join(b, "x");
        adapter.join(b, "y");
        let local = Recorder {
            connected: vec![a, b, c],
            ..Default::default()
        };
        let target = Target {
            rooms: vec!["x".into(), "y".into()],
            except: vec![],
            exclude: Some(a),
        };
        adapter.broadcast(&EncodedPacket::default(), &target, &local);
        assert_eq!(*local.got.lock().unwrap(), vec![b]);

        let x_but_a = Target {
            rooms: vec!["x".into()],
            except: vec![],
            exclude: Some(a),
        };
        local.got.lock().unwrap().clear();
        adapter.broadcast(&EncodedPacket::default(), &x_but_a, &local);
        assert_eq!(*local.got.lock().unwrap(), vec![b]);
        local.got.lock().unwrap().clear();
        adapter.broadcast(
            &EncodedPacket::default(),
            &Target {
                rooms: vec!["none".into()],
                ..Default::default()
            },
            &local,
        );
        assert!(local.got.lock().unwrap().is_empty());

        // A room named by a socket id: its members and that socket, once each.
        adapter.join(c, &b.to_string());
        adapter.join(b, &b.to_string());
        let by_id = Target {
            rooms: vec![b.to_string()],
            ..Default::default()
        };
        adapter.broadcast(&EncodedPacket::default(), &by_id, &local);
        let mut got = std::mem::take(&mut *local.got.lock().unwrap());
        got.sort_unstable();
        let mut want = vec![b, c];
        want.sort_unstable();
        assert_eq!(got, want);

        let everyone_but_y = Target {
            except: vec!["y".into()],
            ..Default::default()
        };
        local.got.lock().unwrap().clear();
        adapter.broadcast(&EncodedPacket::default(), &everyone_but_y, &local);
        assert_eq!(*local.got.lock().unwrap(), vec![a, c]);
    }

    #[test]
    fn default_cluster_operations_act_on_this_process() {
        let (a, b, c) = (Sid::random(), Sid::random(), Sid::random());
        let adapter = LocalAdapter::new();
        adapter.join(a, "x");
        adapter.join(b, "x");
        let local = Recorder {
            connected: vec![a, b, c],
            ..Default::default()
        };
        let room_but_b = Target {
            rooms: vec!["x".into()],
            except: vec![],
            exclude: Some(b),
        };
        assert_eq!(
            crate::adapter::select(&adapter, &room_but_b, &local),
            vec![a]
        );
        let outside_x = Target {
            except: vec!["x".into()],
            ..Default::default()
        };
        assert_eq!(
            crate::adapter::select(&adapter, &outside_x, &local),
            vec![c]
        );

        let just_c = Target {
            rooms: vec![c.to_string()],
            ..Default::default()
        };
        adapter.add_sockets(&just_c, &["y".into()], &local);
        assert_eq!(adapter.members("y"), vec![c]);
        adapter.del_sockets(&Target::default(), &["y".into(), "x".into()], &local);
        assert!(adapter.members("y").is_empty() && adapter.members("x").is_empty());
    }

    #[test]
    fn leaving_cleans_both_indexes() {
        let a = Sid::random();
        let adapter = LocalAdapter::new();
        adapter.join(a, "x");
        adapter.join(a, "y");
        assert_eq!(
            adapter.rooms(a),
            vec![a.to_string(), "x".into(), "y".into()]
        );
        adapter.close_room("x");
        assert_eq!(adapter.rooms(a), vec![a.to_string(), "y".into()]);
        adapter.leave_all(a);
        assert!(adapter.members("y").is_empty());
        assert!(adapter.read().memberships.is_empty());
    }
}
