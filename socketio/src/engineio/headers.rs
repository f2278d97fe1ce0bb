//! [`RequestHeaders`]: what the engine reads from a request's headers, found in one pass.

use axum::http::{header, HeaderMap, HeaderValue};

/// The request headers the engine acts on. Read in one pass over the request's headers: one
/// `HeaderMap` lookup per header costs more than visiting each of the few headers a client sends
/// (a polling request carries four or five) and comparing its name.
///
/// Where a header is repeated, the first value counts, as `HeaderMap::get` would give it;
/// the token lists (`Connection`, `Upgrade`, `Sec-WebSocket-Version`) read every value.
#[derive(Debug, Default)]
pub(crate) struct RequestHeaders {
    /// `Origin`.
    pub(crate) origin: Option<HeaderValue>,
    /// `Content-Type` names `application/octet-stream`.
    pub(crate) binary_body: bool,
    /// `Content-Length`, when it is a number.
    pub(crate) content_length: Option<u64>,
    /// `Connection` lists `upgrade`.
    pub(crate) connection_upgrade: bool,
    /// `Upgrade` lists `websocket`.
    pub(crate) upgrade_websocket: bool,
    /// `Sec-WebSocket-Version` lists `13`.
    pub(crate) websocket_version_13: bool,
    /// `Sec-WebSocket-Key`: its bytes when it has the 24 characters of a base64-encoded 16-byte
    /// nonce, `Err` when it has another length, `None` when absent.
    pub(crate) websocket_key: Option<Result<[u8; 24], ()>>,
}

impl RequestHeaders {
    /// Reads `headers`.
    pub(crate) fn read(headers: &HeaderMap) -> Self {
        let mut read = RequestHeaders::default();
        let (mut content_type, mut content_length) = (false, false);
        for (name, value) in headers {
            if name == header::ORIGIN {
                if read.origin.is_none() {
                    read.origin = Some(value.clone());
                }
            } else if name == header::CONTENT_TYPE {
                if !content_type {
                    content_type = true;
                    read.binary_body = value
                        .to_str()
                        .is_ok_and(|v| v.starts_with("application/octet-stream"));
                }
            } else if name == header::CONTENT_LENGTH {
                if !content_length {
                    content_length = true;
                    read.content_length = value.to_str().ok().and_then(|v| v.parse().ok());
                }
            } else if name == header::CONNECTION {
                read.connection_upgrade |= lists(value, "upgrade");
            } else if name == header::UPGRADE {
                read.upgrade_websocket |= lists(value, "websocket");
            } else if name == header::SEC_WEBSOCKET_VERSION {
                read.websocket_version_13 |= lists(value, "13");
            } else if name == header::SEC_WEBSOCKET_KEY && read.websocket_key.is_none() {
                read.websocket_key = Some(value.as_bytes().try_into().map_err(|_| ()));
            }
        }
        read
    }

    /// Whether `Sec-WebSocket-Key` is the base64 encoding of 16 bytes (RFC 6455 §4.1), as the
    /// `ws` server checks; axum only checks that the header is present.
    pub(crate) fn valid_websocket_key(&self) -> bool {
        use base64::Engine as _;
        let Some(Ok(key)) = &self.websocket_key else {
            return false;
        };
        // 24 characters decode to at most 18 bytes; a 16-byte nonce has two `=` of padding.
        let mut raw = [0u8; 18];
        base64::engine::general_purpose::STANDARD
            .decode_slice(key, &mut raw)
            .is_ok_and(|len| len == 16)
    }
}

/// Whether the comma-separated token list `value` holds `token` (ASCII case-insensitive).
fn lists(value: &HeaderValue, token: &str) -> bool {
    lists_bytes(value.as_bytes(), token)
}

/// [`lists`], for a header value not yet in a [`HeaderValue`].
pub(crate) fn lists_bytes(value: &[u8], token: &str) -> bool {
    // Most often the value is the token alone.
    if value.eq_ignore_ascii_case(token.as_bytes()) {
        return true;
    }
    // Only a value of visible ASCII is read (what `HeaderValue::to_str` accepts).
    let visible = |&b: &u8| (32..127).contains(&b) || b == b'\t';
    value.iter().all(visible)
        && value
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&'static str, &'static str)]) -> RequestHeaders {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        RequestHeaders::read(&headers)
    }

    #[test]
    fn the_first_value_of_a_single_valued_header_counts() {
        let first = read(&[
            ("content-length", "12"),
            ("content-length", "13"),
            ("origin", "https://a.example"),
            ("origin", "https://b.example"),
            ("content-type", "text/plain"),
            ("content-type", "application/octet-stream"),
        ]);
        assert_eq!(first.content_length, Some(12));
        assert_eq!(first.origin.unwrap(), "https://a.example");
        assert!(!first.binary_body);
        assert!(read_one("content-type", "application/octet-stream; x=y").binary_body);
        assert_eq!(read_one("content-length", "x").content_length, None);
    }

    fn read_one(name: &'static str, value: &'static str) -> RequestHeaders {
        read(&[(name, value)])
    }

    #[test]
    fn token_lists_read_every_value() {
        let all = read(&[
            ("connection", "keep-alive"),
            ("connection", "Keep-Alive, Upgrade"),
            ("upgrade", "h2c"),
            ("upgrade", " WebSocket "),
            ("sec-websocket-version", "8, 13"),
        ]);
        assert!(all.connection_upgrade && all.upgrade_websocket && all.websocket_version_13);
        let none = read_one("upgrade", "websockets");
        assert!(!none.upgrade_websocket && !none.connection_upgrade);
    }

    #[test]
    fn websocket_keys_are_base64_of_16_bytes() {
        let key = |value| read_one("sec-websocket-key", value).valid_websocket_key();
        assert!(key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!key("dGhlIHNhbXBsZSBub25jZQ="));
        assert!(!key("dGhlIHNhbXBsZSBub25jZSE="));
        assert!(!key("dGhlIHNhbXBsZSBub25jZ!=="));
        assert!(!key(""));
        assert!(!read(&[]).valid_websocket_key());
    }
}
