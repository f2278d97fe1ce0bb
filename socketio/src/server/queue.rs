//! The message-queue options of the [`Builder`] and the matching [`SocketIo`] methods (see
//! [`crate::queue`]).

use std::sync::{Arc, Weak};

use super::{Builder, SocketIo};
use crate::adapter::{Adapter, LocalSockets};
use crate::queue::{self, QueueAdapter, QueueStats};

type AdapterFactory = Arc<dyn Fn(&str) -> Arc<dyn Adapter> + Send + Sync>;

/// What [`Builder::message_queue`] and [`Builder::channel`] set.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueueOptions {
    url: Option<String>,
    channel: Option<String>,
}

impl QueueOptions {
    /// The adapter factory of the server: `base` itself without a message queue; with one, a
    /// [`QueueAdapter`] around each adapter `base` makes, all sharing one connection. Starts
    /// the connection tasks (so `build()` must run on a tokio runtime), without waiting for
    /// the broker.
    pub(crate) fn wrap(&self, base: AdapterFactory) -> Result<AdapterFactory, String> {
        let Some(url) = &self.url else {
            return match &self.channel {
                Some(_) => Err("`channel` is set but not `message_queue`".into()),
                None => Ok(base),
            };
        };
        let channel = self.channel.as_deref().unwrap_or(queue::DEFAULT_CHANNEL);
        let bus = queue::open(url, channel)
            .and_then(|backend| queue::Bus::start(backend, true))
            .map_err(|e| e.to_string())?;
        tracing::info!(uid = bus.uid(), channel, "message queue configured");
        Ok(Arc::new(move |path: &str| {
            QueueAdapter::new(path, base(path), bus.clone()) as Arc<dyn Adapter>
        }))
    }
}

/// Message-queue options (Flask-SocketIO's `message_queue` and `channel`).
impl Builder {
    /// Runs this server as one of several processes connected by a message queue:
    /// `redis://[:password@]host[:port][/db]`, `rediss://` (TLS), `redis+unix:///path`,
    /// `amqp://user:password@host[:port][/vhost]` or `amqps://`. Every broadcast, room emit,
    /// socket-specific emit, `close_room`, server-side disconnect and join/leave of a socket by
    /// id then reaches the sockets of every process (see [`crate::queue`] for the delivery
    /// rules and the wire format).
    ///
    /// The scheme needs the matching cargo feature (`redis`, `amqp`, plus `mq-tls` for TLS).
    /// `build()` must then run on a tokio runtime; it does not wait for the broker: the server
    /// starts and serves its own sockets while the connection is retried in the background.
    /// The adapter set with [`adapter`](Self::adapter) keeps this process's rooms.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let io = socketio::SocketIo::builder()
    ///     .message_queue("redis://127.0.0.1:6379/")
    ///     .channel("chat-app")
    ///     .build()?;
    /// io.serve("127.0.0.1:5000").await?;
    /// # Ok(()) }
    /// ```
    pub fn message_queue(mut self, url: impl Into<String>) -> Self {
        self.queue.url = Some(url.into());
        self
    }

    /// The channel of the message queue: the Redis channel, or the AMQP exchange (default
    /// `socketio`). Processes of one application share it; independent applications on one
    /// broker use different ones.
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.queue.channel = Some(channel.into());
        self
    }
}

/// Message-queue views of the server.
impl SocketIo {
    /// The health and counters of the message queue, `None` without one.
    pub fn queue_stats(&self) -> Option<QueueStats> {
        self.client()
            .namespaces
            .values()
            .find_map(|ns| ns.adapter.queue_stats())
    }

    /// Hands every namespace's adapter the handle through which work from other processes
    /// reaches the namespace's sockets.
    pub(crate) fn attach_adapters(&self) {
        for ns in self.client().namespaces.values() {
            let local: Weak<dyn LocalSockets> =
                Arc::downgrade(ns) as Weak<crate::namespace::Namespace>;
            ns.adapter.attach(local);
        }
    }
}
