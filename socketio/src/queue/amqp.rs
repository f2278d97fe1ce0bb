//! The AMQP 0-9-1 backend (RabbitMQ): a non-durable fanout exchange named after the channel;
//! each server consumes from its own exclusive, auto-deleted, length-bounded queue bound to it.

use bytes::Bytes;
use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

use super::backend::{redact, Backend, BoxFut, Delivery, Publisher, Subscription};
use super::QueueError;
use crate::BoxError;

/// A server's queue keeps at most this many messages (the oldest are dropped beyond), so a
/// stalled server cannot make the broker grow without bound.
const MAX_QUEUE_LENGTH: i64 = 100_000;

pub(crate) struct AmqpBackend {
    url: String,
    exchange: String,
    endpoint: String,
}

impl AmqpBackend {
    pub(crate) fn open(url: &str, channel: &str) -> Result<Self, QueueError> {
        let url = default_vhost(url);
        let endpoint = redact(&url);
        url.parse::<lapin::uri::AMQPUri>()
            .map_err(|e| QueueError::InvalidUrl(format!("{endpoint}: {e}")))?;
        Ok(AmqpBackend {
            url,
            exchange: channel.to_owned(),
            endpoint,
        })
    }

    async fn channel(&self) -> Result<(Connection, Channel), BoxError> {
        let properties = ConnectionProperties::default().with_connection_name("socketio".into());
        let connection = Connection::connect(&self.url, properties).await?;
        let channel = connection.create_channel().await?;
        channel
            .exchange_declare(
                self.exchange.as_str().into(),
                ExchangeKind::Fanout,
                ExchangeDeclareOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok((connection, channel))
    }
}

/// `amqp://host/` names the virtual host `""` for lapin, which RabbitMQ does not have: read a
/// lone `/` as the default virtual host `/`, as Kombu (Flask-SocketIO) does.
fn default_vhost(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.find('/') {
        Some(at) => {
            let (authority, path) = rest.split_at(at);
            let (path, query) = match path.find('?') {
                Some(q) => path.split_at(q),
                None => (path, ""),
            };
            if path == "/" {
                format!("{scheme}://{authority}/%2f{query}")
            } else {
                url.to_owned()
            }
        }
        None => url.to_owned(),
    }
}

impl Backend for AmqpBackend {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn connect_publisher(&self) -> BoxFut<'_, Result<Box<dyn Publisher>, BoxError>> {
        Box::pin(async move {
            let (connection, channel) = self.channel().await?;
            Ok(Box::new(AmqpPublisher {
                _connection: connection,
                channel,
                exchange: self.exchange.clone(),
            }) as Box<dyn Publisher>)
        })
    }

    fn subscribe(&self) -> BoxFut<'_, Result<Subscription, BoxError>> {
        Box::pin(async move {
            let (connection, channel) = self.channel().await?;
            let mut arguments = FieldTable::default();
            arguments.insert(
                "x-max-length".into(),
                AMQPValue::LongLongInt(MAX_QUEUE_LENGTH),
            );
            let queue = channel
                .queue_declare(
                    "".into(),
                    QueueDeclareOptions {
                        exclusive: true,
                        auto_delete: true,
                        ..QueueDeclareOptions::default()
                    },
                    arguments,
                )
                .await?;
            channel
                .queue_bind(
                    queue.name().clone(),
                    self.exchange.as_str().into(),
                    "".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            let consumer = channel
                .basic_consume(
                    queue.name().clone(),
                    "".into(),
                    BasicConsumeOptions {
                        no_ack: true,
                        exclusive: true,
                        ..BasicConsumeOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            let messages = consumer
                .map(|delivery| {
                    delivery
                        .map(|d| Delivery {
                            channel: None, // one exchange, no other channel
                            payload: Bytes::from(d.data),
                        })
                        .map_err(BoxError::from)
                })
                .boxed();
            Ok(Subscription {
                messages,
                pinger: None, // AMQP heartbeats watch the connection
                _keep: Box::new((connection, channel)),
            })
        })
    }
}

struct AmqpPublisher {
    _connection: Connection,
    channel: Channel,
    exchange: String,
}

impl Publisher for AmqpPublisher {
    fn publish<'a>(&'a mut self, batch: &'a [Bytes]) -> BoxFut<'a, Result<(), BoxError>> {
        Box::pin(async move {
            for payload in batch {
                self.channel
                    .basic_publish(
                        self.exchange.as_str().into(),
                        "".into(),
                        BasicPublishOptions::default(),
                        payload,
                        // Kombu's labels for raw bytes (its `raw_encode`): Kombu consumers
                        // (python-socketio's KombuManager) then hand the body over as it is.
                        // Unlabelled, Kombu decodes it as UTF-8, and a message with binary
                        // attachments kills their listener.
                        BasicProperties::default()
                            .with_content_type("application/data".into())
                            .with_content_encoding("binary".into()),
                    )
                    .await?
                    .await?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::default_vhost;

    #[test]
    fn a_lone_slash_is_the_default_vhost() {
        assert_eq!(
            default_vhost("amqp://guest:guest@127.0.0.1:5672/"),
            "amqp://guest:guest@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            default_vhost("amqp://h/?heartbeat=10"),
            "amqp://h/%2f?heartbeat=10"
        );
        assert_eq!(default_vhost("amqp://h/app"), "amqp://h/app");
        assert_eq!(default_vhost("amqp://h"), "amqp://h");
    }
}
