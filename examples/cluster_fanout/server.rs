//! One server of the measured cluster (the child process, `cluster_fanout --serve`): every
//! feature on, and two handlers on `/`.
//!
//! * `join` puts the socket in room [`ROOM`] (acknowledged with nothing);
//! * `fanout` `{..}` broadcasts `fanout` with the same object to [`ROOM`], which through the
//!   message queue reaches the room's sockets on every process.
//!
//! On: the message queue (Redis or RabbitMQ) with its heartbeats every 2 s, the Prometheus
//! metrics at `/metrics`, the Admin UI's namespace (basic auth; production mode unless
//! development is asked for: in development mode, with a message queue, every event sent to
//! every socket is reported through the broker), a `tracing` subscriber at
//! `warn`, the operator limits at their defaults, and connection state recovery when this
//! build accepts it with a message queue. `GET /fanout/queue` answers the queue's counts,
//! `<published> <received> <publish failures>`.

use std::error::Error;
use std::time::Duration;

use axum::routing::get;
use serde_json::Value;
use socketio::admin::{AdminUi, Mode};
use socketio::{Builder, Data, RecoveryOptions, Socket, SocketIo};
use tokio::time::Instant;

/// The room every receiver joins.
pub const ROOM: &str = "fanout";

/// The Admin UI's username.
const ADMIN: &str = "admin";

/// How long the server waits for its message queue before giving up.
const QUEUE_WAIT: Duration = Duration::from_secs(60);

async fn join(socket: Socket) {
    socket.join(ROOM);
}

async fn fanout(io: SocketIo, Data(message): Data<Value>) {
    io.to(ROOM).emit("fanout", &message);
}

/// How a server is set up, from the command line of the child.
pub struct Setup {
    /// The message queue's URL.
    pub broker: String,
    /// The queue's channel (Redis channel, AMQP exchange), one per run.
    pub channel: String,
    /// The server's name, for the Admin UI.
    pub name: String,
    /// The bcrypt hash of the Admin UI's password.
    pub admin_hash: String,
    /// What the Admin UI reports.
    pub admin_mode: Mode,
    /// Whether to ask for connection state recovery.
    pub recovery: bool,
}

fn builder(setup: &Setup) -> Builder {
    SocketIo::builder()
        .message_queue(setup.broker.clone())
        .channel(setup.channel.clone())
        .queue_heartbeat(Duration::from_secs(2), Duration::from_secs(5))
        .admin_ui(
            AdminUi::basic_auth(ADMIN, setup.admin_hash.clone())
                .server_id(setup.name.clone())
                .mode(setup.admin_mode),
        )
        .on("/", "join", join)
        .on("/", "fanout", fanout)
}

/// Builds the server, with recovery if asked and accepted; says which.
fn build(setup: &Setup) -> Result<(SocketIo, String), socketio::BuildError> {
    if !setup.recovery {
        return Ok((builder(setup).build()?, "off (--no-recovery)".to_owned()));
    }
    match builder(setup)
        .connection_state_recovery(RecoveryOptions::default())
        .build()
    {
        Ok(io) => Ok((io, "on".to_owned())),
        Err(refused) => {
            let io = builder(setup).build()?;
            tracing::debug!(%refused, "connection state recovery refused with a message queue");
            Ok((io, "off (refused by this build)".to_owned()))
        }
    }
}

/// Runs the server on 127.0.0.1:0 until killed. Once its message queue is up, prints
/// `listening <address> recovery: <on or why off>` as its first line.
pub async fn serve(setup: Setup) -> Result<(), Box<dyn Error>> {
    let metrics = socketio::metrics::prometheus_router()?;
    let (io, recovery) = build(&setup)?;
    let deadline = Instant::now() + QUEUE_WAIT;
    while !io
        .queue_stats()
        .is_some_and(|s| s.connected && s.subscribed)
    {
        if Instant::now() > deadline {
            return Err(format!("the message queue at {} is not up", setup.broker).into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let queue = {
        let io = io.clone();
        get(move || async move {
            match io.queue_stats() {
                Some(s) => format!("{} {} {}", s.published, s.received, s.publish_failed),
                None => String::new(),
            }
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {} recovery: {recovery}", listener.local_addr()?);
    let routes = metrics.route("/fanout/queue", queue);
    io.serve_with(listener, routes, std::future::pending())
        .await?;
    Ok(())
}
