"""A Flask-SocketIO server of a mixed cluster, receiving the emits of a socketio-rs Emitter that
publishes in python-socketio's format (tests/tests/foreign_emitters.rs).

    python foreign_server.py REDIS_URL

Serves a Flask-SocketIO app (threading mode) with `message_queue=REDIS_URL` on a free
127.0.0.1 port, connects a python-socketio client to it that joins room `news`, waits until
the server's Redis subscription is up, and prints {"ready": true}. Then it prints every event
the client receives as {"event": E, "args": [...]} (bytes as {"bytes": BASE64}) until the
event `bye`, and exits.
"""

import base64
import json
import sys
import threading
import time

import redis
import socketio
from flask import Flask
from flask_socketio import SocketIO, join_room
from werkzeug.serving import make_server

WAIT = 30


def out(obj):
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


def main():
    url = sys.argv[1]
    app = Flask(__name__)
    sio = SocketIO(app, async_mode="threading", message_queue=url)

    @sio.on("join")
    def on_join(room):
        join_room(room)
        return "joined"

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    received = []
    bye = threading.Event()
    client = socketio.Client()

    @client.on("*")
    def on_any(event, *args):
        if event == "bye":
            bye.set()
        else:
            received.append({"event": event, "args": plain(list(args))})

    client.connect(f"http://127.0.0.1:{server.server_port}", wait_timeout=WAIT)
    assert client.call("join", "news", timeout=WAIT) == "joined"
    # The server subscribes once its first client connected: wait for that subscription.
    r = redis.Redis.from_url(url)
    deadline = time.time() + WAIT
    while dict(r.pubsub_numsub("flask-socketio")).get(b"flask-socketio", 0) < 1:
        if time.time() > deadline:
            raise SystemExit("the Flask-SocketIO server never subscribed")
        time.sleep(0.05)
    out({"ready": True})
    if not bye.wait(WAIT):
        raise SystemExit("no bye")
    for item in received:
        out(item)
    out({"done": True})
    client.disconnect()
    server.shutdown()


if __name__ == "__main__":
    main()
