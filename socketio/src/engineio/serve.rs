//! Mounting the engine in axum and running it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::routing::{any, MethodRouter};
use axum::Router;
use http_body_util::Either;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tower_service::Service as _;

use super::engine::{is_engine_path, uri_len};
use super::polling_http::{self, Ended, PollingHttp};
use super::{CloseReason, Engine, EngineHandler};

impl<H: EngineHandler> Engine<H> {
    /// The engine as an axum service answering every method; mount it on the engine's path.
    pub fn service<S: Clone + Send + Sync + 'static>(&self) -> MethodRouter<S> {
        let engine = self.clone();
        any(move |request: Request| {
            let engine = engine.clone();
            async move { engine.handle(request).await }
        })
    }

    /// A router that answers on the configured path (with and without its trailing slash).
    /// Merge it into an application: `app.merge(engine.router())`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let path = self.config().get_path().to_owned();
        let trimmed = path.trim_end_matches('/');
        let router = Router::new().route(&path, self.service());
        if trimmed.is_empty() {
            router
        } else {
            router.route(trimmed, self.service())
        }
    }
}

/// How long a client may take to send a request's headers (slowloris guard).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` resolves, then closes every session of `engine`
/// with [`CloseReason::ServerShutdown`] and waits for open HTTP requests to finish.
///
/// Peer addresses reach [`Handshake::remote_addr`](super::Handshake::remote_addr),
/// `TCP_NODELAY` is set on every connection, and a client that takes more than 30 s to send its
/// request headers is disconnected (hyper's header read timeout, which `axum::serve` leaves off
/// because it gives hyper no timer; checked here every second, not with a tokio timer per
/// request).
pub async fn serve<H, F>(
    engine: Engine<H>,
    app: Router,
    listener: TcpListener,
    shutdown: F,
) -> std::io::Result<()>
where
    H: EngineHandler,
    F: Future<Output = ()> + Send + 'static,
{
    serve_routes(engine, app, listener, shutdown, false).await
}

/// Serves `app` with the engine's [`router`](Engine::router) merged in, on `listener`, until
/// `shutdown` resolves; then as [`serve`]. The layers already on `app` do not wrap the
/// engine's routes: its requests go straight to the engine, and the usual long-polling
/// requests are answered without hyper (see `engineio/polling_http.rs`).
pub async fn serve_with<H, F>(
    engine: Engine<H>,
    app: Router,
    listener: TcpListener,
    shutdown: F,
) -> std::io::Result<()>
where
    H: EngineHandler,
    F: Future<Output = ()> + Send + 'static,
{
    let app = app.merge(engine.router());
    serve_routes(engine, app, listener, shutdown, true).await
}

/// [`serve`]; with `direct`, for an `app` that holds the engine's [`router`](Engine::router)
/// merged in with no layer over it ([`serve_with`], `SocketIo::serve_with`): the requests on
/// the engine's path then go straight to [`Engine::handle`], without axum's routing, which
/// would only hand them to it, and each connection starts on the engine's own HTTP/1.1 path
/// for long-polling requests (`polling_http`), which hands it to hyper at the first request
/// that is not one.
pub(crate) async fn serve_routes<H, F>(
    engine: Engine<H>,
    app: Router,
    listener: TcpListener,
    shutdown: F,
    direct: bool,
) -> std::io::Result<()>
where
    H: EngineHandler,
    F: Future<Output = ()> + Send + 'static,
{
    let max_head = engine.config().get_max_header_bytes();
    let timer = super::coarse_timer::CoarseTimer::new();
    let stop_timer = timer.clone();
    // The requests on the engine's path go straight to it, long-polling ones without hyper.
    let polling_http = direct.then(|| {
        Arc::new(PollingHttp {
            engine: engine.clone(),
            path: engine.config().get_path().into(),
            max_head,
            header_timeout: HEADER_READ_TIMEOUT,
            timer: timer.clone(),
        })
    });
    // hyper's HTTP/1 connection itself: hyper-util's `auto` builder, even limited to HTTP/1,
    // puts a layer over the socket for its protocol sniffing, through which every read goes.
    let mut builder = http1::Builder::new();
    builder
        .timer(timer)
        .header_read_timeout(HEADER_READ_TIMEOUT)
        // Responses here are small: copying the body behind the head and writing once costs
        // less than queueing both buffers for a vectored write.
        .writev(false)
        // hyper's bound on a request head's buffer (memory), checked only when a parse
        // attempt fails; the exact limit is checked on the parsed head below.
        .max_buf_size((max_head + 8 * 1024).max(8 * 1024));
    let builder = Arc::new(builder);
    // Graceful shutdown (what hyper-util's `GracefulShutdown` does, which knows no HTTP/1-only
    // connection with upgrades): each connection watches `stop`, finishes its request and
    // closes once it changes, and `stop.closed()` resolves when every connection has ended.
    let (stop, _) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let hyper = Hyper {
            builder: builder.clone(),
            app: app.clone(),
            engine: engine.clone(),
            direct,
            max_head,
            remote,
        };
        let polling_http = polling_http.clone();
        let mut stopping = stop.subscribe();
        tokio::spawn(async move {
            match polling_http {
                Some(polling_http) => {
                    let ended =
                        polling_http::serve(&polling_http, stream, remote, &mut stopping).await;
                    if let Ended::HandOff(rewind) = ended {
                        hyper.serve(rewind, &mut stopping).await;
                    }
                }
                None => hyper.serve(stream, &mut stopping).await,
            }
            // Only now: `stop.closed()` waits for this.
            drop(stopping);
        });
    }
    tracing::info!("shutting down: closing every session");
    engine.close_all(CloseReason::ServerShutdown);
    let _ = stop.send(());
    // Connections waiting for a request head stop waiting (the polling path looks at `stop`
    // only between requests: registering with it for every wait would cost a lock each).
    stop_timer.expire_all();
    stop.closed().await;
    Ok(())
}

/// What serves a connection with hyper: the application, and the engine for the requests on
/// its path.
struct Hyper<H: EngineHandler> {
    builder: Arc<http1::Builder>,
    app: Router,
    engine: Engine<H>,
    /// The requests on the engine's path go straight to it (see [`serve_routes`]).
    direct: bool,
    max_head: usize,
    remote: SocketAddr,
}

impl<H: EngineHandler> Hyper<H> {
    /// Serves the connection `io` until it ends, or until `stopping` changes and the request in
    /// progress is answered.
    async fn serve<I>(self, io: I, stopping: &mut tokio::sync::watch::Receiver<()>)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let Hyper {
            builder,
            app,
            engine,
            direct,
            max_head,
            remote,
        } = self;
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            let too_large = head_bytes(&request) > max_head;
            let direct = direct && is_engine_path(engine.config().get_path(), request.uri().path());
            if !direct {
                request.extensions_mut().insert(ConnectInfo(remote));
            }
            let mut app = app.clone();
            let engine = engine.clone();
            async move {
                if too_large {
                    return Ok::<_, std::convert::Infallible>(head_too_large().map(Either::Right));
                }
                if direct {
                    return Ok(engine.handle_from(request, Some(remote)).await);
                }
                std::future::poll_fn(|cx| {
                    tower_service::Service::<Request<Body>>::poll_ready(&mut app, cx)
                })
                .await?;
                let response = app.call(request.map(Body::new)).await?;
                Ok(response.map(Either::Right))
            }
        });
        let connection = builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let mut connection = std::pin::pin!(connection);
        let ended = tokio::select! {
            biased;
            ended = connection.as_mut() => ended,
            _ = stopping.changed() => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = ended {
            tracing::trace!(error = %e, "connection ended with an error");
        }
    }
}

/// The size of a request's head as it came on the wire (request line and header lines).
fn head_bytes<B>(request: &Request<B>) -> usize {
    let line = request.method().as_str().len() + uri_len(request.uri()) + 12;
    request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum::<usize>()
        + line
}

/// 431, for a request head over `max_header_bytes`; the connection is closed after it.
fn head_too_large() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        [(axum::http::header::CONNECTION, "close")],
        "Request Header Fields Too Large",
    )
        .into_response()
}
