//! Events between the servers of a cluster (socket.io's `serverSideEmit`): what a handler
//! registered with [`Builder::on_server_event`](crate::Builder::on_server_event) receives, and
//! the contract through which the bus runs those handlers (the server layer implements it).

use serde::de::DeserializeOwned;

use super::backend::BoxFut;
use crate::args::Args;

/// An event another server of the cluster sent with
/// [`SocketIo::server_side_emit`](crate::SocketIo::server_side_emit): its name, its
/// arguments, and the sending server's uid.
///
/// ```
/// use socketio::{queue::ServerEvent, SocketIo};
///
/// async fn reload(io: SocketIo, event: ServerEvent) -> usize {
///     let what: String = event.data().unwrap_or_default();
///     println!("server {} asks to reload {what}", event.from_server());
///     io.sockets("/").len()                         // the acknowledgement, if one was asked for
/// }
/// ```
#[derive(Debug, Clone)]
pub struct ServerEvent {
    event: String,
    args: Args,
    from: String,
}

impl ServerEvent {
    pub(crate) fn new(event: String, args: Args, from: String) -> Self {
        ServerEvent { event, args, from }
    }

    /// The event name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The arguments, as sent.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The arguments deserialized as `T` (as [`Args::deserialize`]: one argument as itself,
    /// several as a tuple).
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.args.deserialize()
    }

    /// The uid of the server that sent it (see
    /// [`QueueStats::uid`](super::QueueStats::uid)).
    pub fn from_server(&self) -> &str {
        &self.from
    }
}

/// Runs the server-event handlers of one server.
pub(crate) trait ServerEvents: Send + Sync + 'static {
    /// Whether `event` has a handler.
    fn handles(&self, event: &str) -> bool;

    /// Runs the handler of the event; resolves to the acknowledgement's arguments, or to why
    /// there are none (the handler failed or panicked, the server is gone).
    fn handle(&self, event: ServerEvent) -> BoxFut<'static, Result<Args, String>>;
}
