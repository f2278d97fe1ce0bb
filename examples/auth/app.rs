//! Flask-Login with Socket.IO: a login form on plain axum routes sets a session cookie, and the
//! namespace `/private` only lets logged-in users in, through a [`CurrentUser`] extractor that
//! reads the cookie from the connection's [`Handshake`] (Flask-SocketIO's `current_user` and
//! `authenticated_only`). Shared by `main.rs` and `tests/tests/example_auth.rs`.
//!
//! - `GET /login`, `POST /login` (form `username`, `password`), `POST /logout`, `GET /` (the
//!   page, once logged in);
//! - `/private`: `connect` refuses a socket without a valid session cookie; `message` sends
//!   `{"user", "text"}` to everyone there; an event from a socket whose session ended (its user
//!   logged out) disconnects it.

#![allow(dead_code)] // each test binary that includes this module uses a part of it

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use axum::extract::State as AppState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use socketio::engineio::Handshake;
use socketio::extract::{ConnectContext, MessageContext};
use socketio::extract::{FromConnectParts, FromMessageParts};
use socketio::{on, on_error, Data, Error, Sid, Socket, SocketIo, State};

/// The session cookie's name.
pub const COOKIE: &str = "session";

/// The demo's accounts: user name and password.
pub const USERS: &[(&str, &str)] = &[("alice", "wonderland"), ("bob", "builder")];

/// Logged-in sessions: token → user name, in memory.
#[derive(Debug, Default)]
pub struct Logins {
    sessions: Mutex<HashMap<String, String>>,
}

impl Logins {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks the password and opens a session; returns its token (128 random bits).
    pub fn login(&self, username: &str, password: &str) -> Option<String> {
        USERS
            .iter()
            .any(|&(user, pass)| user == username && pass == password)
            .then(|| {
                let token = Sid::random().to_string();
                self.sessions().insert(token.clone(), username.to_owned());
                token
            })
    }

    /// The user of a session.
    pub fn user(&self, token: &str) -> Option<String> {
        self.sessions().get(token).cloned()
    }

    /// Ends a session.
    pub fn logout(&self, token: &str) {
        self.sessions().remove(token);
    }
}

/// The logged-in user of a socket: Flask-Login's `current_user`, as an extractor. A connect
/// handler taking it refuses sockets without a valid session cookie; an event handler taking it
/// refuses events once the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// The user name.
    pub name: String,
}

/// The socket has no valid session cookie.
#[derive(Debug)]
pub struct NotLoggedIn;

impl fmt::Display for NotLoggedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not logged in: sign in at /login first")
    }
}

impl std::error::Error for NotLoggedIn {}

impl CurrentUser {
    fn from_handshake(logins: &Logins, handshake: &Handshake) -> Result<Self, NotLoggedIn> {
        let token = handshake.cookie(COOKIE).ok_or(NotLoggedIn)?;
        let name = logins.user(token).ok_or(NotLoggedIn)?;
        Ok(CurrentUser { name })
    }
}

impl FromConnectParts for CurrentUser {
    type Rejection = NotLoggedIn;

    async fn from_connect_parts(ctx: &ConnectContext) -> Result<Self, NotLoggedIn> {
        let State(logins) = State::<Arc<Logins>>::from_connect_parts(ctx)
            .await
            .map_err(|_| NotLoggedIn)?;
        CurrentUser::from_handshake(&logins, ctx.socket().handshake())
    }
}

impl FromMessageParts for CurrentUser {
    type Rejection = NotLoggedIn;

    async fn from_message_parts(ctx: &MessageContext) -> Result<Self, NotLoggedIn> {
        let State(logins) = State::<Arc<Logins>>::from_message_parts(ctx)
            .await
            .map_err(|_| NotLoggedIn)?;
        CurrentUser::from_handshake(&logins, ctx.socket().handshake())
    }
}

/// A message in `/private`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Said {
    /// Who.
    pub user: String,
    /// What.
    pub text: String,
}

#[on("connect", namespace = "/private")]
async fn connect(socket: Socket, user: CurrentUser) {
    socket.emit("welcome", &format!("Hello {}, you are in.", user.name));
    socket
        .broadcast()
        .emit("presence", &format!("{} has joined", user.name));
}

#[on("message", namespace = "/private")]
async fn message(socket: Socket, user: CurrentUser, Data(text): Data<String>) {
    let said = Said {
        user: user.name,
        text,
    };
    socket.broadcast().emit("message", &said);
    socket.emit("message", &said);
}

/// Flask-SocketIO's `authenticated_only`: an event from a socket whose session ended tells the
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

/// The Socket.IO server, sharing `logins` with the HTTP routes.
pub fn socketio(logins: Arc<Logins>) -> Result<SocketIo, socketio::BuildError> {
    SocketIo::builder().state(logins).build()
}

const LOGIN_HTML: &str = include_str!("login.html");
const INDEX_HTML: &str = include_str!("index.html");

#[derive(Debug, Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

/// The site: `GET /`, `GET /login`, `POST /login`, `POST /logout`.
pub fn pages(logins: Arc<Logins>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .with_state(logins)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn index(AppState(logins): AppState<Arc<Logins>>, headers: HeaderMap) -> Response {
    match socketio::engineio::cookie(&headers, COOKIE).and_then(|token| logins.user(token)) {
        Some(user) => Html(INDEX_HTML.replace("{{user}}", &escape(&user))).into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

async fn login_page() -> Html<String> {
    Html(LOGIN_HTML.replace("{{error}}", ""))
}

async fn login(AppState(logins): AppState<Arc<Logins>>, Form(form): Form<LoginForm>) -> Response {
    match logins.login(&form.username, &form.password) {
        Some(token) => {
            let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax");
            ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
        }
        None => (
            StatusCode::UNAUTHORIZED,
            Html(LOGIN_HTML.replace("{{error}}", "Wrong user name or password.")),
        )
            .into_response(),
    }
}

async fn logout(AppState(logins): AppState<Arc<Logins>>, headers: HeaderMap) -> Response {
    if let Some(token) = socketio::engineio::cookie(&headers, COOKIE) {
        logins.logout(token);
    }
    let expired = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    ([(header::SET_COOKIE, expired)], Redirect::to("/login")).into_response()
}
