//! The server wrapper: a [`SocketIo`] (or, for the Engine.IO tests, the echo [`Engine`]) served
//! on 127.0.0.1:0 until the wrapper is dropped or [stopped](Server::stop).
//!
//! Where it runs ([`Options`]):
//! * on its own tokio runtime ([`Server::start`], the protocol tests): two worker threads named
//!   after the server's id, so that the panic hook ([`crate::panics`]) counts a panic on any of
//!   them for this server and no other test, and so that [`Server::tasks`] and
//!   [`Server::cpu_time`] measure this server alone;
//! * on the test's runtime ([`Server::spawn`], the message-queue, interop and example tests):
//!   like an application serving in the test process.
//!
//! "Several processes" of the message-queue tests are several servers in the test process, each
//! on its own listener, with its own message-queue connections and its own uid: to the broker
//! and to each other they are indistinguishable from separate processes.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use socketio::engineio::{CloseReason, Engine, EngineConfig};
use socketio::{Sid, Socket, SocketIo};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::canary::Canary;
use crate::eio::Echo;
use crate::wait::{eventually, until, EXTERNAL_WAIT, WAIT};
use crate::ws::Client;
use crate::{logs, panics};

/// What a [`Server`] serves: a [`SocketIo`] or an Engine.IO [`Engine`].
pub trait Served: Clone + Send + Sync + 'static {
    /// Whether this is a Socket.IO server (the canary then speaks Socket.IO).
    const SOCKET_IO: bool;

    /// Serves on `listener`, with `routes` merged in, until `shutdown` resolves.
    fn serve(
        self,
        listener: TcpListener,
        routes: axum::Router,
        shutdown: oneshot::Receiver<()>,
    ) -> BoxFuture<'static, std::io::Result<()>>;

    /// Live Engine.IO sessions.
    fn sessions(&self) -> usize;

    /// Closes every session (reason: server shutting down).
    fn close_all(&self);

    /// How the Engine.IO session `eio_sid` ended, as far as the server can tell.
    fn describe_close(&self, eio_sid: &str) -> Option<String>;
}

impl Served for SocketIo {
    const SOCKET_IO: bool = true;

    fn serve(
        self,
        listener: TcpListener,
        routes: axum::Router,
        shutdown: oneshot::Receiver<()>,
    ) -> BoxFuture<'static, std::io::Result<()>> {
        self.serve_with(listener, routes, async move {
            let _ = shutdown.await;
        })
        .boxed()
    }

    fn sessions(&self) -> usize {
        self.connection_count()
    }

    fn close_all(&self) {
        self.shutdown();
    }

    fn describe_close(&self, eio_sid: &str) -> Option<String> {
        let sid: Sid = eio_sid.parse().ok()?;
        (!self.connection_open(sid)).then(|| "the session is gone".to_owned())
    }
}

impl Served for Engine<Echo> {
    const SOCKET_IO: bool = false;

    fn serve(
        self,
        listener: TcpListener,
        routes: axum::Router,
        shutdown: oneshot::Receiver<()>,
    ) -> BoxFuture<'static, std::io::Result<()>> {
        // The engine's requests skip axum, as `SocketIo::serve_with`'s do, and the usual
        // long-polling ones hyper too: the cases here hold that path to every bad input.
        socketio::engineio::serve_with(self, routes, listener, async move {
            let _ = shutdown.await;
        })
        .boxed()
    }

    fn sessions(&self) -> usize {
        self.session_count()
    }

    fn close_all(&self) {
        Engine::close_all(self, CloseReason::ServerShutdown);
    }

    fn describe_close(&self, eio_sid: &str) -> Option<String> {
        self.handler().0.describe_close(eio_sid)
    }
}

/// What a test hands to [`Server::start`]: a server, or what builds one.
pub trait App {
    /// What is served.
    type Served: Served;

    /// Builds it.
    fn into_served(self) -> Self::Served;
}

impl App for socketio::Builder {
    type Served = SocketIo;

    fn into_served(self) -> SocketIo {
        self.build().expect("a valid server configuration")
    }
}

impl App for SocketIo {
    type Served = SocketIo;

    fn into_served(self) -> SocketIo {
        self
    }
}

/// Engine options: an echo engine ([`Echo`]) with them.
impl App for EngineConfig {
    type Served = Engine<Echo>;

    fn into_served(self) -> Engine<Echo> {
        Engine::new(self, Echo::default())
    }
}

/// How a server is started.
#[derive(Default)]
pub struct Options {
    test_runtime: bool,
    routes: axum::Router,
}

impl Options {
    /// The defaults: on its own runtime, nothing but the server's own routes.
    pub fn new() -> Options {
        Options::default()
    }

    /// On the test's runtime instead of its own (no per-server panic, task or CPU accounting).
    pub fn test_runtime(mut self) -> Options {
        self.test_runtime = true;
        self
    }

    /// Serves `routes` too (an application's pages).
    pub fn routes(mut self, routes: axum::Router) -> Options {
        self.routes = routes;
        self
    }

    /// Starts `app` on 127.0.0.1:0.
    pub fn start<T: App>(self, app: T) -> Server<T::Served> {
        logs::install();
        panics::install();
        let io = app.into_served();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let served = io.clone();
        let routes = self.routes;
        let serve = async move {
            let listener = TcpListener::from_std(listener).expect("tokio listener");
            served.serve(listener, routes, stopped).await
        };
        let (id, runtime, task) = if self.test_runtime {
            (None, None, tokio::spawn(serve))
        } else {
            let id = panics::next_id();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name(panics::thread_name(id))
                .enable_all()
                .build()
                .expect("server runtime");
            let task = runtime.spawn(serve);
            (Some(id), Some(runtime), task)
        };
        Server {
            addr,
            io,
            id,
            runtime,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

/// A running server (see the module docs).
pub struct Server<A: Served = SocketIo> {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What is served: the [`SocketIo`] handle (it shares its state with the one being served),
    /// or the echo [`Engine`].
    pub io: A,
    /// The id its threads are named after (own runtime only).
    id: Option<usize>,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl<A: Served> Server<A> {
    /// Starts `app` on its own runtime.
    pub fn start<T: App<Served = A>>(app: T) -> Server<A> {
        Options::new().start(app)
    }

    /// Starts `app` on the test's runtime (call it from inside that runtime).
    pub fn spawn<T: App<Served = A>>(app: T) -> Server<A> {
        Options::new().test_runtime().start(app)
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn id(&self) -> usize {
        self.id
            .expect("panics, tasks and CPU time are counted for a server on its own runtime")
    }

    /// Unexpected panics on this server's threads so far.
    pub fn panics(&self) -> usize {
        panics::count(self.id()).unexpected
    }

    /// Panics carrying [`panics::DELIBERATE`] on this server's threads so far.
    pub fn deliberate_panics(&self) -> usize {
        panics::count(self.id()).deliberate
    }

    /// Live Engine.IO sessions.
    pub fn sessions(&self) -> usize {
        self.io.sessions()
    }

    /// Waits until the live-session gauge reads `expected`.
    pub async fn wait_sessions(&self, expected: usize) {
        until(WAIT, || match self.sessions() {
            n if n == expected => Ok(()),
            n => Err(format!("live sessions stayed at {n}, expected {expected}")),
        })
        .await
    }

    /// Tasks alive on the server's runtime (the accept loop, one per HTTP connection, one per
    /// WebSocket, one heartbeat per session, ...).
    pub fn tasks(&self) -> usize {
        self.id();
        self.runtime
            .as_ref()
            .map_or(0, |rt| rt.metrics().num_alive_tasks())
    }

    /// U6: waits until the server runs `expected` tasks again.
    pub async fn wait_tasks(&self, expected: usize) {
        until(WAIT, || match self.tasks() {
            n if n == expected => Ok(()),
            n => Err(format!(
                "the server still runs {n} tasks, expected {expected}"
            )),
        })
        .await
    }

    /// CPU time (user + system) used so far by this server's threads, from
    /// `/proc/self/task/*/stat`. Fails the test when it cannot be measured (no `/proc`, no
    /// thread of this server found, a line it cannot read): a CPU bound checked against zero
    /// would pass unmeasured.
    pub fn cpu_time(&self) -> Duration {
        let name = format!("({})", panics::thread_name(self.id()));
        let tick = 100u64; // USER_HZ on Linux
        let mut ticks = 0u64;
        let mut threads = 0usize;
        let tasks = std::fs::read_dir("/proc/self/task")
            .unwrap_or_else(|e| panic!("cannot measure CPU time: /proc/self/task: {e}"));
        for task in tasks.flatten() {
            // A thread may end between the listing and the read: it is not this server's (its
            // workers live as long as the server).
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            // `pid (comm) state ...`: comm may hold spaces, so split after the last ')'.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                panic!("cannot measure CPU time: unreadable {stat:?}");
            };
            if stat[open..=close] != name {
                continue;
            }
            let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
            // After comm: state is field 0, utime field 11, stime field 12.
            let field = |i: usize| -> u64 {
                fields
                    .get(i)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("cannot measure CPU time: field {i} of {stat:?}"))
            };
            ticks += field(11) + field(12);
            threads += 1;
        }
        assert!(
            threads > 0,
            "cannot measure CPU time: no thread named {name} in /proc/self/task"
        );
        Duration::from_millis(ticks * 1000 / tick)
    }

    /// Runs `case`; returns what it returned and the CPU time this server's threads spent
    /// meanwhile ([`cpu_time`](Self::cpu_time)). What a case costs the server, unlike its wall
    /// time, does not grow when other work loads the machine: bounds on it hold on a busy CI
    /// box and still catch a quadratic parser.
    pub async fn cpu_during<T>(&self, case: impl std::future::Future<Output = T>) -> (T, Duration) {
        let before = self.cpu_time();
        let output = case.await;
        (output, self.cpu_time().saturating_sub(before))
    }

    /// Opens the canary of criterion U2.
    pub async fn canary(&self) -> Canary {
        let io = self.io.clone();
        Canary::open(
            self.addr,
            A::SOCKET_IO,
            Box::new(move |eio_sid| io.describe_close(eio_sid)),
        )
        .await
    }

    /// U1 + U2: no unexpected panic so far, and the canary still echoes within [`WAIT`].
    pub async fn assert_healthy(&self, canary: &mut Canary) {
        canary.assert_echoes().await;
        assert_eq!(self.panics(), 0, "the server panicked");
    }

    /// U1 + U2 + U3: no unexpected panic, the canary still echoes, and the live-session gauge
    /// is back at `baseline`.
    pub async fn assert_healthy_at(&self, canary: &mut Canary, baseline: usize) {
        canary.assert_echoes().await;
        self.wait_sessions(baseline).await;
        assert_eq!(self.panics(), 0, "the server panicked");
    }

    /// Shuts the server down and checks that it stopped cleanly, within [`WAIT`].
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(WAIT, task)
                .await
                .expect("the server stops within the timeout")
                .expect("the server task does not panic");
            result.expect("the server stops without error");
        }
    }
}

impl<A: Served> Drop for Server<A> {
    fn drop(&mut self) {
        if self.runtime.is_none() {
            // On the test's runtime, which may end with the test: close every session now.
            self.io.close_all();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Server<SocketIo> {
    /// Whether the Engine.IO session `eio_sid` is alive (known and not closed).
    pub fn alive(&self, eio_sid: &str) -> bool {
        let sid: Sid = eio_sid.parse().expect("a valid sid");
        self.io.connection_open(sid)
    }

    /// Waits until the Engine.IO session `eio_sid` is gone.
    pub async fn wait_gone(&self, eio_sid: &str) {
        eventually(WAIT, format!("session {eio_sid} gone"), || {
            !self.alive(eio_sid)
        })
        .await;
    }

    /// The namespace socket `sid`.
    pub fn socket(&self, sid: &str) -> Socket {
        self.io
            .socket(sid.parse().expect("a valid sid"))
            .unwrap_or_else(|| panic!("no socket {sid}"))
    }

    /// A client connected to `/` that answers `ask` events by itself
    /// ([`Client::answer_asks`]); on a server with a message queue it waits up to
    /// [`EXTERNAL_WAIT`] for what crosses the broker.
    pub async fn client(&self) -> Client {
        let (client, _) = Client::connected(self.addr, "/").await;
        client.answer_asks();
        if self.io.queue_stats().is_some() {
            client.with_wait(EXTERNAL_WAIT)
        } else {
            client
        }
    }

    /// Whether both message-queue connections (publisher, subscription) are up.
    pub fn ready(&self) -> bool {
        self.io
            .queue_stats()
            .is_some_and(|s| s.connected && s.subscribed)
    }

    /// The message-queue statistics.
    pub fn stats(&self) -> socketio::queue::QueueStats {
        self.io.queue_stats().expect("a message queue")
    }
}
