//! The error pipeline: every failure goes to the namespace's error handler, then the default
//! one, then a built-in handler that logs.

use super::{run_error_handler, ErrorContext, MessageContext};
use crate::engineio::Str;
use crate::{Args, Error, Socket};

/// Where a failure happened: enough to run the error handler and answer the pending ack.
#[derive(Clone)]
pub(crate) struct Site {
    pub(crate) socket: Socket,
    pub(crate) event: Option<Str>,
    pub(crate) args: Args,
    pub(crate) ack_id: Option<u64>,
}

impl Site {
    /// A failure while handling an event.
    pub(crate) fn message(ctx: &MessageContext) -> Self {
        Site {
            socket: ctx.socket.clone(),
            event: Some(ctx.event.clone()),
            args: ctx.args.clone(),
            ack_id: ctx.ack_id,
        }
    }

    /// A failure outside any event (connect, disconnect).
    pub(crate) fn socket(socket: &Socket) -> Self {
        Site {
            socket: socket.clone(),
            event: None,
            args: Args::default(),
            ack_id: None,
        }
    }

    /// The site of an event whose arguments are not needed unless something fails (a panic).
    pub(crate) fn event(socket: &Socket, event: &Str, ack_id: Option<u64>) -> Self {
        Site {
            socket: socket.clone(),
            event: Some(event.clone()),
            args: Args::default(),
            ack_id,
        }
    }
}

/// Hands `error` to the most specific error handler, or logs it.
pub(crate) fn fail(site: Site, error: Error) {
    let socket = &site.socket;
    let error = error.at(socket.namespace(), site.event.as_deref(), socket.id());
    match socket.inner.ns.error_handler() {
        Some(handler) => {
            let ctx = ErrorContext {
                error,
                socket: site.socket.clone(),
                event: site.event.map(|name| (name, site.args)),
                ack_id: site.ack_id,
            };
            run_error_handler(handler(ctx));
        }
        None => error.report(),
    }
}
