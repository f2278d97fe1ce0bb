//! How the Admin UI logs in: a username and a bcrypt-hashed password, or nothing; and the
//! session ids that let a UI that reconnects skip the password.

use std::collections::VecDeque;
use std::str::FromStr;

use serde_json::Value;

use crate::sync::Mutex;

/// Sessions remembered at once; the oldest is forgotten first (its UI logs in again).
const MAX_SESSIONS: usize = 1_000;

/// How the UI must log in.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Credentials {
    /// Anyone may connect.
    None,
    /// `username` and a password whose bcrypt hash is `hash`.
    Basic { username: String, hash: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .finish_non_exhaustive(),
        }
    }
}

impl Credentials {
    /// Whether the options are usable: the hash must be a bcrypt hash.
    pub(super) fn check(&self) -> Result<(), String> {
        match self {
            Credentials::None => Ok(()),
            Credentials::Basic { hash, .. } => bcrypt::HashParts::from_str(hash)
                .map(|_| ())
                .map_err(|e| format!("the password must be a bcrypt hash ({e}); make one with `socketio::admin::hash_password`")),
        }
    }

    /// Whether the CONNECT payload `auth` carries the right username and password. The
    /// password is always checked (bcrypt's cost, on a blocking thread), whatever the
    /// username, so that the time taken does not tell whether the username exists.
    pub(super) async fn verify(&self, auth: &Value) -> bool {
        let Credentials::Basic { username, hash } = self else {
            return true;
        };
        let (Some(given_user), Some(password)) = (
            auth.get("username").and_then(Value::as_str),
            auth.get("password").and_then(Value::as_str),
        ) else {
            return false;
        };
        let (password, hash) = (password.to_owned(), hash.clone());
        let matches = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash)).await;
        match matches {
            Ok(Ok(matches)) => matches && given_user == username,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "Admin UI login refused: the password check failed");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "Admin UI login refused: the password check did not finish");
                false
            }
        }
    }
}

/// The session ids handed to UIs that logged in (socket.io's `InMemoryStore`).
#[derive(Debug, Default)]
pub(super) struct Sessions(Mutex<VecDeque<String>>);

impl Sessions {
    /// A new session id, remembered.
    pub(super) fn open(&self) -> String {
        let id = format!(
            "{:016x}{:016x}",
            rand::random::<u64>(),
            rand::random::<u64>()
        );
        let mut sessions = self.0.lock();
        if sessions.len() >= MAX_SESSIONS {
            sessions.pop_front();
        }
        sessions.push_back(id.clone());
        id
    }

    /// Whether `id` is a session handed out here.
    pub(super) fn contains(&self, id: &str) -> bool {
        self.0.lock().iter().any(|known| known == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic() -> Credentials {
        Credentials::Basic {
            username: "admin".into(),
            hash: bcrypt::hash("secret", 4).unwrap(),
        }
    }

    #[tokio::test]
    async fn only_the_right_username_and_password_pass() {
        let credentials = basic();
        let login = |u: &str, p: &str| serde_json::json!({ "username": u, "password": p });
        assert!(credentials.verify(&login("admin", "secret")).await);
        assert!(!credentials.verify(&login("admin", "wrong")).await);
        assert!(!credentials.verify(&login("root", "secret")).await);
        assert!(
            !credentials
                .verify(&serde_json::json!({ "username": "admin" }))
                .await
        );
        assert!(Credentials::None.verify(&Value::Null).await);
    }

    #[test]
    fn a_plain_password_is_not_a_hash() {
        let plain = Credentials::Basic {
            username: "admin".into(),
            hash: "secret".into(),
        };
        assert!(plain.check().is_err());
        assert!(basic().check().is_ok());
        assert!(
            !format!("{:?}", basic()).contains("$2"),
            "the hash stays out of logs"
        );
    }

    #[test]
    fn sessions_are_remembered_up_to_the_limit() {
        let sessions = Sessions::default();
        let first = sessions.open();
        assert!(sessions.contains(&first));
        assert!(!sessions.contains("nope"));
        for _ in 0..MAX_SESSIONS {
            sessions.open();
        }
        assert!(
            !sessions.contains(&first),
            "the oldest session is forgotten"
        );
    }
}
