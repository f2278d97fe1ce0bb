"""python-socketio's write-only managers publishing to a socketio-rs cluster
(tests/tests/foreign_emitters.rs).

    python foreign_emitter.py MANAGER URL CHANNEL OPS

MANAGER is `flask` (Flask-SocketIO's `SocketIO(message_queue=URL, channel=CHANNEL)` without an
app), `redis` (`socketio.RedisManager(URL, channel=CHANNEL, write_only=True)`) or `kombu`
(`socketio.KombuManager(URL, channel=CHANNEL, write_only=True)`). OPS is a JSON list of
operations, done in order:

    {"op": "emit", "event": E, "args": [...], "to": ROOM_OR_LIST, "skip_sid": SID_OR_LIST,
     "namespace": NS, "binary": [BASE64...]}      binary: extra arguments, as bytes
    {"op": "close_room", "room": R, "namespace": NS}
    {"op": "enter_room" | "leave_room", "sid": S, "room": R, "namespace": NS}
    {"op": "disconnect", "sid": S, "namespace": NS}     (flask only: a bare write-only
                                                         manager has no server to ask)

Prints {"done": true} once every message was handed to the broker.
"""

import base64
import json
import sys

import socketio


def main():
    manager, url, channel, ops = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    if manager == "flask":
        from flask_socketio import SocketIO

        sio = SocketIO(message_queue=url, channel=channel)
        server = sio.server
        mgr = server.manager
    elif manager == "redis":
        sio = None
        mgr = socketio.RedisManager(url, channel=channel, write_only=True)
    elif manager == "kombu":
        sio = None
        mgr = socketio.KombuManager(url, channel=channel, write_only=True)
    else:
        raise SystemExit(f"unknown manager {manager}")

    for op in ops:
        ns = op.get("namespace", "/")
        kind = op["op"]
        if kind == "emit":
            args = list(op.get("args", []))
            args += [base64.b64decode(b) for b in op.get("binary", [])]
            # Several arguments travel as a tuple, in both APIs.
            data = tuple(args) if len(args) != 1 else args[0]
            if sio is not None:
                payload = (data,) if args else ()  # no arguments: emit(event) alone
                sio.emit(op["event"], *payload, namespace=ns, to=op.get("to"),
                         skip_sid=op.get("skip_sid"))
            else:
                mgr.emit(op["event"], data, namespace=ns, room=op.get("to"),
                         skip_sid=op.get("skip_sid"))
        elif kind == "close_room":
            if sio is not None:
                sio.close_room(op["room"], namespace=ns)
            else:
                mgr.close_room(op["room"], namespace=ns)
        elif kind == "enter_room":
            mgr.enter_room(op["sid"], ns, op["room"])
        elif kind == "leave_room":
            mgr.leave_room(op["sid"], ns, op["room"])
        elif kind == "disconnect":
            server.disconnect(op["sid"], namespace=ns)
        else:
            raise SystemExit(f"unknown op {kind}")
    sys.stdout.write(json.dumps({"done": True}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
