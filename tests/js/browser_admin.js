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

const { WAIT, report, commandLine, run } = require("./browser");

const { url, shotDir, successShot } = commandLine("browser_admin.js");
const target = new URL(url);
const expected = Object.fromEntries(target.searchParams);
const ui = target.origin + target.pathname;

run({ shotDir, viewport: { width: 1280, height: 800 } }, async (context, shots) => {
  await context.route("**/*", (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === target.hostname ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  shots.set("admin-ui", page);
  page.on("pageerror", (e) => report("pageerror", { error: String(e) }));
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
});
