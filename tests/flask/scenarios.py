"""Client scenarios of the differential test, run against Flask-SocketIO and against socketio-rs.

    python scenarios.py URL SCENARIO      (SCENARIO: a name below, or `all`)
    python scenarios.py --list

For each scenario, prints one JSON line {"scenario": name, "transcript": {...}}: for every client
of the scenario (A, B, ...), and for every namespace it used, the ordered list of what it
observed there:

    ["connect"]                      the namespace accepted the connection
    ["connect_error", data]          it refused it (data: what the CONNECT_ERROR carried)
    ["connect_failed", message]      connect() raised
    ["event", name, [args...]]       an event arrived
    ["ack", event, [args...]]        the acknowledgement of an event the client sent
    ["disconnect", reason]           the client's disconnect handler ran
    ["timeout", what]                an expected observation did not come within WAIT seconds

Socket ids are replaced by placeholders ("<sid A />"); nothing else is random. The Rust test
(`tests/tests/flask_differential.rs`) compares the transcripts of the two servers.

Determinism:
- Every wait is bounded (WAIT) and waits for an observation, never a fixed time.
- python-socketio's threaded client handles each incoming message on a new thread;
  `_InOrderEngineIo` hands them to one thread per client instead, in arrival order.
- python-engineio's disconnect() may close the WebSocket before the CLOSE packet went out;
  `_InOrderEngineIo.disconnect` sends it first, so the server sees a client disconnect.
- A client's own steps are sequential: `call` waits for the acknowledgement, and everything the
  server sent that client before the acknowledgement has been recorded by then.
- What a step sends to *other* clients is flushed with `sync`: an acknowledged no-op each of
  them sends afterwards, whose answer arrives after anything queued for them before it.
- Transcripts are kept per namespace: the order of namespaces connecting together is not
  defined (Flask-SocketIO handles each CONNECT on its own thread), the order within one is.
"""

import json
import logging
import os
import queue
import socket
import sys
import threading
import time
import traceback

import engineio
import socketio

WAIT = 10  # seconds, for any one observation

# WebSocket from the start (the default), or SCENARIO_TRANSPORT=upgrade: polling first. Polling
# alone is not offered: python-engineio's polling disconnect() can hang until the next ping, and
# the transport-drop steps need a WebSocket.
TRANSPORTS = {
    "websocket": ["websocket"],
    "upgrade": ["polling", "websocket"],
}[os.environ.get("SCENARIO_TRANSPORT", "websocket")]

LOG = logging.getLogger("flask-differential")
LOG.addHandler(logging.StreamHandler(sys.stderr))
LOG.setLevel(logging.INFO if os.environ.get("SOCKETIO_TEST_VERBOSE") else logging.WARNING)

# What the client answers to the server's `question`, by question.
ANSWERS = {
    "two values": ("answer", 42),
    "one value": "only",
    "no value": None,
}

# Events the client never acknowledges (python-socketio always would), to see `call` time out.
SILENT = {"slow question"}


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
        if event == "disconnect":
            # once, with the reason of the client's own disconnect() when it made the server
            # close the connection (the read loop would call it a transport error)
            with self._disconnect_lock:
                if self._disconnected:
                    return None
                self._disconnected = True
            if self._closing:
                args = (self._closing,)
        return super()._trigger_event(event, *args, **kwargs)

    def connect(self, *args, **kwargs):
        self._disconnect_lock = threading.Lock()
        self._disconnected = False
        self._closing = None
        return super().connect(*args, **kwargs)

    def disconnect(self, abort=False, reason=None):
        # python-engineio 4.15.1's disconnect() closes the WebSocket right after queueing the
        # CLOSE packet, and its writer thread stops as soon as the state leaves 'connected': the
        # namespaces' DISCONNECT and the CLOSE are often never sent, and the server sees the
        # transport drop instead of a client disconnect. This is its disconnect() with the
        # queue flushed before the state changes.
        if self.state != "connected" or self.current_transport != "websocket":
            return super().disconnect(abort=abort, reason=reason)
        self._closing = reason or self.reason.CLIENT_DISCONNECT
        self._send_packet(engineio.packet.Packet(engineio.packet.CLOSE))
        deadline = time.monotonic() + WAIT
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        # The server may have closed the connection on the CLOSE already; then the read loop
        # ends the session (with the reason above), else this does.
        self.queue.put(None)
        self.state = "disconnecting"
        self._trigger_event("disconnect", self._closing, run_async=False)
        self.ws.close()
        if not abort and self.read_loop_task is not None:
            self.read_loop_task.join()
        self.state = "disconnected"
        try:
            engineio.base_client.connected_clients.remove(self)
        except ValueError:
            pass
        self._reset()
        return None


class _Client(socketio.Client):
    def _engineio_client_class(self):
        return _InOrderEngineIo

    def _handle_event(self, namespace, id, data):
        if data and data[0] in SILENT:
            # record it, but send no acknowledgement
            self._trigger_event(data[0], namespace or "/", *data[1:])
            return
        super()._handle_event(namespace, id, data)


class Peer:
    """One client of a scenario and what it observed, per namespace."""

    def __init__(self, name, url, namespaces, auth=None, query=""):
        self.name = name
        self.url = url + query
        self.namespaces = list(namespaces)
        self.auth = auth
        self.lock = threading.Lock()
        self.log = {ns: [] for ns in self.namespaces}
        self.changed = threading.Condition(self.lock)
        self.sids = {}
        self.sio = _Client(reconnection=False, request_timeout=WAIT, logger=LOG,
                           engineio_logger=LOG)
        for ns in self.namespaces:
            self._listen(ns)

    def _listen(self, ns):
        sio = self.sio

        def on_connect():
            self.sids[ns] = sio.get_sid(ns)
            self.record(ns, ["connect"])

        def on_connect_error(*data):
            self.record(ns, ["connect_error", data[0] if len(data) == 1 else list(data)])

        def on_disconnect(reason=None):
            self.record(ns, ["disconnect", reason])

        def on_any(event, *args):
            self.record(ns, ["event", event, list(args)])
            if event == "question" and args:
                return ANSWERS.get(args[0])
            return None

        sio.on("connect", on_connect, namespace=ns)
        sio.on("connect_error", on_connect_error, namespace=ns)
        sio.on("disconnect", on_disconnect, namespace=ns)
        sio.on("*", on_any, namespace=ns)

    def record(self, ns, entry):
        with self.lock:
            self.log.setdefault(ns, []).append(entry)
            self.changed.notify_all()

    def connect(self):
        """Connects to every namespace of the peer; records a failure instead of raising."""
        try:
            self.sio.connect(self.url, auth=self.auth, transports=TRANSPORTS,
                             namespaces=self.namespaces, wait_timeout=WAIT)
        except socketio.exceptions.ConnectionError as exc:
            self.record(self.namespaces[0], ["connect_failed", str(exc)])
            return False
        return True

    def call(self, ns, event, *args, record=True):
        """Emits `event` with `args` and waits for its acknowledgement (recorded in order)."""
        done = threading.Event()

        def on_ack(*answer):
            if record:
                self.record(ns, ["ack", event, list(answer)])
            done.set()

        self.sio.emit(event, tuple(args), namespace=ns, callback=on_ack)
        if not done.wait(WAIT):
            self.record(ns, ["timeout", f"ack of {event!r}"])

    def emit(self, ns, event, *args):
        """Emits `event` with `args`, no acknowledgement asked."""
        self.sio.emit(event, tuple(args), namespace=ns)

    def sync(self, ns=None):
        """Waits until everything the server sent this client so far has been recorded."""
        if self.sio.connected:
            self.call(ns or next(iter(self.sio.namespaces)), "sync", record=False)

    def wait_for(self, ns, kind, name=None, count=1):
        """Waits until `count` entries `kind` (of event `name`) are recorded in `ns`."""

        def seen():
            return sum(1 for e in self.log.get(ns, [])
                       if e[0] == kind and (name is None or e[1] == name)) >= count

        with self.lock:
            if not self.changed.wait_for(seen, timeout=WAIT):
                self.log.setdefault(ns, []).append(["timeout", f"{kind} {name or ''}".strip()])

    def disconnect(self):
        """Disconnects and waits for the client's disconnect handlers."""
        if not self.sio.connected:
            return
        namespaces = list(self.sio.namespaces)
        self.sio.disconnect()
        for ns in namespaces:
            self.wait_for(ns, "disconnect")

    def drop_transport(self):
        """Closes the TCP connection under the client, without a word to the server."""
        namespaces = list(self.sio.namespaces)
        self.sio.eio.ws.sock.shutdown(socket.SHUT_RDWR)
        for ns in namespaces:
            self.wait_for(ns, "disconnect")

    def close_websocket(self):
        """Closes the WebSocket (a close frame), without Engine.IO's CLOSE packet."""
        namespaces = list(self.sio.namespaces)
        self.sio.eio.ws.close()
        for ns in namespaces:
            self.wait_for(ns, "disconnect")


def transcript(*peers):
    """The peers' logs, with socket ids replaced by placeholders."""
    names = {}
    for peer in peers:
        for ns, sid in peer.sids.items():
            if sid:
                names[sid] = f"<sid {peer.name} {ns}>"

    def clean(value):
        if isinstance(value, str):
            return names.get(value, value)
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    return {peer.name: {ns: clean(entries) for ns, entries in peer.log.items()} for peer in peers}


SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


# --- the scenarios --------------------------------------------------------------------------


@scenario
def echo(url):
    """send/emit echo of the documentation; the ack of 'my event'; the sid placeholder."""
    a = Peer("A", url, ["/"])
    a.connect()
    a.emit("/", "message", "hello")
    a.emit("/", "json", {"a": 1, "b": [True, None]})
    a.sync()
    a.call("/", "my event", {"data": 42})
    a.call("/", "whoami")
    a.disconnect()
    return a,


@scenario
def several_arguments(url):
    """An event with three arguments; emits and acks with several values."""
    a = Peer("A", url, ["/"])
    a.connect()
    a.call("/", "multi", "x", 2, {"three": 3})
    a.disconnect()
    return a,


@scenario
def acks(url):
    """Every shape of acknowledgement: nothing, None, one value, a list, a tuple, a null."""
    a = Peer("A", url, ["/"])
    a.connect()
    for kind in ("nothing", "none", "one", "list", "tuple", "null", "dict"):
        a.call("/", f"ack {kind}")
    a.disconnect()
    return a,


@scenario
def none_payloads(url):
    """None sent by the server is no argument, (None,) one null; the same from the client."""
    a = Peer("A", url, ["/"])
    a.connect()
    a.call("/", "none")
    a.call("/", "count args")
    a.call("/", "count args", None)
    a.call("/", "count args", 1, None, "x")
    a.call("/", "count args", [None])
    a.disconnect()
    return a,


@scenario
def broadcast(url):
    """broadcast=True reaches everyone, the sender included; include_self=False not it."""
    a = Peer("A", url, ["/"])
    b = Peer("B", url, ["/"])
    a.connect()
    b.connect()
    a.call("/", "broadcast", "to all")
    b.sync()
    a.call("/", "broadcast others", "to the others")
    b.sync()
    a.call("/", "broadcast send", {"sent": "to all"})
    b.sync()
    b.call("/", "broadcast others", "from B")
    a.sync()
    a.disconnect()
    b.disconnect()
    return a, b


@scenario
def rooms(url):
    """The documentation's join/leave; to=room with and without the sender; close_room."""
    a = Peer("A", url, ["/"])
    b = Peer("B", url, ["/"])
    c = Peer("C", url, ["/"])
    for p in (a, b, c):
        p.connect()

    def others(*peers):
        for p in peers:
            p.sync()

    a.call("/", "join", {"username": "alice", "room": "lobby"})
    others(b, c)
    b.call("/", "join", {"username": "bob", "room": "lobby"})
    others(a, c)
    a.call("/", "room others", {"room": "lobby", "text": "without alice"})
    others(b, c)
    a.call("/", "room all", {"room": "lobby", "text": "with alice"})
    others(b, c)
    c.call("/", "room all", {"room": "lobby", "text": "from outside"})
    others(a, b)
    b.call("/", "leave", {"username": "bob", "room": "lobby"})
    others(a, c)
    a.call("/", "room all", {"room": "lobby", "text": "after bob left"})
    others(b, c)
    b.call("/", "join", {"username": "bob", "room": "lobby"})
    others(a, c)
    a.call("/", "close room", "lobby")
    a.call("/", "room all", {"room": "lobby", "text": "after close"})
    others(b, c)
    for p in (a, b, c):
        p.disconnect()
    return a, b, c


@scenario
def namespaces(url):
    """Two namespaces on one connection, a client of the second only, emits across them."""
    a = Peer("A", url, ["/", "/chat"])
    b = Peer("B", url, ["/chat"])
    a.connect()
    b.connect()
    a.call("/", "my event", "on root")
    a.call("/chat", "my event", "on chat")
    b.sync("/chat")
    a.call("/", "to chat", {"news": 1})
    a.sync("/chat")
    b.sync("/chat")
    b.call("/chat", "my event", "from B")
    a.sync("/chat")
    a.disconnect()
    b.disconnect()
    return a, b


@scenario
def connect_refused(url):
    """Refusals with a message and data, and a connect handler returning False or True."""
    a = Peer("A", url, ["/private"])
    b = Peer("B", url, ["/private"], auth={"token": "wrong", "user": "eve"})
    c = Peer("C", url, ["/vip"], auth={"vip": False})
    d = Peer("D", url, ["/vip"])
    e = Peer("E", url, ["/vip"], auth={"vip": True})
    for p in (a, b, c, d, e):
        p.connect()
    e.sync("/vip")
    for p in (a, b, c, d, e):
        p.disconnect()
    return a, b, c, d, e


@scenario
def unknown_namespace(url):
    """A namespace the app does not have."""
    a = Peer("A", url, ["/nowhere"])
    a.connect()
    return a,


@scenario
def error_handlers(url):
    """Exceptions reach the namespace's error handler, else the default one; the error
    handler's return value answers the ack."""
    a = Peer("A", url, ["/", "/chat", "/private"], auth={"token": "s3cret", "user": "alice"})
    a.connect()
    a.sync("/private")
    a.call("/", "raise", "oops")
    a.call("/", "divide", 7, 2)
    a.call("/", "divide", 1, 0)
    a.call("/", "add one", 41)
    a.call("/", "add one", "forty-one")
    a.emit("/", "raise", "without ack")
    a.sync("/")
    a.call("/chat", "raise", "in chat")
    a.call("/private", "raise", "in private")
    a.disconnect()
    return a,


@scenario
def extra_arguments(url):
    """A handler of two parameters called with two, three and one arguments."""
    a = Peer("A", url, ["/"])
    a.connect()
    a.call("/", "two params", "a", "b")
    a.call("/", "two params", "a", "b", "c")
    a.call("/", "two params", "a")
    a.disconnect()
    return a,


@scenario
def session(url):
    """The session: written by one event, read by others, in other namespaces, per client."""
    a = Peer("A", url, ["/", "/chat"])
    b = Peer("B", url, ["/"])
    c = Peer("C", url, ["/", "/private"], auth={"token": "s3cret", "user": "carol"})
    a.connect()
    b.connect()
    c.connect()
    c.sync("/private")
    a.call("/", "get user")
    a.call("/", "set user", "alice")
    a.call("/", "get user")
    a.call("/chat", "get user")
    a.call("/", "count")
    a.call("/chat", "count")
    a.call("/", "count")
    b.call("/", "get user")
    b.call("/", "count")
    c.call("/", "get user")
    c.call("/private", "get user")
    for p in (a, b, c):
        p.disconnect()
    return a, b, c


@scenario
def connect_emits(url):
    """What a connect handler emits, to the client and broadcast, and in which order relative
    to the connection's acceptance."""
    a = Peer("A", url, ["/private"], auth={"token": "s3cret", "user": "alice"}, query="?room=lobby")
    b = Peer("B", url, ["/private"], auth={"token": "s3cret", "user": "bob"})
    a.connect()
    a.sync("/private")
    b.connect()
    b.sync("/private")
    a.sync("/private")
    b.disconnect()
    a.wait_for("/private", "event", "left")
    a.disconnect()
    return a, b


@scenario
def disconnect_reasons(url):
    """The reason the server's disconnect handler gets: client disconnect, server disconnect
    (the server kicked the client), transport close (the WebSocket closed without Engine.IO's
    CLOSE; the TCP connection dropped)."""
    w = Peer("W", url, ["/private"], auth={"token": "s3cret", "user": "watcher"})
    x = Peer("X", url, ["/private"], auth={"token": "s3cret", "user": "x"})
    y = Peer("Y", url, ["/private"], auth={"token": "s3cret", "user": "y"})
    z = Peer("Z", url, ["/private"], auth={"token": "s3cret", "user": "z"})
    v = Peer("V", url, ["/private"], auth={"token": "s3cret", "user": "v"})
    w.connect()
    w.sync("/private")

    def step(peer, act, left):
        peer.connect()
        peer.sync("/private")
        w.sync("/private")
        act(peer)
        w.wait_for("/private", "event", "left", count=left)

    step(x, Peer.disconnect, 1)
    step(y, lambda p: (p.emit("/private", "kick me"), p.wait_for("/private", "disconnect")), 2)
    step(z, Peer.close_websocket, 3)
    step(v, Peer.drop_transport, 4)
    w.disconnect()
    return w, x, y, z, v


@scenario
def query_string(url):
    """request.args: the handshake's query string, percent-decoded ('+' is a space)."""
    a = Peer("A", url, ["/"], query="?room=caf%C3%A9%20%26%20bar&plus=a+b&encplus=a%2Bb")
    a.connect()
    a.call("/", "query")
    a.disconnect()
    return a,


@scenario
def call_timeout(url):
    """The server asks the client (`call`): answers of two, one and no values, and no answer
    at all (the call times out)."""
    a = Peer("A", url, ["/"])
    a.connect()
    a.call("/", "ask", "two values")
    a.call("/", "ask", "one value")
    a.call("/", "ask", "no value")
    a.call("/", "ask slow")
    a.disconnect()
    return a,


def run(url, name):
    try:
        peers = SCENARIOS[name](url)
        result = {"scenario": name, "transcript": transcript(*peers)}
    except Exception:  # noqa: BLE001 - reported as the scenario's result
        result = {"scenario": name, "crashed": traceback.format_exc()}
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()
    return "crashed" not in result


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(SCENARIOS))
        return 0
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    url, name = argv[1], argv[2]
    names = list(SCENARIOS) if name == "all" else [name]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        sys.stderr.write(f"unknown scenario {unknown[0]!r}; known: {', '.join(SCENARIOS)}\n")
        return 2
    ok = all([run(url, n) for n in names])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
