//! Messages of other Socket.IO implementations on the message queue: python-socketio's
//! pub/sub managers (Flask-SocketIO's `message_queue`) and Node's `@socket.io/redis-emitter`.
//! What they publish is turned into this crate's own [`Message`]s, so the adapters apply them
//! exactly as they apply a message of another socketio-rs process; and an [`Emitter`] can
//! publish python-socketio's format ([`PublishFormat`]), as can a server with python-socketio
//! peers (the copies of its operations). Pure functions, no I/O.
//!
//! The formats, the operations covered and what is refused are described in the [module
//! docs](super#foreign-emitters).
//!
//! [`Emitter`]: super::Emitter

#[cfg(feature = "redis")]
mod msgpack;
#[cfg(feature = "redis")]
pub(crate) mod node;
pub(crate) mod python;

use super::backend::Delivery;
use super::wire::{self, Message, WireError};

/// The format a message arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// socketio-rs's own (the [wire format](super#wire-format-version-1)).
    Native,
    /// python-socketio's JSON objects.
    Python,
    /// Node's redis-emitter (msgpack broadcasts, JSON requests).
    #[cfg(feature = "redis")]
    Node,
}

impl Format {
    /// Its name in log lines.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Native => "socketio-rs",
            Format::Python => "python-socketio",
            #[cfg(feature = "redis")]
            Format::Node => "node redis-emitter",
        }
    }
}

/// What a received message asks of this server.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// Apply `message`; `note` says what of the original is left out (logged).
    Apply {
        message: Box<Message>,
        format: Format,
        note: Option<&'static str>,
    },
    /// Addressed to another kind of server (python-socketio's answers to its own callbacks):
    /// ignored without a word.
    NotForUs,
    /// The copy, for python-socketio servers, of an operation the socketio-rs server `uid`
    /// published in its own format too: skipped (the original is applied).
    Copy { uid: String },
    /// Well-formed, but asking for something this server does not do: refused with a log line.
    Refused { format: Format, what: String },
}

impl Incoming {
    fn apply(message: Message, format: Format) -> Self {
        Incoming::Apply {
            message: Box::new(message),
            format,
            note: None,
        }
    }
}

/// What a server subscribed to the message queue accepts besides its own format.
#[derive(Debug, Clone, Default)]
pub(crate) struct Accept {
    /// The key prefix of Node's redis-emitter (`socket.io` by default there); `None` when its
    /// channels are not listened to.
    pub(crate) node_key: Option<String>,
}

/// Decodes one received message in whichever format it is: on the configured channel, this
/// crate's format, else python-socketio's JSON; on a channel of Node's redis-emitter, its
/// format.
pub(crate) fn decode(delivery: Delivery, accept: &Accept) -> Result<Incoming, WireError> {
    let Delivery { channel, payload } = delivery;
    if let Some(channel) = channel {
        return decode_node(&channel, payload, accept);
    }
    let native = match wire::decode(payload.clone()) {
        Ok(message) => return Ok(Incoming::apply(message, Format::Native)),
        Err(e) => e,
    };
    match python::decode(&payload)? {
        Some(incoming) => Ok(incoming),
        None => Err(WireError(format!(
            "neither socketio-rs's format ({native}) nor python-socketio's JSON"
        ))),
    }
}

/// A message of a Node redis-emitter channel (only a Redis subscription with a key has them).
fn decode_node(
    channel: &str,
    payload: bytes::Bytes,
    accept: &Accept,
) -> Result<Incoming, WireError> {
    match (&accept.node_key, payload) {
        #[cfg(feature = "redis")]
        (Some(key), payload) => node::decode(key, channel, &payload),
        _ => Err(WireError(format!(
            "a message on unexpected channel {channel:?}"
        ))),
    }
}

/// The format an [`Emitter`](super::Emitter) publishes in.
///
/// ```no_run
/// # async fn run() -> Result<(), socketio::queue::QueueError> {
/// use socketio::queue::PublishFormat;
///
/// // Flask-SocketIO servers (python-socketio 5) on the same Redis receive these emits.
/// let emitter = socketio::Emitter::builder("redis://127.0.0.1:6379/")
///     .format(PublishFormat::PythonSocketio)
///     .connect()
///     .await?;
/// emitter.to("news").emit("tick", &1).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishFormat {
    /// socketio-rs's own format: every operation, binary attachments as raw bytes.
    #[default]
    Native,
    /// python-socketio 5's JSON objects (`{"method": "emit", ...}`), which python-socketio and
    /// Flask-SocketIO servers apply, and so do socketio-rs servers. What that format cannot
    /// say fails with [`QueueError::Unsupported`](super::QueueError::Unsupported).
    PythonSocketio,
}

/// A namespace a foreign message may name: a path starting with `/`, without `,`.
fn check_namespace(ns: &str) -> Result<(), WireError> {
    if ns.starts_with('/') && !ns.contains(',') {
        Ok(())
    } else {
        Err(WireError(format!("invalid namespace {ns:?}")))
    }
}
