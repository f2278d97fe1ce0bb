// Node's @socket.io/redis-emitter publishing to a socketio-rs cluster
// (tests/tests/foreign_emitters.rs).
//
//     node redis_emitter.js URL OPS
//
// OPS is a JSON list of operations, done in order on `new Emitter(redisClient)` (key
// "socket.io", the default):
//   {"op": "emit", "event": E, "args": [...], "binary": [BASE64...], "to": [ROOMS],
//    "except": [ROOMS], "namespace": NS}            binary: extra arguments, as Buffers
//   {"op": "socketsJoin" | "socketsLeave", "rooms": [R...], "to": [...], "namespace": NS}
//   {"op": "disconnectSockets", "close": BOOL, "to": [...], "namespace": NS}
//   {"op": "serverSideEmit", "args": [...], "namespace": NS}
// Prints {"done":true} once the Redis server has answered every PUBLISH.
"use strict";

const { createClient } = require("redis");
const { Emitter } = require("@socket.io/redis-emitter");

async function main() {
  const [url, opsJson] = process.argv.slice(2);
  const client = createClient({ url });
  client.on("error", (e) => console.error("redis:", e));
  await client.connect();
  const emitter = new Emitter(client);
  for (const op of JSON.parse(opsJson)) {
    const ns = emitter.of(op.namespace || "/");
    let target = ns.to(op.to || []).except(op.except || []);
    switch (op.op) {
      case "emit": {
        const args = (op.args || []).concat((op.binary || []).map((b) => Buffer.from(b, "base64")));
        target.emit(op.event, ...args);
        break;
      }
      case "socketsJoin":
        target.socketsJoin(op.rooms);
        break;
      case "socketsLeave":
        target.socketsLeave(op.rooms);
        break;
      case "disconnectSockets":
        target.disconnectSockets(!!op.close);
        break;
      case "serverSideEmit":
        ns.serverSideEmit(...(op.args || []));
        break;
      default:
        throw new Error("unknown op " + op.op);
    }
  }
  // QUIT is answered after every PUBLISH sent before it.
  await client.quit();
  console.log(JSON.stringify({ done: true }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
