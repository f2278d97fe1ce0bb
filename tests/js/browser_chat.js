// The chat example in a real browser (driven by tests/tests/browser_chat.rs):
//   node browser_chat.js <chat url> <screenshot dir> [success screenshot path]
//
// Headless Chromium (Debian's /usr/bin/chromium, or $SOCKETIO_TEST_CHROMIUM) opens the chat page
// twice, joins room "rust" in each, sends a message from one and waits for it in the other
// (with the typing indicator on the way). Prints one JSON line per step; exits 0 when all
// passed. On failure it saves a screenshot of each page in <screenshot dir> and prints the paths.
"use strict";

const { WAIT, report, commandLine, run } = require("./browser");

const { url, shotDir, successShot } = commandLine("browser_chat.js");
const ROOM = "rust";
const TEXT = "hello from bob, in a real browser";

async function openChat(context, nick, shots) {
  const page = await context.newPage();
  shots.set(`browser_chat-${nick}`, page); // screenshotted on failure
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

run({ shotDir, viewport: { width: 1000, height: 640 } }, async (context, shots) => {
  const alice = await openChat(context, "alice", shots);
  const bob = await openChat(context, "bob", shots);

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
});
