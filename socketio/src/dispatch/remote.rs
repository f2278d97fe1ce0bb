//! [`RemoteSocket`]: a socket that `fetch_sockets` found, on this process or another.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::namespace::Namespace;
use super::operator::BroadcastOperator;
use crate::ack::AckFuture;
use crate::adapter::{SocketData, Target};
use crate::engineio::{Handshake, Sid};
use crate::error::EmitError;

/// A socket of the cluster as [`BroadcastOperator::fetch_sockets`] found it (socket.io's
/// `RemoteSocket`): its id, namespace, rooms and handshake as they were when its server
/// answered, and the operations that reach it wherever it is connected (through the message
/// queue when that is another process).
///
/// ```no_run
/// # async fn f(io: socketio::SocketIo) -> Result<(), socketio::EmitError> {
/// for socket in io.of("/chat").fetch_sockets().await? {
///     if socket.handshake().query("role").as_deref() == Some("admin") {
///         socket.join("admins");
///         socket.emit("promoted", &());
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteSocket {
    data: SocketData,
    ns: Arc<Namespace>,
}

impl RemoteSocket {
    pub(crate) fn new(data: SocketData, ns: Arc<Namespace>) -> Self {
        RemoteSocket { data, ns }
    }

    /// The socket id.
    pub fn id(&self) -> Sid {
        self.data.id
    }

    /// The namespace path.
    pub fn namespace(&self) -> &str {
        &self.data.namespace
    }

    /// The rooms it was in, its own room first.
    pub fn rooms(&self) -> &[String] {
        &self.data.rooms
    }

    /// The HTTP request that opened its connection: headers, URI with the query string, the
    /// peer's address (socket.io's `handshake.headers`, `.query`, `.url`).
    pub fn handshake(&self) -> &Handshake {
        &self.data.handshake
    }

    /// The client's address as its server sees it, after that server's trusted proxies
    /// (socket.io's `handshake.address`).
    pub fn client_addr(&self) -> Option<IpAddr> {
        self.data.address
    }

    /// The `auth` payload the client sent when it connected (socket.io's `handshake.auth`).
    pub fn auth(&self) -> Option<&Value> {
        self.data.auth.as_ref()
    }

    /// Whether it is connected to this process.
    pub fn is_local(&self) -> bool {
        self.ns.socket(self.data.id).is_some()
    }

    /// This socket alone, as a broadcast target.
    fn operator(&self) -> BroadcastOperator {
        BroadcastOperator::new(
            self.ns.clone(),
            Target {
                rooms: vec![self.data.id.to_string()],
                ..Target::default()
            },
        )
    }

    /// Sends `event` to it (a failure is logged).
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) {
        self.operator().emit(event, data);
    }

    /// Sends `event` to it, or says why it could not.
    pub fn try_emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.operator().try_emit(event, data)
    }

    /// Sends `event` and waits at most `timeout` for its acknowledgement (from another process
    /// through the message queue).
    pub fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
        timeout: Duration,
    ) -> AckFuture {
        self.operator().timeout(timeout).emit_with_ack(event, data)
    }

    /// Makes it join `room` (socket.io's `socket.join` on a remote socket).
    pub fn join(&self, room: impl Into<String>) {
        self.operator().join(room);
    }

    /// Makes it leave `room`.
    pub fn leave(&self, room: impl Into<String>) {
        self.operator().leave(room);
    }

    /// Disconnects it from its namespace.
    pub fn disconnect(&self) {
        self.operator().disconnect();
    }
}

impl std::fmt::Debug for RemoteSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSocket")
            .field("id", &self.data.id)
            .field("namespace", &self.data.namespace)
            .field("rooms", &self.data.rooms)
            .finish_non_exhaustive()
    }
}
