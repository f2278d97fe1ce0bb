//! The support library of the end-to-end tests in `tests/` (`use tests::...`): one place for
//! what the tests share, each concept once.
//!
//! Modules, by job:
//! * [`wait`]: the waiting policy ([`wait::WAIT`] for the in-process server,
//!   [`wait::EXTERNAL_WAIT`] for brokers, scripts and third-party clients) and the one polling
//!   loop ([`wait::until`], [`wait::eventually`]).
//! * [`panics`]: the one panic hook, counting panics per server by thread name (criterion U1).
//! * [`logs`]: the one `tracing` subscriber: captures the server's log lines for assertions,
//!   prints them per `RUST_LOG`.
//! * [`server`]: the one server wrapper: a `SocketIo` or the echo Engine on 127.0.0.1:0, on its
//!   own runtime or the test's ([`server::Options`]).
//! * [`canary`]: the one canary of criterion U2.
//! * [`ws`]: the one WebSocket client, at the Engine.IO, Socket.IO-frame or Socket.IO-packet
//!   level.
//! * [`raw_ws`]: raw WebSocket frames, for what no well-behaved client would send.
//! * [`http`]: a raw HTTP/1.1 client.
//! * [`eio`]: the Engine.IO tests: the echo engine, polling sessions, the upgrade, U3.
//! * [`sio`]: the Socket.IO tests: the standard server and its recorder, protocol violations.
//! * [`mq`]: several servers on one message queue.
//! * [`foreign`]: python-socketio, Flask-SocketIO and Node's redis-emitter publishing to them.
//! * [`redis`]: a `redis-server` per test, and a pausable proxy for partitions.
//! * [`interop`]: the node and python client scripts, their scenarios and servers.
//! * [`browser`]: headless Chromium running a playwright-core script.
//! * [`nginx`]: an nginx process per test, configured with the documentation's snippets.
//! * [`rng`]: a deterministic generator and base64 for the fuzz tests.
//!
//! The universal criteria of RELIABILITY.md §4 (U1 no panic, U2 the canary still answers, U3
//! closed sessions are gone and the gauge is back at its baseline, U6 no leaked task) are
//! described where they are implemented: [`eio`], [`sio`], [`server`].

pub mod browser;
pub mod canary;
pub mod eio;
pub mod foreign;
pub mod http;
pub mod interop;
pub mod logs;
pub mod mq;
pub mod nginx;
pub mod panics;
pub mod raw_ws;
pub mod redis;
pub mod rng;
pub mod server;
pub mod sio;
pub mod wait;
pub mod ws;
