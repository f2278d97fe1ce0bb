//! Encoding outgoing packets once, into frames every recipient shares.

use serde::Serialize;

use crate::adapter::EncodedPacket;
use crate::engineio::{Frame, MessageBuf};
use crate::error::EmitError;
use crate::protocol;

fn finish(buf: MessageBuf, attachments: Vec<bytes::Bytes>) -> EncodedPacket {
    let mut frames = Vec::with_capacity(1 + attachments.len());
    frames.push(buf.into_frame());
    frames.extend(attachments.into_iter().map(Frame::binary));
    EncodedPacket { frames }
}

/// An EVENT (or BINARY_EVENT) packet.
pub(crate) fn event<T: Serialize + ?Sized>(
    namespace: &str,
    event: &str,
    data: &T,
    id: Option<u64>,
) -> Result<EncodedPacket, EmitError> {
    if protocol::RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::ReservedEvent(event.to_owned()));
    }
    let mut buf = MessageBuf::new();
    let attachments = protocol::encode_event(buf.as_mut_string(), namespace, event, data, id)?;
    Ok(finish(buf, attachments))
}

/// An ACK (or BINARY_ACK) packet.
pub(crate) fn ack<T: Serialize + ?Sized>(
    namespace: &str,
    id: u64,
    data: &T,
) -> Result<EncodedPacket, EmitError> {
    let mut buf = MessageBuf::new();
    let attachments = protocol::encode_ack(buf.as_mut_string(), namespace, id, data)?;
    Ok(finish(buf, attachments))
}

/// The CONNECT answer `{"sid": ...}`.
pub(crate) fn connect(namespace: &str, sid: &str) -> EncodedPacket {
    let mut buf = MessageBuf::new();
    protocol::encode_connect(buf.as_mut_string(), namespace, sid);
    finish(buf, Vec::new())
}

/// A CONNECT_ERROR with a message and optional data.
pub(crate) fn connect_error(
    namespace: &str,
    message: &str,
    data: Option<&serde_json::Value>,
) -> EncodedPacket {
    let mut buf = MessageBuf::new();
    let data = data.and_then(|d| serde_json::value::to_raw_value(d).ok());
    protocol::encode_connect_error(buf.as_mut_string(), namespace, message, data.as_deref());
    finish(buf, Vec::new())
}

/// A DISCONNECT packet.
pub(crate) fn disconnect(namespace: &str) -> EncodedPacket {
    let mut buf = MessageBuf::new();
    protocol::encode_disconnect(buf.as_mut_string(), namespace);
    finish(buf, Vec::new())
}
