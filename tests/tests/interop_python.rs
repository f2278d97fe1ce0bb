//! Interop with the Python client, python-socketio 5.18.1 (threaded client) (issue 3): every
//! scenario over polling only, WebSocket only, and polling upgraded to WebSocket. See
//! `interop_support` for the harness and `tests/python/interop.py` for the client side.

mod interop_support;

interop_tests!(
    interop_support::Client::Python;
    auth, refused, events, acks, binary, rooms, namespaces, kick, order, limit,
);
