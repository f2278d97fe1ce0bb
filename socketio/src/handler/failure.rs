//! The error pipeline: every failure goes to the namespace's error handler, then the default
//! one, then a built-in handler that logs; and running handler futures with their panics caught.

use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll, Waker};

use futures_util::FutureExt;

use crate::args::Args;
use crate::dispatch::BoxFuture;
use crate::dispatch::{run_now, spawn_pending, Socket};
use crate::engineio::Str;
use crate::error::{Error, ErrorKind};
use crate::extract::MessageContext;

/// Where a failure happened: enough to run the error handler and answer the pending ack.
#[derive(Clone)]
pub(crate) struct Site {
    pub(crate) socket: Socket,
    pub(crate) event: Option<Str>,
    pub(crate) args: Args,
    pub(crate) ack_id: Option<u64>,
}

impl Site {
    /// A failure while handling an event.
    pub(crate) fn message(ctx: &MessageContext) -> Self {
        Site {
            socket: ctx.socket.clone(),
            event: Some(ctx.event.clone()),
            args: ctx.args.clone(),
            ack_id: ctx.ack_id,
        }
    }

    /// A failure outside any event (connect, disconnect).
    pub(crate) fn socket(socket: &Socket) -> Self {
        Site {
            socket: socket.clone(),
            event: None,
            args: Args::default(),
            ack_id: None,
        }
    }

    /// The site of an event about to be handled, for a failure the handler cannot report
    /// itself (a panic): the error handler still sees the event's arguments, as in Flask.
    pub(crate) fn event(socket: &Socket, event: &Str, args: &Args, ack_id: Option<u64>) -> Self {
        Site {
            socket: socket.clone(),
            event: Some(event.clone()),
            args: args.clone(),
            ack_id,
        }
    }
}

/// Hands `error` to the most specific error handler of the socket's namespace, or logs it.
pub(crate) fn fail(site: Site, error: Error) {
    let Site {
        socket,
        event,
        args,
        ack_id,
    } = site;
    let event = event.map(|name| (name, args));
    socket.ns().report(&socket, error, event, ack_id);
}

/// Runs a handler's future: polled once right here (most handlers finish without waiting, and
/// then cost no task and no second allocation), and spawned with [`spawn_pending`] only if it
/// waits (it then counts in its connection's backlog). A panic is caught and goes to the error
/// pipeline, it never reaches the connection.
pub(crate) fn run(future: BoxFuture<()>, site: Site) {
    run_then(future, site, || {});
}

/// [`run`], calling `done` once the handler has finished without panicking (it times the
/// handler for the metrics), at once for a handler that does not wait.
pub(crate) fn run_then(
    mut future: BoxFuture<()>,
    site: Site,
    done: impl FnOnce() + Send + 'static,
) {
    let mut cx = Context::from_waker(Waker::noop());
    match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))) {
        Ok(Poll::Ready(())) => done(),
        Err(panic) => fail(site, Error::new(ErrorKind::Panic, panic_message(&*panic))),
        Ok(Poll::Pending) => {
            let connection = site.socket.connection().clone();
            let future = AssertUnwindSafe(future)
                .catch_unwind()
                .map(move |result| match result {
                    Ok(()) => done(),
                    Err(panic) => fail(site, Error::new(ErrorKind::Panic, panic_message(&*panic))),
                });
            spawn_pending(future, &connection);
        }
    }
}

/// Runs an error handler; its own failures are only logged, so the pipeline cannot loop.
pub(crate) fn run_error_handler(future: BoxFuture<()>) {
    run_now(Box::pin(AssertUnwindSafe(future).catch_unwind().map(
        |result| {
            if let Err(panic) = result {
                tracing::error!(panic = %panic_message(&*panic), "an error handler panicked");
            }
        },
    )));
}

/// The message a panic carried.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a handler panicked".to_owned())
}
