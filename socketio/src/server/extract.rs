//! [`SocketIo`] as a handler argument, for emits beyond the socket.

use super::SocketIo;
use crate::extract::{
    ConnectContext, DisconnectContext, ErrorContext, FromConnectParts, FromDisconnectParts,
    FromErrorParts, FromMessageParts, MessageContext, ServerGone,
};

/// The server the socket belongs to: `io.emit(..)` reaches every socket of `/`, the sender
/// included, like Flask-SocketIO's `socketio.emit`.
macro_rules! server_extractor {
    ($($trait:ident $method:ident $ctx:ty),*) => {$(
        impl $trait for SocketIo {
            type Rejection = ServerGone;
            async fn $method(ctx: &$ctx) -> Result<Self, ServerGone> {
                SocketIo::of_socket(ctx.socket()).ok_or(ServerGone)
            }
        }
    )*};
}

server_extractor!(
    FromMessageParts from_message_parts MessageContext,
    FromConnectParts from_connect_parts ConnectContext,
    FromDisconnectParts from_disconnect_parts DisconnectContext,
    FromErrorParts from_error_parts ErrorContext
);
