//! The Admin UI example's server, shared by `main.rs` and the tests
//! (`tests/tests/admin_ui.rs`): a small room server with the Admin UI's namespace, the UI's
//! static files (from the `@socket.io/admin-ui` npm package) at `/admin-ui/`, and a demo page
//! at `/` whose every tab is a client the UI can watch.
//!
//! What travels on `/`:
//!
//! | client → server | data | acknowledgement |
//! |---|---|---|
//! | `join` | `"room"` | the socket's rooms |
//! | `chat` | `"text"` | |
//!
//! | server → client | data | to |
//! |---|---|---|
//! | `chat` | `{"from": sid, "text": ..}` | the sender's rooms but its own, sender included |

#![allow(dead_code)] // each binary that includes this module uses a part of it

use std::path::{Component, Path, PathBuf};

use axum::extract::Path as UrlPath;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use socketio::admin::AdminUi;
use socketio::{BuildError, Data, Socket, SocketIo};

/// The Admin UI's username in this example.
pub const USERNAME: &str = "admin";

/// Where the UI is served.
pub const UI_ROUTE: &str = "/admin-ui/";

/// The server, its Admin UI logging in with [`USERNAME`] and the password whose bcrypt hash is
/// `password_hash`.
pub fn socketio(password_hash: &str) -> Result<SocketIo, BuildError> {
    SocketIo::builder()
        .admin_ui(AdminUi::basic_auth(USERNAME, password_hash).server_id("admin-example"))
        .on("/", "join", join)
        .on("/", "chat", chat)
        .build()
}

/// Joins the room given; answers the socket's rooms.
async fn join(socket: Socket, Data(room): Data<String>) -> Vec<String> {
    socket.join(room.trim());
    socket.rooms()
}

/// Sends the text to the sender's rooms.
async fn chat(socket: Socket, Data(text): Data<String>) {
    let message = json!({ "from": socket.id(), "text": text });
    for room in socket.rooms().into_iter().skip(1) {
        socket.within(room).emit("chat", &message);
    }
}

/// Where the built UI is: `$SOCKETIO_ADMIN_UI`, or the npm package in `tests/js` of this
/// repository.
pub fn ui_dir() -> Result<PathBuf, String> {
    let dir = match std::env::var_os("SOCKETIO_ADMIN_UI").filter(|p| !p.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/js/node_modules/@socket.io/admin-ui/ui/dist"),
    };
    if dir.join("index.html").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "no Admin UI at {}.\n\
             Install it with:  npm ci --prefix tests/js\n\
             (or set SOCKETIO_ADMIN_UI to the ui/dist folder of @socket.io/admin-ui)",
            dir.display()
        ))
    }
}

/// The UI's files from `dir` at [`UI_ROUTE`], and the demo page at `/` (its client script at
/// `client_js`).
pub fn pages(dir: PathBuf, client_js: &'static str) -> Router {
    let index = dir.clone();
    Router::new()
        .route("/", get(move || async move { Html(demo_page(client_js)) }))
        .route("/admin-ui", get(|| async { Redirect::permanent(UI_ROUTE) }))
        .route(
            UI_ROUTE,
            get(move || {
                let index = index.clone();
                async move { file(&index, "index.html").await }
            }),
        )
        .route(
            "/admin-ui/{*path}",
            get(move |UrlPath(path): UrlPath<String>| {
                let dir = dir.clone();
                async move { file(&dir, &path).await }
            }),
        )
}

/// The file `path` of `dir`; 404 for anything outside it or missing.
async fn file(dir: &Path, path: &str) -> Response {
    let relative = Path::new(path);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = dir.join(relative);
    match tokio::task::spawn_blocking(move || std::fs::read(path)).await {
        Ok(Ok(bytes)) => ([(header::CONTENT_TYPE, content_type(relative))], bytes).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// A page that connects, joins `lobby` and says hello every few seconds.
fn demo_page(client_js: &str) -> String {
    format!(
        r#"<!doctype html>
<meta charset="utf-8">
<title>Admin UI demo client</title>
<p>A demo client: it joined <code>lobby</code> and chats every 5 seconds.
Watch it in the <a href="{UI_ROUTE}">Admin UI</a>.</p>
<ul id="log"></ul>
<script src="{client_js}"></script>
<script>
  const socket = io();
  const log = (text) => {{
    const li = document.createElement("li");
    li.textContent = text;
    document.getElementById("log").prepend(li);
  }};
  socket.on("connect", () => socket.emit("join", "lobby", (rooms) => log("rooms: " + rooms.join(", "))));
  socket.on("chat", (m) => log(m.from + ": " + m.text));
  setInterval(() => socket.emit("chat", "hello at " + new Date().toLocaleTimeString()), 5000);
</script>
"#
    )
}
