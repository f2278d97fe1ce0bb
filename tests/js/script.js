// What the scenario scripts (interop.js, msgpack.js) share: their command line, JSON-line
// output, bounded waits, and the client options of the transport mode.
//
//   node <script> <url> <polling|websocket|upgrade> <scenario>
"use strict";

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

/** The command line of `script` (exits with its usage when it is wrong), and failure handlers. */
function args(script) {
  const [url, mode, scenario] = process.argv.slice(2);
  if (!url || !TRANSPORTS[mode] || !scenario) {
    console.error(`usage: node ${script} <url> <polling|websocket|upgrade> <scenario>`);
    process.exit(64);
  }
  process.on("unhandledRejection", fail);
  process.on("uncaughtException", fail);
  return { url, mode, scenario };
}

/** socket.io-client options for `mode`: its transports, no reconnection, bounded timeout. */
function optionsFor(mode, extra = {}) {
  return {
    transports: TRANSPORTS[mode],
    reconnection: false,
    timeout: WAIT_MS,
    ...extra,
  };
}

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the arguments of the next `event` on `emitter`. */
function next(emitter, event) {
  return withTimeout(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), `"${event}"`);
}

/** Resolves once `socket` is connected; rejects with the connect_error. */
function connected(socket) {
  if (socket.connected) return Promise.resolve();
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", (err) => reject(new Error(`connect_error: ${err.message}`)));
    }),
    "connect",
  );
}

/** Emits `event` with `args` and resolves with the acknowledgement's arguments. */
function call(socket, event, ...args) {
  return withTimeout(new Promise((resolve) => socket.emit(event, ...args, (...reply) => resolve(reply))), `ack of "${event}"`);
}

/**
 * Reports the transport in use. In upgrade mode, first waits for the polling → WebSocket upgrade
 * to finish (it starts right after the handshake and may already be done).
 */
async function transport(socket, mode, label = "transport") {
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
  out(label, { name: engine.transport.name });
}

module.exports = { WAIT_MS, out, fail, args, optionsFor, withTimeout, next, connected, call, transport };
