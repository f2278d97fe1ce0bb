"""The reference side of the differential test: a Flask-SocketIO app.

    python app.py [PORT]

Serves, on 127.0.0.1:PORT (0 or nothing: a free port), the Flask-SocketIO app whose Rust port
is in `tests/tests/flask_differential.rs`; `scenarios.py` drives both with the same client
scenarios. Once listening it prints one line, {"ready": true, "port": N}, on stdout.

The handlers are the documentation's examples (echo with send and emit, several arguments, acks,
broadcast, rooms, namespaces, connect and disconnect handlers, error handlers, the session),
plus the cases the documentation leaves implicit (refusals with data, None payloads, extra
arguments, percent-encoded query strings, `call` and its timeout). Keep it in step with the Rust
port: the two must stay handler for handler the same app.
"""

import json
import logging
import sys

from flask import Flask, request, session
from flask_socketio import (
    ConnectionRefusedError,
    SocketIO,
    call,
    close_room,
    disconnect,
    emit,
    join_room,
    leave_room,
    send,
)
from socketio.exceptions import TimeoutError as CallTimeout
from werkzeug.serving import make_server

app = Flask(__name__)
app.config["SECRET_KEY"] = "flask-differential"
socketio = SocketIO(app, async_mode="threading")

# What the client answers when the server asks it a question (`ask`), and how long the server
# waits for the answer of a question the client never answers (`ask slow`).
CALL_TIMEOUT = 5
SLOW_CALL_TIMEOUT = 1


def failure(handler):
    """What every error handler reports: which handler ran, for which event and arguments."""
    return {
        "handler": handler,
        "event": request.event["message"],
        "args": list(request.event["args"]),
    }


# --- '/': the documentation's examples ------------------------------------------------------


@socketio.on("message")
def on_message(message):
    send(message)


@socketio.on("json")
def on_json(data):
    send(data, json=True)


@socketio.on("my event")
def on_my_event(data):
    emit("my response", data)
    return "one", 2


@socketio.on("multi")
def on_multi(arg1, arg2, arg3):
    emit("my response", ("foo", "bar", [arg1, arg2, arg3]))
    return "foo", "bar", 123


@socketio.on("whoami")
def on_whoami():
    return request.sid


# Acknowledgements of every shape.


@socketio.on("ack nothing")
def on_ack_nothing():
    pass


@socketio.on("ack none")
def on_ack_none():
    return None


@socketio.on("ack one")
def on_ack_one():
    return "x"


@socketio.on("ack list")
def on_ack_list():
    return [1, 2]


@socketio.on("ack tuple")
def on_ack_tuple():
    return "a", 1, True


@socketio.on("ack null")
def on_ack_null():
    return (None,)


@socketio.on("ack dict")
def on_ack_dict():
    return {"k": "v", "n": [1, None]}


# None payloads.


@socketio.on("none")
def on_none():
    emit("nothing", None)
    emit("one null", (None,))


@socketio.on("count args")
def on_count_args(*args):
    return len(args), list(args)


# Broadcast.


@socketio.on("broadcast")
def on_broadcast(data):
    emit("my response", data, broadcast=True)


@socketio.on("broadcast others")
def on_broadcast_others(data):
    emit("my response", data, broadcast=True, include_self=False)


@socketio.on("broadcast send")
def on_broadcast_send(data):
    send(data, broadcast=True)


@socketio.on("to chat")
def on_to_chat(data):
    emit("news", data, namespace="/chat", broadcast=True)


# Rooms.


@socketio.on("join")
def on_join(data):
    join_room(data["room"])
    send(data["username"] + " has entered the room.", to=data["room"])


@socketio.on("leave")
def on_leave(data):
    leave_room(data["room"])
    send(data["username"] + " has left the room.", to=data["room"])


@socketio.on("room others")
def on_room_others(data):
    emit("room message", data["text"], to=data["room"], include_self=False)


@socketio.on("room all")
def on_room_all(data):
    emit("room message", data["text"], to=data["room"])


@socketio.on("close room")
def on_close_room(room):
    close_room(room)


# The session (one per connection, shared by its namespaces).


@socketio.on("set user")
def on_set_user(name):
    session["user"] = name
    return session["user"]


@socketio.on("get user")
def on_get_user():
    return session.get("user")


@socketio.on("count")
def on_count():
    session["count"] = session.get("count", 0) + 1
    return session["count"]


# Failures: each reaches the error handler of the namespace.


@socketio.on("raise")
def on_raise(data):
    raise ValueError(data)


@socketio.on("divide")
def on_divide(a, b):
    return a // b


@socketio.on("add one")
def on_add_one(n):
    return n + 1


@socketio.on("two params")
def on_two_params(a, b):
    return a, b


@socketio.on_error()
def on_error_root(e):
    emit("error handled", failure("/"))
    return failure("/")


# The handshake's query string, decoded.


@socketio.on("query")
def on_query():
    args = request.args
    return args.get("room"), args.get("plus"), args.get("encplus"), args.get("missing")


# The server asks the client (`call`).


@socketio.on("ask")
def on_ask(question):
    return call("question", question, timeout=CALL_TIMEOUT)


@socketio.on("ask slow")
def on_ask_slow():
    try:
        call("slow question", timeout=SLOW_CALL_TIMEOUT)
    except CallTimeout:
        return "timeout"
    return "answered"


@socketio.on("kick me")
def on_kick_me():
    disconnect()


@socketio.on("sync")
def on_sync():
    pass


# --- '/chat': a second namespace ----------------------------------------------------------


@socketio.on("my event", namespace="/chat")
def on_chat_my_event(data):
    emit("my response", {"ns": "/chat", "data": data})


@socketio.on("get user", namespace="/chat")
def on_chat_get_user():
    return session.get("user")


@socketio.on("count", namespace="/chat")
def on_chat_count():
    session["count"] = session.get("count", 0) + 1
    return session["count"]


@socketio.on("raise", namespace="/chat")
def on_chat_raise(data):
    raise RuntimeError(data)


@socketio.on_error("/chat")
def on_error_chat(e):
    emit("error handled", failure("/chat"))
    return failure("/chat")


@socketio.on("sync", namespace="/chat")
def on_chat_sync():
    pass


# --- '/private': authentication, connect-time emits, disconnect reasons ------------------


@socketio.on("connect", namespace="/private")
def on_private_connect(auth):
    if auth is None:
        raise ConnectionRefusedError("authentication required", {"code": 401})
    if auth.get("token") != "s3cret":
        raise ConnectionRefusedError("bad token", {"code": 403, "token": auth.get("token")})
    session["user"] = auth["user"]
    emit("welcome", {"user": auth["user"], "room": request.args.get("room")})
    emit("joined", auth["user"], broadcast=True)


@socketio.on("disconnect", namespace="/private")
def on_private_disconnect(reason):
    emit("left", {"user": session.get("user"), "reason": reason}, broadcast=True,
         include_self=False)


@socketio.on("get user", namespace="/private")
def on_private_get_user():
    return session.get("user")


@socketio.on("raise", namespace="/private")
def on_private_raise(data):
    raise KeyError(data)


@socketio.on("kick me", namespace="/private")
def on_private_kick_me():
    disconnect()


@socketio.on("sync", namespace="/private")
def on_private_sync():
    pass


@socketio.on_error_default
def on_error_default(e):
    emit("error handled", failure("default"))
    return failure("default")


# --- '/vip': a connect handler that answers True or False ---------------------------------


@socketio.on("connect", namespace="/vip")
def on_vip_connect(auth):
    return auth is not None and auth.get("vip") is True


@socketio.on("sync", namespace="/vip")
def on_vip_sync():
    pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # What socketio.run(app) does in threading mode, on a port that may be 0.
    server = make_server("127.0.0.1", port, app, threaded=True)
    sys.stdout.write(json.dumps({"ready": True, "port": server.server_port}) + "\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
