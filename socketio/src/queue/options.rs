//! The message-queue options of a server, and the adapters they make.

use std::sync::Arc;

use super::adapter::QueueAdapter;
use super::bus::Bus;
use super::foreign::Accept;
use super::members::Timing;
use super::url::{open, DEFAULT_CHANNEL};
use crate::adapter::{Adapter, AdapterFactory, RecoveryOptions};

/// What [`Builder::message_queue`](crate::Builder::message_queue),
/// [`Builder::channel`](crate::Builder::channel),
/// [`Builder::node_redis_emitter`](crate::Builder::node_redis_emitter),
/// [`Builder::python_socketio_peers`](crate::Builder::python_socketio_peers) and the timings
/// set.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueueOptions {
    pub(crate) url: Option<String>,
    pub(crate) channel: Option<String>,
    /// The key prefix of Node's redis-emitter whose channels are listened to as well.
    pub(crate) node_key: Option<String>,
    /// python-socketio servers share the channel: publish for them too.
    pub(crate) python_peers: bool,
    /// Heartbeats and the default timeout of cluster-wide requests.
    pub(crate) timing: Timing,
}

impl QueueOptions {
    /// The adapter factory of the server: `base` itself without a message queue; with one, a
    /// [`QueueAdapter`] around each adapter `base` makes (with connection state recovery if
    /// `recovery` is set), all sharing one connection, which is returned too. Starts the connection tasks (so `build()` must run on a tokio runtime),
    /// without waiting for the broker.
    pub(crate) fn wrap(
        &self,
        base: AdapterFactory,
        recovery: Option<RecoveryOptions>,
    ) -> Result<(AdapterFactory, Option<Arc<Bus>>), String> {
        let Some(url) = &self.url else {
            return match (&self.channel, &self.node_key, self.python_peers) {
                (Some(_), _, _) => Err("`channel` is set but not `message_queue`".into()),
                (_, Some(_), _) => {
                    Err("`node_redis_emitter` is set but not `message_queue`".into())
                }
                (_, _, true) => {
                    Err("`python_socketio_peers` is set but not `message_queue`".into())
                }
                (None, None, false) => Ok((base, None)),
            };
        };
        let channel = self.channel.as_deref().unwrap_or(DEFAULT_CHANNEL);
        let timing = self.timing;
        if timing.heartbeat_interval.is_zero() || timing.requests_timeout.is_zero() {
            return Err("the heartbeat interval and the requests timeout must not be zero".into());
        }
        if timing.heartbeat_timeout <= timing.heartbeat_interval {
            return Err(format!(
                "the heartbeat timeout ({:?}) must be longer than the heartbeat interval ({:?})",
                timing.heartbeat_timeout, timing.heartbeat_interval
            ));
        }
        if self.node_key.as_deref() == Some("") {
            return Err("the key of `node_redis_emitter` is empty".into());
        }
        let accept = Accept {
            node_key: self.node_key.clone(),
        };
        let bus = open(url, channel, self.node_key.as_deref())
            .and_then(|backend| Bus::start(backend, true, accept, timing))
            .map_err(|e| e.to_string())?;
        tracing::info!(
            uid = bus.uid(),
            channel,
            node_key = self.node_key.as_deref(),
            python_socketio_peers = self.python_peers,
            heartbeat_interval_ms = timing.heartbeat_interval.as_millis() as u64,
            heartbeat_timeout_ms = timing.heartbeat_timeout.as_millis() as u64,
            "message queue configured"
        );
        let factory_bus = bus.clone();
        let python_peers = self.python_peers;
        let factory: AdapterFactory = Arc::new(move |path: &str| {
            QueueAdapter::new(
                path,
                base(path),
                factory_bus.clone(),
                python_peers,
                recovery,
            ) as Arc<dyn Adapter>
        });
        Ok((factory, Some(bus)))
    }
}
