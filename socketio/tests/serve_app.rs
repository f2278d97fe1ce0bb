//! `SocketIo::serve_app`: a tower layer added after merging the Socket.IO router wraps the
//! Socket.IO requests too (socket.io's `allowRequest`), over real HTTP.

use std::io::{Read, Write};
use std::net::SocketAddr;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use socketio::SocketIo;

async fn needs_a_pass(request: Request, next: Next) -> Result<Response, StatusCode> {
    if request.headers().contains_key("x-pass") {
        Ok(next.run(request).await)
    } else {
        Err(StatusCode::FORBIDDEN)
    }
}

/// The status code of a polling handshake, with or without the pass header.
async fn handshake_status(addr: SocketAddr, with_pass: bool) -> u16 {
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let pass = if with_pass { "x-pass: yes\r\n" } else { "" };
        write!(
            stream,
            "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {addr}\r\n{pass}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_layer_on_the_app_wraps_the_socketio_requests() {
    let io = SocketIo::builder().build().unwrap();
    let app = axum::Router::new()
        .merge(io.router())
        .layer(middleware::from_fn(needs_a_pass));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(io.clone().serve_app(listener, app, async move {
        let _ = stopped.await;
    }));
    assert_eq!(handshake_status(addr, false).await, 403);
    assert_eq!(
        io.connection_count(),
        0,
        "a refused request opens no session"
    );
    assert_eq!(handshake_status(addr, true).await, 200);
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
}
