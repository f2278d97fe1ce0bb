// The official Socket.IO Admin UI in a real browser (driven by tests/tests/admin_ui.rs):
//   node browser_admin.js <ui url> <screenshot dir> [success screenshot path]
//
// <ui url> is where the admin example serves the UI, with what to log in with and what to look
// for in its query: ?user=..&password=..&sid=<socket id of />&room=<a room of that socket>.
// Headless Chromium (Debian's /usr/bin/chromium, or $SOCKETIO_TEST_CHROMIUM) opens the UI, fills
// its connection form (server URL, username, password), waits for the socket in the sockets
// page, the room in the rooms page, and the socket's page with the room among its rooms.
// Requests to other hosts (the UI's web fonts and icons from CDNs) are refused, so the test
// needs no network. Prints one JSON line per step; exits 0 when all passed. On failure it
// saves a screenshot in <screenshot dir> and prints its path.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const [url, shotDir, successShot] = process.argv.slice(2);
if (!url || !shotDir) {
  console.error("usage: node browser_admin.js <ui url> <screenshot dir> [success screenshot]");
  process.exit(2);
}
const executablePath = process.env.SOCKETIO_TEST_CHROMIUM || "/usr/bin/chromium";
const WAIT = 15000; // ms, per step

const target = new URL(url);
const expected = Object.fromEntries(target.searchParams);
const ui = target.origin + target.pathname;
const report = (step, extra = {}) => console.log(JSON.stringify({ step, ...extra }));

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "socketio-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    timeout: 30000,
    viewport: { width: 1280, height: 800 },
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
  await context.route("**/*", (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === target.hostname ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => report("pageerror", { error: String(e) }));
  try {
    await page.goto(ui, { waitUntil: "domcontentloaded", timeout: WAIT });
    await page.getByLabel("Server URL").fill(target.origin, { timeout: WAIT });
    await page.getByLabel("Username").fill(expected.user);
    await page.getByLabel("Password").fill(expected.password);
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByLabel("Server URL").waitFor({ state: "hidden", timeout: WAIT });
    report("logged-in");

    await page.goto(`${ui}#/sockets/`, { timeout: WAIT });
    await page.getByRole("cell", { name: expected.sid }).waitFor({ timeout: WAIT });
    report("socket-listed", { sid: expected.sid });

    await page.goto(`${ui}#/rooms/`, { timeout: WAIT });
    await page.getByRole("cell", { name: expected.room, exact: true }).waitFor({ timeout: WAIT });
    report("room-listed", { room: expected.room });

    await page.goto(`${ui}#/n/${encodeURIComponent("/")}/sockets/${expected.sid}`, { timeout: WAIT });
    await page.getByText(expected.sid).first().waitFor({ timeout: WAIT });
    await page.getByText(expected.room, { exact: true }).first().waitFor({ timeout: WAIT });
    report("room-shown", { sid: expected.sid, room: expected.room });

    if (successShot) {
      await page.screenshot({ path: successShot, fullPage: true });
      report("screenshot", { path: successShot });
    }
    report("done");
  } catch (e) {
    report("failed", { error: String(e) });
    fs.mkdirSync(shotDir, { recursive: true });
    const shot = path.join(shotDir, "admin-ui.png");
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    report("failure-screenshot", { path: shot });
    process.exitCode = 1;
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  report("failed", { error: String(e) });
  process.exit(1);
});
