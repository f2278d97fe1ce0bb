//! Mounting the engine in axum and running it.

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::Request;
use axum::routing::{any, MethodRouter};
use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;

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

/// Serves `app` on `listener` until `shutdown` resolves, then closes every session of `engine`
/// with [`CloseReason::ServerShutdown`] and waits for open HTTP requests to finish.
///
/// Peer addresses reach [`Handshake::remote_addr`](super::Handshake::remote_addr), and
/// `TCP_NODELAY` is set on every connection.
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
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: closing every session");
        engine.close_all(CloseReason::ServerShutdown);
    })
    .await
}
