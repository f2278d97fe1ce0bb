//! The official Socket.IO Admin UI watching a socketio-rs server: the UI served locally from
//! its npm package, a demo page whose tabs are clients, and three demo clients in the server
//! itself that chat in two rooms.
//!
//! ```sh
//! npm ci --prefix tests/js                         # once: the UI and the browser client
//! cargo run -p examples --example admin --features admin-ui
//! ```
//!
//! Then open <http://127.0.0.1:5000/admin-ui/>, connect to `http://127.0.0.1:5000` as
//! `admin` with the password `changeit` (`ADMIN_PASSWORD` sets another), and open
//! <http://127.0.0.1:5000/> in a few tabs to see them appear. `PORT` changes the port (default
//! 5000); `SOCKETIO_ADMIN_UI` points at another copy of the UI's `ui/dist`. The logic is in
//! `app.rs`; its test is `tests/tests/admin_ui.rs` (the browser part drives this UI).

mod app;
#[path = "../support/client_js.rs"]
mod client_js;
#[path = "../support/runner.rs"]
mod runner;

use std::process::ExitCode;
use std::time::Duration;

use socketio::testing::TestClient;
use socketio::SocketIo;

#[tokio::main]
async fn main() -> ExitCode {
    runner::init_tracing();
    runner::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let port = runner::port()?;
    let ui = app::ui_dir()?;
    let client = client_js::load()?;
    let password = std::env::var("ADMIN_PASSWORD").unwrap_or_else(|_| "changeit".to_owned());
    let io = app::socketio(&socketio::admin::hash_password(&password)?)?;
    let listener = runner::listen(port).await?;
    tokio::spawn(demo_clients(io.clone()));
    println!(
        "Admin UI: open http://127.0.0.1:{port}{} and connect to http://127.0.0.1:{port} as {} \
         (Ctrl-C to stop)",
        app::UI_ROUTE,
        app::USERNAME
    );
    let site = app::pages(ui, client_js::ROUTE).merge(client_js::route(client));
    runner::serve(io, listener, site).await
}

/// Three clients in the server's own process: two in `lobby`, one in `game`, each chatting now
/// and then, so that the UI has something to show.
async fn demo_clients(io: SocketIo) {
    let mut clients = Vec::new();
    for room in ["lobby", "lobby", "game"] {
        let Ok(client) = TestClient::builder(&io).query("demo", room).connect().await else {
            return;
        };
        let _ = client.emit_with_ack("join", room).await;
        clients.push(client);
    }
    let mut tick = tokio::time::interval(Duration::from_secs(3));
    for turn in 0usize.. {
        tick.tick().await;
        let client = &clients[turn % clients.len()];
        let _ = client.emit("chat", &format!("demo message {turn}")).await;
        // What the clients received is of no interest here.
        let _ = client.get_received().await;
    }
}
