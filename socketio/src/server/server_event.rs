//! The handlers of server events ([`Builder::on_server_event`](super::Builder::on_server_event)),
//! run by the message queue's bus when another server sends one. Generic over the server
//! handle `S` the handlers receive (the `SocketIo` of the server), which the table makes from
//! the server's core when an event arrives.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Weak};

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde::Serialize;

use crate::args::Args;
use crate::dispatch::ServerCore;
use crate::engineio::{Frame, Str};
use crate::packet;
use crate::protocol;
use crate::queue::{ServerEvent, ServerEvents};

/// One server-event handler, erased: resolves to its acknowledgement's arguments.
pub(crate) type ServerHandler<S> =
    Arc<dyn Fn(S, ServerEvent) -> BoxFuture<'static, Result<Args, String>> + Send + Sync>;

/// Erases a handler whose return value is the acknowledgement (Python's rule, as for a
/// client's: `()` for none, a tuple for several).
pub(crate) fn erase<S, F, Fut, R>(handler: F) -> ServerHandler<S>
where
    F: Fn(S, ServerEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: Serialize + Send + 'static,
{
    Arc::new(move |io, event| {
        let running = handler(io, event);
        Box::pin(async move { to_args(&running.await) })
    })
}

/// The arguments an acknowledgement of `reply` carries.
fn to_args<R: Serialize + ?Sized>(reply: &R) -> Result<Args, String> {
    let ack = packet::ack("/", 0, reply).map_err(|e| e.to_string())?;
    let (text, attachments) = ack
        .frames()
        .split_first()
        .ok_or_else(|| "an empty acknowledgement".to_owned())?;
    let Frame::Text(text) = text else {
        return Err("an acknowledgement without text".into());
    };
    let text = Str::from(text.as_str().strip_prefix('4').unwrap_or_default());
    let limits = protocol::Limits {
        max_attachments: usize::MAX,
    };
    let payload = protocol::decode(text.as_str(), &limits)
        .map_err(|e| e.to_string())?
        .payload
        .map(|p| text.slice_ref(p))
        .ok_or_else(|| "an acknowledgement without payload".to_owned())?;
    let attachments = attachments
        .iter()
        .filter_map(|frame| match frame {
            Frame::Binary(bytes) => Some(bytes.clone()),
            Frame::Text(_) => None,
        })
        .collect();
    Args::from_array(&payload, attachments).map_err(|e| e.to_string())
}

/// The server-event handlers of one server.
pub(crate) struct ServerEventTable<S> {
    pub(crate) handlers: HashMap<String, ServerHandler<S>>,
    /// The server, weakly: the bus that runs the handlers belongs to it.
    pub(crate) core: Weak<ServerCore>,
    /// Makes the handle the handlers receive (`None` once the server is gone).
    pub(crate) server: fn(&ServerCore) -> Option<S>,
}

impl<S: Send + 'static> ServerEvents for ServerEventTable<S> {
    fn handles(&self, event: &str) -> bool {
        self.handlers.contains_key(event)
    }

    fn handle(&self, event: ServerEvent) -> BoxFuture<'static, Result<Args, String>> {
        let Some(handler) = self.handlers.get(event.event()).cloned() else {
            return Box::pin(std::future::ready(Err("no handler".to_owned())));
        };
        let Some(io) = self.core.upgrade().and_then(|core| (self.server)(&core)) else {
            return Box::pin(std::future::ready(Err("the server is gone".to_owned())));
        };
        let name = event.event().to_owned();
        let from = event.from_server().to_owned();
        Box::pin(
            AssertUnwindSafe(handler(io, event))
                .catch_unwind()
                .map(move |outcome| match outcome {
                    Ok(reply) => reply,
                    Err(_) => {
                        tracing::error!(event = %name, from = %from, "a server-event handler panicked");
                        Err("the handler panicked".to_owned())
                    }
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_follow_the_python_rule() {
        assert_eq!(to_args(&()).unwrap().len(), 0);
        let one = to_args(&42).unwrap();
        assert_eq!(one.raw().collect::<Vec<_>>(), ["42"]);
        let two = to_args(&("a", vec![1, 2])).unwrap();
        assert_eq!(two.raw().collect::<Vec<_>>(), ["\"a\"", "[1,2]"]);
        let binary = to_args(&crate::Binary::from(vec![1u8, 2])).unwrap();
        assert_eq!(binary.attachments().len(), 1);
    }
}
