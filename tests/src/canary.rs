//! Criterion U2 of RELIABILITY.md §4: a connection opened before a case, kept alive in the
//! background (it answers pings), that must still get its echo afterwards.
//!
//! On a bare echo engine the canary is an Engine.IO WebSocket session whose messages
//! `4canary-<n>` come back as they were sent; on a Socket.IO server it is a socket on `/` whose
//! `echo` events `42["echo","canary-<n>"]` come back from the `echo` handler (which the server
//! must have, as [`crate::sio::standard`] does). Open one with
//! [`Server::canary`](crate::server::Server::canary).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::wait::WAIT;
use crate::ws::{Client, Msg};

/// Explains, from the server's side, how a session ended (`None`: the server knows nothing).
pub type Explain = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A canary connection.
pub struct Canary {
    /// The Engine.IO session id.
    pub eio_sid: String,
    /// The socket id on `/` on a Socket.IO server; the Engine.IO session id on a bare engine.
    pub sid: String,
    client: Client,
    socket_io: bool,
    count: usize,
    explain: Explain,
}

impl Canary {
    /// Opens a canary on `addr`: a socket on `/` if `socket_io`, else an Engine.IO session.
    /// `explain` is asked how the session ended if the canary dies.
    pub async fn open(addr: SocketAddr, socket_io: bool, explain: Explain) -> Canary {
        let (client, sid) = if socket_io {
            Client::connected(addr, "/").await
        } else {
            let client = Client::open(addr).await;
            let sid = client.eio_sid.clone();
            (client, sid)
        };
        Canary {
            eio_sid: client.eio_sid.clone(),
            sid,
            client,
            socket_io,
            count: 0,
            explain,
        }
    }

    /// Why the canary is dead, from both ends (failure path only: it waits up to a second for
    /// the server to record the close).
    async fn dead(&self) -> String {
        let mut server = None;
        for _ in 0..100 {
            server = (self.explain)(&self.eio_sid);
            if server.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let client = match self.client.ending() {
            Some(Some(code)) => format!("close frame {code}"),
            Some(None) => "no close frame".to_owned(),
            None => "still open".to_owned(),
        };
        format!(
            "the canary's connection ended ({client}); server side: {}",
            server.unwrap_or_else(|| "unknown".to_owned())
        )
    }

    /// Sends a fresh message and expects its echo within [`WAIT`] (anything else that reaches
    /// the canary meanwhile, such as broadcasts, is skipped).
    pub async fn assert_echoes(&mut self) {
        self.count += 1;
        let text = if self.socket_io {
            format!(r#"42["echo","canary-{}"]"#, self.count)
        } else {
            format!("4canary-{}", self.count)
        };
        if !self.client.try_send(&text).await {
            panic!("{}", self.dead().await);
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.client.next_within(left).await {
                Ok(Some(Msg::Text(got))) if got == text => return,
                Ok(Some(_)) => {}
                Ok(None) => panic!("{}", self.dead().await),
                Err(()) => panic!("the canary got no echo within {WAIT:?}"),
            }
        }
    }

    /// Round-trip time of one echo.
    pub async fn latency(&mut self) -> Duration {
        let start = Instant::now();
        self.assert_echoes().await;
        start.elapsed()
    }
}
