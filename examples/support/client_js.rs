//! The official Socket.IO browser client, served by the examples from its npm package (no CDN:
//! the pages work offline).
//!
//! The file is `socket.io-client/dist/socket.io.min.js`, found at `$SOCKETIO_CLIENT_JS` or in
//! `tests/js/node_modules` of this repository (installed by `npm ci --prefix tests/js`).

use std::path::PathBuf;

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// Where the pages load the client from.
pub const ROUTE: &str = "/static/socket.io.min.js";

/// Reads the client bundle, or says how to install it.
pub fn load() -> Result<String, String> {
    let path = match std::env::var_os("SOCKETIO_CLIENT_JS").filter(|p| !p.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/js/node_modules/socket.io-client/dist/socket.io.min.js"),
    };
    std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read the Socket.IO browser client at {} ({e}).\n\
             Install it with:  npm ci --prefix tests/js\n\
             (or set SOCKETIO_CLIENT_JS to a copy of socket.io-client/dist/socket.io.min.js)",
            path.display()
        )
    })
}

/// A router answering [`ROUTE`] with `js`.
pub fn route(js: String) -> Router {
    let js = Bytes::from(js);
    Router::new().route(
        ROUTE,
        get(move || {
            let js = js.clone();
            async move {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    js,
                )
                    .into_response()
            }
        }),
    )
}
