"""Interop scenarios for the python-socketio client against the Rust server.

    python interop.py <url> <polling|websocket|upgrade> <scenario>

Performs one scenario against a server the Rust test started, and prints what it observed as
JSON lines ({"ev": "...", ...}); the Rust test asserts on them. The last line is {"ev": "done"}
on success; any failure prints {"ev": "error", "message": ...} and exits 1.

python-socketio's threaded client runs the handling of every incoming Engine.IO message on a
new thread, so handlers may run out of arrival order (and a binary packet's attachments may be
handled before its header). `InOrderClient` hands the messages to one dispatcher thread instead,
in arrival order; the wire protocol is untouched.
"""

import faulthandler
import json
import logging
import os
import queue
import sys
import threading
import traceback

import engineio
import socketio

WAIT = 15  # seconds; every wait is bounded, the Rust side has its own, longer, timeout

TRANSPORTS = {
    "polling": ["polling"],
    "websocket": ["websocket"],
    "upgrade": ["polling", "websocket"],
}


def out(ev, **fields):
    sys.stdout.write(json.dumps({"ev": ev, **fields}, default=repr) + "\n")
    sys.stdout.flush()


class _InOrderEngineIo(engineio.Client):
    """Dispatches incoming messages on one thread, in arrival order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._inbox = queue.Queue()
        threading.Thread(target=self._dispatch, daemon=True).start()

    def _dispatch(self):
        while True:
            handler, args = self._inbox.get()
            try:
                handler(*args)
            except Exception:  # noqa: BLE001 - report, keep dispatching
                traceback.print_exc()

    def _trigger_event(self, event, *args, **kwargs):
        if event == "message" and kwargs.get("run_async") and event in self.handlers:
            self._inbox.put((self.handlers[event], args))
            return None
        return super()._trigger_event(event, *args, **kwargs)


class InOrderClient(socketio.Client):
    def _engineio_client_class(self):
        return _InOrderEngineIo


# The client libraries' own logs go to stderr, which the Rust side shows when a test fails:
# warnings always, everything with SOCKETIO_TEST_VERBOSE set.
LOG = logging.getLogger("interop")
LOG.addHandler(logging.StreamHandler(sys.stderr))
LOG.setLevel(logging.INFO if os.environ.get("SOCKETIO_TEST_VERBOSE") else logging.WARNING)


def client():
    return InOrderClient(reconnection=False, request_timeout=WAIT, logger=LOG, engineio_logger=LOG)


def connect(sio, url, mode, **kwargs):
    kwargs.setdefault("namespaces", ["/"])
    sio.connect(url, transports=TRANSPORTS[mode], wait_timeout=WAIT, **kwargs)


class Waiter:
    """Collects the arguments of one event; `get()` waits for them."""

    def __init__(self):
        self._q = queue.Queue()

    def __call__(self, *args):
        self._q.put(list(args))

    def get(self, what="an event"):
        try:
            return self._q.get(timeout=WAIT)
        except queue.Empty:
            raise TimeoutError(f"timed out waiting for {what}") from None


def on(sio, event, namespace="/"):
    waiter = Waiter()
    sio.on(event, waiter, namespace=namespace)
    return waiter


def call(sio, event, *args, namespace="/"):
    """Emits `event` with `args`; returns the acknowledgement's arguments as a list."""
    waiter = Waiter()
    sio.emit(event, tuple(args), namespace=namespace, callback=waiter)
    return waiter.get(f"the ack of {event!r}")


def transport(sio, label="transport"):
    # The Python client upgrades during connect(), before any Socket.IO packet is exchanged.
    out(label, name=sio.transport())


def close(*clients):
    """Disconnects each client, waiting a bounded time for it.

    python-engineio's polling `disconnect()` can hang until the server's next ping: when its write
    loop sends the DISCONNECT packet before `disconnect()` queued CLOSE, the loop sees the state
    change and exits without sending CLOSE, and the read loop keeps waiting on its poll. The
    server is right to keep that poll open (the reference server does the same), so the script
    does not wait for it.
    """
    for sio in clients:
        t = threading.Thread(target=sio.disconnect, daemon=True)
        t.start()
        t.join(timeout=3)
        if t.is_alive():
            out("note", message="client disconnect still waiting for its poll; not waiting")


def as_list(data):
    return list(data)


def scenario_auth(url, mode):
    sio = client()
    welcome = on(sio, "welcome")
    connect(sio, url, mode, auth={"token": "s3cret", "user": "alice", "n": 42})
    (data,) = welcome.get("welcome")
    out("welcome", data=data, id=sio.get_sid("/"))
    transport(sio)
    close(sio)


def scenario_refused(url, mode):
    sio = client()
    errors = on(sio, "connect_error")
    outcome = queue.Queue()

    def attempt():
        try:
            connect(sio, url, mode, auth={"token": "wrong"})
            outcome.put("connected although refused")
        except socketio.exceptions.ConnectionError as exc:
            outcome.put(exc)

    # connect() disconnects before raising, and that disconnect can hang on polling (see
    # close()): the refusal is read from the connect_error handler, which runs first.
    threading.Thread(target=attempt, daemon=True).start()
    (data,) = errors.get("connect_error")
    try:
        result = outcome.get(timeout=3)
    except queue.Empty:
        result = None
        out("note", message="connect() still disconnecting after the refusal; not waiting")
    if isinstance(result, str):
        raise AssertionError(result)
    out("connect_error", message=data.get("message"), data=data.get("data"),
        connected=sio.connected, exception=None if result is None else str(result))


def scenario_events(url, mode):
    sio = client()
    reply = on(sio, "chat-reply")
    multi = on(sio, "multi-reply")
    connect(sio, url, mode)
    sio.emit("chat", {"room": "lobby", "text": "hello", "n": 7, "tags": ["a", "b"]})
    sio.emit("multi", ("x", 2, True, None, [1, 2, 3]))
    out("chat-reply", args=reply.get("chat-reply"))
    out("multi-reply", args=multi.get("multi-reply"))
    transport(sio)
    close(sio)


def scenario_acks(url, mode):
    sio = client()

    @sio.on("question")
    def question(text, a, b):
        return a * b, f"answer to {text}", {"ok": True}

    done = on(sio, "ack-received")
    connect(sio, url, mode)
    out("sum", args=call(sio, "sum", 2, 3))
    out("void", args=call(sio, "void"))
    sio.emit("ask-me")
    out("ack-received", args=done.get("ack-received"))
    transport(sio)
    close(sio)


def describe_upload(data):
    """The upload as plain lists; `binary` says whether every buffer, the nested `parts`
    included, arrived as bytes (not as a list of numbers)."""
    buffers = [data["file"], *data["meta"]["parts"]]
    return {
        "file": as_list(data["file"]),
        "name": data["meta"]["name"],
        "parts": [as_list(p) for p in data["meta"]["parts"]],
        "binary": all(isinstance(b, (bytes, bytearray)) for b in buffers),
    }


def scenario_binary(url, mode):
    sio = client()
    download = on(sio, "download")
    connect(sio, url, mode)
    upload = {
        "file": bytes(range(256)),
        "meta": {"name": "blob.bin", "parts": [b"\x01\x02\x03", b"", "héllo".encode()]},
    }
    (ack,) = call(sio, "upload", upload)
    out("upload-ack", **describe_upload(ack))
    (data,) = download.get("download")
    out("download", **describe_upload(data))
    transport(sio)
    close(sio)


def scenario_rooms(url, mode):
    names = ["A", "B", "C"]
    clients = [client() for _ in names]
    logs = [[] for _ in names]
    fences = [queue.Queue() for _ in names]

    for sio, log, fence in zip(clients, logs, fences):
        def record(event, *args, log=log, fence=fence):
            log.append([event, *args])
            if event == "fence":
                fence.put(args[0])

        sio.on("*", record)
    for sio in clients:
        connect(sio, url, mode)
    a, b, c = clients
    out("joined", A=call(a, "join", "r1")[0], B=call(b, "join", "r1")[0],
        C=call(c, "join", "r2")[0])
    for event, name in [("to-room-all", "f1"), ("to-room-others", "f2")]:
        a.emit(event, {"room": "r1", "fence": name})
        for fence in fences:
            got = fence.get(timeout=WAIT)
            if got != name:
                raise AssertionError(f"fence {got!r} while waiting for {name!r}")
    for name, log in zip(names, logs):
        out("log", name=name, events=log)
    for name, sio in zip(names, clients):
        transport(sio, f"transport-{name}")
    close(*clients)


def scenario_namespaces(url, mode):
    sio = client()
    hello_root = on(sio, "hello", namespace="/")
    hello_chat = on(sio, "hello", namespace="/chat")
    connect(sio, url, mode, namespaces=["/", "/chat"])
    out("engine", namespaces=sorted(sio.namespaces),
        distinct_ids=sio.get_sid("/") != sio.get_sid("/chat"))
    out("hello", root=hello_root.get("hello on /")[0], chat=hello_chat.get("hello on /chat")[0])
    out("where", root=call(sio, "where", "from-root", namespace="/"),
        chat=call(sio, "where", "from-chat", namespace="/chat"))
    transport(sio)
    close(sio)


def scenario_kick(url, mode):
    sio = client()
    reasons = Waiter()

    @sio.event
    def disconnect(reason):
        reasons(reason)

    connect(sio, url, mode)
    transport(sio)
    sio.emit("kick-me")
    (reason,) = reasons.get("disconnect")
    out("disconnect", reason=reason, connected=sio.connected)


def scenario_order(url, mode):
    n = 1000
    sio = client()
    received = []
    end = on(sio, "seq-end")
    sio.on("seq", received.append)
    # The server starts sending when it accepts the connection (asked by the auth payload).
    connect(sio, url, mode, auth={"seq": n})
    for i in range(n):
        sio.emit("seq", i)
    out("client-to-server", ack=call(sio, "seq-end"))
    end.get("seq-end")
    out("server-to-client", received=received)
    transport(sio)
    close(sio)


def scenario_limit(url, mode):
    canary, big = client(), client()
    reasons = Waiter()

    @big.event
    def disconnect(reason):
        reasons(reason)

    connect(canary, url, mode)
    connect(big, url, mode)
    transport(canary, "transport-canary")
    transport(big, "transport-big")
    out("under", ack=call(big, "big", "u" * 99000))
    big.emit("big", "o" * 101000)
    (reason,) = reasons.get("disconnect")
    out("over", reason=reason)
    out("canary", ack=call(canary, "ping", "still there?"), connected=canary.connected)
    close(canary, big)


def main():
    if len(sys.argv) != 4 or sys.argv[2] not in TRANSPORTS:
        print("usage: interop.py <url> <polling|websocket|upgrade> <scenario>", file=sys.stderr)
        sys.exit(64)
    url, mode, name = sys.argv[1:]
    # A scenario stuck past the Rust side's deadline prints every thread's stack and exits.
    faulthandler.dump_traceback_later(WAIT + 3, exit=True)
    run = globals().get(f"scenario_{name}")
    if run is None:
        out("error", message=f"unknown scenario {name}")
        sys.exit(1)
    try:
        run(url, mode)
    except BaseException:  # noqa: BLE001 - report everything to the Rust side
        out("error", message=traceback.format_exc())
        sys.stdout.flush()
        os._exit(1)
    out("done")
    sys.stdout.flush()
    # Background threads of the client library must not keep the process alive.
    os._exit(0)


if __name__ == "__main__":
    main()
