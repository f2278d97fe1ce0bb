// socket.io-client with socket.io-msgpack-parser against a Rust server whose parser is
// MessagePack (tests/tests/msgpack.rs).
//
//   node msgpack.js <url> <polling|websocket|upgrade> <scenario>
//
// Prints JSON lines ({"ev": "...", ...}) of what it observed, like interop.js; the last line is
// {"ev":"done"} on success; any failure prints {"ev":"error","message":...} and exits 1.
"use strict";

const { io } = require("socket.io-client");
const msgpackParser = require("socket.io-msgpack-parser");

const [url, mode, scenario] = process.argv.slice(2);
const TRANSPORTS = {
  polling: ["polling"],
  websocket: ["websocket"],
  upgrade: ["polling", "websocket"],
};
if (!url || !TRANSPORTS[mode] || !scenario) {
  console.error("usage: node msgpack.js <url> <polling|websocket|upgrade> <scenario>");
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

function options(extra = {}) {
  return {
    transports: TRANSPORTS[mode],
    reconnection: false,
    timeout: WAIT_MS,
    forceNew: true,
    parser: msgpackParser,
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

/** Reports the transport in use, after the upgrade in upgrade mode. */
async function transport(socket, label = "transport") {
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

/** A JSON-friendly view of a value: Buffers as {bin: [bytes]}. */
function show(value) {
  if (Buffer.isBuffer(value) || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return { bin: Array.from(Buffer.from(value)) };
  }
  if (Array.isArray(value)) return value.map(show);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, show(v)]));
  }
  return value;
}

const scenarios = {
  // Events, binary and acknowledgements both ways, and a broadcast with binary.
  async roundtrip() {
    const a = io(url, options({ auth: { name: "a" } }));
    const welcome = next(a, "welcome");
    await connected(a);
    out("welcome", { args: show(await welcome) });
    await transport(a);

    // Client → server with an acknowledgement: JSON-ish data and a Buffer, echoed back.
    const data = { text: "héllo", n: 42, f: 1.5, neg: -7, big: 2 ** 40, list: [1, null, true], nested: { deep: [[{}]] } };
    const reply = await call(a, "echo", data, Buffer.from([0, 1, 2, 255]));
    out("echo-ack", { args: show(reply), binary: Buffer.isBuffer(reply[1]) });

    // Server → client with an acknowledgement: the server asks, the client answers with a
    // Buffer, and the server reports what it got in the acknowledgement of `ask`.
    a.on("question", (text, bin, ack) => ack(`answer to ${text}`, Buffer.from([...bin].reverse())));
    out("ask-ack", { args: show(await call(a, "ask")) });

    // A broadcast with binary, from a to b (a left out).
    const b = io(url, options({ auth: { name: "b" } }));
    await connected(b);
    const shouted = next(b, "shouted");
    let aGotIt = false;
    a.on("shouted", () => (aGotIt = true));
    const [count] = await call(a, "shout", Buffer.from("loud"));
    out("shouted", { args: show(await shouted), recipients: count, sender_got_it: aGotIt });

    a.disconnect();
    b.disconnect();
  },

  // A client of the JSON parser (the default) against the MessagePack server: it never
  // connects, and its connect_error says why.
  async "json-client"() {
    const socket = io(url, options({ parser: undefined }));
    const result = await withTimeout(
      new Promise((resolve) => {
        socket.once("connect", () => resolve({ connected: true }));
        socket.once("connect_error", (err) => resolve({ connected: false, connect_error: err.message }));
        // On a connect_error the client closes its manager first ("forced close"), then emits
        // connect_error in the same turn: a close is the outcome only if nothing follows.
        socket.io.once("close", (reason) => setImmediate(() => resolve({ connected: false, close: reason })));
      }),
      "the outcome of the connection",
    );
    out("outcome", result);
    socket.disconnect();
  },
};

const run = scenarios[scenario];
if (!run) fail(`unknown scenario ${scenario}`);
run().then(
  () => {
    out("done");
    process.exit(0);
  },
  (err) => fail(err),
);
