//! Choosing the backend from a message-queue URL.

use std::sync::Arc;

use super::backend::{redact, Backend};
use super::QueueError;

/// The default channel (Redis channel, AMQP exchange), as in Flask-SocketIO.
pub const DEFAULT_CHANNEL: &str = "flask-socketio";

/// The backend for `url`, chosen by its scheme; `channel` is the Redis channel or the AMQP
/// exchange; `node_key`, the key prefix of Node's redis-emitter whose channels a Redis
/// subscription also listens to. Nothing is connected yet.
pub(crate) fn open(
    url: &str,
    channel: &str,
    node_key: Option<&str>,
) -> Result<Arc<dyn Backend>, QueueError> {
    let url = &with_default_host(url);
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
                super::redis::RedisBackend::open(url, channel, node_key)
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
        "amqp" | "amqps" if node_key.is_some() => Err(QueueError::InvalidUrl(
            "Node's redis-emitter publishes on Redis only: `node_redis_emitter` needs a redis:// message queue".into(),
        )),
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

/// `url` with the host its scheme defaults to when it names none, as Flask-SocketIO reads
/// `redis://` (redis-py: `localhost:6379`) and `amqp://` (Kombu: `guest:guest@localhost:5672`).
fn with_default_host(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let default = match scheme.to_ascii_lowercase().as_str() {
        "redis" | "valkey" => "localhost:6379",
        "rediss" | "valkeys" => "localhost:6380",
        "amqp" => "guest:guest@localhost:5672",
        "amqps" => "guest:guest@localhost:5671",
        _ => return url.to_owned(),
    };
    if rest.is_empty() || rest.starts_with('/') {
        format!("{scheme}://{default}{rest}")
    } else {
        url.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_url_without_host_gets_flasks_defaults() {
        assert_eq!(
            super::with_default_host("redis://"),
            "redis://localhost:6379"
        );
        assert_eq!(
            super::with_default_host("redis:///2"),
            "redis://localhost:6379/2"
        );
        assert_eq!(
            super::with_default_host("amqp://"),
            "amqp://guest:guest@localhost:5672"
        );
        assert_eq!(
            super::with_default_host("redis://db:7000/"),
            "redis://db:7000/"
        );
        assert_eq!(
            super::with_default_host("unix:///tmp/r.sock"),
            "unix:///tmp/r.sock"
        );
    }

    use super::*;

    #[test]
    fn schemes_choose_the_backend() {
        assert!(matches!(
            open("kafka://x", "c", None).err(),
            Some(QueueError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            open("127.0.0.1:6379", "c", None).err(),
            Some(QueueError::InvalidUrl(_))
        ));
        assert!(matches!(
            open("redis://127.0.0.1/", "", None).err(),
            Some(QueueError::InvalidUrl(_))
        ));
    }
}
