//! Several server processes, and processes that only emit, over a message queue (Redis or
//! RabbitMQ): Flask-SocketIO's `message_queue`.
//!
//! - [`Builder::message_queue`](crate::Builder::message_queue) and
//!   [`Builder::channel`](crate::Builder::channel) make a server publish every broadcast, room
//!   emit, socket-specific emit, `close_room`, server-side disconnect and room join/leave of a
//!   socket ([`BroadcastOperator::join`](crate::BroadcastOperator::join)) so that every process
//!   applies it to its own sockets. [`BroadcastOperator::emit_with_ack`](crate::BroadcastOperator::emit_with_ack)
//!   to one socket id is routed to the process holding that socket, and the answer back.
//! - Cluster-wide requests gather the answers of every server:
//!   [`BroadcastOperator::fetch_sockets`](crate::BroadcastOperator::fetch_sockets),
//!   [`BroadcastOperator::emit_with_acks`](crate::BroadcastOperator::emit_with_acks) and
//!   [`SocketIo::server_side_emit_with_ack`](crate::SocketIo::server_side_emit_with_ack)
//!   (see [cluster-wide requests](#cluster-wide-requests)); servers announce themselves with
//!   heartbeats so that each knows whom to wait for.
//! - [`Emitter`] is the write-only handle for a process that serves nothing (a worker, a cron
//!   job).
//! - Servers of other implementations share the channel: python-socketio / Flask-SocketIO
//!   servers and emitters, Node's redis-emitter ([foreign emitters](#foreign-emitters), [mixed
//!   clusters](#mixed-clusters)).
//!
//! The guide (load balancer, sticky sessions, URLs, security) is `docs/multi-process.md`.
//!
//! # Backends and URLs
//!
//! | URL | backend | cargo feature |
//! |---|---|---|
//! | `redis://[[user]:password@]host[:port][/db]` | Redis / Valkey PUBLISH + SUBSCRIBE on channel `<channel>` | `redis` |
//! | `redis+unix:///path/redis.sock`, `unix:///path/redis.sock` | the same over a unix socket | `redis` |
//! | `rediss://...` | the same over TLS | `redis` + `mq-tls` |
//! | `amqp://user:password@host[:port][/vhost]` | AMQP 0-9-1 (RabbitMQ): a non-durable fanout exchange named `<channel>`, one exclusive auto-delete queue per server | `amqp` |
//! | `amqps://...` | the same over TLS | `amqp` + `mq-tls` |
//!
//! A URL without a host takes Flask-SocketIO's defaults: `redis://` is `redis://localhost:6379`,
//! `amqp://` is `amqp://guest:guest@localhost:5672`.
//!
//! For `amqp://`, a path of `/` alone means the default virtual host `/` (as Kombu reads it);
//! write `%2f` or another name for anything else. The channel (default `flask-socketio`, as
//! Flask-SocketIO's) lets several independent applications share one broker.
//!
//! # Delivery rules
//!
//! - **Local first.** A broadcast is delivered to this process's sockets before anything is
//!   published, so they are served even when the broker is down.
//! - **At most once.** Messages published while a process is disconnected from the broker are
//!   lost for that process (publish/subscribe keeps nothing). Within one healthy connection,
//!   messages from one publisher arrive in the order they were published, without duplicates.
//! - **Fail fast, bounded.** Publishing never waits: messages go to a queue of at most
//!   16,384 messages and 64 MiB, drained by one task that publishes them in order, in batches,
//!   each batch bounded by a 1 s timeout. While the broker is unreachable, or when the queue is
//!   full, a publication fails at once; failures are counted ([`QueueStats::publish_failed`])
//!   and logged (at most one line per 5 s). Nothing is replayed after a reconnection.
//! - **Reconnection.** The publishing and the subscribing connections reconnect on their own,
//!   with back-off from 200 ms doubling to 5 s (with jitter), one log line per attempt; the
//!   subscriber subscribes again each time. An idle Redis subscription is checked with a PING
//!   every 10 s, so a silently dead connection is noticed within about 15 s.
//! - **Own messages ignored.** Every server (every `SocketIo` built with a message queue, and
//!   every [`Emitter`]) has a random 64-bit id, its `uid`; a server ignores the messages carrying
//!   its own uid, so its sockets get exactly one copy. Two servers in one operating-system
//!   process have different uids and behave like two processes.
//! - **Garbage survives.** A message that does not decode, has another version, or fails
//!   validation is counted ([`QueueStats::malformed`]), logged (rate-limited) and dropped; the
//!   listener keeps running. Decoding is plain JSON plus lengths: nothing on the bus can run
//!   code or choose a Rust type. The broker is still trusted infrastructure: anyone who can
//!   publish on the channel can make servers emit to or disconnect any socket, so protect it
//!   with a password/ACL and TLS, on a private network.
//!
//! # Acknowledgements across processes
//!
//! `io.to(sid).emit_with_ack(..)` for a socket of another process publishes an `ack_request`;
//! the process holding the socket sends the EVENT with an ack id of its own and publishes the
//! client's answer as an `ack_response` addressed to the asking server's uid. A socket that is
//! connected nowhere ends in [`AckError::Timeout`](crate::AckError::Timeout). `emit_with_ack`
//! to a room fails with [`EmitError::AckNeedsOneSocket`]: the answers of several sockets are
//! gathered by [`emit_with_acks`](crate::BroadcastOperator::emit_with_acks), a cluster-wide
//! request (below).
//!
//! # Cluster-wide requests
//!
//! | operation | socket.io | what each server answers | default timeout |
//! |---|---|---|---|
//! | [`BroadcastOperator::fetch_sockets`](crate::BroadcastOperator::fetch_sockets), [`SocketIo::fetch_sockets`](crate::SocketIo::fetch_sockets) | `fetchSockets()` | a description of its selected sockets (id, rooms, handshake headers and URI, peer and client address, `auth`) | [`Builder::queue_requests_timeout`](crate::Builder::queue_requests_timeout), 5 s (`requestsTimeout`) |
//! | [`BroadcastOperator::emit_with_acks`](crate::BroadcastOperator::emit_with_acks) | `timeout(ms).emit(.., cb)` on a broadcast | how many of its sockets it asked, then each socket's answer | the operator's `timeout`, else `ack_timeout` (60 s) |
//! | [`SocketIo::server_side_emit_with_ack`](crate::SocketIo::server_side_emit_with_ack) | `serverSideEmitWithAck` | its handler's return value ([`Builder::on_server_event`](crate::Builder::on_server_event)), or "no handler" | given with the call |
//!
//! [`SocketIo::server_side_emit`](crate::SocketIo::server_side_emit) (socket.io's
//! `serverSideEmit`) sends an event to the other servers' handlers without waiting; a server
//! never handles its own events.
//!
//! The asking server serves its own part locally (its sockets are included: a
//! [`RemoteSocket`](crate::RemoteSocket) may be local), publishes the request with a number,
//! and gathers the answers addressed to it until every **expected** server answered (and, for
//! acknowledgements, every socket a server announced answered) or the timeout passed. The
//! result, [`Replies`](crate::Replies), holds what arrived and counts what is missing
//! ([`missing_servers`](crate::Replies::missing_servers),
//! [`missing_acks`](crate::Replies::missing_acks)): a request never fails because a server is
//! silent, it completes with what arrived by the timeout. Answers of a server that was not
//! expected (it started during the request) are kept too.
//!
//! **Heartbeats decide who is expected.** Every server publishes a `heartbeat` every interval
//! (5 s by default, socket.io's `heartbeatInterval`) and counts the servers it heard from within
//! the heartbeat timeout (10 s, `heartbeatTimeout`); both are set with
//! [`Builder::queue_heartbeat`](crate::Builder::queue_heartbeat), the same on every server
//! ([`QueueStats::servers`] reads the count). So:
//!
//! - a **new server** publishes `hello` as soon as it is subscribed (and again after each
//!   resubscription); the others count it at once and answer with a heartbeat, so it counts
//!   them at once too;
//! - a server that **shuts down** ([`SocketIo::shutdown`](crate::SocketIo::shutdown), the end of
//!   `serve`, or dropping the server) publishes `goodbye`: the others stop counting it at once;
//! - a server that **dies** (killed, frozen, cut from the broker) stops counting one heartbeat
//!   timeout after its last heartbeat; a request started before that still expects it and
//!   completes at its timeout with the others' answers (`missing_servers` says one is missing);
//! - a server that is itself cut from the broker counts the others again once it resubscribed
//!   (its `hello` brings their heartbeats).
//!
//! Requests and answers travel like every other message (at most once): an answer lost with a
//! broker connection is an answer missing. Servers of an older release count these messages
//! as malformed and ignore them; the two can share a channel, but only servers of this release
//! answer requests.
//!
//! # Connection state recovery
//!
//! With [`Builder::connection_state_recovery`](crate::Builder::connection_state_recovery) and a
//! message queue, a client whose connection to server A was lost may reconnect to any server B
//! of the cluster (no sticky sessions, or A is gone) and get its socket back there: the same
//! id, its rooms, and the events it missed, emitted on any server. How:
//!
//! - **Offsets name their server.** Each server numbers the events it broadcasts in each
//!   namespace and appends `<uid>-<number>` (its bus id, then the number) as the last argument;
//!   it publishes every one, in that order, with the number in the header's `offset` (even one
//!   for its own sockets only, so that every server knows it). The message queue delivers the
//!   messages of one publisher in the order they were published, so when a server has seen
//!   number *n* of a server, it has seen every earlier one.
//! - **Every server keeps every broadcast** it delivers or receives, with its offset, for
//!   `max_disconnection_duration`, bounded by [`RecoveryOptions`](crate::RecoveryOptions)
//!   (per namespace and per server: each server keeps the whole cluster's broadcasts).
//! - **The lost session is published.** When A loses a socket (a connection lost without
//!   either side asking), it publishes a `session` message: the socket id, the private id,
//!   the rooms, A's *frontier* (the last number it had seen of each server) and A's *tail*
//!   (the offsets of the last packets, at most 1,024, that reached the socket, in the order A
//!   delivered them). Every server keeps it, bounded by `max_sessions`, `max_bytes` and the
//!   duration; a server that recovers it publishes `session_taken`, and the others forget it.
//! - **B restores it alone**, from what it kept, when the client comes back with its private
//!   id and the last offset it received: the packets of A's tail after that offset (A had
//!   delivered or queued them when the connection broke), in A's order, then every packet
//!   beyond A's frontier that reaches the socket's rooms, in the order B received them, then
//!   live ones. A itself restores the same way, or from its own order when the tail does not
//!   reach back to the client's offset.
//!
//! **Guarantee.** Within `max_disconnection_duration`, if the broker delivered every message:
//! each event broadcast to the socket's rooms while it was away (and any lost in flight before
//! A noticed) reaches it exactly once; the events of one server arrive in the order that server
//! emitted them; events of different servers arrive in the order A delivered them up to the
//! client's last offset's tail, then in the order B received them. A restore needs no answer
//! from A: A may be gone, once it published the session ([`SocketIo::shutdown`](crate::SocketIo::shutdown)
//! publishes those of the sockets it closes).
//!
//! **When the client gets a fresh session** (`recovered` false, a new id) instead, rather than
//! a wrong one: the private id is unknown here (never published, expired, taken, or B had not
//! received A's `session` message yet: A publishes it when it notices the loss, so a client
//! that reconnects before A noticed — a ping timeout still running — is not recovered); the
//! offset is not one A had delivered to it (forged; or, on a server other than A, not among
//! the last 1,024 packets that reached the socket within A's last 16,384 of the namespace,
//! unless those were all the packets A kept: a busy namespace whose client went silent long
//! before A noticed recovers only on A); B lacks a packet it would have to
//! send (dropped from its bounded memory, or not received yet: B is behind A's frontier); or
//! more frames are missed than half of [`max_queued_packets`](crate::Builder::max_queued_packets);
//! or the namespace is a dynamic one B did not serve meanwhile (a server keeps nothing for a
//! dynamic namespace before a socket of it connects there, and forgets it when the last one
//! leaves).
//! A server that died without noticing its sockets' loss (killed) published no sessions: its
//! clients get fresh sessions. Messages travel at most once: a broadcast the broker lost is
//! missed everywhere, recovery or not.
//!
//! Everything on the bus is untrusted input here too: a `session` message with more than
//! 4,096 frontier entries or 1,024 tail entries, or bad ids, is malformed and ignored; the
//! offsets a client sends are parsed strictly and only looked up.
//!
//! # Foreign emitters
//!
//! Processes of other Socket.IO implementations can emit to the sockets of socketio-rs
//! servers, unchanged (their default serialisation, channel and key), and an [`Emitter`] can
//! emit to python-socketio servers. Measured with python-socketio 5.18.1, Flask-SocketIO
//! 5.7.0, Kombu 5.7.0 and `@socket.io/redis-emitter` 5.1.0 (`tests/tests/foreign_emitters.rs`).
//!
//! | publisher | broker, channel | how a server accepts it | operations applied |
//! |---|---|---|---|
//! | Flask-SocketIO `SocketIO(message_queue=url)` without an app | Redis channel or AMQP exchange `flask-socketio` | always, on [`Builder::channel`](crate::Builder::channel) (default `flask-socketio`) | `emit` (to the namespace, a room, a list of rooms, a socket id; `skip_sid`; binary), `close_room`, `server.enter_room` / `leave_room` / `disconnect` of a socket id |
//! | python-socketio `RedisManager(url, write_only=True)` | Redis channel `socketio` | always, with `.channel("socketio")` (or `channel="flask-socketio"` on the Python side) | the same (a bare write-only manager cannot disconnect: python-socketio needs a server for that) |
//! | python-socketio `KombuManager(url, write_only=True)` | AMQP fanout exchange `socketio` | always, with `.channel("socketio")` | the same |
//! | Node `@socket.io/redis-emitter` (and broadcasts of Node servers using `@socket.io/redis-adapter`) | Redis channels `<key>#<nsp>#...` and `<key>-request#<nsp>#` | with [`Builder::node_redis_emitter(key)`](crate::Builder::node_redis_emitter) (`"socket.io"` by default there) | `emit` (namespace, `to` rooms and socket ids, `except`, binary `Buffer`s), `socketsJoin`, `socketsLeave`, `disconnectSockets` |
//! | socketio-rs [`Emitter`] with [`PublishFormat::PythonSocketio`] | its channel (default `flask-socketio`) | python-socketio / Flask-SocketIO servers with a message queue, and socketio-rs servers | `emit`, `close_room`; `join` / `leave` / `disconnect` of socket ids |
//! | a python-socketio / Flask-SocketIO **server** with `message_queue` | its channel | always, on the same channel (a [mixed cluster](#mixed-clusters)) | what its handlers do: `emit`, `close_room`, `enter_room` / `leave_room` / `disconnect` of a socket of another server |
//! | a socketio-rs server with [`Builder::python_socketio_peers`](crate::Builder::python_socketio_peers) | its channel | python-socketio / Flask-SocketIO servers; socketio-rs servers skip this copy | see [mixed clusters](#mixed-clusters) |
//!
//! How a message is recognised: on the configured channel, a message that is not in this
//! crate's format (below) is read as python-socketio's: one JSON object with a `method`
//! (`json.dumps` of a dict: python-socketio 5 publishes JSON, not pickle; Kombu's serializer
//! wraps that text in a JSON string once more, which is unwrapped). Nothing is ever
//! unpickled. Messages on the Node channels are read as the redis-emitter's: msgpack
//! `[uid, {type: 2, data: [event, ...args], nsp}, {rooms, except, flags}]` for emits, JSON
//! `{type, opts: {rooms, except}, rooms, close}` for requests.
//!
//! What is refused, counted in [`QueueStats::refused`] and logged (at most one line per 5 s)
//! as `message queue: refused from a foreign emitter: <what> is not supported (see
//! docs/multi-process.md, "Foreign emitters")`:
//! - a python-socketio `emit` with a `callback`: the event is delivered **without** an
//!   acknowledgement id (the Python side never gets its callback);
//! - python-socketio's `callback` messages are answers for the Python server that asked: ignored
//!   silently; any other `method` is refused;
//! - Node's `serverSideEmit`, and the requests of Node servers (fetching sockets, rooms,
//!   broadcasts with acknowledgements, requests encoded in msgpack);
//! - `disconnectSockets(true)` is applied as a disconnect from the namespace (the line says so):
//!   other namespaces of the connection stay.
//!
//! Foreign messages are untrusted input, like every message on the bus: a message that does not
//! decode, names an invalid namespace or a reserved event (`connect`, ...), has bad base64 or
//! placeholders that do not match its attachments, nests deeper than a Socket.IO payload may,
//! or carries a msgpack value JSON cannot say (a `Date`, an extension type, a non-string map
//! key) is counted in [`QueueStats::malformed`], logged (rate-limited) and dropped; the server
//! keeps listening. [`QueueStats::foreign`] counts the foreign messages applied.
//!
//! In python-socketio's format, [`Emitter::except`] becomes `skip_sid`, which python-socketio
//! servers compare with socket ids only (socketio-rs servers read it as rooms, a socket id
//! being a room); `join`, `leave` and `disconnect` must select socket ids with
//! [`Emitter::to`] (anything else fails with [`QueueError::Unsupported`]).
//!
//! # Mixed clusters
//!
//! socketio-rs servers and python-socketio / Flask-SocketIO servers (`message_queue=` Redis or
//! AMQP, python-socketio's `RedisManager` or `KombuManager`) can serve one application
//! together, on one channel (Flask-SocketIO's default `flask-socketio` is ours;
//! python-socketio's managers default to `socketio`). Measured with Flask-SocketIO 5.7.0 and
//! python-socketio 5.18.1 on Redis and RabbitMQ (`tests/tests/mixed_cluster.rs`).
//!
//! - **Python → socketio-rs**: always; the Python servers' messages are [foreign
//!   emitters'](#foreign-emitters).
//! - **socketio-rs → Python**: with
//!   [`Builder::python_socketio_peers(true)`](crate::Builder::python_socketio_peers), a server
//!   publishes each operation twice: in its own format, for the socketio-rs servers, and in
//!   python-socketio's, marked `"socketio_rs_copy": true`, for the Python servers.
//!   python-socketio ignores the native messages (none is a JSON object with a `method`) and
//!   fields it does not know; socketio-rs servers skip the marked copies. So every socket gets
//!   each event once, and the socketio-rs servers keep everything their own format says
//!   (acknowledgements, cluster-wide requests, `except` rooms, heartbeats).
//! - **No echo**: a python-socketio server ignores the messages of its own `host_id`, a
//!   socketio-rs server those of its own uid (its copies carry it as `host_id`).
//!
//! | operation of a socketio-rs server | published for python-socketio servers as |
//! |---|---|
//! | an emit to the namespace, to rooms, to socket ids ([`SocketIo::emit`](crate::SocketIo::emit), [`BroadcastOperator::emit`](crate::BroadcastOperator::emit), `socket.to(room).emit`, binary included) | `emit` with `room` (one name or a list) and `skip_sid`: the `except` rooms and the sender of `socket.broadcast()`. python-socketio compares `skip_sid` with socket ids only: the members of an `except` *room* on a Python server get the event |
//! | [`SocketIo::close_room`](crate::SocketIo::close_room) | `close_room` |
//! | [`BroadcastOperator::join`](crate::BroadcastOperator::join) / [`leave`](crate::BroadcastOperator::leave) / [`disconnect`](crate::BroadcastOperator::disconnect) of socket ids (`io.to(sid)`) | one `enter_room` / `leave_room` / `disconnect` per socket id (and room) not of this server; a Python server applies those of its sockets |
//! | the same for rooms' members or the whole namespace, or with `except` | **not published** for Python servers: python-socketio names sockets one by one |
//! | [`fetch_sockets`](crate::BroadcastOperator::fetch_sockets), [`emit_with_acks`](crate::BroadcastOperator::emit_with_acks) | **not published**: python-socketio servers do not answer cluster-wide requests; the result holds the socketio-rs servers' sockets |
//! | [`emit_with_ack`](crate::BroadcastOperator::emit_with_ack) to a socket of another server, [`server_side_emit`](crate::SocketIo::server_side_emit) | socketio-rs servers only: a Python socket id is not a [`Sid`](crate::Sid), and python-socketio has no server events |
//!
//! What is not published for the Python servers (the two "not published" rows) is counted in
//! [`QueueStats::untranslated`] and logged, at most one line per 5 s, as `message queue: not
//! published for python-socketio servers: <what> on <namespace>: <why> (see
//! docs/multi-process.md, "Mixed clusters")`. The other way, a Python server's `emit` with a
//! callback is delivered without one ([foreign emitters](#foreign-emitters)).
//!
//! # Wire format, version 1
//!
//! Every message is one Redis PUBLISH payload or one AMQP message body, binary-safe, encoded
//! once by the sender (a broadcast's Socket.IO packet is encoded once and the same bytes are
//! queued to every local socket, published, and queued to every socket of the other processes):
//!
//! ```text
//! message = header LF part*
//! header  = one JSON object on one line (no raw LF inside)
//! part    = raw bytes; their lengths, in order, are the header's "frames" array
//! ```
//!
//! Header fields (absent = empty / none):
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `v` | integer | format version, `1`; other versions are ignored (and counted as malformed), so a later release can change the format and run next to this one |
//! | `uid` | string | the sender's id |
//! | `op` | string | `broadcast`, `join`, `leave`, `disconnect`, `close_room`, `ack_request`, `ack_response`; `heartbeat`, `hello`, `goodbye`; `fetch_sockets`, `fetch_sockets_response`, `broadcast_ack`, `broadcast_ack_count`, `broadcast_ack_response`, `server_event`, `server_event_response`; `session`, `session_taken` |
//! | `ns` | string | the namespace (`/`, `/chat`) |
//! | `rooms`, `except` | strings | the target: sockets in any of `rooms` (all sockets of `ns` when empty) and in none of `except`; a room named by a socket id is that socket |
//! | `exclude` | string | one socket id left out (the sender of `socket.broadcast()`) |
//! | `names` | strings | the rooms to join / leave / close |
//! | `sid`, `req`, `timeout_ms` | string, integer, integer | `ack_request`: the socket, the request number, how long to wait |
//! | `to`, `req`, `error` | string, integer, string | `ack_response` and every `*_response` / `broadcast_ack_count`: the asking server's uid, its request number, and a reason when there is no answer |
//! | `req`, `timeout_ms` | integers | `fetch_sockets`, `broadcast_ack`, `server_event` (with acknowledgement): the request number, how long the asker waits |
//! | `count` | integer | `broadcast_ack_count`: how many sockets the server asked |
//! | `sid` | string | `broadcast_ack_response`: the socket that answered |
//! | `offset` | integer | `broadcast` with connection state recovery: the number the sender stamped (the packet's last argument is `<uid>-<offset>`) |
//! | `volatile` | boolean | `broadcast`: `true` for a volatile emit, which a socket that cannot take it at once misses and connection state recovery does not keep (absent: `false`) |
//! | `sid` | string | `session_taken`: the private id of the session recovered |
//! | `frames` | integers | byte lengths of the parts |
//!
//! Parts: for `broadcast`, `ack_request`, `broadcast_ack` and `server_event` (namespace `/`),
//! the Socket.IO EVENT or BINARY_EVENT packet text as clients receive it (without Engine.IO's
//! `4`, without ack id; UTF-8), then its binary attachments byte for byte. For `ack_response`,
//! `broadcast_ack_response` and `server_event_response`, the JSON array of the
//! acknowledgement's arguments (binary placeholders included), then the attachments. For
//! `fetch_sockets_response`, one JSON array of sockets: `{"id", "rooms": [..], "headers":
//! [[name, value], ..], "url": "/socket.io/?..", "peer": "ip:port", "address": "ip", "auth":
//! <json>}` (a bad `id` or `url` refuses the message; an invalid header is left out). For
//! `session`, one JSON object: `{"sid", "pid", "rooms": [..], "frontier": [[uid, number], ..],
//! "tail": [[uid, number], ..], "whole": bool}` (`whole`: the tail holds every packet kept that
//! reached the socket). Other operations have none.
//!
//! ```text
//! {"v":1,"uid":"9f2c4e1a0b3d5e6f","op":"broadcast","ns":"/","rooms":["news"],"frames":[17]}
//! 2["tick",{"n":1}]
//! ```
//!
//! (one message: the header line, then the 17-byte packet). Receivers check the version, the
//! lengths, and that a broadcast packet is an EVENT of the announced namespace without ack id
//! and with as many attachments as parts. A heartbeat is the header alone:
//!
//! ```text
//! {"v":1,"uid":"9f2c4e1a0b3d5e6f","op":"heartbeat"}
//! ```
//!
//! Ids are bounded where a flood could grow a table: at most 4,096 servers are counted, and an
//! answer that names no open request of this server is ignored.

mod adapter;
mod backend;
mod bus;
mod emitter;
mod foreign;
mod lost;
mod members;
mod options;
mod request;
mod server_event;
mod sockets;
mod url;
mod wire;

#[cfg(feature = "amqp")]
mod amqp;
#[cfg(feature = "redis")]
mod redis;

pub(crate) use bus::Bus;
pub use emitter::{Emitter, EmitterBuilder};
pub use foreign::PublishFormat;
pub(crate) use options::QueueOptions;
pub use server_event::ServerEvent;
pub(crate) use server_event::ServerEvents;
pub(crate) use url::open;
pub use url::DEFAULT_CHANNEL;

// The wire format, for the fuzz oracles (`crate::fuzzing`).
#[cfg(feature = "fuzzing")]
pub(crate) use wire::{
    decode as decode_wire, encode as encode_wire, encode_args as encode_wire_args,
    encode_packet as encode_wire_packet, Header as WireHeader, Op as WireOp,
};

use std::fmt;

use crate::error::EmitError;

/// A message queue's health and counters: [`SocketIo::queue_stats`](crate::SocketIo::queue_stats)
/// and [`Emitter::stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStats {
    /// This server's (or emitter's) id on the bus.
    pub uid: String,
    /// Whether the publishing connection is up.
    pub connected: bool,
    /// Whether the subscription is up (always false for an emitter, which does not subscribe).
    pub subscribed: bool,
    /// Messages the broker took (the servers' heartbeats, `hello` and `goodbye` are not
    /// counted here, nor in the counters below).
    pub published: u64,
    /// Publications that failed: broker unreachable, queue full, or lost with a broken
    /// connection.
    pub publish_failed: u64,
    /// Messages received on the channel, this server's own included.
    pub received: u64,
    /// Received messages that this server had published itself (ignored).
    pub own_ignored: u64,
    /// Received messages that were malformed or invalid (ignored).
    pub malformed: u64,
    /// Messages of foreign emitters (python-socketio, Node's redis-emitter) applied.
    pub foreign: u64,
    /// Well-formed foreign messages, or parts of them, refused as unsupported (each logged,
    /// rate-limited; see [foreign emitters](self#foreign-emitters)).
    pub refused: u64,
    /// Operations of this server that its python-socketio peers miss because their format
    /// cannot say them (with [`Builder::python_socketio_peers`](crate::Builder::python_socketio_peers));
    /// each logged, rate-limited (see [mixed clusters](self#mixed-clusters)).
    pub untranslated: u64,
    /// Connections (publishing or subscribing) opened again after a failure.
    pub reconnects: u64,
    /// Failed attempts to connect (publishing or subscribing); they are spaced by the back-off.
    pub connect_failures: u64,
    /// Acknowledgements awaited from sockets of other processes.
    pub pending_acks: usize,
    /// Other servers of the cluster heard from within the heartbeat timeout: how many answers
    /// a cluster-wide request (`fetch_sockets`, ...) expects.
    pub servers: usize,
    /// Cluster-wide requests of this server waiting for answers.
    pub pending_requests: usize,
    /// The last connection or publish error.
    pub last_error: Option<String>,
}

/// Why a message queue could not be set up or used.
#[derive(Debug)]
#[non_exhaustive]
pub enum QueueError {
    /// The URL cannot be used.
    InvalidUrl(String),
    /// The URL's scheme names no supported message queue.
    UnsupportedScheme(String),
    /// The scheme's backend was not compiled in.
    FeatureDisabled {
        /// The URL's scheme.
        scheme: String,
        /// The cargo feature of `socketio` that brings it.
        feature: &'static str,
    },
    /// Connections are made by tasks on a tokio runtime, and none is running.
    NoRuntime,
    /// The broker cannot be reached now (the last error says why).
    Unavailable(String),
    /// The publish queue is full: the broker does not keep up.
    QueueFull,
    /// The message could not be encoded.
    Emit(EmitError),
    /// The operation cannot be said in the emitter's [`PublishFormat`].
    Unsupported(String),
}

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueError::InvalidUrl(why) => write!(f, "invalid message queue URL: {why}"),
            QueueError::UnsupportedScheme(scheme) => write!(
                f,
                "unsupported message queue scheme {scheme:?}: use redis://, rediss://, redis+unix://, amqp:// or amqps://"
            ),
            QueueError::FeatureDisabled { scheme, feature } => write!(
                f,
                "{scheme}:// needs the `{feature}` feature of the socketio crate"
            ),
            QueueError::NoRuntime => f.write_str(
                "the message queue needs a tokio runtime: build the server (or connect the emitter) inside one",
            ),
            QueueError::Unavailable(why) => write!(f, "the message queue is unavailable: {why}"),
            QueueError::QueueFull => f.write_str("the message queue's publish queue is full"),
            QueueError::Emit(e) => write!(f, "{e}"),
            QueueError::Unsupported(why) => write!(f, "not supported by the publish format: {why}"),
        }
    }
}

impl std::error::Error for QueueError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            QueueError::Emit(e) => Some(e),
            _ => None,
        }
    }
}

impl From<EmitError> for QueueError {
    fn from(e: EmitError) -> Self {
        QueueError::Emit(e)
    }
}
