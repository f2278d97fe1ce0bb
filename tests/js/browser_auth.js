// The auth example in a real browser (driven by tests/tests/browser_auth.rs):
//   node browser_auth.js <site url> <screenshot dir> [success screenshot path]
//
// Headless Chromium (Debian's /usr/bin/chromium, or $SOCKETIO_TEST_CHROMIUM):
//   1. an anonymous visitor is sent to the login form, and a socket it opens to /private is
//      refused (connect_error);
//   2. signing in with the form leads to the page, whose socket connects and is greeted by the
//      user's name (the socket handlers read the HTTP session the form set);
//   3. a message sent from the page comes back, and after a reload the page shows it as the
//      last message (the socket handler wrote it into the HTTP session);
//   4. signing out leads back to the login form.
// Prints one JSON line per step; exits 0 when all passed. On failure it saves a screenshot of
// the page in <screenshot dir> and prints the path.
"use strict";

const { WAIT, report, commandLine, run } = require("./browser");

const { url, shotDir, successShot } = commandLine("browser_auth.js");
const TEXT = "hello from alice, in a real browser";

run({ shotDir, viewport: { width: 1000, height: 640 } }, async (context, shots) => {
  const page = context.pages()[0] || (await context.newPage());
  shots.set("browser_auth", page);
  page.on("pageerror", (e) => report("pageerror", { error: String(e) }));
  page.on("console", (m) => {
    if (m.type() === "error") report("console-error", { text: m.text() });
  });
  // 1. Anonymous: the page redirects to the form, and the namespace refuses a socket.
  await page.goto(url, { waitUntil: "load", timeout: WAIT });
  await page.waitForURL(/\/login$/, { timeout: WAIT });
  await page.addScriptTag({ url: "/static/socket.io.min.js" });
  const refusal = await page.evaluate(
    (wait) =>
      new Promise((resolve, reject) => {
        const socket = io("/private", { reconnection: false });
        const timer = setTimeout(() => reject(new Error("no answer to the connect")), wait);
        socket.on("connect", () => reject(new Error("an anonymous socket was let in")));
        socket.on("connect_error", (err) => {
          clearTimeout(timer);
          socket.close();
          resolve(err.message);
        });
      }),
    WAIT,
  );
  if (!refusal.includes("not logged in")) throw new Error(`refused with ${JSON.stringify(refusal)}`);
  report("anonymous-refused", { message: refusal });

  // 2. The form signs in; the page's socket is greeted by the user's name.
  await page.fill('input[name="username"]', "alice");
  await page.fill('input[name="password"]', "wonderland");
  await Promise.all([page.waitForURL(new URL("/", url).href, { timeout: WAIT }), page.click('button[type="submit"]')]);
  const user = await page.locator("#user").textContent();
  if (user !== "alice") throw new Error(`the page shows user ${JSON.stringify(user)}`);
  await page.locator("#log li", { hasText: "Hello alice, you are in." }).waitFor({ timeout: WAIT });
  report("connected", { user });

  // 3. A message goes round, and lands in the HTTP session: the reloaded page shows it.
  await page.fill("#text", TEXT);
  await page.click("#send button");
  await page.locator("#log li", { hasText: `alice: ${TEXT}` }).waitFor({ timeout: WAIT });
  report("message", { text: TEXT });
  await page.reload({ waitUntil: "load", timeout: WAIT });
  await page.locator("#last", { hasText: TEXT }).waitFor({ timeout: WAIT });
  await page.locator("#log li", { hasText: "Hello alice, you are in." }).waitFor({ timeout: WAIT });
  report("remembered", { text: TEXT });

  if (successShot) {
    await page.screenshot({ path: successShot });
    report("screenshot", { path: successShot });
  }

  // 4. Signing out leads back to the form.
  await Promise.all([page.waitForURL(/\/login$/, { timeout: WAIT }), page.click("#logout")]);
  report("signed-out");
  report("done");
});
