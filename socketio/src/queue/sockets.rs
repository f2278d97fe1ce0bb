//! The description of sockets in a `fetch_sockets_response`: one JSON array, each socket an
//! object (described in the [module docs](super#cluster-wide-requests)). Pure functions; what
//! comes off the bus is checked (a bad socket id or URI refuses the message, a header that is
//! not a valid HTTP header is left out).

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::wire::WireError;
use crate::adapter::SocketData;
use crate::engineio::{Handshake, Sid};

/// One socket on the wire.
#[derive(Debug, Serialize, Deserialize)]
struct Described {
    id: String,
    #[serde(default)]
    rooms: Vec<String>,
    /// Header names and values, in order (a name may repeat).
    #[serde(default)]
    headers: Vec<(String, String)>,
    /// The handshake request's URI (path and query).
    #[serde(default)]
    url: String,
    /// The peer's address and port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peer: Option<String>,
    /// The client's address after the trusted proxies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth: Option<Value>,
}

/// Encodes `sockets` as the JSON array of a `fetch_sockets_response`.
pub(crate) fn encode(sockets: &[SocketData]) -> Vec<u8> {
    let described: Vec<Described> = sockets
        .iter()
        .map(|socket| Described {
            id: socket.id.as_str().to_owned(),
            rooms: socket.rooms.clone(),
            headers: socket
                .handshake
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            url: socket.handshake.uri.to_string(),
            peer: socket.handshake.remote_addr.map(|a| a.to_string()),
            address: socket.address.map(|a| a.to_string()),
            auth: socket.auth.clone(),
        })
        .collect();
    // Strings, lists and JSON values always serialize.
    serde_json::to_vec(&described).unwrap_or_else(|_| b"[]".to_vec())
}

/// Decodes the JSON array of a `fetch_sockets_response` for namespace `ns`.
pub(crate) fn decode(json: &[u8], ns: &str) -> Result<Vec<SocketData>, WireError> {
    let described: Vec<Described> =
        serde_json::from_slice(json).map_err(|e| WireError(format!("bad sockets: {e}")))?;
    described
        .into_iter()
        .map(|d| {
            let id: Sid =
                d.id.parse()
                    .map_err(|_| WireError(format!("bad socket id {:?}", d.id)))?;
            let uri: Uri = if d.url.is_empty() {
                Uri::from_static("/")
            } else {
                d.url
                    .parse()
                    .map_err(|_| WireError(format!("bad handshake URI {:?}", d.url)))?
            };
            let mut headers = HeaderMap::new();
            for (name, value) in &d.headers {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    headers.append(name, value);
                }
            }
            let handshake = Handshake {
                headers,
                uri,
                remote_addr: d.peer.and_then(|p| p.parse::<SocketAddr>().ok()),
            };
            Ok(SocketData::new(id, ns, d.rooms, handshake)
                .address(d.address.and_then(|a| a.parse::<IpAddr>().ok()))
                .auth(d.auth))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket() -> SocketData {
        let mut headers = HeaderMap::new();
        headers.insert("user-agent", HeaderValue::from_static("test/1"));
        headers.append("cookie", HeaderValue::from_static("a=1"));
        headers.append("cookie", HeaderValue::from_static("b=2"));
        let handshake = Handshake {
            headers,
            uri: "/socket.io/?EIO=4&transport=websocket&token=x%20y"
                .parse()
                .unwrap(),
            remote_addr: Some("127.0.0.1:40000".parse().unwrap()),
        };
        let id = Sid::random();
        SocketData::new(id, "/chat", vec![id.to_string(), "lobby".into()], handshake)
            .address(Some("203.0.113.7".parse().unwrap()))
            .auth(Some(serde_json::json!({"token": "secret"})))
    }

    #[test]
    fn a_description_round_trips() {
        let original = socket();
        let back = decode(&encode(std::slice::from_ref(&original)), "/chat").unwrap();
        let back = &back[0];
        assert_eq!(back.id, original.id);
        assert_eq!(back.namespace, "/chat");
        assert_eq!(back.rooms, original.rooms);
        assert_eq!(back.handshake.headers, original.handshake.headers);
        assert_eq!(back.handshake.query("token").as_deref(), Some("x y"));
        assert_eq!(back.handshake.cookie("b"), Some("2"));
        assert_eq!(back.handshake.remote_addr, original.handshake.remote_addr);
        assert_eq!(back.address, original.address);
        assert_eq!(back.auth, original.auth);
    }

    #[test]
    fn bad_descriptions_are_refused_or_cleaned_without_panicking() {
        for bad in [
            &b""[..],
            b"{}",
            b"[{}]",
            b"[{\"id\":\"not a sid\"}]",
            b"[{\"id\":7}]",
            b"[{\"id\":\"AAAAAAAAAAAAAAAAAAAA\",\"url\":\"\\u0000 bad\"}]",
        ] {
            assert!(
                decode(bad, "/").is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let sid = Sid::random();
        let odd = format!(
            "[{{\"id\":\"{sid}\",\"headers\":[[\"bad name\",\"x\"],[\"ok\",\"a\\u0000b\"],[\"fine\",\"yes\"]],\"peer\":\"nonsense\",\"address\":\"::zz\"}}]"
        );
        let sockets = decode(odd.as_bytes(), "/").unwrap();
        assert_eq!(
            sockets[0].handshake.headers.len(),
            1,
            "only the valid header"
        );
        assert_eq!(sockets[0].handshake.remote_addr, None);
        assert_eq!(sockets[0].address, None);
    }
}
