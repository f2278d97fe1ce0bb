// What the browser scripts (browser_*.js) share: their command line, one JSON line per step,
// and a run in headless Chromium (Debian's /usr/bin/chromium, or $SOCKETIO_TEST_CHROMIUM) with
// a fresh profile, screenshots of the pages a script names when a step fails, and an exit code
// of 1 then.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

/** How long one step may take, in ms. */
const WAIT = 15000;

/** Prints one step as a JSON line. */
const report = (step, extra = {}) => console.log(JSON.stringify({ step, ...extra }));

/**
 * The script's arguments, `<url> <screenshot dir> [success screenshot path]`; prints the usage
 * and exits with 2 when they are missing.
 */
function commandLine(script) {
  const [url, shotDir, successShot] = process.argv.slice(2);
  if (!url || !shotDir) {
    console.error(`usage: node ${script} <url> <screenshot dir> [success screenshot]`);
    process.exit(2);
  }
  return { url, shotDir, successShot };
}

/**
 * Runs `steps(context, shots)` in a browser context of its own. `shots` maps a file name to a
 * page the script opened: on failure each is saved as `<shotDir>/<name>.png`.
 */
async function run({ shotDir, viewport }, steps) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "socketio-chromium-"));
  const shots = new Map();
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.SOCKETIO_TEST_CHROMIUM || "/usr/bin/chromium",
      headless: true,
      timeout: 30000,
      viewport,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    });
    try {
      await steps(context, shots);
    } catch (e) {
      report("failed", { error: String(e && e.stack ? e.stack : e) });
      fs.mkdirSync(shotDir, { recursive: true });
      for (const [name, page] of shots) {
        const file = path.join(shotDir, `${name}.png`);
        try {
          await page.screenshot({ path: file, fullPage: true });
          report("failure-screenshot", { path: file });
        } catch (shotError) {
          report("failure-screenshot", { path: file, error: String(shotError) });
        }
      }
      process.exitCode = 1;
    } finally {
      await context.close().catch(() => {});
    }
  } catch (e) {
    report("failed", { error: String(e && e.stack ? e.stack : e) });
    process.exitCode = 1;
  } finally {
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

module.exports = { WAIT, report, commandLine, run };
