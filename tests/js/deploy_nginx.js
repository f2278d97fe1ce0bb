// The official client (socket.io-client) through nginx, for tests/tests/deploy_nginx.rs.
//
//   node deploy_nginx.js chat    <url> <polling|websocket|upgrade>
//   node deploy_nginx.js foreign <url> <polling|websocket|upgrade> <origin>
//   node deploy_nginx.js cluster <url> <direct-urls-json>
//
// chat:    two clients of the chat example, sending `Origin: <url>` as a page served by nginx
//          would, join a room; one sends a message, both receive it.
// foreign: a client sending `Origin: <origin>` is refused (connect_error).
// cluster: three clients through nginx (polling, websocket, upgrade) in front of the cluster
//          example's processes, and one client connected directly to a process they are not on
//          ({"A": url, "B": url}); a message sent on either side reaches the other.
//
// Prints what it observed as JSON lines ({"ev": "...", ...}); the last line is {"ev":"done"} on
// success; any failure prints {"ev":"error","message":...} and exits 1.
"use strict";

const { io } = require("socket.io-client");

const [scenario, url, ...rest] = process.argv.slice(2);
const TRANSPORTS = {
  polling: ["polling"],
  websocket: ["websocket"],
  upgrade: ["polling", "websocket"],
};

// Every wait is bounded; the Rust side has its own, longer, timeout.
const WAIT_MS = 15000;

function out(ev, fields = {}) {
  process.stdout.write(JSON.stringify({ ev, ...fields }) + "\n");
}

function fail(message) {
  out("error", { message: String(message && message.stack ? message.stack : message) });
  process.exit(1);
}

process.on("unhandledRejection", fail);
process.on("uncaughtException", fail);

function transports(mode) {
  const list = TRANSPORTS[mode];
  if (!list) fail(`unknown mode ${mode}`);
  return list;
}

/** A new client of `target` in `mode`, presenting `origin` as a browser page would. */
function client(target, mode, origin) {
  const socket = io(target, {
    transports: transports(mode),
    reconnection: false,
    forceNew: true,
    timeout: WAIT_MS,
    extraHeaders: { Origin: origin },
  });
  // The transport the Engine.IO session opened on (before any upgrade).
  socket.io.on("open", () => (socket.openedOn = socket.io.engine.transport.name));
  return socket;
}

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the arguments of the next `event` on `emitter` that satisfy `accept`. */
function next(emitter, event, accept = () => true) {
  return withTimeout(
    new Promise((resolve) => {
      const on = (...args) => {
        if (accept(...args)) {
          emitter.off(event, on);
          resolve(args);
        }
      };
      emitter.on(event, on);
    }),
    `"${event}"`,
  );
}

/** Resolves once `socket` is connected; rejects with the connect_error. */
function connected(socket) {
  if (socket.connected) return Promise.resolve();
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", (err) => reject(new Error(`connect_error: ${err.message} (${describe(err.description)})`)));
    }),
    "connect",
  );
}

/** Emits `event` with `args` and resolves with the acknowledgement's arguments. */
function call(socket, event, ...args) {
  return withTimeout(new Promise((resolve) => socket.emit(event, ...args, (...reply) => resolve(reply))), `ack of "${event}"`);
}

/** Waits for the polling → WebSocket upgrade of a client that may upgrade, then reports. */
async function transport(socket, mode) {
  const engine = socket.io.engine;
  if (mode === "upgrade" && engine.transport.name !== "websocket") {
    await withTimeout(
      new Promise((resolve, reject) => {
        engine.once("upgrade", resolve);
        engine.once("upgradeError", (err) => reject(new Error(`upgrade failed: ${err.message}`)));
      }),
      "the upgrade to websocket",
    );
  }
  return { opened: socket.openedOn, now: engine.transport.name };
}

/** What a transport error carries: an HTTP status (polling), or the WebSocket error's text. */
function describe(description) {
  if (description === undefined || description === null) return null;
  if (typeof description === "number" || typeof description === "string") return description;
  if (description.message) return description.message;
  if (description.error && description.error.message) return description.error.message;
  return String(description);
}

const scenarios = {
  async chat() {
    const [mode] = rest;
    const origin = url; // the page nginx would serve
    const ann = client(url, mode, origin);
    const bob = client(url, mode, origin);
    await Promise.all([connected(ann), connected(bob)]);
    const room = `nginx-${mode}`;
    const [annJoined] = await call(ann, "join", { nick: "ann", room });
    const notice = next(ann, "joined");
    const [bobJoined] = await call(bob, "join", { nick: "bob", room });
    out("joined", { ann: annJoined, bob: bobJoined, notice: (await notice)[0] });
    // After the upgrade (upgrade mode): the message travels over the proxied WebSocket.
    out("transport", { ann: await transport(ann, mode), bob: await transport(bob, mode) });
    const text = `hello through nginx (${mode})`;
    const toAnn = next(ann, "message", (m) => m.text === text);
    const toBob = next(bob, "message", (m) => m.text === text);
    ann.emit("message", text);
    out("message", { ann: (await toAnn)[0], bob: (await toBob)[0] });
    ann.disconnect();
    bob.disconnect();
  },

  async foreign() {
    const [mode, origin] = rest;
    const socket = client(url, mode, origin);
    const [err] = await withTimeout(
      new Promise((resolve, reject) => {
        socket.once("connect_error", (e) => resolve([e]));
        socket.once("connect", () => reject(new Error(`connected with Origin ${origin}`)));
      }),
      "connect_error",
    );
    out("connect_error", { message: err.message, description: describe(err.description), connected: socket.connected });
    socket.disconnect();
  },

  async cluster() {
    const direct = JSON.parse(rest[0]);
    const modes = ["polling", "websocket", "upgrade"];
    const proxied = modes.map((mode) => client(url, mode, url));
    const hellos = proxied.map((s) => next(s, "hello"));
    await Promise.all(proxied.map(connected));
    const servers = (await Promise.all(hellos)).map(([hello]) => hello.server);
    const transports = [];
    for (const [i, s] of proxied.entries()) transports.push(await transport(s, modes[i]));
    out("proxied", { modes, servers, transports });

    // A client of another process: straight to it, as its own page would connect.
    const name = Object.keys(direct).find((n) => !servers.includes(n));
    if (!name) fail(`the clients through nginx are on ${servers}: no other process in ${rest[0]}`);
    const other = client(direct[name], "websocket", direct[name]);
    const hello = next(other, "hello");
    await connected(other);
    out("direct", { server: (await hello)[0].server });

    // From the other process to the clients through nginx ...
    const text = "from the other process";
    const got = proxied.map((s) => next(s, "message", (m) => m.text === text));
    other.emit("message", text);
    out("to-proxied", { messages: (await Promise.all(got)).map(([m]) => m) });

    // ... and back, from each of them.
    const back = [];
    for (const [i, s] of proxied.entries()) {
      const mine = `from behind nginx (${modes[i]})`;
      const received = next(other, "message", (m) => m.text === mine);
      s.emit("message", mine);
      back.push((await received)[0]);
    }
    out("to-direct", { messages: back });
    proxied.forEach((s) => s.disconnect());
    other.disconnect();
  },
};

async function main() {
  const run = scenarios[scenario];
  if (!run || !url) {
    console.error("usage: node deploy_nginx.js <chat|foreign|cluster> <url> ...");
    process.exit(64);
  }
  await run();
  out("done");
  // Sockets are closed; don't wait for timers of the client library.
  setImmediate(() => process.exit(0));
}

main().catch(fail);
