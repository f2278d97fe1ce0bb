//! [`BroadcastOperator`]: emits to many sockets at once.

use std::sync::Arc;

use serde::Serialize;

use crate::adapter::Target;
use crate::error::EmitError;
use crate::namespace::Namespace;
use crate::{encode, Socket};

/// A broadcast under construction: pick rooms with [`to`](Self::to), leave some out with
/// [`except`](Self::except), then [`emit`](Self::emit). The packet is encoded once and every
/// recipient's queue shares its bytes.
///
/// ```no_run
/// # fn f(io: socketio::SocketIo) -> Result<(), socketio::EmitError> {
/// io.to("room1").to("room2").except("muted").emit("news", "hello")?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "a broadcast does nothing until `emit` is called"]
pub struct BroadcastOperator {
    ns: Result<Arc<Namespace>, String>,
    target: Target,
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<Namespace>, target: Target) -> Self {
        BroadcastOperator { ns: Ok(ns), target }
    }

    pub(crate) fn unknown(namespace: &str) -> Self {
        BroadcastOperator {
            ns: Err(namespace.to_owned()),
            target: Target::default(),
        }
    }

    /// Adds `room` to the recipients (several `to` calls make a union).
    pub fn to(mut self, room: impl Into<String>) -> Self {
        self.target.rooms.push(room.into());
        self
    }

    /// Leaves out the members of `room`.
    pub fn except(mut self, room: impl Into<String>) -> Self {
        self.target.except.push(room.into());
        self
    }

    fn namespace(&self) -> Result<&Arc<Namespace>, EmitError> {
        self.ns
            .as_ref()
            .map_err(|ns| EmitError::UnknownNamespace(ns.clone()))
    }

    /// Sends `event` with `data` to every selected socket.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        let ns = self.namespace()?;
        let packet = encode::event(&ns.path, event, data, None)?;
        ns.adapter.broadcast(&packet, &self.target, &**ns);
        Ok(())
    }

    /// Sends a `message` event to every selected socket.
    pub fn send<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        self.emit("message", data)
    }

    /// The selected sockets connected to this process.
    pub fn sockets(&self) -> Vec<Socket> {
        let Ok(ns) = self.namespace() else {
            return Vec::new();
        };
        ns.select(&self.target)
    }

    /// Disconnects every selected socket.
    pub fn disconnect(&self) {
        for socket in self.sockets() {
            socket.disconnect();
        }
    }
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}
