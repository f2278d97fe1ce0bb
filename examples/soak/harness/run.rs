//! The soak itself: the load ([`super::load`]) for a number of minutes, the server measured
//! every few seconds, one row per minute (the median of the minute's readings), and idle
//! checkpoints where the load pauses until every client is gone and the server's counts must
//! be back at their baseline.

use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::load::{Counters, Load};

/// One reading of the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Resident memory, KiB.
    pub rss_kib: u64,
    /// Open file descriptors.
    pub fds: usize,
    /// Tasks alive on the server's runtime.
    pub tasks: usize,
    /// Live Engine.IO sessions.
    pub sessions: usize,
    /// Panics on the server so far.
    pub panics: usize,
}

/// The server as the soak sees it.
pub trait Target {
    /// Where it listens.
    fn addr(&self) -> SocketAddr;

    /// A reading, now.
    fn sample(&self) -> impl Future<Output = io::Result<Sample>> + Send;
}

/// How the soak runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Minutes of load.
    pub minutes: u32,
    /// Well-behaved clients connected at any time.
    pub clients: usize,
    /// Slow readers connected at any time.
    pub slow: usize,
    /// How often the server is measured.
    pub sample_every: Duration,
    /// A checkpoint after every this many minutes (0: only at the end).
    pub checkpoint_every: u32,
    /// The first minutes, left out of the flatness check.
    pub warmup: u32,
    /// How long a checkpoint may wait for the server's counts to come back: the vanished
    /// polling clients are only closed by the heartbeat (ping interval + ping timeout).
    pub drain_wait: Duration,
}

/// What the clients had done, at some point.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    pub connects: u64,
    pub acks_sent: u64,
    pub acks_received: u64,
    pub acks_lost: u64,
    pub calls_confirmed: u64,
    pub calls_lost: u64,
    pub broadcasts: u64,
    pub broken: u64,
    pub connect_failures: u64,
    pub vanished: u64,
    pub slow: u64,
    pub upgrades: u64,
}

impl Tally {
    fn of(c: &Counters) -> Tally {
        Tally {
            connects: c.connects.get(),
            acks_sent: c.acks_sent.get(),
            acks_received: c.acks_received.get(),
            acks_lost: c.acks_lost.get(),
            calls_confirmed: c.questions_confirmed.get(),
            calls_lost: c.questions_lost.get(),
            broadcasts: c.broadcasts.get(),
            broken: c.broken.get(),
            connect_failures: c.connect_failures.get(),
            vanished: c.vanished.get(),
            slow: c.slow.get(),
            upgrades: c.upgrades.get(),
        }
    }
}

/// A row of the table: a minute of load, or a checkpoint.
#[derive(Clone, Debug)]
pub struct Row {
    /// `1`, `2`, ... or `idle after 10`.
    pub label: String,
    /// The median of the minute's readings, or the checkpoint's reading.
    pub sample: Sample,
    /// The clients' counts so far.
    pub tally: Tally,
    /// A checkpoint: whether the counts came back to the baseline.
    pub back_to_baseline: Option<bool>,
}

/// What a soak found.
#[derive(Debug)]
pub struct Report {
    /// The server before any client.
    pub baseline: Sample,
    /// Minutes and checkpoints, in order; the last row is the final checkpoint.
    pub rows: Vec<Row>,
    /// The configuration it ran with.
    pub config: Config,
    /// Client tasks that ended on their own (panicked).
    pub dead_clients: usize,
}

/// Runs the soak against `target`, printing each row as it comes.
pub async fn run<T: Target>(target: &T, config: Config) -> io::Result<Report> {
    let baseline = settled(target).await?;
    println!("baseline: {baseline:?}");
    println!("{}", header());
    let load = Load::start(target.addr(), config.clients, config.slow);
    let mut rows = Vec::new();
    for minute in 1..=config.minutes {
        let end = Instant::now() + Duration::from_secs(60);
        let mut samples = Vec::new();
        while Instant::now() < end {
            samples.push(target.sample().await?);
            tokio::time::sleep_until((Instant::now() + config.sample_every).min(end)).await;
        }
        let row = Row {
            label: minute.to_string(),
            sample: median(&samples),
            tally: Tally::of(&load.counters),
            back_to_baseline: None,
        };
        println!("{}", line(&row));
        rows.push(row);
        let checkpoint = config.checkpoint_every > 0 && minute % config.checkpoint_every == 0;
        if checkpoint && minute < config.minutes {
            load.pause().await;
            let row = idle(target, &baseline, &config, &load.counters, minute).await?;
            println!("{}", line(&row));
            rows.push(row);
            load.resume();
        }
    }
    let counters = load.counters.clone();
    let dead_clients = load.stop().await;
    let mut row = idle(target, &baseline, &config, &counters, config.minutes).await?;
    row.label = "idle at the end".to_owned();
    println!("{}", line(&row));
    rows.push(row);
    Ok(Report {
        baseline,
        rows,
        config,
        dead_clients,
    })
}

/// A reading once two in a row, a second apart, agree on the counts.
async fn settled<T: Target>(target: &T) -> io::Result<Sample> {
    let mut last = target.sample().await?;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let next = target.sample().await?;
        if (next.fds, next.tasks, next.sessions) == (last.fds, last.tasks, last.sessions) {
            return Ok(next);
        }
        last = next;
    }
}

/// A checkpoint: waits (up to the drain wait) until no session is left and the server's tasks
/// and descriptors are back at the baseline.
async fn idle<T: Target>(
    target: &T,
    baseline: &Sample,
    config: &Config,
    counters: &Counters,
    minute: u32,
) -> io::Result<Row> {
    let deadline = Instant::now() + config.drain_wait;
    loop {
        let sample = target.sample().await?;
        let back =
            sample.sessions == 0 && sample.tasks == baseline.tasks && sample.fds == baseline.fds;
        if back || Instant::now() >= deadline {
            return Ok(Row {
                label: format!("idle after {minute}"),
                sample,
                tally: Tally::of(counters),
                back_to_baseline: Some(back),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The per-field median of `samples` (panics: the highest count).
fn median(samples: &[Sample]) -> Sample {
    fn mid<T: Ord + Copy>(mut v: Vec<T>) -> T {
        v.sort_unstable();
        v[v.len() / 2]
    }
    Sample {
        rss_kib: mid(samples.iter().map(|s| s.rss_kib).collect()),
        fds: mid(samples.iter().map(|s| s.fds).collect()),
        tasks: mid(samples.iter().map(|s| s.tasks).collect()),
        sessions: mid(samples.iter().map(|s| s.sessions).collect()),
        panics: samples.iter().map(|s| s.panics).max().unwrap_or(0),
    }
}

fn header() -> String {
    "| minute | RSS (MiB) | fds | tasks | sessions | connects | acks sent | acks received | acks lost | server calls confirmed | server calls lost | broadcasts received |\n\
     |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        .to_owned()
}

fn line(row: &Row) -> String {
    let s = &row.sample;
    let t = &row.tally;
    let label = match row.back_to_baseline {
        Some(false) => format!("{} (NOT back to baseline)", row.label),
        _ => row.label.clone(),
    };
    format!(
        "| {label} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        s.rss_kib as f64 / 1024.0,
        s.fds,
        s.tasks,
        s.sessions,
        t.connects,
        t.acks_sent,
        t.acks_received,
        t.acks_lost,
        t.calls_confirmed,
        t.calls_lost,
        t.broadcasts
    )
}

/// Whether `now` is within 5 % of `then`.
fn within_5_percent(then: u64, now: u64) -> bool {
    now.abs_diff(then) * 20 <= then
}

impl Report {
    /// The table, in Markdown.
    pub fn table(&self) -> String {
        let mut out = header();
        for row in &self.rows {
            let _ = write!(out, "\n{}", line(row));
        }
        out
    }

    /// The clients' totals, in one sentence.
    pub fn summary(&self) -> String {
        let t = &self.end().tally;
        format!(
            "{} well-behaved sessions ({} upgraded from polling, {} vanished without a goodbye), \
             {} slow-reader connections, {} calls acknowledged of {} made, {} server calls \
             answered, {} broadcasts received",
            t.connects,
            t.upgrades,
            t.vanished,
            t.slow,
            t.acks_received,
            t.acks_sent,
            t.calls_confirmed,
            t.broadcasts
        )
    }

    /// The last row: the final checkpoint.
    pub fn end(&self) -> &Row {
        self.rows.last().expect("the final checkpoint")
    }

    /// What went wrong; empty when the server ended flat, with no panic, no lost
    /// acknowledgement and no broken well-behaved connection.
    ///
    /// Flat: every checkpoint back at the baseline's task and descriptor counts with no
    /// session left, and (with more minutes than the warm-up and one more) the last minute's
    /// RSS, descriptors and tasks within 5 % of the first minute after the warm-up.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let end = self.end();
        let t = &end.tally;
        if end.sample.panics > 0 {
            failures.push(format!("the server panicked {} times", end.sample.panics));
        }
        if self.dead_clients > 0 {
            failures.push(format!("{} client tasks panicked", self.dead_clients));
        }
        if t.acks_lost + t.calls_lost > 0 {
            failures.push(format!(
                "acknowledgements lost: {} client→server, {} server→client",
                t.acks_lost, t.calls_lost
            ));
        }
        if t.acks_sent != t.acks_received + t.acks_lost {
            failures.push(format!(
                "calls unaccounted for: {} sent, {} acknowledged, {} lost",
                t.acks_sent, t.acks_received, t.acks_lost
            ));
        }
        if t.broken + t.connect_failures > 0 {
            failures.push(format!(
                "well-behaved clients failed: {} connections broke, {} could not connect",
                t.broken, t.connect_failures
            ));
        }
        for row in &self.rows {
            if row.back_to_baseline == Some(false) {
                failures.push(format!(
                    "{}: {:?}, baseline {:?} (not back within {:?})",
                    row.label, row.sample, self.baseline, self.config.drain_wait
                ));
            }
        }
        let minutes: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.back_to_baseline.is_none())
            .collect();
        if minutes.len() > self.config.warmup as usize + 1 {
            let first = &minutes[self.config.warmup as usize].sample;
            let last = &minutes[minutes.len() - 1].sample;
            for (what, then, now) in [
                ("RSS", first.rss_kib, last.rss_kib),
                ("fds", first.fds as u64, last.fds as u64),
                ("tasks", first.tasks as u64, last.tasks as u64),
            ] {
                if !within_5_percent(then, now) {
                    failures.push(format!(
                        "{what} not flat: {then} in minute {}, {now} in the last",
                        self.config.warmup + 1
                    ));
                }
            }
        }
        failures
    }
}
