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
pub(crate) struct PendingAck {
    socket: Weak<SocketInner>,
    id: u64,
}

impl PendingAck {
    pub(crate) fn new(socket: Weak<SocketInner>, id: u64) -> Self {
        PendingAck { socket, id }
    }
}

impl Drop for PendingAck {
    fn drop(&mut self) {
        if let Some(socket) = self.socket.upgrade() {
            socket.lock_acks().remove(&self.id);
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

    /// Waits at most `timeout` (instead of the server's `ack_timeout`).
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
