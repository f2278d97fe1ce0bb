// Interop scenarios for the socket.io-client (JavaScript) against the Rust server.
//
//   node interop.js <url> <polling|websocket|upgrade> <scenario>
//
// Performs one scenario against a server the Rust test started, and prints what it observed as
// JSON lines ({"ev": "...", ...}); the Rust test asserts on them. The last line is
// {"ev":"done"} on success; any failure prints {"ev":"error","message":...} and exits 1.
"use strict";

const { io } = require("socket.io-client");

const script = require("./script");
const { out, fail, withTimeout, next, connected, call } = script;
const { url, mode, scenario } = script.args("interop.js");
const options = (extra = {}) => script.optionsFor(mode, { ...extra });
const transport = (socket, label) => script.transport(socket, mode, label);

/** Records every event a socket receives, in order. */
function recorder(socket) {
  const log = [];
  socket.onAny((event, ...args) => log.push([event, ...args]));
  return log;
}

function bytes(value) {
  return Array.from(Buffer.from(value));
}

/** Whether `value` arrived as a binary type (not as an array of numbers). */
function isBinary(value) {
  return Buffer.isBuffer(value) || value instanceof ArrayBuffer;
}

/** Whether every buffer of an upload, the nested `parts` included, arrived as a binary type. */
function allBinary(upload) {
  return isBinary(upload.file) && upload.meta.parts.every(isBinary);
}

const scenarios = {
  // 1. The auth payload reaches the connect handler; it answers with a `welcome` event.
  async auth() {
    const socket = io(url, options({ auth: { token: "s3cret", user: "alice", n: 42 } }));
    const welcome = next(socket, "welcome");
    await connected(socket);
    const [data] = await welcome;
    out("welcome", { data, id: socket.id });
    await transport(socket);
    socket.disconnect();
  },

  // 2. The connect handler refuses: the client gets connect_error with message and data.
  async refused() {
    const socket = io(url, options({ auth: { token: "wrong" } }));
    const [err] = await withTimeout(
      new Promise((resolve, reject) => {
        socket.once("connect_error", (e) => resolve([e]));
        socket.once("connect", () => reject(new Error("connected although refused")));
      }),
      "connect_error",
    );
    out("connect_error", { message: err.message, data: err.data, connected: socket.connected });
    socket.disconnect();
  },

  // 3. Events both ways: typed data to the server, the server's emits back.
  async events() {
    const socket = io(url, options());
    const reply = next(socket, "chat-reply");
    const multi = next(socket, "multi-reply");
    await connected(socket);
    socket.emit("chat", { room: "lobby", text: "hello", n: 7, tags: ["a", "b"] });
    socket.emit("multi", "x", 2, true, null, [1, 2, 3]);
    out("chat-reply", { args: await reply });
    out("multi-reply", { args: await multi });
    await transport(socket);
    socket.disconnect();
  },

  // 4. Acknowledgements both ways, with several arguments.
  async acks() {
    const socket = io(url, options());
    socket.on("question", (text, a, b, ack) => ack(a * b, `answer to ${text}`, { ok: true }));
    const done = next(socket, "ack-received");
    await connected(socket);
    out("sum", { args: await call(socket, "sum", 2, 3) });
    out("void", { args: await call(socket, "void") });
    socket.emit("ask-me");
    out("ack-received", { args: await done });
    await transport(socket);
    socket.disconnect();
  },

  // 5. Binary nested in objects, both ways (as event payload and as acknowledgement).
  async binary() {
    const socket = io(url, options());
    const download = next(socket, "download");
    await connected(socket);
    const file = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const upload = {
      file,
      meta: { name: "blob.bin", parts: [Buffer.from([1, 2, 3]), Buffer.from([]), Buffer.from("héllo")] },
    };
    const [ack] = await call(socket, "upload", upload);
    out("upload-ack", {
      file: bytes(ack.file),
      name: ack.meta.name,
      parts: ack.meta.parts.map(bytes),
      binary: allBinary(ack),
    });
    const [data] = await download;
    out("download", {
      file: bytes(data.file),
      name: data.meta.name,
      parts: data.meta.parts.map(bytes),
      binary: allBinary(data),
    });
    await transport(socket);
    socket.disconnect();
  },

  // 6. Three clients, rooms; a broadcast that includes the sender and one that excludes it.
  //    Each broadcast is followed by a `fence` to everyone, so a client that got the fence and not
  //    the broadcast was provably left out.
  async rooms() {
    const names = ["A", "B", "C"];
    const sockets = names.map(() => io(url, options({ forceNew: true })));
    const logs = sockets.map(recorder);
    await Promise.all(sockets.map(connected));
    const [a, b, c] = sockets;
    out("joined", {
      A: (await call(a, "join", "r1"))[0],
      B: (await call(b, "join", "r1"))[0],
      C: (await call(c, "join", "r2"))[0],
    });
    for (const [event, fence] of [
      ["to-room-all", "f1"],
      ["to-room-others", "f2"],
    ]) {
      const fences = sockets.map((s) =>
        withTimeout(
          new Promise((resolve) => {
            const on = (name) => {
              if (name === fence) {
                s.off("fence", on);
                resolve();
              }
            };
            s.on("fence", on);
          }),
          `fence ${fence}`,
        ),
      );
      a.emit(event, { room: "r1", fence });
      await Promise.all(fences);
    }
    names.forEach((name, i) => out("log", { name, events: logs[i] }));
    for (const [i, s] of sockets.entries()) await transport(s, `transport-${names[i]}`);
    sockets.forEach((s) => s.disconnect());
  },

  // 7. Several namespaces multiplexed on one connection (one Manager), plus an unknown one.
  async namespaces() {
    const a = io(url + "/a", options());
    const b = io(url + "/b", options());
    out("manager", { shared: a.io === b.io });
    const helloA = next(a, "hello");
    const helloB = next(b, "hello");
    await Promise.all([connected(a), connected(b)]);
    out("engine", { same: a.io.engine === b.io.engine, distinct_ids: a.id !== b.id });
    out("hello", { a: (await helloA)[0], b: (await helloB)[0] });
    out("where", { a: await call(a, "where", "from-a"), b: await call(b, "where", "from-b") });
    const nope = io(url + "/nope", options());
    const [err] = await next(nope, "connect_error");
    out("unknown-namespace", { message: err.message, shared: nope.io === a.io });
    await transport(a);
    a.disconnect();
    b.disconnect();
  },

  // 8. The server disconnects the socket.
  async kick() {
    const socket = io(url, options());
    await connected(socket);
    await transport(socket);
    const disconnected = next(socket, "disconnect");
    socket.emit("kick-me");
    const [reason] = await disconnected;
    out("disconnect", { reason, active: socket.active });
  },

  // 9. 1,000 messages each way, in order, both directions at once: the server starts sending
  //    when it accepts the connection (asked by the auth payload), the client as soon as it is
  //    connected. In upgrade mode they cross the polling → WebSocket switch.
  async order() {
    const N = 1000;
    const socket = io(url, options({ auth: { seq: N } }));
    const received = [];
    socket.on("seq", (i) => received.push(i));
    const end = next(socket, "seq-end");
    let beforeUpgrade = null; // server messages received before the upgrade, for the record
    socket.io.on("open", () => socket.io.engine.once("upgrade", () => (beforeUpgrade = received.length)));
    await connected(socket);
    for (let i = 0; i < N; i++) socket.emit("seq", i);
    out("client-to-server", { ack: await call(socket, "seq-end") });
    await end;
    out("server-to-client", { received, before_upgrade: beforeUpgrade });
    await transport(socket);
    socket.disconnect();
  },

  // 10. max_http_buffer_size is 100,000: a message just under it is delivered, one just over it
  //     closes that connection, and a second client keeps being served.
  async limit() {
    const canary = io(url, options({ forceNew: true }));
    const big = io(url, options({ forceNew: true }));
    await Promise.all([connected(canary), connected(big)]);
    await transport(canary, "transport-canary");
    await transport(big, "transport-big");
    const under = "u".repeat(99000);
    out("under", { ack: await call(big, "big", under) });
    const disconnected = next(big, "disconnect");
    big.emit("big", "o".repeat(101000));
    const [reason] = await disconnected;
    out("over", { reason });
    out("canary", { ack: await call(canary, "ping", "still there?"), connected: canary.connected });
    canary.disconnect();
  },

  // 11. Volatile emits (tests/tests/volatile.rs, this client only): `go` "one" is answered with
  //     one volatile `v` while the client is idle (delivered), `go` "burst" with 200 volatile
  //     `v` in a row (those the client is not ready for are skipped) and then a normal `done`.
  async volatile() {
    const socket = io(url, options());
    await connected(socket);
    await transport(socket);
    const log = recorder(socket);
    const first = next(socket, "v");
    socket.emit("go", "one");
    out("idle", { v: (await first)[0] });
    const done = next(socket, "done");
    socket.emit("go", "burst");
    await done;
    const values = log.filter(([event]) => event === "v").map(([, value]) => value);
    out("burst", { values, last: log[log.length - 1][0] });
    socket.disconnect();
  },
};

async function main() {
  const run = scenarios[scenario];
  if (!run) fail(`unknown scenario ${scenario}`);
  await run();
  out("done");
  // Sockets are closed; don't wait for timers of the client library.
  setImmediate(() => process.exit(0));
}

main().catch(fail);
