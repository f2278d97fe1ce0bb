//! What cluster-wide requests gather: [`Replies`], and the description of a socket that
//! `fetch_sockets` returns ([`SocketData`]), whichever process holds it.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use serde_json::Value;

use crate::engineio::{Handshake, Sid};

/// A boxed future of what a cluster-wide request gathered.
pub type ClusterFuture<T> = Pin<Box<dyn Future<Output = Replies<T>> + Send + 'static>>;

/// What a cluster-wide request gathered by its timeout: the answers that arrived, in arrival
/// order, and how many expected ones did not (socket.io's `(err, responses)`).
///
/// It dereferences to the slice of answers and iterates over them; check
/// [`is_complete`](Self::is_complete) (or turn it into a `Result` with
/// [`complete`](Self::complete)) when a missing answer matters.
///
/// ```no_run
/// # async fn f(io: socketio::SocketIo) -> Result<(), Box<dyn std::error::Error>> {
/// let sockets = io.of("/chat").to("lobby").fetch_sockets().await?;
/// if !sockets.is_complete() {
///     eprintln!("{} servers did not answer in time", sockets.missing_servers());
/// }
/// for socket in &sockets {
///     println!("{} is in {:?}", socket.id(), socket.rooms());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Replies<T> {
    items: Vec<T>,
    missing_servers: usize,
    missing_acks: usize,
}

impl<T> Replies<T> {
    /// `items`, every expected answer in.
    pub(crate) fn complete_with(items: Vec<T>) -> Self {
        Replies {
            items,
            missing_servers: 0,
            missing_acks: 0,
        }
    }

    /// `items`, with `missing_servers` servers and `missing_acks` acknowledgements that did
    /// not answer in time.
    pub(crate) fn partial(items: Vec<T>, missing_servers: usize, missing_acks: usize) -> Self {
        Replies {
            items,
            missing_servers,
            missing_acks,
        }
    }

    /// Adds the answers and the gaps of `other` (another part of the cluster) to these.
    pub(crate) fn merge(mut self, other: Replies<T>) -> Self {
        self.items.extend(other.items);
        self.missing_servers += other.missing_servers;
        self.missing_acks += other.missing_acks;
        self
    }

    /// Turns every answer into another type, keeping the gaps.
    pub(crate) fn map<U>(self, f: impl FnMut(T) -> U) -> Replies<U> {
        Replies {
            items: self.items.into_iter().map(f).collect(),
            missing_servers: self.missing_servers,
            missing_acks: self.missing_acks,
        }
    }

    /// The answers that arrived.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// The answers that arrived, owned.
    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    /// Servers that were counted (they had sent a heartbeat within the heartbeat timeout)
    /// but did not answer in time: they died, are partitioned from the broker, or are too
    /// slow.
    pub fn missing_servers(&self) -> usize {
        self.missing_servers
    }

    /// Broadcasts with acknowledgements only: sockets that were sent the event (on a server
    /// that answered) but did not acknowledge in time.
    pub fn missing_acks(&self) -> usize {
        self.missing_acks
    }

    /// Whether every expected answer arrived.
    pub fn is_complete(&self) -> bool {
        self.missing_servers == 0 && self.missing_acks == 0
    }

    /// The answers if every expected one arrived, else an error that still carries them
    /// (socket.io's behaviour: a timeout is an error).
    pub fn complete(self) -> Result<Vec<T>, Incomplete<T>> {
        if self.is_complete() {
            Ok(self.items)
        } else {
            Err(Incomplete(self))
        }
    }
}

impl<T> std::ops::Deref for Replies<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.items
    }
}

impl<T> IntoIterator for Replies<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Replies<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// [`Replies::complete`] found answers missing; what arrived is inside.
#[derive(Debug, Clone)]
pub struct Incomplete<T>(pub Replies<T>);

impl<T> std::fmt::Display for Incomplete<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "timeout reached: {} answers received, {} servers and {} acknowledgements missing",
            self.0.items.len(),
            self.0.missing_servers,
            self.0.missing_acks
        )
    }
}

impl<T: std::fmt::Debug> std::error::Error for Incomplete<T> {}

/// One socket as `fetch_sockets` describes it, whichever process holds it: socket.io's
/// `RemoteSocket` data (`id`, `rooms`, `handshake`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SocketData {
    /// The socket id.
    pub id: Sid,
    /// Its namespace.
    pub namespace: String,
    /// Its rooms, its own room first.
    pub rooms: Vec<String>,
    /// The HTTP request that opened its connection (headers, URI with the query, peer
    /// address).
    pub handshake: Handshake,
    /// The client's address as its server sees it (after its trusted proxies).
    pub address: Option<IpAddr>,
    /// The `auth` payload of its CONNECT packet.
    pub auth: Option<Value>,
}

impl SocketData {
    /// A description of socket `id` of `namespace`.
    pub fn new(
        id: Sid,
        namespace: impl Into<String>,
        rooms: Vec<String>,
        handshake: Handshake,
    ) -> Self {
        SocketData {
            id,
            namespace: namespace.into(),
            rooms,
            handshake,
            address: None,
            auth: None,
        }
    }

    /// With the client's address.
    #[must_use]
    pub fn address(mut self, address: Option<IpAddr>) -> Self {
        self.address = address;
        self
    }

    /// With the `auth` payload.
    #[must_use]
    pub fn auth(mut self, auth: Option<Value>) -> Self {
        self.auth = auth;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_merge_and_report_their_gaps() {
        let local = Replies::complete_with(vec![1, 2]);
        let remote = Replies::partial(vec![3], 1, 2);
        let all = local.merge(remote);
        assert_eq!(all.items(), &[1, 2, 3]);
        assert!(!all.is_complete());
        assert_eq!((all.missing_servers(), all.missing_acks()), (1, 2));
        let error = all.clone().complete().unwrap_err();
        assert_eq!(error.0.items(), &[1, 2, 3]);
        assert!(error.to_string().contains("1 servers"));
        assert_eq!(
            Replies::complete_with(vec![4])
                .map(|x| x * 2)
                .complete()
                .unwrap(),
            vec![8]
        );
        assert_eq!(all.iter().sum::<i32>(), 6);
    }
}
