//! The chat example in a real browser: headless Chromium, driven by `tests/js/browser_chat.js`
//! (playwright-core), opens the chat page twice, joins a room in each, types and sends a message
//! from one and sees it in the other.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`; `.ci/run` installs it) or
//! `$SOCKETIO_TEST_CHROMIUM`, and `npm ci --prefix tests/js` (socket.io-client for the page,
//! playwright-core for the script). A missing piece fails the test with the command that
//! installs it. On failure the script saves a screenshot of each page under
//! `target/tmp/browser_chat/` and the test prints the paths.

#[path = "../../examples/chat/app.rs"]
mod app;
#[path = "../../examples/support/client_js.rs"]
mod client_js;

use serde_json::json;
use socketio::testing::TestClient;
use tests::browser::Browser;
use tests::server::Options;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browser_tabs_chat_in_a_room() {
    let browser = Browser::find();
    let client = browser
        .client_bundle()
        .map_or_else(client_js::load, Ok)
        .expect("the Socket.IO browser client");

    let io = app::socketio().expect("the chat server");
    let site = app::pages().merge(client_js::route(client));
    let server = Options::new().test_runtime().routes(site).start(io.clone());
    let addr = server.addr;

    browser
        .run(
            "browser_chat",
            &format!("http://{addr}/"),
            env!("CARGO_TARGET_TMPDIR"),
            "SOCKETIO_TEST_CHAT_SCREENSHOT",
        )
        .await;

    // The message went through the server: a newcomer to the room gets it in the history.
    let newcomer = TestClient::connect(&io).await.unwrap();
    let joined: app::Joined = newcomer
        .emit_with_ack("join", &json!({ "nick": "carol", "room": "rust" }))
        .await
        .unwrap()
        .deserialize()
        .unwrap();
    let history: Vec<(String, String)> = joined
        .history
        .into_iter()
        .map(|m| (m.nick, m.text))
        .collect();
    assert_eq!(
        history,
        [(
            "bob".to_owned(),
            "hello from bob, in a real browser".to_owned()
        )]
    );

    server.stop().await;
}
