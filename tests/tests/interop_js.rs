//! Interop with the official JavaScript client, socket.io-client 4.8.4 on Node (issue 3): every
//! scenario over polling only, WebSocket only, and polling upgraded to WebSocket. See
//! `interop_support` for the harness and `tests/js/interop.js` for the client side.

mod interop_support;

interop_tests!(
    interop_support::Client::Js;
    auth, refused, events, acks, binary, rooms, namespaces, kick, order, limit,
);
