//! Authentication (with Flask-Login): the connect handler lets in only logged-in users, and
//! tells everyone who arrived; returning `false` refuses the connection.
//!
//! `current_user` comes from `login.rs`, a stand-in for Flask-Login. `main` logs a demo user
//! in and prints the cookie that identifies them: connect with `Cookie: session=<token>`.
//!
//! `cargo run -p examples --example seed_login_connect`

mod login;
mod support;

use login::CurrentUser;
use serde_json::json;
use socketio::{on, Socket, SocketIo};

#[on("connect")]
async fn connect_handler(socket: Socket, user: CurrentUser) -> bool {
    if user.is_authenticated() {
        let news = json!({ "message": format!("{} arrived", user.name()) });
        socket.everyone().emit("news", &news);
    }
    user.is_authenticated()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let token = login::login_user("ann");
    println!("demo login: ann, cookie session={token}");
    support::serve(SocketIo::builder()).await
}
