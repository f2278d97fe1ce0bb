//! Choosing the backend from a message-queue URL.

use std::sync::Arc;

use super::backend::{redact, Backend};
use super::QueueError;

/// The default channel (Redis channel, AMQP exchange), as in python-socketio.
pub const DEFAULT_CHANNEL: &str = "socketio";

/// The backend for `url`, chosen by its scheme; `channel` is the Redis channel or the AMQP
/// exchange. Nothing is connected yet.
pub(crate) fn open(url: &str, channel: &str) -> Result<Arc<dyn Backend>, QueueError> {
    let Some((scheme, _)) = url.split_once("://") else {
        return Err(QueueError::InvalidUrl(format!(
            "{:?} has no scheme (expected redis://, rediss://, redis+unix://, unix://, amqp:// or amqps://)",
            redact(url)
        )));
    };
    if channel.is_empty() {
        return Err(QueueError::InvalidUrl("the channel name is empty".into()));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "redis" | "rediss" | "redis+unix" | "unix" | "valkey" | "valkeys" => {
            #[cfg(feature = "redis")]
            {
                super::redis::RedisBackend::open(url, channel)
                    .map(|b| Arc::new(b) as Arc<dyn Backend>)
            }
            #[cfg(not(feature = "redis"))]
            {
                Err(QueueError::FeatureDisabled {
                    scheme: scheme.to_owned(),
                    feature: "redis",
                })
            }
        }
        "amqp" | "amqps" => {
            #[cfg(feature = "amqp")]
            {
                super::amqp::AmqpBackend::open(url, channel)
                    .map(|b| Arc::new(b) as Arc<dyn Backend>)
            }
            #[cfg(not(feature = "amqp"))]
            {
                Err(QueueError::FeatureDisabled {
                    scheme: scheme.to_owned(),
                    feature: "amqp",
                })
            }
        }
        other => Err(QueueError::UnsupportedScheme(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_choose_the_backend() {
        assert!(matches!(
            open("kafka://x", "c").err(),
            Some(QueueError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            open("127.0.0.1:6379", "c").err(),
            Some(QueueError::InvalidUrl(_))
        ));
        assert!(matches!(
            open("redis://127.0.0.1/", "").err(),
            Some(QueueError::InvalidUrl(_))
        ));
    }
}
