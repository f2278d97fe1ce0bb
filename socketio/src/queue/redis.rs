//! The Redis backend: PUBLISH on a multiplexed connection (one pipeline per batch), SUBSCRIBE
//! on a dedicated connection checked with PING (plus PSUBSCRIBE to the channels of Node's
//! redis-emitter when they are accepted).

use bytes::Bytes;
use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink};
use redis::AsyncConnectionConfig;

use super::backend::{redact, Backend, BoxFut, Delivery, Pinger, Publisher, Subscription};
use super::backend::{CONNECT_TIMEOUT, PUBLISH_TIMEOUT};
use super::foreign::node;
use super::QueueError;
use crate::BoxError;

pub(crate) struct RedisBackend {
    client: redis::Client,
    channel: String,
    /// The key prefix of Node's redis-emitter whose channels are also subscribed to.
    node_key: Option<String>,
    endpoint: String,
}

impl RedisBackend {
    pub(crate) fn open(
        url: &str,
        channel: &str,
        node_key: Option<&str>,
    ) -> Result<Self, QueueError> {
        // Valkey speaks the same protocol; its schemes are accepted as aliases.
        let url = if let Some(rest) = url.strip_prefix("valkeys://") {
            format!("rediss://{rest}")
        } else if let Some(rest) = url.strip_prefix("valkey://") {
            format!("redis://{rest}")
        } else {
            url.to_owned()
        };
        let endpoint = redact(&url);
        let client = redis::Client::open(url.as_str())
            .map_err(|e| QueueError::InvalidUrl(format!("{endpoint}: {e}")))?;
        Ok(RedisBackend {
            client,
            channel: channel.to_owned(),
            node_key: node_key.map(str::to_owned),
            endpoint,
        })
    }
}

impl Backend for RedisBackend {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn connect_publisher(&self) -> BoxFut<'_, Result<Box<dyn Publisher>, BoxError>> {
        Box::pin(async move {
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(CONNECT_TIMEOUT))
                .set_response_timeout(Some(PUBLISH_TIMEOUT));
            let mut connection = self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            // Without a password, or with a wrong one, this is where Redis says so.
            redis::cmd("PING")
                .query_async::<redis::Value>(&mut connection)
                .await?;
            Ok(Box::new(RedisPublisher {
                connection,
                channel: self.channel.clone(),
            }) as Box<dyn Publisher>)
        })
    }

    fn subscribe(&self) -> BoxFut<'_, Result<Subscription, BoxError>> {
        Box::pin(async move {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(&self.channel).await?;
            if let Some(key) = &self.node_key {
                for pattern in node::patterns(key) {
                    pubsub.psubscribe(pattern).await?;
                }
            }
            let (sink, stream) = pubsub.split();
            let messages = stream
                .map(|message| {
                    Ok(Delivery {
                        channel: message
                            .from_pattern()
                            .then(|| message.get_channel_name().to_owned()),
                        payload: Bytes::copy_from_slice(message.get_payload_bytes()),
                    })
                })
                .boxed();
            Ok(Subscription {
                messages,
                pinger: Some(Box::new(RedisPinger(sink))),
                _keep: Box::new(()),
            })
        })
    }
}

struct RedisPublisher {
    connection: MultiplexedConnection,
    channel: String,
}

impl Publisher for RedisPublisher {
    fn publish<'a>(&'a mut self, batch: &'a [Bytes]) -> BoxFut<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let mut pipe = redis::pipe();
            for payload in batch {
                pipe.cmd("PUBLISH")
                    .arg(&self.channel)
                    .arg(&payload[..])
                    .ignore();
            }
            pipe.query_async::<()>(&mut self.connection).await?;
            Ok(())
        })
    }
}

struct RedisPinger(PubSubSink);

impl Pinger for RedisPinger {
    fn ping(&mut self) -> BoxFut<'_, Result<(), BoxError>> {
        Box::pin(async move {
            self.0.ping::<redis::Value>().await?;
            Ok(())
        })
    }
}

#[cfg(all(test, feature = "mq-tls"))]
mod tls_tests {
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_failed_tls_handshake_is_an_error_not_a_panic() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let _ = stream.write_all(b"-ERR not TLS\r\n").await;
            }
        });
        let url = format!("rediss://127.0.0.1:{port}/");
        let error = crate::Emitter::connect(&url).await.unwrap_err();
        assert!(
            matches!(error, crate::queue::QueueError::Unavailable(_)),
            "{error}"
        );
    }
}
