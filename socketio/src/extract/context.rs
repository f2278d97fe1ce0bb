//! What a handler is called with: the moment's context, from which extractors take their parts.

use crate::args::Args;
use crate::dispatch::Socket;
use crate::engineio::Str;
use crate::error::Error;
use crate::reason::DisconnectReason;

/// The context of a received event.
#[derive(Debug, Clone)]
pub struct MessageContext {
    pub(crate) socket: Socket,
    pub(crate) event: Str,
    pub(crate) args: Args,
    pub(crate) ack_id: Option<u64>,
}

impl MessageContext {
    /// The socket that sent the event.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The event name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The event's arguments.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// Whether the client waits for an acknowledgement.
    pub fn wants_ack(&self) -> bool {
        self.ack_id.is_some()
    }
}

/// The context of a namespace connection request.
#[derive(Debug, Clone)]
pub struct ConnectContext {
    pub(crate) socket: Socket,
    pub(crate) auth: Option<Str>,
}

impl ConnectContext {
    /// The socket being connected.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The raw JSON auth payload the client sent, if any.
    pub fn auth(&self) -> Option<&str> {
        self.auth.as_deref()
    }
}

/// The context of a disconnection.
#[derive(Debug, Clone)]
pub struct DisconnectContext {
    pub(crate) socket: Socket,
    pub(crate) reason: DisconnectReason,
}

impl DisconnectContext {
    /// The socket that left.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Why it left.
    pub fn reason(&self) -> DisconnectReason {
        self.reason
    }
}

/// The context of a failure, for error handlers.
#[derive(Debug, Clone)]
pub struct ErrorContext {
    pub(crate) error: Error,
    pub(crate) socket: Socket,
    pub(crate) event: Option<(Str, Args)>,
    pub(crate) ack_id: Option<u64>,
}

impl ErrorContext {
    /// The failure.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The socket concerned.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The event being handled when it failed, if any.
    pub fn event(&self) -> Option<&str> {
        self.event.as_ref().map(|(name, _)| name.as_str())
    }

    /// Whether the client waits for an acknowledgement (the error handler's return value).
    pub fn wants_ack(&self) -> bool {
        self.ack_id.is_some()
    }
}
