//! A stand-in for Flask-Login, shared by the two "Authentication" examples: who is logged in
//! (session token → user name; a real application fills it from its login form, as the `auth`
//! example does) and [`CurrentUser`], Flask-Login's `current_user`, as an extractor that reads
//! the `session` cookie of the connection's handshake.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use socketio::extract::MessageContext;
use socketio::extract::{ConnectContext, FromConnectParts, FromMessageParts, Infallible};
use socketio::{Handshake, Sid};

/// The logged-in sessions: token → user name.
static SESSIONS: LazyLock<Mutex<HashMap<String, String>>> = LazyLock::new(Default::default);

/// Logs `name` in; returns the value of the `session` cookie that identifies them (128 random
/// bits).
pub fn login_user(name: &str) -> String {
    let token = Sid::random().to_string();
    let mut sessions = SESSIONS.lock().unwrap_or_else(|e| e.into_inner());
    sessions.insert(token.clone(), name.to_owned());
    token
}

/// Flask-Login's `current_user`: the user whose `session` cookie the connection carries, or an
/// anonymous user.
#[derive(Debug, Clone)]
pub struct CurrentUser(Option<String>);

impl CurrentUser {
    fn of(handshake: &Handshake) -> Self {
        let sessions = SESSIONS.lock().unwrap_or_else(|e| e.into_inner());
        let token = handshake.cookie("session").unwrap_or_default();
        CurrentUser(sessions.get(token).cloned())
    }

    /// Whether the user logged in.
    pub fn is_authenticated(&self) -> bool {
        self.0.is_some()
    }

    /// The user's name (`anonymous` when not logged in).
    pub fn name(&self) -> &str {
        self.0.as_deref().unwrap_or("anonymous")
    }
}

impl FromConnectParts for CurrentUser {
    type Rejection = Infallible;

    async fn from_connect_parts(ctx: &ConnectContext) -> Result<Self, Infallible> {
        Ok(CurrentUser::of(ctx.socket().handshake()))
    }
}

impl FromMessageParts for CurrentUser {
    type Rejection = Infallible;

    async fn from_message_parts(ctx: &MessageContext) -> Result<Self, Infallible> {
        Ok(CurrentUser::of(ctx.socket().handshake()))
    }
}
