//! The JSON shapes the Admin UI reads: a socket with its handshake and rooms, and the
//! arguments of an event.

use std::time::SystemTime;

use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::clock;
use crate::args::Args;
use crate::dispatch::RemoteSocket;
use crate::engineio::{Handshake, Transport};
use crate::Socket;

/// A socket as the UI lists it (socket.io-admin's `SerializedSocket`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SocketView {
    id: String,
    /// The connection the socket lives on: the UI groups sockets into clients by it.
    client_id: String,
    transport: &'static str,
    nsp: String,
    /// socket.io's `socket.data`; a socket here keeps typed session values, which do not
    /// serialize, so this is empty.
    data: Map<String, Value>,
    handshake: HandshakeView,
    rooms: Vec<String>,
}

/// The request that opened a socket's connection, as socket.io's `socket.handshake`.
#[derive(Debug, Serialize)]
struct HandshakeView {
    address: Option<String>,
    headers: Map<String, Value>,
    query: Map<String, Value>,
    /// Milliseconds since the epoch.
    issued: u64,
    time: String,
    url: String,
    secure: bool,
    xdomain: bool,
}

impl SocketView {
    /// A socket of this process.
    pub(super) fn of(socket: &Socket) -> Self {
        let connection = socket.connection();
        SocketView {
            id: socket.id().to_string(),
            client_id: connection.sid().to_string(),
            transport: transport_name(connection.transport()),
            nsp: socket.namespace().to_owned(),
            data: Map::new(),
            handshake: HandshakeView::new(
                socket.handshake(),
                socket.client_addr(),
                connection.data().opened(),
            ),
            rooms: socket.rooms(),
        }
    }

    /// A socket of another process, as `fetch_sockets` describes it: its connection and
    /// transport are not part of that description, so the socket stands for its own client and
    /// its transport shows as WebSocket (what nearly every client ends on).
    pub(super) fn remote(socket: &RemoteSocket) -> Self {
        SocketView {
            id: socket.id().to_string(),
            client_id: socket.id().to_string(),
            transport: transport_name(Transport::WebSocket),
            nsp: socket.namespace().to_owned(),
            data: Map::new(),
            handshake: HandshakeView::new(
                socket.handshake(),
                socket.client_addr(),
                SystemTime::now(),
            ),
            rooms: socket.rooms().to_vec(),
        }
    }
}

impl HandshakeView {
    fn new(handshake: &Handshake, address: Option<std::net::IpAddr>, opened: SystemTime) -> Self {
        let mut headers = Map::new();
        for (name, value) in &handshake.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match headers.get_mut(name.as_str()) {
                // A repeated header reads as one, its values joined (as Node's `headers`).
                Some(Value::String(first)) => {
                    first.push_str(", ");
                    first.push_str(&value);
                }
                _ => {
                    headers.insert(name.as_str().to_owned(), Value::String(value));
                }
            }
        }
        let mut query = Map::new();
        for (name, value) in handshake.query_pairs() {
            query.entry(name).or_insert(Value::String(value));
        }
        let forwarded_proto = handshake
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok());
        HandshakeView {
            address: address.map(|a| a.to_string()),
            headers,
            query,
            issued: clock::millis(opened),
            time: clock::iso8601(opened),
            url: handshake.uri.to_string(),
            secure: forwarded_proto == Some("https"),
            xdomain: handshake.headers.contains_key("origin"),
        }
    }
}

/// A transport's name as Engine.IO spells it.
pub(super) fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Polling => "polling",
        Transport::WebSocket => "websocket",
    }
}

/// An event as the UI shows it: its name, then its arguments (binary ones as their
/// placeholders).
pub(super) struct EventView<'a> {
    pub(super) name: &'a str,
    pub(super) args: &'a Args,
}

impl Serialize for EventView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(1 + self.args.len()))?;
        seq.serialize_element(self.name)?;
        for raw in self.args.raw() {
            let raw: &RawValue = serde_json::from_str(raw).map_err(serde::ser::Error::custom)?;
            seq.serialize_element(raw)?;
        }
        seq.end()
    }
}

/// Arguments passed on as they arrived, several arguments as several (a tuple, see
/// [`Socket::emit`]).
pub(super) struct RawArgs<'a>(pub(super) Vec<&'a str>);

impl Serialize for RawArgs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for raw in &self.0 {
            let raw: &RawValue = serde_json::from_str(raw).map_err(serde::ser::Error::custom)?;
            tuple.serialize_element(raw)?;
        }
        tuple.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_reads_as_node_gives_it() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("origin", "http://localhost:3000".parse().unwrap());
        headers.append("accept", "a".parse().unwrap());
        headers.append("accept", "b".parse().unwrap());
        let handshake = Handshake {
            headers,
            uri: "/socket.io/?EIO=4&transport=polling&name=J%C3%BCrgen"
                .parse()
                .unwrap(),
            remote_addr: None,
        };
        let opened = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_500);
        let view = HandshakeView::new(&handshake, "127.0.0.1".parse().ok(), opened);
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["address"], "127.0.0.1");
        assert_eq!(json["headers"]["accept"], "a, b");
        assert_eq!(json["query"]["name"], "Jürgen");
        assert_eq!(json["query"]["EIO"], "4");
        assert_eq!(json["issued"], 1_500);
        assert_eq!(json["time"], "1970-01-01T00:00:01.500Z");
        assert_eq!(json["xdomain"], true);
        assert_eq!(json["secure"], false);
        assert_eq!(
            json["url"],
            "/socket.io/?EIO=4&transport=polling&name=J%C3%BCrgen"
        );
    }
}
