// Connection state recovery with the official client (tests/tests/state_recovery.rs).
//
//   node state_recovery.js <url> <polling|websocket|upgrade> <scenario> [<url of B>]
//
// Scenarios: `lost` (the transport is cut: socket.io.engine.close()), `lost_late` (the same,
// then the client waits 500 ms more before reconnecting), `client_disconnect` (the client
// disconnects itself: socket.disconnect()).
//
// `moved`, `moved_late` and `moved_after_disconnect` are the same three against a cluster of
// two servers sharing a message queue: `<url>` is server A, `<url of B>` server B. The socket
// connects to A, joins `room` (A emits `news` "before"), loses its connection (or
// disconnects), waits for `lost` on B's `/control` (A's disconnect handler emits `news`
// "missed-a" to the room, then `lost` to `/control`: when B delivers it, B has received
// everything A published before), asks B to emit while the socket is away (`away` on B's
// `/control`, acknowledged once B emitted), then reconnects to B (the manager's URI is
// switched, as a load balancer without sticky sessions would), asks B for its rooms, and asks A
// to emit `news` "after" to the room and then `end` to the socket (`after` on A's `/control`,
// with the socket id). The lines are the same as above.
//
// Each one: a socket connects to `/`, joins room `room` (the server then emits `news`
// "before" to the room), loses its connection the scenario's way, waits until the server says
// on `/control` that it emitted while the socket was away, reconnects (socket.connect(): the
// client sends back its private id and last offset, if it has them), asks for its rooms, asks
// the server to emit `news` "after" to the room and then `end` to the socket, and reports, as
// JSON lines:
//   {"ev":"first","id","recovered","pid"}   the first connection (pid: the client's private id)
//   {"ev":"before","args"}                  the arguments of `news` "before"
//   {"ev":"second","id","recovered"}        the second connection
//   {"ev":"missed","events"}                every event between the reconnection and `end`
//   {"ev":"rooms","rooms"}                  the socket's rooms after the reconnection
//   {"ev":"done"}
// Any failure prints {"ev":"error","message"} and exits 1.
"use strict";

const { io } = require("socket.io-client");

const [url, mode, scenario, urlB] = process.argv.slice(2);
const TRANSPORTS = {
  polling: ["polling"],
  websocket: ["websocket"],
  upgrade: ["polling", "websocket"],
};
const SCENARIOS = ["lost", "lost_late", "client_disconnect"];
const MOVED = ["moved", "moved_late", "moved_after_disconnect"];
if (
  !url ||
  !TRANSPORTS[mode] ||
  !(SCENARIOS.includes(scenario) || (MOVED.includes(scenario) && urlB))
) {
  console.error(
    `usage: node state_recovery.js <url> <polling|websocket|upgrade> <${SCENARIOS.join("|")}>\n` +
      `       node state_recovery.js <url> <polling|websocket|upgrade> <${MOVED.join("|")}> <url of B>`,
  );
  process.exit(64);
}

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

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the arguments of the next `event` on `emitter` for which `matches` holds. */
function next(emitter, event, matches = () => true) {
  return withTimeout(
    new Promise((resolve) => {
      const listener = (...args) => {
        if (matches(args)) {
          emitter.off(event, listener);
          resolve(args);
        }
      };
      emitter.on(event, listener);
    }),
    `"${event}"`,
  );
}

/** Resolves once `socket` is connected; rejects with the connect_error. */
function connected(socket) {
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    }),
    "connect",
  );
}

function options() {
  return { transports: TRANSPORTS[mode], reconnection: false, forceNew: true, timeout: WAIT_MS };
}

async function main() {
  const control = io(`${url}/control`, options());
  await connected(control);

  const socket = io(url, options());
  const log = [];
  socket.onAny((event, ...args) => log.push([event, ...args]));
  await connected(socket);
  if (mode === "upgrade" && socket.io.engine.transport.name !== "websocket") {
    await withTimeout(new Promise((resolve) => socket.io.engine.once("upgrade", resolve)), "upgrade");
  }
  out("first", { id: socket.id, recovered: socket.recovered, pid: socket._pid ?? null });

  const before = next(socket, "news", ([what]) => what === "before");
  socket.emit("join", "room");
  out("before", { args: await before });

  const emitted = next(control, "emitted");
  const gone = next(socket, "disconnect");
  if (scenario === "client_disconnect") {
    socket.disconnect();
  } else {
    socket.io.engine.close();
  }
  await gone;
  await emitted;
  if (scenario === "lost_late") {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  const reconnected = connected(socket);
  const mark = log.length;
  socket.connect();
  await reconnected;
  out("second", { id: socket.id, recovered: socket.recovered });
  const rooms = await withTimeout(socket.emitWithAck("rooms"), "the rooms");
  const end = next(socket, "end");
  socket.emit("after");
  await end;
  out("missed", { events: log.slice(mark, log.length - 1) });
  out("rooms", { rooms });

  socket.disconnect();
  control.disconnect();
  out("done");
  setImmediate(() => process.exit(0));
}

/** Waits until `socket` is connected (upgraded, in `upgrade` mode), after calling `start`, and
 * reports it as `ev`. */
async function connectAs(socket, ev, start = () => {}) {
  const connecting = connected(socket);
  start();
  await connecting;
  if (mode === "upgrade" && socket.io.engine.transport.name !== "websocket") {
    await withTimeout(new Promise((resolve) => socket.io.engine.once("upgrade", resolve)), "upgrade");
  }
  out(ev, { id: socket.id, recovered: socket.recovered, pid: socket._pid ?? null });
}

async function moved() {
  const controlA = io(`${url}/control`, options());
  const controlB = io(`${urlB}/control`, options());
  await Promise.all([connected(controlA), connected(controlB)]);

  const socket = io(url, options());
  const log = [];
  socket.onAny((event, ...args) => log.push([event, ...args]));
  await connectAs(socket, "first");

  const before = next(socket, "news", ([what]) => what === "before");
  socket.emit("join", "room");
  out("before", { args: await before });

  const lost = next(controlB, "lost");
  const gone = next(socket, "disconnect");
  if (scenario === "moved_after_disconnect") {
    socket.disconnect();
  } else {
    socket.io.engine.close();
  }
  await gone;
  await lost;
  await withTimeout(controlB.emitWithAck("away"), "B's emits");
  if (scenario === "moved_late") {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  // Server B from now on: the next engine the manager opens goes there.
  socket.io.uri = urlB;
  const mark = log.length;
  await connectAs(socket, "second", () => socket.connect());
  const rooms = await withTimeout(socket.emitWithAck("rooms"), "the rooms");
  const end = next(socket, "end");
  await withTimeout(controlA.emitWithAck("after", socket.id), "A's emits");
  await end;
  out("missed", { events: log.slice(mark, log.length - 1) });
  out("rooms", { rooms });

  socket.disconnect();
  controlA.disconnect();
  controlB.disconnect();
  out("done");
  setImmediate(() => process.exit(0));
}

(MOVED.includes(scenario) ? moved() : main()).catch(fail);
