//! Flask-Login with Socket.IO, on tower-sessions: a login form on plain axum routes puts the
//! user's id in the HTTP session, and the namespace `/private` lets only logged-in users in,
//! through a [`CurrentUser`] extractor that reads the same session (Flask-Login's
//! `current_user`; the socket sees the live session, as Flask-SocketIO's
//! `manage_session=False`). Shared by `main.rs` and `tests/tests/example_auth.rs`.
//!
//! - `GET /login`, `POST /login` (form `username`, `password`), `POST /logout`, `GET /` (the
//!   page, once logged in, with the last message you sent);
//! - `/private`: `connect` refuses an anonymous visitor; `message` sends `{"user", "text"}` to
//!   everyone there and keeps the text in the HTTP session (the page shows it); an event from a
//!   socket whose user logged out disconnects it.

#![allow(dead_code)] // each test binary that includes this module uses a part of it

use std::fmt;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use socketio::extract::{ConnectContext, FromConnectParts, FromMessageParts};
use socketio::extract::{HttpSessionError, MessageContext};
use socketio::tower_sessions::{MemoryStore, Session, SessionManagerLayer};
use socketio::{on, on_error, ConnectError, Data, Error, HttpSession, Socket, SocketIo};

/// The HTTP session key of the logged-in user's id (Flask-Login's `_user_id`).
pub const USER_ID: &str = "user_id";
/// The HTTP session key of the last message the user sent, written by the socket handler.
pub const LAST_MESSAGE: &str = "last_message";

/// An account.
#[derive(Debug, PartialEq, Eq)]
pub struct User {
    pub id: u32,
    pub name: &'static str,
    password: &'static str,
}

/// The demo's accounts.
pub const USERS: &[User] = &[
    User {
        id: 1,
        name: "alice",
        password: "wonderland",
    },
    User {
        id: 2,
        name: "bob",
        password: "builder",
    },
];

/// Flask-Login's `user_loader`.
pub fn load_user(id: u32) -> Option<&'static User> {
    USERS.iter().find(|user| user.id == id)
}

/// Flask-Login's `current_user`, as an extractor: the user whose id is in the socket's HTTP
/// session, read from the session store at each use, so a logout over HTTP is seen at once.
pub struct CurrentUser(pub &'static User);

impl CurrentUser {
    async fn of(socket: &Socket) -> Result<Self, NotLoggedIn> {
        let session = HttpSession::of(socket).map_err(|_| NotLoggedIn)?;
        let id = session.get(USER_ID).await.map_err(|_| NotLoggedIn)?;
        id.and_then(load_user).map(CurrentUser).ok_or(NotLoggedIn)
    }
}

impl FromConnectParts for CurrentUser {
    type Rejection = NotLoggedIn;
    async fn from_connect_parts(ctx: &ConnectContext) -> Result<Self, NotLoggedIn> {
        CurrentUser::of(ctx.socket()).await
    }
}

impl FromMessageParts for CurrentUser {
    type Rejection = NotLoggedIn;
    async fn from_message_parts(ctx: &MessageContext) -> Result<Self, NotLoggedIn> {
        CurrentUser::of(ctx.socket()).await
    }
}

/// The socket's HTTP session has no logged-in user.
#[derive(Debug)]
pub struct NotLoggedIn;

impl fmt::Display for NotLoggedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not logged in: sign in at /login first")
    }
}

impl std::error::Error for NotLoggedIn {}

/// A message in `/private`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Said {
    /// Who.
    pub user: String,
    /// What.
    pub text: String,
}

/// Flask-SocketIO's `connect` handler that raises `ConnectionRefusedError` for an anonymous
/// visitor.
#[on("connect", namespace = "/private")]
async fn connect(socket: Socket, user: Option<CurrentUser>) -> Result<(), ConnectError> {
    let Some(CurrentUser(user)) = user else {
        return Err(ConnectError::new(NotLoggedIn.to_string()));
    };
    socket.emit("welcome", &format!("Hello {}, you are in.", user.name));
    let joined = format!("{} has joined", user.name);
    socket.broadcast().emit("presence", &joined);
    Ok(())
}

#[on("message", namespace = "/private")]
async fn message(
    socket: Socket,
    CurrentUser(user): CurrentUser,
    session: HttpSession,
    Data(text): Data<String>,
) -> Result<(), HttpSessionError> {
    session.insert(LAST_MESSAGE, &text).await?; // the next page load shows it
    let said = Said {
        user: user.name.into(),
        text,
    };
    socket.broadcast().emit("message", &said);
    socket.emit("message", &said);
    Ok(())
}

/// Flask-SocketIO's `authenticated_only`: an event from a socket whose user logged out tells the
/// client why and disconnects it; any other failure answers the acknowledgement with the error.
#[on_error(namespace = "/private")]
async fn private_error(error: Error, socket: Socket) -> Option<Value> {
    let message = error.source_error().to_string();
    if error.source_error().downcast_ref::<NotLoggedIn>().is_some() {
        socket.emit("unauthorized", &message);
        socket.disconnect();
        return None;
    }
    Some(json!({ "error": message }))
}

/// The Socket.IO server.
pub fn socketio() -> Result<SocketIo, socketio::BuildError> {
    SocketIo::builder().build()
}

/// `routes` and the Socket.IO server inside one session layer: the handshake request of every
/// socket carries the visitor's session, so the socket handlers see what the pages set.
pub fn app(io: &SocketIo, routes: Router) -> Router {
    // The demo serves plain HTTP: behind TLS, keep the default (Secure cookies).
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    routes.merge(io.router()).layer(sessions)
}

const LOGIN_HTML: &str = include_str!("login.html");
const INDEX_HTML: &str = include_str!("index.html");

#[derive(Debug, Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

/// The site: `GET /`, `GET /login`, `POST /login`, `POST /logout`; serve it through [`app`].
pub fn pages() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn index(session: Session) -> Response {
    let user = session
        .get(USER_ID)
        .await
        .ok()
        .flatten()
        .and_then(load_user);
    let Some(user) = user else {
        return Redirect::to("/login").into_response();
    };
    let last: Option<String> = session.get(LAST_MESSAGE).await.ok().flatten();
    let page = INDEX_HTML
        .replace("{{user}}", &escape(user.name))
        .replace("{{last}}", &escape(&last.unwrap_or_default()));
    Html(page).into_response()
}

async fn login_page() -> Html<String> {
    Html(LOGIN_HTML.replace("{{error}}", ""))
}

/// Flask-Login's `login_user`.
async fn login(session: Session, Form(form): Form<LoginForm>) -> Response {
    let Some(user) = USERS
        .iter()
        .find(|user| user.name == form.username && user.password == form.password)
    else {
        let page = LOGIN_HTML.replace("{{error}}", "Wrong user name or password.");
        return (StatusCode::UNAUTHORIZED, Html(page)).into_response();
    };
    // A new session id at login, against session fixation.
    if session.cycle_id().await.is_err() || session.insert(USER_ID, user.id).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    Redirect::to("/").into_response()
}

/// Flask-Login's `logout_user`, and the rest of the session forgotten.
async fn logout(session: Session) -> Redirect {
    session.clear().await;
    Redirect::to("/login")
}
