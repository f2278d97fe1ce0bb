//! The engine: the session table, the request router and the heartbeat.

use std::any::Any;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Extensions, HeaderMap, HeaderValue, Method, Request, Uri};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use http_body_util::Either;
use hyper::body::Body as HttpBody;

use super::cors;
use super::error::Reply;
use super::headers::RequestHeaders;
use super::query::{Query, TransportParam};
use super::session::{CloseReason, EngineSession, Handshake, Transport};
use super::state::EngineState;
use super::{polling, websocket, EngineConfig, EngineHandler, HttpError, Sid};

/// An Engine.IO v4 server: a cheap handle to share.
///
/// It answers HTTP requests on its path through [`Engine::handle`], or as an axum service
/// through [`Engine::router`].
pub struct Engine<H: EngineHandler> {
    pub(crate) inner: Arc<EngineState<H>>,
}

impl<H: EngineHandler> Clone for Engine<H> {
    fn clone(&self) -> Self {
        Engine {
            inner: self.inner.clone(),
        }
    }
}

impl<H: EngineHandler> Engine<H> {
    /// A new engine with its handler.
    pub fn new(config: EngineConfig, handler: H) -> Self {
        Engine {
            inner: Arc::new(EngineState::new(config, handler)),
        }
    }

    /// A handle that does not keep the engine alive, with its handler type erased: for a
    /// layer that must reach the engine without naming its handler.
    pub(crate) fn downgrade_opaque(&self) -> Weak<dyn Any + Send + Sync> {
        let weak: Weak<EngineState<H>> = Arc::downgrade(&self.inner);
        weak
    }

    /// The engine behind a handle from [`downgrade_opaque`](Self::downgrade_opaque), if it
    /// still exists and its handler is `H`.
    pub(crate) fn upgrade_opaque(handle: &Weak<dyn Any + Send + Sync>) -> Option<Self> {
        let inner = handle.upgrade()?.downcast::<EngineState<H>>().ok()?;
        Some(Engine { inner })
    }

    /// The options.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.inner.handler
    }

    /// A live session.
    pub fn session(&self, sid: Sid) -> Option<Arc<EngineSession<H::Data>>> {
        self.inner.session(sid)
    }

    /// How many sessions are live.
    pub fn session_count(&self) -> usize {
        self.inner.session_count()
    }

    /// Closes every session with `reason` (e.g. [`CloseReason::ServerShutdown`]).
    pub fn close_all(&self, reason: CloseReason) {
        let sessions = self.inner.sessions();
        for session in sessions {
            session.close(reason);
        }
    }

    /// Answers one HTTP request addressed to the engine's path.
    pub async fn handle(&self, request: Request<Body>) -> Response {
        self.handle_from(request, None)
            .await
            .map(|reply| match reply {
                Either::Left(full) => Body::new(full),
                Either::Right(body) => body,
            })
    }

    /// [`handle`](Self::handle) for a request from peer `remote`, when the caller knows it
    /// without a [`ConnectInfo`] extension (the server of [`serve`](super::serve)): the
    /// extension is then put on the request only when it opens a session, where it is kept.
    /// The body is hyper's own there, not boxed into an axum [`Body`], and so is the engine's
    /// answer ([`Reply`]).
    pub(crate) async fn handle_from<B>(
        &self,
        request: Request<B>,
        remote: Option<SocketAddr>,
    ) -> Response<Reply>
    where
        B: HttpBody<Data = Bytes> + Send,
    {
        let (mut parts, body) = request.into_parts();
        let mut headers = RequestHeaders::read(&parts.headers);
        let origin = headers.origin.take();
        let cors = match cors::check(
            &self.inner.config.cors_allowed_origins,
            origin,
            &parts.headers,
        ) {
            Ok(cors) => cors,
            Err(e) => return e.reply(),
        };
        if cors::is_preflight(&parts.method) {
            if let Some(response) = cors.preflight(&parts.headers) {
                return response.map(Either::Right);
            }
        }
        let mut response = self.route(&mut parts, &headers, body, remote).await;
        cors.apply(&mut response);
        response
    }

    /// The live long-polling session a request with query string `query` is for, when it is
    /// the usual request of a polling client: protocol 4, the polling transport (enabled), the
    /// sid of a live session. `None` for any other request, which [`handle_from`]
    /// (Self::handle_from) answers (with the same checks, in [`route`](Self::route)).
    pub(crate) fn polling_session(&self, query: &str) -> Option<Arc<EngineSession<H::Data>>> {
        let query = Query::parse(query);
        let polling = query.transport == TransportParam::Polling && self.inner.config.polling;
        if query.eio != Some("4") || !polling {
            return None;
        }
        self.session(query.sid?.parse().ok()?)
    }

    /// Answers a request whose headers were read into `headers`. The answers to the frequent
    /// requests reuse the request's header map (`parts.headers`) for their own headers: hyper
    /// keeps a response's map for the next request on the connection, so a map goes round
    /// without being allocated again.
    async fn route<B>(
        &self,
        parts: &mut axum::http::request::Parts,
        headers: &RequestHeaders,
        body: B,
        remote: Option<SocketAddr>,
    ) -> Response<Reply>
    where
        B: HttpBody<Data = Bytes> + Send,
    {
        let config = &self.inner.config;
        let query = Query::parse(parts.uri.query().unwrap_or_default());
        if query.eio != Some("4") {
            return HttpError::UnsupportedProtocolVersion.reply();
        }
        let transport = match query.transport {
            TransportParam::Polling if config.polling => Transport::Polling,
            TransportParam::WebSocket if config.websocket => Transport::WebSocket,
            _ => return HttpError::UnknownTransport.reply(),
        };
        let sid = match query.sid {
            None => None,
            Some(text) => match text.parse::<Sid>().ok().and_then(|sid| self.session(sid)) {
                Some(session) => Some(session),
                None => return HttpError::UnknownSid.reply(),
            },
        };
        match (transport, sid) {
            // A WebSocket upgrade that names another transport (CVE-2023-31125 shape) is
            // refused, and opens no session.
            (Transport::Polling, _) if headers.upgrade_websocket => HttpError::BadRequest.reply(),
            (Transport::Polling, None) if parts.method == Method::GET => {
                let session = match self.open(parts, remote, Transport::Polling) {
                    Ok(session) => session,
                    Err(e) => return e.reply(),
                };
                let open = self.inner.open_packet.text(session.sid(), true);
                crate::metrics::bytes_sent(open.len());
                let mut response = polling::text_response(take_headers(parts), open);
                self.set_cookie(&mut response, &session);
                response
            }
            (_, None) if parts.method != Method::GET => HttpError::BadHandshakeMethod.reply(),
            (Transport::Polling, Some(session)) => match parts.method {
                Method::GET => polling::get(&self.inner, &session, take_headers(parts)).await,
                Method::POST => {
                    polling::post(&self.inner, &session, headers, take_headers(parts), body).await
                }
                _ => HttpError::BadRequest.reply(),
            },
            (Transport::WebSocket, session) => {
                if !headers.valid_websocket_key() {
                    return HttpError::BadRequest.reply();
                }
                let (accept, on_upgrade) = match websocket::accept(parts, headers) {
                    Ok(accepted) => accepted,
                    Err(e) => return e.reply(),
                };
                match session {
                    Some(session) => {
                        if !config.allow_upgrades {
                            return HttpError::BadRequest.reply();
                        }
                        // A second WebSocket for an upgraded session is accepted, then closed
                        // (as the reference server does) so the client sees a clean close.
                        tokio::spawn(websocket::upgrade(self.inner.clone(), session, on_upgrade));
                        websocket::switching_protocols(take_headers(parts), accept)
                    }
                    None => {
                        let session = match self.open(parts, remote, Transport::WebSocket) {
                            Ok(session) => session,
                            Err(e) => return e.reply(),
                        };
                        let task =
                            websocket::run_direct(self.inner.clone(), session.clone(), on_upgrade);
                        tokio::spawn(task);
                        let mut response =
                            websocket::switching_protocols(take_headers(parts), accept);
                        self.set_cookie(&mut response, &session);
                        response
                    }
                }
            }
            (Transport::Polling, None) => HttpError::BadHandshakeMethod.reply(),
        }
    }

    /// Creates a session, starts its heartbeat and tells the handler, unless a connection
    /// limit refuses it. The session keeps the request's extensions (moved out of `parts`,
    /// which the request no longer needs): what the application's layers put there, such as
    /// the HTTP session of `tower-sessions`. `remote`, when given, is the peer's address the
    /// request carries no [`ConnectInfo`] for.
    fn open(
        &self,
        parts: &mut axum::http::request::Parts,
        remote: Option<SocketAddr>,
        transport: Transport,
    ) -> Result<Arc<EngineSession<H::Data>>, HttpError> {
        if let Some(remote) = remote {
            parts.extensions.insert(ConnectInfo(remote));
        }
        let handshake = Handshake {
            headers: owned_headers(&parts.headers),
            uri: owned_uri(&parts.uri),
            remote_addr: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0),
        };
        let mut extensions = std::mem::take(&mut parts.extensions);
        // hyper's handle on the connection's upgrade, if the WebSocket extractor left it: it
        // belongs to this request alone.
        extensions.remove::<hyper::upgrade::OnUpgrade>();
        self.open_session(handshake, extensions, transport)
    }

    /// Creates a session for `handshake`, starts its heartbeat and tells the handler, unless a
    /// connection limit refuses it; shared by the HTTP transports and the in-process one
    /// (`in_process.rs`).
    pub(crate) fn open_with(
        &self,
        handshake: Handshake,
        transport: Transport,
    ) -> Result<Arc<EngineSession<H::Data>>, HttpError> {
        self.open_session(handshake, Extensions::new(), transport)
    }

    /// [`open_with`](Self::open_with), keeping the request's `extensions` on the session.
    fn open_session(
        &self,
        handshake: Handshake,
        extensions: Extensions,
        transport: Transport,
    ) -> Result<Arc<EngineSession<H::Data>>, HttpError> {
        self.inner.admit(&handshake)?;
        let opened = tokio::time::Instant::now();
        let config = &self.inner.config;
        let session = {
            self.inner.insert_new(|sid| {
                EngineSession::new(
                    sid,
                    handshake,
                    extensions,
                    transport,
                    config.max_queued_packets,
                    H::Data::default(),
                )
            })
        };
        tracing::debug!(sid = %session.sid(), ?transport, "session opened");
        crate::metrics::connection_opened(match transport {
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
        });
        tokio::spawn(heartbeat(self.inner.clone(), session.clone(), opened));
        self.inner.handler.on_open(&session);
        Ok(session)
    }

    fn set_cookie(&self, response: &mut Response<Reply>, session: &EngineSession<H::Data>) {
        let Some(cookie) = &self.inner.config.cookie else {
            return;
        };
        let mut value = format!("{}={}; Path={}", cookie.name, session.sid(), cookie.path);
        if cookie.http_only {
            value.push_str("; HttpOnly");
        }
        if let Some(same_site) = &cookie.same_site {
            value.push_str("; SameSite=");
            value.push_str(same_site);
        }
        if cookie.secure {
            value.push_str("; Secure");
        }
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
}

/// A copy of `headers` whose values own their bytes. hyper's header values (and URI) are slices
/// of its 8–16 KiB connection read buffer: a plain clone kept in the session would keep that
/// whole buffer alive for as long as the session lives. The values are copied into one buffer
/// of their own, which they share: one allocation rather than one per header.
fn owned_headers(headers: &HeaderMap) -> HeaderMap {
    let size = headers.values().map(HeaderValue::len).sum();
    let mut buf = BytesMut::with_capacity(size);
    for value in headers.values() {
        buf.extend_from_slice(value.as_bytes());
    }
    let buf = buf.freeze();
    // The map's own structure is copied as it is (no name hashed again); each value is then
    // replaced by its copy, in the same order.
    let mut owned = headers.clone();
    let mut start = 0;
    for value in owned.values_mut() {
        let end = start + value.len();
        if let Ok(mut copy) = HeaderValue::from_maybe_shared(buf.slice(start..end)) {
            copy.set_sensitive(value.is_sensitive());
            *value = copy;
        }
        start = end;
    }
    owned
}

/// A copy of `uri` that owns its bytes (see [`owned_headers`]): its text (what its `Display`
/// writes) parsed again.
fn owned_uri(uri: &Uri) -> Uri {
    let mut text = String::with_capacity(uri_len(uri));
    if let Some(scheme) = uri.scheme_str() {
        text.push_str(scheme);
        text.push_str("://");
    }
    if let Some(authority) = uri.authority() {
        text.push_str(authority.as_str());
    }
    text.push_str(uri.path());
    if let Some(query) = uri.query() {
        text.push('?');
        text.push_str(query);
    }
    Uri::from_maybe_shared(Bytes::from(text)).unwrap_or_else(|_| uri.clone())
}

/// The request's header map, emptied, for the response's headers (see `Engine::route`).
fn take_headers(parts: &mut axum::http::request::Parts) -> HeaderMap {
    let mut headers = std::mem::take(&mut parts.headers);
    headers.clear();
    headers
}

/// Waits until `deadline`, or forever without one.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Pings the client every `ping_interval` and closes the session when a pong does not come back
/// within `ping_timeout`; when the session closes for any reason, removes it and tells the handler.
///
/// Deadlines count from when the session opened (not from when this task first ran), so a
/// client sees the same timing the reference server gives.
async fn heartbeat<H: EngineHandler>(
    inner: Arc<EngineState<H>>,
    session: Arc<EngineSession<H::Data>>,
    opened: tokio::time::Instant,
) {
    let interval = inner.config.ping_interval;
    let timeout = inner.config.ping_timeout;
    let mut next_ping = opened + interval;
    // The handler's deadline (`EngineHandler::open_timeout`), kept here rather than by a task
    // of its own; `None` once passed.
    let mut open_deadline = inner.handler.open_timeout().map(|after| opened + after);
    'heartbeat: loop {
        tokio::select! {
            _ = session.closed() => break,
            _ = tokio::time::sleep_until(next_ping) => {}
            _ = until(open_deadline) => {
                open_deadline = None;
                inner.handler.on_open_timeout(&session);
                continue;
            }
        }
        session.expect_pong(next_ping + timeout);
        if session.send(super::Frame::PING).is_err() {
            continue; // closed: the next turn sees it
        }
        loop {
            tokio::select! {
                _ = session.closed() => break 'heartbeat,
                _ = session.pong.notified() => break,
                _ = tokio::time::sleep_until(next_ping + timeout) => {
                    session.close(CloseReason::PingTimeout);
                    break;
                }
                _ = until(open_deadline) => {
                    open_deadline = None;
                    inner.handler.on_open_timeout(&session);
                }
            }
        }
        next_ping = tokio::time::Instant::now() + interval;
    }
    let reason = session
        .close_reason()
        .unwrap_or(CloseReason::TransportClose);
    tracing::debug!(sid = %session.sid(), %reason, "session closed");
    crate::metrics::connection_closed(reason.as_str());
    inner.release(session.handshake());
    // After the client's own close request its next poll still gets an answer (`6`) and removes
    // the session; a client that never polls again is forgotten after a grace.
    let linger = reason == CloseReason::TransportClose && session.transport() == Transport::Polling;
    if !linger {
        inner.remove(&session);
    }
    inner.handler.on_close(&session, reason);
    if linger {
        let _ = tokio::time::timeout(timeout, session.close_delivered.notified()).await;
        inner.remove(&session);
    }
}

/// Whether `Engine::router`, for the engine path `path`, routes `request_path` to the engine:
/// the path itself, or the path without its trailing slash.
pub(super) fn is_engine_path(path: &str, request_path: &str) -> bool {
    let trimmed = path.trim_end_matches('/');
    request_path == path || (!trimmed.is_empty() && request_path == trimmed)
}

/// The length of `uri` as text (what its `Display` writes), without formatting it.
pub(super) fn uri_len(uri: &axum::http::Uri) -> usize {
    uri.scheme_str().map_or(0, |scheme| scheme.len() + 3)
        + uri
            .authority()
            .map_or(0, |authority| authority.as_str().len())
        + uri.path().len()
        + uri.query().map_or(0, |query| query.len() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_copies_equal_the_originals() {
        let mut headers = HeaderMap::new();
        headers.append(header::HOST, HeaderValue::from_static("a.example"));
        headers.append("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
        headers.append("x-forwarded-for", HeaderValue::from_static(""));
        let mut secret = HeaderValue::from_static("sid=abc");
        secret.set_sensitive(true);
        headers.append(header::COOKIE, secret);
        let owned = owned_headers(&headers);
        assert_eq!(owned, headers);
        let order = |map: &HeaderMap| {
            map.iter()
                .map(|(name, value)| (name.clone(), value.clone(), value.is_sensitive()))
                .collect::<Vec<_>>()
        };
        assert_eq!(order(&owned), order(&headers));
        for uri in [
            "/socket.io/?EIO=4&transport=polling",
            "/",
            "*",
            "/a?",
            "http://example.com",
            "http://example.com:8080/x?y=z",
            "example.com:443",
        ] {
            let uri: Uri = uri.parse().unwrap();
            let owned = owned_uri(&uri);
            assert_eq!(owned, uri);
            assert_eq!(owned.to_string(), uri.to_string());
        }
    }

    #[test]
    fn engine_paths_are_those_the_router_routes() {
        assert!(is_engine_path("/socket.io/", "/socket.io/"));
        assert!(is_engine_path("/socket.io/", "/socket.io"));
        assert!(!is_engine_path("/socket.io/", "/socket.i"));
        assert!(!is_engine_path("/socket.io/", "/socket.io/x"));
        assert!(!is_engine_path("/socket.io/", "/socket.io//"));
        assert!(!is_engine_path("/socket.io/", "/"));
        assert!(is_engine_path("/", "/"));
        assert!(!is_engine_path("/", ""));
        assert!(!is_engine_path("/", "/x"));
        assert!(is_engine_path("/a//", "/a"));
    }

    #[test]
    fn uri_len_is_the_length_of_the_written_uri() {
        for uri in [
            "/",
            "*",
            "/socket.io/?EIO=4&transport=polling&sid=abc",
            "/a/b?",
            "http://example.com",
            "http://example.com:8080/x?y=z",
            "example.com:443",
        ] {
            let uri: axum::http::Uri = uri.parse().unwrap();
            assert_eq!(uri_len(&uri), uri.to_string().len(), "{uri}");
        }
    }
}
