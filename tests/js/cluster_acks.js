// Official socket.io-client sockets answering a broadcast with acknowledgements that a
// socketio-rs cluster sends (tests/tests/cluster_ops.rs).
//
//     node cluster_acks.js ROOM URL...
//
// For each URL, connects one client over WebSocket and one over HTTP long-polling, makes each
// join ROOM (the test servers' acknowledged `join` event), and answers every `ask` event with
// the acknowledgement ("js", <its argument>, <transport>). Prints one JSON line per client once
// it is in the room ({"ready": sid, "transport": ...}), then {"ready": "all"}; it runs until
// stdin closes (the test ends), then disconnects and prints {"done": true}.
"use strict";

const { io } = require("socket.io-client");

const WAIT_MS = 15000;
const [room, ...urls] = process.argv.slice(2);
if (!room || urls.length === 0) {
  console.error("usage: node cluster_acks.js ROOM URL...");
  process.exit(64);
}

function out(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

function fail(error) {
  out({ error: String(error && error.stack ? error.stack : error) });
  process.exit(1);
}

process.on("unhandledRejection", fail);
process.on("uncaughtException", fail);

async function member(url, transport) {
  const socket = io(url, { transports: [transport], reconnection: false, forceNew: true });
  socket.on("ask", (arg, ack) => ack("js", arg, transport));
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  await socket.timeout(WAIT_MS).emitWithAck("join", room);
  out({ ready: socket.id, transport });
  return socket;
}

async function main() {
  const sockets = [];
  for (const url of urls) {
    for (const transport of ["websocket", "polling"]) {
      sockets.push(await member(url, transport));
    }
  }
  out({ ready: "all" });
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on("end", resolve));
  for (const socket of sockets) {
    socket.disconnect();
  }
  out({ done: true });
}

main().catch(fail);
