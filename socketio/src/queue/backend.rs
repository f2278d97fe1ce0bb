//! The one internal interface every message queue implements, and the timing every backend
//! keeps to.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;

use crate::error::BoxError;

/// Longest wait for one publish (a batch) before the connection counts as broken.
pub(crate) const PUBLISH_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest wait for a connection (and its subscription) to open.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A boxed, sendable future.
pub(crate) type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A message queue: opens publishing connections and subscriptions to one channel. Connections
/// are opened by the bus's tasks, which also handle timeouts, back-off and reconnection.
pub(crate) trait Backend: Send + Sync + 'static {
    /// The URL with any password hidden, for logs.
    fn endpoint(&self) -> &str;
    /// Opens a connection ready to publish on the channel.
    fn connect_publisher(&self) -> BoxFut<'_, Result<Box<dyn Publisher>, BoxError>>;
    /// Opens a connection subscribed to the channel.
    fn subscribe(&self) -> BoxFut<'_, Result<Subscription, BoxError>>;
}

/// A connection that publishes.
pub(crate) trait Publisher: Send {
    /// Publishes `batch` in order; an error means the connection is unusable.
    fn publish<'a>(&'a mut self, batch: &'a [Bytes]) -> BoxFut<'a, Result<(), BoxError>>;
}

/// Checks that a subscription's connection is alive (the broker answers).
pub(crate) trait Pinger: Send {
    /// One round trip.
    fn ping(&mut self) -> BoxFut<'_, Result<(), BoxError>>;
}

/// One received message.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// The channel it came on when that is not the configured channel: the channels of
    /// Node's redis-emitter, matched by a pattern subscription.
    pub(crate) channel: Option<String>,
    pub(crate) payload: Bytes,
}

/// A live subscription: its messages (ending, or yielding an error, when the connection is
/// lost), an optional health check, and whatever must stay alive with it.
pub(crate) struct Subscription {
    pub(crate) messages: BoxStream<'static, Result<Delivery, BoxError>>,
    pub(crate) pinger: Option<Box<dyn Pinger>>,
    pub(crate) _keep: Box<dyn Send>,
}

/// `url` with the password (between `:` and `@` in the authority) replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None if userinfo.is_empty() => url.to_owned(),
        // `redis://password@host` is a password alone for some clients.
        None => format!("{scheme}://***@{host}{tail}"),
    }
}

/// Reconnection delays: 200 ms doubling up to 5 s, each with up to 20 % random jitter, so that
/// many processes do not reconnect in step.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    failures: u32,
}

pub(crate) const BACKOFF_MIN: Duration = Duration::from_millis(200);
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(5);

impl Backoff {
    /// The delay before the next attempt, and counts a failure.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = BACKOFF_MIN
            .saturating_mul(1u32 << self.failures.min(16))
            .min(BACKOFF_MAX);
        self.failures = self.failures.saturating_add(1);
        let jitter = rand::random::<f64>() * 0.2;
        base.mul_f64(1.0 - jitter)
    }

    /// Failures since the last success.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// A connection succeeded.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_logs() {
        assert_eq!(
            redact("redis://:secret@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact("amqp://guest:guest@host:5672/%2f"),
            "amqp://guest:***@host:5672/%2f"
        );
        assert_eq!(redact("redis://127.0.0.1/"), "redis://127.0.0.1/");
        assert_eq!(redact("redis://pw@h"), "redis://***@h");
        assert_eq!(redact("nonsense"), "nonsense");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut b = Backoff::default();
        let delays: Vec<Duration> = (0..10).map(|_| b.next_delay()).collect();
        assert!(delays[0] <= BACKOFF_MIN && delays[0] >= BACKOFF_MIN.mul_f64(0.8));
        assert!(delays[1] > delays[0]);
        assert!(delays.iter().all(|d| *d <= BACKOFF_MAX));
        assert!(delays[9] >= BACKOFF_MAX.mul_f64(0.8));
        b.reset();
        assert_eq!(b.failures(), 0);
    }
}
