//! Socket.IO options on top of the Engine.IO ones.

use std::time::Duration;

use crate::engineio::EngineConfig;

/// Server options; set them through [`Builder`](crate::Builder).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) engine: EngineConfig,
    /// A connection that joins no namespace within this is closed (45 s).
    pub(crate) connect_timeout: Duration,
    /// Default wait for a client's acknowledgement (5 s).
    pub(crate) ack_timeout: Duration,
    /// Answer CONNECT before the connect handler runs, and disconnect on refusal.
    pub(crate) always_connect: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            engine: EngineConfig::default(),
            connect_timeout: Duration::from_secs(45),
            ack_timeout: crate::socket::DEFAULT_ACK_TIMEOUT,
            always_connect: false,
        }
    }
}
