//! Authentication (with Flask-Login): a guard that disconnects users who are not logged in
//! before the event reaches its handler (Flask's `authenticated_only` decorator).
//!
//! `current_user` comes from `login.rs`, a stand-in for Flask-Login. `main` logs a demo user
//! in and prints the cookie that identifies them: connect with `Cookie: session=<token>`.
//!
//! `cargo run -p examples --example seed_authenticated_only`

mod login;
mod support;

use login::CurrentUser;
use serde_json::json;
use socketio::{on, Socket, SocketIo};

async fn authenticated_only(socket: Socket, user: CurrentUser) -> bool {
    if !user.is_authenticated() {
        socket.disconnect();
    }
    user.is_authenticated()
}

#[on("hello", guard = authenticated_only)]
async fn handle_hello(socket: Socket, user: CurrentUser) {
    let news = json!({ "message": format!("{} says hello", user.name()) });
    socket.everyone().emit("news", &news);
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let token = login::login_user("ann");
    println!("demo login: ann, cookie session={token}");
    support::serve(SocketIo::builder()).await
}
