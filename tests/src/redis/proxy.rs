//! A pausable TCP proxy for network-partition tests (`redis_partitions.rs`): it sits between
//! one server and Redis and forwards bytes both ways.
//!
//! - [`Proxy::pause`] stops forwarding without closing anything: no FIN, no RST, the bytes just
//!   stop (a black hole, as a partitioned network looks). Connections accepted while paused are
//!   accepted (the kernel does that anyway) but carry nothing.
//! - [`Proxy::resume`] forwards again, starting with what was read before the pause.
//! - Dropping the proxy closes every connection and stops listening.
//!
//! The upstream (Redis-side) sockets have a small receive buffer, so that a paused proxy makes
//! Redis's own output buffer for the connection grow soon (the slow-subscriber test).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

/// Receive buffer of the proxy's upstream sockets.
const UPSTREAM_RECV_BUFFER: u32 = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Paused,
    Stopped,
}

/// A TCP proxy from `127.0.0.1:<port>` to an upstream address.
pub struct Proxy {
    pub port: u16,
    state: watch::Sender<State>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let (state, _) = watch::channel(State::Running);
        let mut stop = state.subscribe();
        let states = state.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stop.wait_for(|s| *s == State::Stopped) => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((downstream, _)) = accepted else {
                    continue;
                };
                let states = states.clone();
                tokio::spawn(async move {
                    let Some(upstream) = connect_upstream(upstream).await else {
                        return; // dropping `downstream` closes it, as a refused upstream would
                    };
                    let (down_read, down_write) = downstream.into_split();
                    let (up_read, up_write) = upstream.into_split();
                    tokio::spawn(pump(down_read, up_write, states.subscribe()));
                    tokio::spawn(pump(up_read, down_write, states.subscribe()));
                });
            }
        });
        Proxy { port, state }
    }

    /// `redis://127.0.0.1:<port>/`
    pub fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops forwarding, closing nothing.
    pub fn pause(&self) {
        self.state.send_replace(State::Paused);
    }

    /// Forwards again.
    pub fn resume(&self) {
        self.state.send_replace(State::Running);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.send_replace(State::Stopped);
    }
}

async fn connect_upstream(addr: SocketAddr) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    let _ = socket.set_recv_buffer_size(UPSTREAM_RECV_BUFFER);
    socket.connect(addr).await.ok()
}

/// Waits until the proxy runs; `false` once it stopped.
async fn running(state: &mut watch::Receiver<State>) -> bool {
    match state.wait_for(|s| *s != State::Paused).await {
        Ok(s) => *s == State::Running,
        Err(_) => false,
    }
}

/// Copies `from` to `to` while the proxy runs; EOF is passed on as a shutdown of `to`.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut state: watch::Receiver<State>) {
    let mut buf = vec![0u8; 16 << 10];
    loop {
        if !running(&mut state).await {
            return;
        }
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(n) => n,
                Err(_) => return,
            },
            // Paused (or stopped) while waiting for bytes: stop reading.
            _ = state.wait_for(|s| *s != State::Running) => continue,
        };
        if n == 0 {
            if running(&mut state).await {
                let _ = to.shutdown().await;
            }
            return;
        }
        let mut sent = 0;
        while sent < n {
            if !running(&mut state).await {
                return;
            }
            let written = tokio::select! {
                written = to.write(&buf[sent..n]) => match written {
                    Ok(0) | Err(_) => return,
                    Ok(written) => written,
                },
                _ = state.wait_for(|s| *s != State::Running) => continue,
            };
            sent += written;
        }
    }
}
