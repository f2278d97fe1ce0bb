//! The soak harness: an hour of churn on one server (`examples/soak/main.rs`), and its
//! two-minute version in CI (`tests/tests/churn.rs`, which includes this module).
//!
//! * [`app`]: the server under soak, its handlers and its ticker;
//! * [`client`]: a lean Engine.IO / Socket.IO client over WebSocket and long-polling;
//! * [`http`]: the HTTP/1.1 requests of long-polling;
//! * [`load`]: the mixed load, well-behaved clients and slow readers, and what they count;
//! * [`probe`]: resident memory and open descriptors of a process, from `/proc`;
//! * [`run`]: the minutes, the readings, the checkpoints and the verdict.

pub mod app;
pub mod client;
pub mod http;
pub mod load;
pub mod probe;
pub mod run;
