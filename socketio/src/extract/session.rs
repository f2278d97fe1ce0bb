//! [`Session<T>`]: typed per-socket data with Flask-SocketIO's `session` semantics.

use std::marker::PhantomData;

use super::context::{ConnectContext, DisconnectContext, ErrorContext, MessageContext};
use super::{FromConnectParts, FromDisconnectParts, FromErrorParts, FromMessageParts, Infallible};
use crate::dispatch::Socket;

/// The connection's session value of type `T` (Flask-SocketIO's `session`): set it in the
/// connect handler (or any handler) and every later handler of the same client sees it, in
/// every namespace it joined; it goes away with the connection.
///
/// ```
/// use socketio::{testing::TestClient, Data, Session, SocketIo};
///
/// #[derive(Clone)]
/// struct Nick(String);
///
/// async fn set_nick(nick: Session<Nick>, Data(name): Data<String>) {
///     nick.set(Nick(name));
/// }
///
/// async fn whoami(nick: Session<Nick>) -> String {
///     nick.get().map(|n| n.0).unwrap_or_else(|| "anonymous".into())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let io = SocketIo::builder()
///     .on("/", "set_nick", set_nick)
///     .on("/", "whoami", whoami)
///     .build()
///     .unwrap();
/// let client = TestClient::connect(&io).await.unwrap();
/// client.emit("set_nick", "ada").await.unwrap();
/// let ack = client.emit_with_ack("whoami", &()).await.unwrap();
/// assert_eq!(ack.deserialize::<String>().unwrap(), "ada");
/// # }
/// ```
pub struct Session<T> {
    socket: Socket,
    _type: PhantomData<fn() -> T>,
}

impl<T: Clone + Send + Sync + 'static> Session<T> {
    /// A copy of the value, if one was set (Flask-SocketIO's `session.get(key)`).
    ///
    /// ```
    /// # #[derive(Clone)] struct Nick(String);
    /// async fn whoami(nick: socketio::Session<Nick>) -> String {
    ///     nick.get().map(|n| n.0).unwrap_or_else(|| "anonymous".into())
    /// }
    /// ```
    pub fn get(&self) -> Option<T> {
        self.socket.values().get::<T>().cloned()
    }

    /// Sets the value (Flask-SocketIO's `session[key] = value`).
    ///
    /// ```
    /// # #[derive(Clone)] struct Nick(String);
    /// use socketio::{Data, Session};
    ///
    /// async fn set_nick(nick: Session<Nick>, Data(name): Data<String>) {
    ///     nick.set(Nick(name));
    /// }
    /// ```
    pub fn set(&self, value: T) {
        self.socket.values().insert(value);
    }

    /// Changes the value in place (`None` when unset); returns what `f` returns.
    ///
    /// ```
    /// #[derive(Clone)]
    /// struct Hits(u32);
    ///
    /// async fn hit(hits: socketio::Session<Hits>) -> u32 {
    ///     hits.update(|h| {
    ///         let h = h.get_or_insert(Hits(0));
    ///         h.0 += 1;
    ///         h.0
    ///     })
    /// }
    /// ```
    pub fn update<R>(&self, f: impl FnOnce(&mut Option<T>) -> R) -> R {
        let mut map = self.socket.values();
        let mut value = map.remove::<T>();
        let out = f(&mut value);
        if let Some(value) = value {
            map.insert(value);
        }
        out
    }

    /// Removes the value and returns it (Flask-SocketIO's `session.pop(key, None)`).
    ///
    /// ```
    /// # #[derive(Clone)] struct User(String);
    /// async fn logout(user: socketio::Session<User>) -> String {
    ///     match user.take() {
    ///         Some(user) => format!("goodbye, {}", user.0),
    ///         None => "you were not logged in".into(),
    ///     }
    /// }
    /// ```
    pub fn take(&self) -> Option<T> {
        self.socket.values().remove::<T>()
    }
}

impl<T> std::fmt::Debug for Session<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("type", &std::any::type_name::<T>())
            .field("socket", &self.socket.id())
            .finish()
    }
}

fn session<T>(socket: &Socket) -> Session<T> {
    Session {
        socket: socket.clone(),
        _type: PhantomData,
    }
}

impl<T: Clone + Send + Sync + 'static> FromMessageParts for Session<T> {
    type Rejection = Infallible;
    async fn from_message_parts(ctx: &MessageContext) -> Result<Self, Infallible> {
        Ok(session(&ctx.socket))
    }
}

impl<T: Clone + Send + Sync + 'static> FromConnectParts for Session<T> {
    type Rejection = Infallible;
    async fn from_connect_parts(ctx: &ConnectContext) -> Result<Self, Infallible> {
        Ok(session(&ctx.socket))
    }
}

impl<T: Clone + Send + Sync + 'static> FromDisconnectParts for Session<T> {
    type Rejection = Infallible;
    async fn from_disconnect_parts(ctx: &DisconnectContext) -> Result<Self, Infallible> {
        Ok(session(&ctx.socket))
    }
}

impl<T: Clone + Send + Sync + 'static> FromErrorParts for Session<T> {
    type Rejection = Infallible;
    async fn from_error_parts(ctx: &ErrorContext) -> Result<Self, Infallible> {
        Ok(session(&ctx.socket))
    }
}
