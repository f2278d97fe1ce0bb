//! Waiting for a client's acknowledgement.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::args::Args;
use crate::error::{AckError, EmitError};

/// Default time to wait for an acknowledgement: 60 s, Flask-SocketIO's `call` timeout.
pub(crate) const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(60);

/// Whatever forgets a pending acknowledgement when its waiter goes away (timeout or drop): an
/// entry in a socket's table, or a request to another process. It acts in its `Drop`.
pub(crate) type AckCleanup = Box<dyn Send + Sync>;

/// The client's answer to [`Socket::emit_with_ack`](crate::Socket::emit_with_ack): await it
/// for the acknowledgement's [`Args`].
#[must_use = "the acknowledgement is only received when the future is awaited"]
pub struct AckFuture {
    rx: oneshot::Receiver<Args>,
    cleanup: Option<AckCleanup>,
    timeout: Duration,
    failed: Option<EmitError>,
}

impl AckFuture {
    /// A wait for `rx` of at most `timeout`; `cleanup` is dropped when the wait ends. With
    /// `failed`, the wait fails at once with that error.
    pub(crate) fn new(
        rx: oneshot::Receiver<Args>,
        cleanup: AckCleanup,
        timeout: Duration,
        failed: Option<EmitError>,
    ) -> Self {
        AckFuture {
            rx,
            cleanup: Some(cleanup),
            timeout,
            failed,
        }
    }

    /// A wait that fails at once with `error`.
    pub(crate) fn failed(error: EmitError) -> Self {
        let (_, rx) = oneshot::channel();
        AckFuture {
            rx,
            cleanup: None,
            timeout: Duration::ZERO,
            failed: Some(error),
        }
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
                cleanup,
                timeout,
                failed,
            } = self;
            if let Some(e) = failed {
                return Err(AckError::Emit(e));
            }
            let result = match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(args)) => Ok(args),
                Ok(Err(_)) => Err(AckError::Disconnected),
                Err(_) => {
                    crate::metrics::ack_timed_out();
                    Err(AckError::Timeout)
                }
            };
            drop(cleanup);
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
