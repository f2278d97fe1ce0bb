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

const script = require("./script");
const { out, fail, withTimeout, next, connected, call } = script;
const { url, mode, scenario } = script.args("msgpack.js");
const options = (extra = {}) => script.optionsFor(mode, { forceNew: true, parser: msgpackParser, ...extra });
const transport = (socket, label) => script.transport(socket, mode, label);

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
