//! Flask's globals in handlers (from the prose): a session per connection that every later
//! handler of the client sees (Flask's `session`), the socket id (`request.sid`) and the
//! namespace (`request.namespace`).
//!
//! `cargo run -p examples --example seed_session`

mod support;

use socketio::{on, Data, Session, Sid, Socket, SocketIo};

#[derive(Clone)]
struct Nick(String);

#[on("set nick")]
async fn set_nick(session: Session<Nick>, Data(nick): Data<String>) {
    session.set(Nick(nick));
}

#[on("whoami")]
async fn whoami(socket: Socket, session: Session<Nick>) -> (Option<String>, Sid, String) {
    let nick = session.get().map(|Nick(nick)| nick);
    (nick, socket.id(), socket.namespace().into())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    support::serve(SocketIo::builder()).await
}
