//! [`HandlerTable`]: one namespace's handlers, as the namespace calls them.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;

use super::failure::{fail, panic_message, run, run_error_handler, run_then, Site};
use super::guard::ErasedMessageGuard;
use crate::args::Args;
use crate::dispatch::BoxFuture;
use crate::dispatch::{NamespaceHandlers, Socket};
use crate::engineio::{FoldHash, Str};
use crate::error::{ConnectError, Error, ErrorKind};
use crate::extract::{ConnectContext, DisconnectContext, ErrorContext, MessageContext};
use crate::metrics;
use crate::reason::DisconnectReason;

/// An event handler with its types erased; one per event per namespace.
pub(crate) type ErasedMessageHandler = Arc<dyn Fn(MessageContext) -> BoxFuture<()> + Send + Sync>;
/// A connect handler with its types erased; `Err` refuses the connection.
pub(crate) type ErasedConnectHandler =
    Arc<dyn Fn(ConnectContext) -> BoxFuture<Result<(), ConnectError>> + Send + Sync>;
/// A disconnect handler with its types erased.
pub(crate) type ErasedDisconnectHandler =
    Arc<dyn Fn(DisconnectContext) -> BoxFuture<()> + Send + Sync>;
/// An error handler with its types erased.
pub(crate) type ErasedErrorHandler = Arc<dyn Fn(ErrorContext) -> BoxFuture<()> + Send + Sync>;

/// A handler of any role with its types erased, as the builder and the registry hand it over.
#[derive(Clone)]
pub(crate) enum ErasedHandler {
    /// For an event, or the catch-all.
    Message(ErasedMessageHandler),
    /// For connections.
    Connect(ErasedConnectHandler),
    /// For disconnections.
    Disconnect(ErasedDisconnectHandler),
    /// For failures.
    Error(ErasedErrorHandler),
    /// For deciding whether events reach their handler.
    Guard(ErasedMessageGuard),
}

/// The handlers of one namespace, fixed when the server is built.
#[derive(Default, Clone)]
pub(crate) struct HandlerTable {
    pub(crate) connect: Option<ErasedConnectHandler>,
    pub(crate) disconnect: Option<ErasedDisconnectHandler>,
    /// Looked up by every event a client sends: hashed with [`FoldHash`], safe as a client
    /// cannot add names.
    pub(crate) events: HashMap<Box<str>, ErasedMessageHandler, FoldHash>,
    pub(crate) catch_all: Option<ErasedMessageHandler>,
    /// The namespace's own error handler, or else the default one.
    pub(crate) error: Option<ErasedErrorHandler>,
    /// Where each event handler (and the catch-all, under `*`) comes from, for error reports.
    pub(crate) origins: HashMap<Box<str>, Arc<str>>,
    /// Run before the connect handler, in order; the first refusal refuses the connection.
    pub(crate) connect_middleware: Vec<ErasedConnectHandler>,
    /// Guards of every event of the namespace, in order (socket.io's `socket.use`).
    pub(crate) event_middleware: Vec<ErasedMessageGuard>,
    /// Guards of one event's handler (the catch-all's under `*`), after the middleware.
    pub(crate) guards: HashMap<Box<str>, Vec<ErasedMessageGuard>>,
}

impl HandlerTable {
    /// Wraps each event handler (and the catch-all) in its guards, the namespace's event
    /// middleware first, so that dispatching an event costs nothing more when there are none.
    pub(crate) fn seal(mut self) -> Self {
        let middleware = std::mem::take(&mut self.event_middleware);
        let mut guards = std::mem::take(&mut self.guards);
        let mut wrap = |key: &str, handler: ErasedMessageHandler| {
            let mut all = middleware.clone();
            all.extend(guards.remove(key).unwrap_or_default());
            if all.is_empty() {
                handler
            } else {
                guarded(all.into(), handler)
            }
        };
        self.events = std::mem::take(&mut self.events)
            .into_iter()
            .map(|(event, handler)| {
                let handler = wrap(&event, handler);
                (event, handler)
            })
            .collect();
        self.catch_all = self.catch_all.take().map(|handler| wrap("*", handler));
        for event in guards.keys() {
            tracing::warn!(event = %event, "a guard was registered for an event without a handler");
        }
        self
    }
}

impl NamespaceHandlers for HandlerTable {
    fn connect(
        &self,
        socket: &Socket,
        auth: Option<Str>,
        middlewares: bool,
    ) -> BoxFuture<Result<(), ConnectError>> {
        let middleware = if middlewares {
            &self.connect_middleware[..]
        } else {
            &[]
        };
        if self.connect.is_none() && middleware.is_empty() {
            return Box::pin(std::future::ready(Ok(())));
        }
        let steps: Vec<ErasedConnectHandler> =
            middleware.iter().chain(&self.connect).cloned().collect();
        let socket = socket.clone();
        Box::pin(async move {
            let ctx = ConnectContext {
                socket: socket.clone(),
                auth,
            };
            let mut verdict = Ok(());
            for step in steps {
                // A panicking connect handler refuses the connection (and is reported) rather
                // than leaving the client without an answer.
                verdict = match AssertUnwindSafe(step(ctx.clone())).catch_unwind().await {
                    Ok(verdict) => verdict,
                    Err(panic) => {
                        let error = Error::new(ErrorKind::Panic, panic_message(&*panic));
                        fail(Site::socket(&socket), error);
                        Err(ConnectError::new("Internal server error"))
                    }
                };
                if verdict.is_err() {
                    break;
                }
            }
            if let Err(refusal) = &verdict {
                let error = Error::new(ErrorKind::ConnectRefused, refusal.clone());
                fail(Site::socket(&socket), error);
            }
            verdict
        })
    }

    fn event(&self, socket: &Socket, event: Str, args: Args, ack_id: Option<u64>) {
        // The metrics' event label: the name only when a handler is registered for it, so a
        // client cannot create series.
        let (handler, label) = match self.events.get_key_value(event.as_str()) {
            Some((name, handler)) => (Some(handler), &**name),
            None => (self.catch_all.as_ref(), "*"),
        };
        let Some(handler) = handler else {
            tracing::debug!(namespace = %socket.namespace(), event = %event, "no handler for event");
            return;
        };
        let series = socket.ns().event_series(label);
        series.received();
        // The arguments are kept for a panic's error handler only when there is one: the
        // built-in handler (it logs) does not read them, and the copy is an allocation per event.
        let site = match self.error {
            Some(_) => Site::event(socket, &event, &args, ack_id),
            None => Site::event(socket, &event, &Args::default(), ack_id),
        };
        let ctx = MessageContext {
            socket: socket.clone(),
            event,
            args,
            ack_id,
        };
        let future = handler(ctx);
        if metrics::TIMED {
            let started = std::time::Instant::now();
            run_then(future, site, move || {
                series.finished(started.elapsed().as_secs_f64());
            });
        } else {
            run(future, site);
        }
    }

    fn disconnect(&self, socket: &Socket, reason: DisconnectReason) {
        if let Some(handler) = &self.disconnect {
            let ctx = DisconnectContext {
                socket: socket.clone(),
                reason,
            };
            run(handler(ctx), Site::socket(socket));
        }
    }

    fn report(
        &self,
        socket: &Socket,
        error: Error,
        event: Option<(Str, Args)>,
        ack_id: Option<u64>,
    ) {
        let name = event.as_ref().map(|(name, _)| name.as_str());
        let mut error = error.at(socket.namespace(), name, socket.id());
        if error.handler.is_none() {
            let key = name.filter(|n| self.events.contains_key(*n)).unwrap_or("*");
            error.handler = name.and(self.origins.get(key).cloned());
        }
        match &self.error {
            Some(handler) => {
                let ctx = ErrorContext {
                    error,
                    socket: socket.clone(),
                    event,
                    ack_id,
                };
                run_error_handler(handler(ctx));
            }
            None => error.report(),
        }
    }

    fn handled_events(&self) -> Vec<String> {
        let mut names: Vec<String> = self.events.keys().map(|k| k.to_string()).collect();
        for (present, name) in [
            (self.connect.is_some(), "connect"),
            (self.disconnect.is_some(), "disconnect"),
            (self.catch_all.is_some(), "*"),
            (self.error.is_some(), "error"),
        ] {
            if present {
                names.push(name.to_owned());
            }
        }
        names.sort();
        names
    }
}

/// `handler`, run only when every guard lets the event through, in order.
pub(crate) fn guarded(
    guards: Arc<[ErasedMessageGuard]>,
    handler: ErasedMessageHandler,
) -> ErasedMessageHandler {
    Arc::new(move |ctx: MessageContext| {
        let guards = guards.clone();
        let handler = handler.clone();
        Box::pin(async move {
            for guard in guards.iter() {
                match guard(ctx.clone()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::debug!(namespace = %ctx.socket.namespace(), event = %ctx.event, "a guard stopped the event");
                        return;
                    }
                    Err(error) => return fail(Site::message(&ctx), error),
                }
            }
            handler(ctx).await;
        })
    })
}
