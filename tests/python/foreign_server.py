"""A Flask-SocketIO server of a mixed cluster, next to socketio-rs servers or emitters on the
same message queue (tests/tests/foreign_emitters.rs, tests/tests/mixed_cluster.rs).

    python foreign_server.py URL CHANNEL

Serves a Flask-SocketIO app (threading mode) with `message_queue=URL`, `channel=CHANNEL` on a
free 127.0.0.1 port (a `redis://` URL makes python-socketio's RedisManager, an `amqp://` one its
KombuManager), and connects a python-socketio client to it that joins room `news`. It then
waits until the server's subscription delivers: a write-only manager of the same kind publishes
the event `probe` to the client until the client gets one. Then it prints
{"ready": true, "sid": SID} (the client's socket id).

Commands, one JSON object per line on stdin, each answered with {"ok": true}:

    {"join": ROOM}        the client asks the server to put it in ROOM
    {"emit": E, "args": [...], "to": ROOM_OR_NULL}
                          the client asks the server to `emit(E, *args, to=ROOM)`: the server's
                          own emit, delivered here and published on the queue
    {"wait": E}           answered once the client received the event E

The client's events (probes left out) are printed as {"event": E, "args": [...]} (bytes as
{"bytes": BASE64}) once it received the event `bye`, or once the server disconnected it (then
followed by {"event": "disconnected"}); then {"done": true}, and the script exits.
"""

import base64
import json
import sys
import threading
import time

import socketio
from flask import Flask
from flask_socketio import SocketIO, join_room
from werkzeug.serving import make_server

WAIT = 30

out_lock = threading.Lock()


def out(obj):
    with out_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def plain(value):
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def as_data(args):
    """python-socketio's `data` for a list of arguments: a tuple for several."""
    return tuple(args) if len(args) != 1 else args[0]


def write_only_manager(url, channel):
    if url.startswith(("redis://", "rediss://")):
        return socketio.RedisManager(url, channel=channel, write_only=True)
    return socketio.KombuManager(url, channel=channel, write_only=True)


def main():
    url, channel = sys.argv[1], sys.argv[2]
    app = Flask(__name__)
    sio = SocketIO(app, async_mode="threading", message_queue=url, channel=channel)

    @sio.on("join")
    def on_join(room):
        join_room(room)
        return "joined"

    @sio.on("relay")
    def on_relay(event, args, to):
        if args:
            sio.emit(event, as_data(args), to=to)
        else:
            sio.emit(event, to=to)
        return "relayed"

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    received = []
    changed = threading.Condition()
    probed = threading.Event()
    finished = threading.Event()
    client = socketio.Client()

    @client.on("*")
    def on_any(event, *args):
        if event == "probe":
            probed.set()
            return
        with changed:
            if event == "bye":
                finished.set()
            else:
                received.append({"event": event, "args": plain(list(args))})
            changed.notify_all()

    @client.event
    def disconnect(reason=None):
        if reason == client.reason.SERVER_DISCONNECT:
            with changed:
                received.append({"event": "disconnected"})
                finished.set()
                changed.notify_all()

    client.connect(f"http://127.0.0.1:{server.server_port}", wait_timeout=WAIT)
    assert client.call("join", "news", timeout=WAIT) == "joined"
    # The server subscribes once its first client connected: probe until it delivers.
    probe = write_only_manager(url, channel)
    deadline = time.time() + WAIT
    while not probed.wait(0.1):
        if time.time() > deadline:
            raise SystemExit("the Flask-SocketIO server never delivered a probe")
        probe.emit("probe", None, namespace="/", room=client.get_sid())
    out({"ready": True, "sid": client.get_sid()})

    def commands():
        for line in sys.stdin:
            command = json.loads(line)
            if "join" in command:
                assert client.call("join", command["join"], timeout=WAIT) == "joined"
            elif "emit" in command:
                answer = client.call(
                    "relay",
                    (command["emit"], command.get("args", []), command.get("to")),
                    timeout=WAIT,
                )
                assert answer == "relayed"
            elif "wait" in command:
                with changed:
                    if not changed.wait_for(
                        lambda: any(e.get("event") == command["wait"] for e in received),
                        WAIT,
                    ):
                        raise SystemExit(f"never received {command['wait']}")
            else:
                raise SystemExit(f"unknown command {command}")
            out({"ok": True})

    threading.Thread(target=commands, daemon=True).start()
    if not finished.wait(WAIT):
        raise SystemExit("neither bye nor a disconnection")
    with changed:
        for item in received:
            out(item)
    out({"done": True})
    if client.connected:
        client.disconnect()
    server.shutdown()


if __name__ == "__main__":
    main()
