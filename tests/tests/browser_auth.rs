//! The auth example in a real browser: headless Chromium, driven by `tests/js/browser_auth.js`
//! (playwright-core), is refused on `/private` while anonymous, signs in with the login form,
//! sees its socket greeted by the user's name, sends a message and finds it in the page after a
//! reload (the socket handler wrote it into the HTTP session), then signs out.
//!
//! Needs what `tests/browser_chat.rs` needs: Debian's `chromium` (or `$SOCKETIO_TEST_CHROMIUM`)
//! and `npm ci --prefix tests/js`; a missing piece fails the test with the command that installs
//! it. On failure the script saves a screenshot under `target/tmp/browser_auth/` and the test
//! prints its path.

#[path = "../../examples/auth/app.rs"]
mod app;
#[path = "../../examples/support/client_js.rs"]
mod client_js;

use tests::browser::Browser;
use tests::wait::EXTERNAL_WAIT;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_the_form_and_the_socket_knows_the_user() {
    let browser = Browser::find();
    let client = browser
        .client_bundle()
        .map_or_else(client_js::load, Ok)
        .expect("the Socket.IO browser client");

    tests::logs::install();
    let io = app::socketio().expect("the auth server");
    let site = app::app(&io, app::pages().merge(client_js::route(client)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(io.clone().serve_app(listener, site, async {
        let _ = stopped.await;
    }));

    browser
        .run(
            "browser_auth",
            &format!("http://{addr}/"),
            env!("CARGO_TARGET_TMPDIR"),
            "SOCKETIO_TEST_AUTH_SCREENSHOT",
        )
        .await;

    let _ = stop.send(());
    tokio::time::timeout(EXTERNAL_WAIT, server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}
