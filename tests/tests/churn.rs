//! Two minutes of churn (issue 12, item 3): the soak harness of `examples/soak` (included from
//! there) against one server on its own runtime, then a check that nothing leaked.
//!
//! The assertions are counts, not timings: at the checkpoints (after each minute, once every
//! client is gone) the server has no session left and runs as many tasks as before the load,
//! and the process holds as many file descriptors; no well-behaved client lost an
//! acknowledgement either way or had its connection broken; the server did not panic.
//! Resident memory is printed, not asserted: the process is shared with the clients.
//! The hour-long run and its table are in docs/reliability.md ("An hour of churn").

#[path = "../../examples/soak/harness/mod.rs"]
mod harness;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use harness::run::{self, Config, Sample, Target};
use harness::{app, probe};
use tests::server::Server;

/// The server in the test process, on its own runtime (so its task count is its own).
struct InProcess(Server);

impl Target for InProcess {
    fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    async fn sample(&self) -> io::Result<Sample> {
        Ok(Sample {
            rss_kib: probe::rss_kib("self")?,
            fds: probe::fds("self")?,
            tasks: self.0.tasks(),
            sessions: self.0.sessions(),
            panics: self.0.panics(),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_minutes_of_churn_leave_no_leak() {
    // A short heartbeat, so that the vanished polling clients are closed soon.
    let heartbeat = Duration::from_secs(2);
    let server = Server::start(app::builder(heartbeat, heartbeat));
    let ticker = tokio::spawn(app::ticker(server.io.clone()));
    let config = Config {
        minutes: 2,
        // A moderate load for a 2-core CI machine.
        clients: 12,
        slow: 2,
        sample_every: Duration::from_secs(5),
        checkpoint_every: 1,
        warmup: 1,
        drain_wait: Duration::from_secs(90),
    };
    let report = run::run(&InProcess(server), config)
        .await
        .expect("the server could be measured");
    ticker.abort();
    println!("{}", report.summary());
    let failures = report.failures();
    assert!(
        failures.is_empty(),
        "{failures:#?}\n{}\n{}",
        report.table(),
        report.summary()
    );
    let end = report.end();
    assert!(
        end.tally.connects > 0 && end.tally.upgrades > 0 && end.tally.vanished > 0,
        "the load did not exercise everything: {}",
        report.summary()
    );
}
