//! Browser tests: headless Chromium driven by a playwright-core script in `tests/js/`.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`; `.ci/run` installs it) or
//! `$SOCKETIO_TEST_CHROMIUM`, and `npm ci --prefix tests/js` (socket.io-client for the pages,
//! playwright-core for the scripts). A missing piece fails the test with the command that
//! installs it. A script prints one JSON line per step and `{"step":"done"}` at the end; on
//! failure it saves screenshots under `target/tmp/<script>/` and prints their paths.

use std::path::PathBuf;
use std::process::Stdio;

use crate::interop::{env_path, workspace};
use crate::wait::BROWSER_SCRIPT_TIMEOUT;

/// Node's modules and Chromium, both checked to be there.
pub struct Browser {
    root: PathBuf,
    modules: PathBuf,
    chromium: PathBuf,
}

impl Browser {
    /// Finds what the browser tests need, or fails the test saying how to install it.
    pub fn find() -> Browser {
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
            "no Chromium at {}: install it with `apt-get install -y chromium` (as .ci/run does) \
             or set SOCKETIO_TEST_CHROMIUM",
            chromium.display()
        );
        Browser {
            root,
            modules,
            chromium,
        }
    }

    /// The Socket.IO browser client from the npm package, if it can be read.
    pub fn client_bundle(&self) -> Option<String> {
        std::fs::read_to_string(self.modules.join("socket.io-client/dist/socket.io.min.js")).ok()
    }

    /// Runs `tests/js/<script>.js` against the page at `url` and returns its output; fails the
    /// test, with the screenshots' paths and the script's output, unless it reached its last
    /// step. Failure screenshots go to `<tmp>/<script>/` (pass the test's
    /// `env!("CARGO_TARGET_TMPDIR")`); `$<success_env>`, when set, names a screenshot to take
    /// when all went well.
    pub async fn run(&self, script: &str, url: &str, tmp: &str, success_env: &str) -> String {
        self.run_inner(script, url, tmp, env_path(success_env))
            .await
    }

    /// Like [`run`](Self::run), and the script saves a screenshot at `screenshot` when all went
    /// well (its folder is created).
    pub async fn run_with_screenshot(
        &self,
        script: &str,
        url: &str,
        tmp: &str,
        screenshot: &str,
    ) -> String {
        let screenshot = PathBuf::from(screenshot);
        if let Some(dir) = screenshot.parent() {
            std::fs::create_dir_all(dir).expect("the screenshot's folder");
        }
        self.run_inner(script, url, tmp, Some(screenshot)).await
    }

    async fn run_inner(
        &self,
        script: &str,
        url: &str,
        tmp: &str,
        success: Option<PathBuf>,
    ) -> String {
        let shots = PathBuf::from(tmp).join(script);
        let node = env_path("SOCKETIO_TEST_NODE").unwrap_or_else(|| "node".into());
        let mut command = tokio::process::Command::new(&node);
        command
            .arg(self.root.join(format!("tests/js/{script}.js")))
            .arg(url)
            .arg(&shots)
            .env("NODE_PATH", &self.modules)
            .env("SOCKETIO_TEST_CHROMIUM", &self.chromium)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(success) = success {
            command.arg(success);
        }
        let output = match tokio::time::timeout(BROWSER_SCRIPT_TIMEOUT, command.output()).await {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => panic!("cannot run {} ({e}): install Node.js 20", node.display()),
            Err(_) => panic!(
                "{script}.js ran for more than {BROWSER_SCRIPT_TIMEOUT:?}; screenshots (if any) in {}",
                shots.display()
            ),
        };
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if std::env::var_os("SOCKETIO_TEST_VERBOSE").is_some() {
            eprintln!("--- {script}.js stdout:\n{stdout}--- stderr:\n{stderr}");
        }
        if !output.status.success() || !stdout.lines().any(|l| l.contains(r#""step":"done""#)) {
            let screenshots: Vec<&str> = stdout
                .lines()
                .filter(|l| l.contains("failure-screenshot"))
                .collect();
            panic!(
                "{script}.js failed ({}).\nscreenshots: {}\n--- stdout:\n{stdout}--- stderr:\n{stderr}",
                output.status,
                if screenshots.is_empty() {
                    "none".to_owned()
                } else {
                    screenshots.join("\n")
                }
            );
        }
        stdout
    }
}
