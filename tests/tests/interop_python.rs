//! Interop with the Python client, python-socketio 5.18.1 (threaded client) (issue 3): every
//! scenario over polling only, WebSocket only, and polling upgraded to WebSocket. See
//! `tests::interop` for the harness and `tests/python/interop.py` for the client side.

use tests::interop::ScriptClient;

tests::interop_tests!(
    ScriptClient::Python;
    auth, refused, events, acks, binary, rooms, namespaces, kick, order, limit,
);
