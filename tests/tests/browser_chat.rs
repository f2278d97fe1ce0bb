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

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::json;
use socketio::testing::TestClient;
use tests::interop::{env_path, workspace};
use tests::server::Options;
use tests::wait::BROWSER_SCRIPT_TIMEOUT;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browser_tabs_chat_in_a_room() {
    let root = workspace();
    let modules =
        env_path("SOCKETIO_TEST_NODE_MODULES").unwrap_or(root.join("tests/js/node_modules"));
    assert!(
        modules.join("playwright-core/package.json").is_file()
            && modules.join("socket.io-client/package.json").is_file(),
        "playwright-core or socket.io-client is missing in {}: run `npm ci --prefix tests/js`",
        modules.display()
    );
    let chromium = env_path("SOCKETIO_TEST_CHROMIUM").unwrap_or("/usr/bin/chromium".into());
    assert!(
        chromium.is_file(),
        "no Chromium at {}: install it with `apt-get install -y chromium` (as .ci/run does) or \
         set SOCKETIO_TEST_CHROMIUM",
        chromium.display()
    );
    let client = std::fs::read_to_string(modules.join("socket.io-client/dist/socket.io.min.js"))
        .or_else(|_| client_js::load())
        .expect("the Socket.IO browser client");

    let io = app::socketio().expect("the chat server");
    let site = app::pages().merge(client_js::route(client));
    let server = Options::new().test_runtime().routes(site).start(io.clone());
    let addr = server.addr;

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser_chat");
    let node = env_path("SOCKETIO_TEST_NODE").unwrap_or_else(|| "node".into());
    let mut command = tokio::process::Command::new(&node);
    command
        .arg(root.join("tests/js/browser_chat.js"))
        .arg(format!("http://{addr}/"))
        .arg(&shots)
        .env("NODE_PATH", &modules)
        .env("SOCKETIO_TEST_CHROMIUM", &chromium)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(success) = env_path("SOCKETIO_TEST_CHAT_SCREENSHOT") {
        command.arg(success); // a picture of the page when all went well
    }
    let output = match tokio::time::timeout(BROWSER_SCRIPT_TIMEOUT, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("cannot run {} ({e}): install Node.js 20", node.display()),
        Err(_) => panic!(
            "the browser script ran for more than {BROWSER_SCRIPT_TIMEOUT:?}; screenshots (if any) in {}",
            shots.display()
        ),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if std::env::var_os("SOCKETIO_TEST_VERBOSE").is_some() {
        eprintln!("--- browser_chat.js stdout:\n{stdout}--- stderr:\n{stderr}");
    }
    if !output.status.success() || !stdout.lines().any(|l| l.contains(r#""step":"done""#)) {
        let screenshots: Vec<&str> = stdout
            .lines()
            .filter(|l| l.contains("failure-screenshot"))
            .collect();
        panic!(
            "the browser chat failed ({}).\nscreenshots: {}\n--- stdout:\n{stdout}--- stderr:\n{stderr}",
            output.status,
            if screenshots.is_empty() {
                "none".to_owned()
            } else {
                screenshots.join("\n")
            }
        );
    }

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
