//! The `Origin` check and CORS response headers.

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{AllowedOrigins, HttpError};

/// The outcome of the origin check for an accepted request.
#[derive(Debug, Clone)]
pub(crate) enum Cors {
    /// No `Origin` header, or same-origin: no CORS headers needed.
    None,
    /// Cross-origin and accepted with `*`.
    Any,
    /// Cross-origin and accepted from an explicit list: echo it and allow credentials.
    Echo(HeaderValue),
}

/// Checks the request's `Origin` (the first one of its `headers`) against the configuration.
pub(crate) fn check(
    allowed: &AllowedOrigins,
    origin: Option<HeaderValue>,
    headers: &HeaderMap,
) -> Result<Cors, HttpError> {
    let Some(origin) = origin else {
        return Ok(Cors::None);
    };
    let Ok(origin_str) = origin.to_str() else {
        return Err(HttpError::ForbiddenOrigin);
    };
    match allowed {
        AllowedOrigins::Any => Ok(Cors::Any),
        AllowedOrigins::List(list) if list.iter().any(|o| o == origin_str) => {
            Ok(Cors::Echo(origin))
        }
        AllowedOrigins::List(_) => Err(HttpError::ForbiddenOrigin),
        AllowedOrigins::SameOrigin if is_same_origin(origin_str, headers) => Ok(Cors::None),
        AllowedOrigins::SameOrigin => Err(HttpError::ForbiddenOrigin),
    }
}

/// `Origin` equals `http://<host>` or `https://<host>`, where the host is the `Host` header or,
/// behind a proxy, `X-Forwarded-Host` (as python-engineio compares them).
fn is_same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    [header::HOST.as_str(), "x-forwarded-host"]
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .any(|host| host.eq_ignore_ascii_case(rest))
}

// Header values built at compile time: `from_static` outside a constant checks every byte
// each time it runs.
const ANY: HeaderValue = HeaderValue::from_static("*");
const TRUE: HeaderValue = HeaderValue::from_static("true");
const ORIGIN: HeaderValue = HeaderValue::from_static("Origin");
const METHODS: HeaderValue = HeaderValue::from_static("GET, POST, OPTIONS");

impl Cors {
    /// Adds the CORS headers to a response.
    pub(crate) fn apply<B>(&self, response: &mut axum::http::Response<B>) {
        let headers = response.headers_mut();
        match self {
            Cors::None => {}
            Cors::Any => {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY);
            }
            Cors::Echo(origin) => {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
                headers.append(header::VARY, ORIGIN);
            }
        }
    }

    /// The answer to a preflight `OPTIONS` request, or `None` when CORS is not in play.
    pub(crate) fn preflight(&self, request_headers: &HeaderMap) -> Option<Response> {
        if matches!(self, Cors::None) {
            return None;
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        self.apply(&mut response);
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, METHODS);
        if let Some(requested) = request_headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        }
        Some(response)
    }
}

/// Whether a method may be answered as a CORS preflight.
pub(crate) fn is_preflight(method: &Method) -> bool {
    method == Method::OPTIONS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(allowed: &AllowedOrigins, headers: &HeaderMap) -> Result<Cors, HttpError> {
        super::check(allowed, headers.get(header::ORIGIN).cloned(), headers)
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn same_origin_is_the_default() {
        let same = AllowedOrigins::SameOrigin;
        let ok = headers(&[
            ("host", "127.0.0.1:5000"),
            ("origin", "http://127.0.0.1:5000"),
        ]);
        assert!(matches!(check(&same, &ok), Ok(Cors::None)));
        assert!(matches!(
            check(&same, &headers(&[("host", "a")])),
            Ok(Cors::None)
        ));
        for evil in [
            "http://evil.example",
            "null",
            "http://127.0.0.1:5000.evil.example",
        ] {
            let h = [("host", "127.0.0.1:5000"), ("origin", evil)];
            let h: HeaderMap = h
                .iter()
                .map(|(k, v)| {
                    (
                        header::HeaderName::from_static(k),
                        HeaderValue::from_str(v).unwrap(),
                    )
                })
                .collect();
            assert_eq!(check(&same, &h).unwrap_err(), HttpError::ForbiddenOrigin);
        }
    }

    #[test]
    fn lists_match_exactly_and_allow_credentials() {
        let list = AllowedOrigins::list(["https://app.example"]);
        let ok = headers(&[("origin", "https://app.example")]);
        assert!(matches!(check(&list, &ok), Ok(Cors::Echo(_))));
        let bad = headers(&[("origin", "https://app.example.evil")]);
        assert!(check(&list, &bad).is_err());
        assert!(matches!(check(&AllowedOrigins::Any, &bad), Ok(Cors::Any)));
    }
}
