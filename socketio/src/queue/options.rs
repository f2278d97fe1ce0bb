//! The message-queue options of a server, and the adapters they make.

use std::sync::Arc;

use super::adapter::QueueAdapter;
use super::bus::Bus;
use super::url::{open, DEFAULT_CHANNEL};
use crate::adapter::{Adapter, AdapterFactory};

/// What [`Builder::message_queue`](crate::Builder::message_queue) and
/// [`Builder::channel`](crate::Builder::channel) set.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueueOptions {
    pub(crate) url: Option<String>,
    pub(crate) channel: Option<String>,
}

impl QueueOptions {
    /// The adapter factory of the server: `base` itself without a message queue; with one, a
    /// [`QueueAdapter`] around each adapter `base` makes, all sharing one connection, which is
    /// returned too. Starts the connection tasks (so `build()` must run on a tokio runtime),
    /// without waiting for the broker.
    pub(crate) fn wrap(
        &self,
        base: AdapterFactory,
    ) -> Result<(AdapterFactory, Option<Arc<Bus>>), String> {
        let Some(url) = &self.url else {
            return match &self.channel {
                Some(_) => Err("`channel` is set but not `message_queue`".into()),
                None => Ok((base, None)),
            };
        };
        let channel = self.channel.as_deref().unwrap_or(DEFAULT_CHANNEL);
        let bus = open(url, channel)
            .and_then(|backend| Bus::start(backend, true))
            .map_err(|e| e.to_string())?;
        tracing::info!(uid = bus.uid(), channel, "message queue configured");
        let factory_bus = bus.clone();
        let factory: AdapterFactory = Arc::new(move |path: &str| {
            QueueAdapter::new(path, base(path), factory_bus.clone()) as Arc<dyn Adapter>
        });
        Ok((factory, Some(bus)))
    }
}
