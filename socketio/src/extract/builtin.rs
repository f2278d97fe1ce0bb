//! The built-in extractors.

use std::fmt;

use serde::de::DeserializeOwned;

use super::context::{ConnectContext, DisconnectContext, ErrorContext, MessageContext};
use super::{FromConnectParts, FromDisconnectParts, FromErrorParts, FromMessageParts, Infallible};
use crate::args::Args;
use crate::dispatch::Socket;

/// The event's arguments as `T` (see [`Args`] for how arguments map onto types).
///
/// ```no_run
/// use socketio::Data;
///
/// async fn chat(Data((room, text)): Data<(String, String)>) {}
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Data<T>(pub T);

/// The payload did not match the type a handler asked for.
#[derive(Debug)]
pub struct DataError {
    type_name: &'static str,
    source: serde_json::Error,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the payload does not match `{}`: {}",
            self.type_name, self.source
        )
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn parse<T: DeserializeOwned>(args: &Args) -> Result<T, DataError> {
    args.deserialize().map_err(|source| DataError {
        type_name: std::any::type_name::<T>(),
        source,
    })
}

impl<T: DeserializeOwned + Send + 'static> FromMessageParts for Data<T> {
    type Rejection = DataError;
    async fn from_message_parts(ctx: &MessageContext) -> Result<Self, DataError> {
        parse(&ctx.args).map(Data)
    }
}

/// Like [`Data`], but hands the error to the handler instead of rejecting the event.
#[derive(Debug)]
pub struct TryData<T>(pub Result<T, DataError>);

impl<T: DeserializeOwned + Send + 'static> FromMessageParts for TryData<T> {
    type Rejection = Infallible;
    async fn from_message_parts(ctx: &MessageContext) -> Result<Self, Infallible> {
        Ok(TryData(parse(&ctx.args)))
    }
}

/// The event name and raw arguments (Flask's `request.event`), for catch-all handlers.
#[derive(Debug, Clone)]
pub struct Event {
    name: crate::engineio::Str,
    args: Args,
}

impl Event {
    /// The event name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw arguments.
    pub fn args(&self) -> &Args {
        &self.args
    }
}

impl FromMessageParts for Event {
    type Rejection = Infallible;
    async fn from_message_parts(ctx: &MessageContext) -> Result<Self, Infallible> {
        Ok(Event {
            name: ctx.event.clone(),
            args: ctx.args.clone(),
        })
    }
}

/// The failure happened outside any event (an error handler asked for [`Event`]).
#[derive(Debug)]
pub struct NoEvent;

impl fmt::Display for NoEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the failure happened outside any event: take `Option<Event>` instead")
    }
}

impl std::error::Error for NoEvent {}

/// In an error handler: the event that failed (Flask's `request.event`).
impl FromErrorParts for Event {
    type Rejection = NoEvent;
    async fn from_error_parts(ctx: &ErrorContext) -> Result<Self, NoEvent> {
        let (name, args) = ctx.event.clone().ok_or(NoEvent)?;
        Ok(Event { name, args })
    }
}

/// The binary attachments of the event, in placeholder order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bin(pub Vec<bytes::Bytes>);

impl FromMessageParts for Bin {
    type Rejection = Infallible;
    async fn from_message_parts(ctx: &MessageContext) -> Result<Self, Infallible> {
        Ok(Bin(ctx.args.attachments().to_vec()))
    }
}

/// The auth payload of the connection request as `T`. A client that sent none (or an empty
/// object `{}`, which python-socketio's clients send for none) gives `null`, as Flask-SocketIO
/// gives `None`: take `Auth<Option<T>>` when auth is optional.
///
/// ```no_run
/// use socketio::Auth;
///
/// #[derive(serde::Deserialize)]
/// struct Token { token: String }
///
/// async fn on_connect(Auth(auth): Auth<Option<Token>>) -> bool {
///     auth.is_some_and(|a| a.token == "secret")
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Auth<T>(pub T);

impl<T: DeserializeOwned + Send + 'static> FromConnectParts for Auth<T> {
    type Rejection = DataError;
    async fn from_connect_parts(ctx: &ConnectContext) -> Result<Self, DataError> {
        // No auth and an empty object are both "no auth" (python-socketio's clients send `{}`
        // when they have none, and its server hands the handler `None` for it).
        let json = match ctx.auth.as_deref() {
            Some(raw) if !is_empty_object(raw) => raw,
            _ => "null",
        };
        serde_json::from_str(json)
            .map(Auth)
            .map_err(|source| DataError {
                type_name: std::any::type_name::<T>(),
                source,
            })
    }
}

/// Whether `raw` is the JSON object `{}` (whitespace aside).
fn is_empty_object(raw: &str) -> bool {
    raw.trim()
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .is_some_and(|inside| inside.trim().is_empty())
}

/// Application state given to the builder with [`state`](crate::Builder::state).
///
/// `T` is cloned for each handler call, so share big state through an `Arc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

/// No state of the requested type was given to the builder.
#[derive(Debug)]
pub struct MissingState(&'static str);

impl fmt::Display for MissingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no state of type `{}`: add it with `SocketIo::builder().state(value)`",
            self.0
        )
    }
}

impl std::error::Error for MissingState {}

fn state<T: Clone + Send + Sync + 'static>(socket: &Socket) -> Result<State<T>, MissingState> {
    socket
        .core()
        .state
        .get::<T>()
        .cloned()
        .map(State)
        .ok_or(MissingState(std::any::type_name::<T>()))
}

impl<T: Clone + Send + Sync + 'static> FromMessageParts for State<T> {
    type Rejection = MissingState;
    async fn from_message_parts(ctx: &MessageContext) -> Result<Self, MissingState> {
        state(&ctx.socket)
    }
}

impl<T: Clone + Send + Sync + 'static> FromConnectParts for State<T> {
    type Rejection = MissingState;
    async fn from_connect_parts(ctx: &ConnectContext) -> Result<Self, MissingState> {
        state(&ctx.socket)
    }
}

impl<T: Clone + Send + Sync + 'static> FromErrorParts for State<T> {
    type Rejection = MissingState;
    async fn from_error_parts(ctx: &ErrorContext) -> Result<Self, MissingState> {
        state(&ctx.socket)
    }
}

impl<T: Clone + Send + Sync + 'static> FromDisconnectParts for State<T> {
    type Rejection = MissingState;
    async fn from_disconnect_parts(ctx: &DisconnectContext) -> Result<Self, MissingState> {
        state(&ctx.socket)
    }
}
