//! Connections of a server whose parser is [`Parser::MessagePack`](crate::protocol::Parser):
//! the router transcodes each binary message, one packet of socket.io-msgpack-parser, into the
//! JSON packet it stands for ([`protocol::decode_msgpack`]); a text message means a client of
//! the JSON parser, answered here.

use super::socket::Connection;
use crate::engineio::{CloseReason, Str};
use crate::packet;
use crate::protocol::{self, Limits, PacketKind, Parser};

/// What a client of the JSON parser reads in its `connect_error`.
const REFUSAL: &str = "this server uses socket.io-msgpack-parser: set the client's `parser` option";

/// Answers a text message: its client speaks the JSON parser, which this server does not (a
/// deployment mistake worth a warning, unlike a malformed packet). A CONNECT gets a
/// CONNECT_ERROR in the client's own format, so that the client can say why (it then gives
/// up, as after any refusal; one that lingers is closed by `connect_timeout`); any other text
/// packet ends the connection.
pub(super) fn refuse_text(connection: &Connection, text: &Str) {
    let sid = connection.sid();
    match protocol::decode(text.as_str(), &Limits::default()) {
        Ok(request) if request.kind == PacketKind::Connect => {
            tracing::warn!(
                %sid,
                namespace = request.namespace,
                "namespace connection refused: the client uses the JSON parser and this server \
                 MessagePack; the client must use socket.io-msgpack-parser \
                 (`parser: require(\"socket.io-msgpack-parser\")`)"
            );
            let refusal = packet::connect_error(request.namespace, REFUSAL, None);
            for frame in refusal.frames_for(Parser::Json) {
                let _ = connection.send(frame.clone());
            }
        }
        _ => {
            tracing::warn!(
                %sid,
                "connection closed: a text packet on a server whose parser is MessagePack; the \
                 client must use socket.io-msgpack-parser"
            );
            connection.close(CloseReason::ParseError);
        }
    }
}
