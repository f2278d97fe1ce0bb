//! HTTP errors, answered exactly as the reference server answers them.

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{Either, Full};

/// Why an Engine.IO HTTP request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// Code 0: the `transport` query parameter is missing, unknown or disabled.
    UnknownTransport,
    /// Code 1: the `sid` names no live session.
    UnknownSid,
    /// Code 2: a handshake that is not a `GET`.
    BadHandshakeMethod,
    /// Code 3: a request that does not fit the session's state (overlapping polls, a polling
    /// request after the upgrade, a malformed packet, a WebSocket request without upgrade headers).
    BadRequest,
    /// Code 4: the `Origin` is not accepted.
    ForbiddenOrigin,
    /// Code 5: `EIO` is not `4`.
    UnsupportedProtocolVersion,
    /// HTTP 413: a polling request body over `max_http_buffer_size`.
    PayloadTooLarge,
    /// HTTP 503: a handshake while `max_connections` sessions are open.
    TooManyConnections,
    /// HTTP 429: a handshake while `max_connections_per_address` sessions of the same client
    /// address are open.
    TooManyConnectionsFromAddress,
}

impl HttpError {
    fn code_and_message(self) -> (u8, &'static str) {
        match self {
            HttpError::UnknownTransport => (0, "Transport unknown"),
            HttpError::UnknownSid => (1, "Session ID unknown"),
            HttpError::BadHandshakeMethod => (2, "Bad handshake method"),
            HttpError::BadRequest => (3, "Bad request"),
            HttpError::ForbiddenOrigin => (4, "Not an accepted origin."),
            HttpError::UnsupportedProtocolVersion => (5, "Unsupported protocol version"),
            HttpError::PayloadTooLarge => (3, "Payload too large"),
            // Code 4 (FORBIDDEN) is what the reference server answers when `allowRequest`
            // refuses a handshake; the status says why.
            HttpError::TooManyConnections => (4, "Too many connections"),
            HttpError::TooManyConnectionsFromAddress => {
                (4, "Too many connections from this address")
            }
        }
    }
}

/// The body of the engine's answers: its own (a text payload, an empty `101`) as one buffer,
/// which hyper sends without the allocation and indirect calls of a boxed body, and any other
/// as an axum [`Body`].
pub(crate) type Reply = Either<Full<Bytes>, Body>;

impl HttpError {
    /// The answer, with a [`Reply`] body.
    pub(crate) fn reply(self) -> Response<Reply> {
        self.into_response().map(Either::Right)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = match self {
            HttpError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::TooManyConnections => StatusCode::SERVICE_UNAVAILABLE,
            HttpError::TooManyConnectionsFromAddress => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        };
        let (code, message) = self.code_and_message();
        let body = format!(r#"{{"code":{code},"message":"{message}"}}"#);
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code_and_message().1)
    }
}

impl std::error::Error for HttpError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_match_the_reference_server() {
        let response = HttpError::UnknownSid.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], br#"{"code":1,"message":"Session ID unknown"}"#);
    }
}
