//! Dispatch: connections, namespaces and sockets.
//!
//! The [`Dispatcher`] is the engine's handler: it decodes each connection's packets and routes
//! them to the namespace [`Socket`]s of that connection. A [`Namespace`] keeps its sockets and
//! its adapter, and calls its handlers through the [`NamespaceHandlers`] contract, which the
//! handler layer above implements. [`BroadcastOperator`] reaches many sockets through the
//! adapter.

mod backlog;
mod connection;
mod limits;
#[cfg(feature = "msgpack")]
mod msgpack;
mod namespace;
mod namespaces;
mod observer;
mod operator;
mod recovery;
mod remote;
mod router;
mod run;
mod server_core;
mod socket;

pub(crate) use limits::RateLimit;
pub use limits::RateLimitPolicy;
pub(crate) use namespace::{Namespace, NamespaceHandlers};
pub(crate) use namespaces::{NamespaceTable, Pattern};
pub(crate) use observer::{observe, Observer};
pub use operator::BroadcastOperator;
pub use remote::RemoteSocket;
pub(crate) use router::Dispatcher;
pub use run::BoxFuture;
pub(crate) use run::{run_now, spawn_pending};
pub(crate) use server_core::{Config, ServerCore};
pub(crate) use socket::Connection;
pub use socket::Socket;
