//! Room membership and broadcast delivery, behind an object-safe trait so a message-queue
//! adapter (Redis) can stand in for the in-memory one.

mod local;

pub use local::LocalAdapter;

use crate::engineio::Frame;
use crate::Sid;

/// One encoded packet (its text frame and any binary attachments), shared by every recipient:
/// cloning it clones reference counts, never bytes.
#[derive(Debug, Clone, Default)]
pub struct EncodedPacket {
    pub(crate) frames: Vec<Frame>,
}

impl EncodedPacket {
    /// The frames, text first, attachments after.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }
}

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

/// The sockets of one namespace on this process, as the adapter sees them.
pub trait LocalSockets: Send + Sync {
    /// Queues `packet` for the socket `sid`, if it is connected here.
    fn send_to(&self, sid: Sid, packet: &EncodedPacket);
    /// Queues `packet` for every connected socket for which `skip` is false.
    fn send_all(&self, packet: &EncodedPacket, skip: &dyn Fn(Sid) -> bool);
    /// Whether `sid` is a socket connected here.
    fn contains(&self, sid: Sid) -> bool;
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
}
