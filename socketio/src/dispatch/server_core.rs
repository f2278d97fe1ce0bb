//! [`ServerCore`]: what every namespace of one server shares.

use std::any::Any;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use super::limits::RateLimit;
use crate::ack::DEFAULT_ACK_TIMEOUT;
use crate::adapter::RecoveryOptions;
use crate::engineio::EngineConfig;
use crate::protocol::{Limits, Parser};
use crate::queue::Bus;
use crate::typemap::TypeMap;

/// Handlers of one connection that may wait at once, by default.
pub(crate) const DEFAULT_MAX_PENDING_HANDLERS: usize = 64;

/// Server options on top of the Engine.IO ones; set them through the server's builder.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) engine: EngineConfig,
    /// A connection that joins no namespace within this is closed (45 s).
    pub(crate) connect_timeout: Duration,
    /// Default wait for a client's acknowledgement (60 s).
    pub(crate) ack_timeout: Duration,
    /// Answer CONNECT before the connect handler runs, and disconnect on refusal.
    pub(crate) always_connect: bool,
    /// Packet limits of the Socket.IO decoder.
    pub(crate) limits: Limits,
    /// The packet format of every connection (JSON).
    pub(crate) parser: Parser,
    /// Dynamic namespaces alive at once (10,000).
    pub(crate) max_dynamic_namespaces: usize,
    /// Events per second per socket, with its policy (no limit).
    pub(crate) rate_limit: Option<RateLimit>,
    /// Namespaces one connection may join at once (no limit).
    pub(crate) max_namespaces_per_connection: Option<usize>,
    /// Rooms one socket may be in, its own room left out (no limit).
    pub(crate) max_rooms_per_socket: Option<usize>,
    /// Handlers of one connection that may wait at once before its transport stops reading (64).
    pub(crate) max_pending_handlers: usize,
    /// Connection state recovery (off).
    pub(crate) recovery: Option<RecoveryOptions>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            engine: EngineConfig::default(),
            connect_timeout: Duration::from_secs(45),
            ack_timeout: DEFAULT_ACK_TIMEOUT,
            always_connect: false,
            limits: Limits::default(),
            parser: Parser::default(),
            max_dynamic_namespaces: 10_000,
            rate_limit: None,
            max_namespaces_per_connection: None,
            max_rooms_per_socket: None,
            max_pending_handlers: DEFAULT_MAX_PENDING_HANDLERS,
            recovery: None,
        }
    }
}

/// What every namespace of one server shares: options, application state, and a way back to
/// the server itself.
#[derive(Debug)]
pub(crate) struct ServerCore {
    pub(crate) config: Config,
    /// Application state, read by the `State<T>` extractor.
    pub(crate) state: TypeMap,
    /// The server's engine, for handlers that emit beyond their socket: weak, so that the
    /// server owns its parts and not the other way round, and opaque, so that this layer does
    /// not name the server above it (which turns it back into a server). Set once the engine
    /// exists.
    pub(crate) engine: OnceLock<Weak<dyn Any + Send + Sync>>,
    /// The message-queue connection the namespaces' adapters share, if there is one.
    pub(crate) queue: Option<Arc<Bus>>,
    /// What hears the server's connections, sockets, rooms and packets (the Admin UI), if
    /// anything does: opaque here, as `engine`, since its hooks name the sockets that refer
    /// to this core (see `observer.rs`, which sets and reads it).
    pub(crate) observer: Option<Arc<dyn Any + Send + Sync>>,
}

impl ServerCore {
    pub(crate) fn new(config: Config, state: TypeMap, queue: Option<Arc<Bus>>) -> Self {
        ServerCore {
            config,
            state,
            engine: OnceLock::new(),
            queue,
            observer: None,
        }
    }
}
