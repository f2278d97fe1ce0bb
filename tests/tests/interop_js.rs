//! Interop with the official JavaScript client, socket.io-client 4.8.4 on Node (issue 3): every
//! scenario over polling only, WebSocket only, and polling upgraded to WebSocket. See
//! `tests::interop` for the harness and `tests/js/interop.js` for the client side.

use tests::interop::ScriptClient;

tests::interop_tests!(
    ScriptClient::Js;
    auth, refused, events, acks, binary, rooms, namespaces, kick, order, limit,
);
