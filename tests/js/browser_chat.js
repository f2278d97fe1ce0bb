// The chat example in a real browser (driven by tests/tests/browser_chat.rs):
//   node browser_chat.js <chat url> <screenshot dir> [success screenshot path]
//
// Headless Chromium (Debian's /usr/bin/chromium, or $SOCKETIO_TEST_CHROMIUM) opens the chat page
// twice, joins room "rust" in each, sends a message from one and waits for it in the other
// (with the typing indicator on the way). Prints one JSON line per step; exits 0 when all
// passed. On failure it saves a screenshot of each page in <screenshot dir> and prints the paths.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const [url, shotDir, successShot] = process.argv.slice(2);
if (!url || !shotDir) {
  console.error("usage: node browser_chat.js <chat url> <screenshot dir> [success screenshot]");
  process.exit(2);
}
const executablePath = process.env.SOCKETIO_TEST_CHROMIUM || "/usr/bin/chromium";
const WAIT = 15000; // ms, per step
const ROOM = "rust";
const TEXT = "hello from bob, in a real browser";

const report = (step, extra = {}) => console.log(JSON.stringify({ step, ...extra }));

async function openChat(context, nick, pages) {
  const page = await context.newPage();
  pages.push([nick, page]); // screenshotted on failure
  page.on("pageerror", (e) => report("pageerror", { nick, error: String(e) }));
  page.on("console", (m) => {
    if (m.type() === "error") report("console-error", { nick, text: m.text() });
  });
  await page.goto(url, { waitUntil: "load", timeout: WAIT });
  await page.locator("#status", { hasText: "online" }).waitFor({ timeout: WAIT });
  report("connected", { nick });
  await page.fill("#nick", nick);
  await page.fill("#room", ROOM);
  await page.click("#join");
  await page.waitForSelector(`body[data-room="${ROOM}"]`, { timeout: WAIT });
  report("joined", { nick, room: ROOM });
  return page;
}

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "socketio-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    timeout: 30000,
    viewport: { width: 1000, height: 640 },
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
  const pages = [];
  try {
    const alice = await openChat(context, "alice", pages);
    const bob = await openChat(context, "bob", pages);

    await alice.locator("#members li", { hasText: "bob" }).waitFor({ timeout: WAIT });
    await alice.locator("#messages li.notice", { hasText: `bob joined ${ROOM}` }).waitFor({ timeout: WAIT });
    report("presence", { seen_by: "alice" });

    await bob.locator("#message").pressSequentially(TEXT.slice(0, 5));
    await alice.locator("#typing", { hasText: "bob is typing" }).waitFor({ timeout: WAIT });
    report("typing", { seen_by: "alice" });

    await bob.fill("#message", TEXT);
    await bob.click("#send");
    const received = alice.locator("#messages li.message", { hasText: TEXT });
    await received.waitFor({ timeout: WAIT });
    const nick = await received.locator(".nick").textContent();
    if (nick !== "bob") throw new Error(`the message shows nick ${JSON.stringify(nick)}`);
    await bob.locator("#messages li.message.mine", { hasText: TEXT }).waitFor({ timeout: WAIT });
    await alice.locator("#typing", { hasText: /^$/ }).waitFor({ timeout: WAIT });
    report("message", { from: "bob", seen_by: "alice", text: TEXT });

    if (successShot) {
      await alice.screenshot({ path: successShot });
      report("screenshot", { path: successShot });
    }
    report("done");
  } catch (e) {
    report("failed", { error: String(e && e.stack ? e.stack : e) });
    fs.mkdirSync(shotDir, { recursive: true });
    for (const [nick, page] of pages) {
      const file = path.join(shotDir, `browser_chat-${nick}.png`);
      try {
        await page.screenshot({ path: file, fullPage: true });
        report("failure-screenshot", { nick, path: file });
      } catch (shotError) {
        report("failure-screenshot", { nick, error: String(shotError) });
      }
    }
    process.exitCode = 1;
  } finally {
    await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  report("failed", { error: String(e && e.stack ? e.stack : e) });
  process.exit(1);
});
