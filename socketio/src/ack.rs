//! Waiting for a client's acknowledgement.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Weak;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::{AckError, EmitError};
use crate::socket::SocketInner;
use crate::Args;

/// Removes a pending acknowledgement when its waiter goes away (timeout or drop), so the table
/// never keeps entries nobody waits for.
pub(crate) enum PendingAck {
    /// An acknowledgement id in a local socket's table.
    Socket { socket: Weak<SocketInner>, id: u64 },
    /// A request to another process; dropping the guard forgets it.
    Remote(#[allow(dead_code)] Box<dyn Send + Sync>),
    /// Nothing to clean up (the emit failed before anything was registered).
    None,
}

impl PendingAck {
    pub(crate) fn new(socket: Weak<SocketInner>, id: u64) -> Self {
        PendingAck::Socket { socket, id }
    }
}

impl Drop for PendingAck {
    fn drop(&mut self) {
        if let PendingAck::Socket { socket, id } = self {
            if let Some(socket) = socket.upgrade() {
                socket.lock_acks().remove(id);
            }
        }
    }
}

/// The client's answer to [`Socket::emit_with_ack`](crate::Socket::emit_with_ack): await it
/// for the acknowledgement's [`Args`].
#[must_use = "the acknowledgement is only received when the future is awaited"]
pub struct AckFuture {
    rx: oneshot::Receiver<Args>,
    pending: PendingAck,
    timeout: Duration,
    failed: Option<EmitError>,
}

impl AckFuture {
    pub(crate) fn new(
        rx: oneshot::Receiver<Args>,
        pending: PendingAck,
        timeout: Duration,
        failed: Option<EmitError>,
    ) -> Self {
        AckFuture {
            rx,
            pending,
            timeout,
            failed,
        }
    }

    /// A wait that fails at once with `error`.
    pub(crate) fn failed(error: EmitError) -> Self {
        let (_, rx) = oneshot::channel();
        AckFuture::new(rx, PendingAck::None, Duration::ZERO, Some(error))
    }

    /// Waits at most `timeout` (instead of the server's `ack_timeout`).
    ///
    /// For a socket on another process (reached through
    /// [`BroadcastOperator::emit_with_ack`](crate::BroadcastOperator::emit_with_ack)), set the
    /// timeout on the operator instead: the other process already waits with the one it was sent.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl IntoFuture for AckFuture {
    type Output = Result<Args, AckError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let AckFuture {
                rx,
                pending,
                timeout,
                failed,
            } = self;
            if let Some(e) = failed {
                return Err(AckError::Emit(e));
            }
            let result = match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(args)) => Ok(args),
                Ok(Err(_)) => Err(AckError::Disconnected),
                Err(_) => Err(AckError::Timeout),
            };
            drop(pending);
            result
        })
    }
}

impl std::fmt::Debug for AckFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckFuture")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
