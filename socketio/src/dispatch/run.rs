//! Running handler futures without a task when they do not wait.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Waker};

use super::backlog::{HasBacklog, PendingHandler};

/// A boxed, `Send` future, as handlers return them once their types are erased.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Polls `future` once right here (most handlers finish without waiting, so they cost no
/// task), and spawns it only if it has to wait.
pub(crate) fn run_now(mut future: BoxFuture<()>) {
    let mut cx = Context::from_waker(Waker::noop());
    if future.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(future);
    }
}

/// Runs a handler of `connection`'s packets that [`run_now`]'s first poll left waiting, as a
/// task: it counts in the connection's backlog until it ends (inbound back-pressure,
/// `backlog.rs`).
pub(crate) fn spawn_pending<C, F>(future: F, connection: &Arc<C>)
where
    C: HasBacklog,
    F: Future<Output = ()> + Send + 'static,
{
    let pending = PendingHandler::new(connection.clone());
    tokio::spawn(async move {
        future.await;
        drop(pending);
    });
}
