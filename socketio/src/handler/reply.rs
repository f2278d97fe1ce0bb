//! Turning a handler's return value into the client's acknowledgement.

use serde::Serialize;
use serde_json::Value;

use super::failure::{fail, Site};
use crate::args::Args;
use crate::dispatch::Socket;
use crate::error::{BoxError, EmitError, Error, ErrorKind};
use crate::extract::{ErrorContext, MessageContext};
use crate::packet;
use crate::protocol::Binary;

/// Answers the client's acknowledgement for one event.
pub struct AckResponder<'a> {
    socket: &'a Socket,
    ack_id: Option<u64>,
    origin: Origin<'a>,
}

enum Origin<'a> {
    Message(&'a MessageContext),
    Error(&'a ErrorContext),
}

impl<'a> AckResponder<'a> {
    pub(crate) fn new(ctx: &'a MessageContext) -> Self {
        AckResponder {
            socket: &ctx.socket,
            ack_id: ctx.ack_id,
            origin: Origin::Message(ctx),
        }
    }

    pub(crate) fn for_error(ctx: &'a ErrorContext) -> Self {
        AckResponder {
            socket: &ctx.socket,
            ack_id: ctx.ack_id,
            origin: Origin::Error(ctx),
        }
    }

    /// Acknowledges with `args` (a tuple for several arguments, `()` for none). Does nothing
    /// when the client asked for no acknowledgement.
    pub fn send<T: Serialize + ?Sized>(self, args: &T) {
        let Some(id) = self.ack_id else {
            return;
        };
        let socket = self.socket;
        let sent = packet::ack(socket.namespace(), id, args).and_then(|p| socket.send_owned(p));
        self.sent(sent);
    }

    /// Acknowledges with received arguments, unchanged. Without attachments their JSON text
    /// is copied as it is, not read again as [`send`](Self::send) would (the decoder validated
    /// it when it arrived).
    fn send_args(self, args: &Args) {
        if !args.attachments().is_empty() {
            return self.send(args);
        }
        let Some(id) = self.ack_id else {
            return;
        };
        let socket = self.socket;
        let sent = socket.send_owned(packet::raw_ack(socket.namespace(), id, args.raw()));
        self.sent(sent);
    }

    fn sent(self, sent: Result<(), EmitError>) {
        match sent {
            Ok(()) => {}
            // The socket left (or the handler disconnected it): nobody waits for the answer.
            Err(EmitError::Disconnected) => {
                tracing::debug!(sid = %self.socket.id(), "acknowledgement dropped: the socket is gone");
            }
            Err(e) => self.fail(Error::new(ErrorKind::Handler, e)),
        }
    }

    /// Sends a failure of the handler to the error pipeline (an error handler's own failures
    /// are logged).
    pub fn fail(self, error: Error) {
        match self.origin {
            Origin::Message(ctx) => fail(Site::message(ctx), error),
            Origin::Error(ctx) => {
                tracing::warn!(error = %error, original = %ctx.error, "an error handler failed");
            }
        }
    }
}

/// A handler's return value: what the client's acknowledgement carries.
///
/// Python's rule: `()` and `None` acknowledge with no arguments; a tuple with several; a string,
/// number, bool, `serde_json::Value`, `Vec` or `Some(x)` with one; [`Ack`] wraps any other
/// `Serialize` type; `Result` acknowledges its `Ok` value and reports its `Err`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as an acknowledgement",
    label = "return `()`, a tuple, a JSON-like value, `Ack<T>` or a `Result` of those",
    note = "wrap your own `Serialize` type in `socketio::Ack(value)`"
)]
pub trait IntoAck: Send {
    /// Answers through `responder`.
    fn into_ack(self, responder: AckResponder<'_>);
}

/// Any `Serialize` value as a single acknowledgement argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ack<T>(pub T);

impl<T: Serialize + Send> IntoAck for Ack<T> {
    fn into_ack(self, responder: AckResponder<'_>) {
        responder.send(&(&self.0,));
    }
}

impl<T: IntoAck, E: Into<BoxError> + Send> IntoAck for Result<T, E> {
    fn into_ack(self, responder: AckResponder<'_>) {
        match self {
            Ok(value) => value.into_ack(responder),
            Err(e) => responder.fail(Error::new(ErrorKind::Handler, e)),
        }
    }
}

impl IntoAck for () {
    fn into_ack(self, responder: AckResponder<'_>) {
        responder.send(&());
    }
}

macro_rules! ack_single {
    ($($ty:ty),* $(,)?) => {$(
        impl IntoAck for $ty {
            fn into_ack(self, responder: AckResponder<'_>) {
                responder.send(&(&self,));
            }
        }
    )*};
}

ack_single!(
    bool,
    String,
    &'static str,
    Value,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    char,
    Binary
);

/// Acknowledges with these arguments, unchanged.
impl IntoAck for Args {
    fn into_ack(self, responder: AckResponder<'_>) {
        responder.send_args(&self);
    }
}

impl<T: Serialize + Send> IntoAck for Vec<T> {
    fn into_ack(self, responder: AckResponder<'_>) {
        responder.send(&(&self,));
    }
}

/// `None` acknowledges with no value, as a Python handler returning `None`; `Some(x)` as `x`.
impl<T: Serialize + Send> IntoAck for Option<T> {
    fn into_ack(self, responder: AckResponder<'_>) {
        responder.send(&self);
    }
}

macro_rules! ack_tuple {
    ($($ty:ident),+) => {
        impl<$($ty: Serialize + Send),+> IntoAck for ($($ty,)+) {
            fn into_ack(self, responder: AckResponder<'_>) {
                responder.send(&self);
            }
        }
    };
}

ack_tuple!(A);
ack_tuple!(A, B);
ack_tuple!(A, B, C);
ack_tuple!(A, B, C, D);
ack_tuple!(A, B, C, D, E);
ack_tuple!(A, B, C, D, E, F);
ack_tuple!(A, B, C, D, E, F, G);
ack_tuple!(A, B, C, D, E, F, G, H);
