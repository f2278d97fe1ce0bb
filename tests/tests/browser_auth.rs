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

use std::path::PathBuf;
use std::process::Stdio;

use tests::interop::{env_path, workspace};
use tests::wait::{BROWSER_SCRIPT_TIMEOUT, EXTERNAL_WAIT};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_the_form_and_the_socket_knows_the_user() {
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

    tests::logs::install();
    let io = app::socketio().expect("the auth server");
    let site = app::app(&io, app::pages().merge(client_js::route(client)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(io.clone().serve_app(listener, site, async {
        let _ = stopped.await;
    }));

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser_auth");
    let node = env_path("SOCKETIO_TEST_NODE").unwrap_or_else(|| "node".into());
    let mut command = tokio::process::Command::new(&node);
    command
        .arg(root.join("tests/js/browser_auth.js"))
        .arg(format!("http://{addr}/"))
        .arg(&shots)
        .env("NODE_PATH", &modules)
        .env("SOCKETIO_TEST_CHROMIUM", &chromium)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(success) = env_path("SOCKETIO_TEST_AUTH_SCREENSHOT") {
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
        eprintln!("--- browser_auth.js stdout:\n{stdout}--- stderr:\n{stderr}");
    }
    if !output.status.success() || !stdout.lines().any(|l| l.contains(r#""step":"done""#)) {
        let screenshots: Vec<&str> = stdout
            .lines()
            .filter(|l| l.contains("failure-screenshot"))
            .collect();
        panic!(
            "the browser sign-in failed ({}).\nscreenshots: {}\n--- stdout:\n{stdout}--- stderr:\n{stderr}",
            output.status,
            if screenshots.is_empty() {
                "none".to_owned()
            } else {
                screenshots.join("\n")
            }
        );
    }

    let _ = stop.send(());
    tokio::time::timeout(EXTERNAL_WAIT, server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}
