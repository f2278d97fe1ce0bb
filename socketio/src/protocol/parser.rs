//! [`Parser`]: how a server writes Socket.IO packets on its Engine.IO connections.

/// The Socket.IO packet format of a server, set with
/// [`Builder::parser`](crate::Builder::parser). Every client of the server must use the same
/// one: a client of the other format is disconnected at its first packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Parser {
    /// socket.io-parser, the default of every Socket.IO client: a packet is a text message
    /// (`2["event",{"a":1}]`), each binary value a binary message after it.
    #[default]
    Json,
    /// socket.io-msgpack-parser (feature `msgpack`): a packet is one binary message, the
    /// MessagePack encoding of `{type, nsp, data, id}`, binary values inline. Smaller for
    /// binary-heavy payloads; the client must install the parser
    /// (`io(url, { parser: require("socket.io-msgpack-parser") })`).
    #[cfg(feature = "msgpack")]
    MessagePack,
}
