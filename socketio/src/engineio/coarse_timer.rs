//! A coarse timer for hyper's header read timeout (the slowloris guard of [`serve`](super::serve)).
//!
//! hyper arms the timeout afresh for every request head it waits for. With tokio's timer that is
//! a timer-wheel insertion and removal (under the driver's lock) per request: a measurable part
//! of what a long-polling request costs. A 30 s guard needs no millisecond precision, so here the
//! deadlines are checked by one task that ticks every [`TICK`]: arming one is a table insertion,
//! and a deadline fires up to one tick late.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::time::Instant as TokioInstant;

use crate::sync::Mutex;

/// How often deadlines are checked (and the coarse clock advances).
const TICK: Duration = Duration::from_secs(1);

/// A [`hyper::rt::Timer`] whose sleeps are checked every [`TICK`] by one tokio task, which
/// runs while the timer (or a sleep it made) exists. Create it inside a tokio runtime.
#[derive(Clone)]
pub(crate) struct CoarseTimer {
    shared: Arc<Shared>,
}

struct Shared {
    /// The origin of the coarse clock (tokio's clock, which tests can pause).
    base: TokioInstant,
    /// Milliseconds from `base` to the last tick (or to the creation of the timer).
    now_ms: AtomicU64,
    sleeps: Mutex<Slots>,
    /// Set by [`CoarseTimer::expire_all`]: every sleep is ready.
    expired: AtomicBool,
}

/// The armed sleeps: a slot per sleep, reused once it is dropped.
#[derive(Default)]
struct Slots {
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
}

struct Slot {
    deadline_ms: u64,
    waker: Waker,
}

impl Slots {
    fn insert(&mut self, slot: Slot) -> usize {
        match self.free.pop() {
            Some(key) => {
                self.slots[key] = Some(slot);
                key
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, key: usize) {
        if let Some(slot) = self.slots.get_mut(key) {
            if slot.take().is_some() {
                self.free.push(key);
            }
        }
    }
}

impl CoarseTimer {
    /// A new timer, and the task that ticks it.
    pub(crate) fn new() -> Self {
        let shared = Arc::new(Shared {
            base: TokioInstant::now(),
            now_ms: AtomicU64::new(0),
            sleeps: Mutex::new(Slots::default()),
            expired: AtomicBool::new(false),
        });
        tokio::spawn(tick(Arc::downgrade(&shared)));
        CoarseTimer { shared }
    }
}

/// Advances the clock of `shared` every [`TICK`] and wakes the sleeps past their deadline, until
/// the timer and its sleeps are gone.
async fn tick(shared: Weak<Shared>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut due = Vec::new();
    loop {
        interval.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let now = shared.clock();
        shared.now_ms.store(now, Ordering::Release);
        {
            let sleeps = shared.sleeps.lock();
            due.extend(
                sleeps
                    .slots
                    .iter()
                    .flatten()
                    .filter(|slot| slot.deadline_ms <= now)
                    .map(|slot| slot.waker.clone()),
            );
        }
        due.drain(..).for_each(Waker::wake);
    }
}

impl Shared {
    /// Milliseconds from `base` to now, read from the system clock.
    fn clock(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Milliseconds from `base` to the last tick.
    fn coarse_ms(&self) -> u64 {
        self.now_ms.load(Ordering::Acquire)
    }

    /// The deadline `duration` past the last tick, in milliseconds from `base`.
    fn deadline_after(&self, duration: Duration) -> u64 {
        let duration = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        self.coarse_ms().saturating_add(duration)
    }
}

impl CoarseTimer {
    /// Makes every sleep of this timer ready, now and from now on: a server shutting down ends
    /// the waits for request heads this way (the polling connections' idle wait, hyper's header
    /// read timeout).
    pub(crate) fn expire_all(&self) {
        let wakers: Vec<Waker> = {
            let sleeps = self.shared.sleeps.lock();
            // Set under the lock: a sleep registering concurrently either sees the flag or is
            // in the table woken below.
            self.shared.expired.store(true, Ordering::Release);
            sleeps
                .slots
                .iter()
                .flatten()
                .map(|slot| slot.waker.clone())
                .collect()
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// A sleep until `duration` past the last tick, which its owner may move with
    /// [`CoarseSleep::reset_after`] instead of making another: the engine's polling connections
    /// keep one for their header timeout.
    pub(crate) fn sleep_after(&self, duration: Duration) -> CoarseSleep {
        CoarseSleep {
            shared: self.shared.clone(),
            deadline_ms: self.shared.deadline_after(duration),
            registered: None,
        }
    }
}

impl hyper::rt::Timer for CoarseTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(self.now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let from_base =
            TokioInstant::from_std(deadline).saturating_duration_since(self.shared.base);
        Box::pin(CoarseSleep {
            shared: self.shared.clone(),
            deadline_ms: u64::try_from(from_base.as_millis()).unwrap_or(u64::MAX),
            registered: None,
        })
    }

    /// The time of the last tick: hyper only adds the timeout to it.
    fn now(&self) -> Instant {
        (self.shared.base + Duration::from_millis(self.shared.coarse_ms())).into_std()
    }
}

/// A sleep of [`CoarseTimer`]: ready at the first tick at or past its deadline.
pub(crate) struct CoarseSleep {
    shared: Arc<Shared>,
    deadline_ms: u64,
    /// Its slot once it was polled, with the deadline and waker the slot holds: a poll with
    /// both unchanged (the usual one) leaves the table alone.
    registered: Option<Registered>,
}

struct Registered {
    key: usize,
    deadline_ms: u64,
    waker: Waker,
}

impl CoarseSleep {
    /// Moves the deadline to `duration` past the last tick. Takes no lock: the slot learns the
    /// new deadline at the next poll, and a tick that finds the old one past only wakes the
    /// sleep's task early.
    pub(crate) fn reset_after(&mut self, duration: Duration) {
        self.deadline_ms = self.shared.deadline_after(duration);
    }
}

impl Future for CoarseSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.shared.coarse_ms() >= this.deadline_ms
            || this.shared.expired.load(Ordering::Acquire)
        {
            if let Some(registered) = this.registered.take() {
                this.shared.sleeps.lock().remove(registered.key);
            }
            return Poll::Ready(());
        }
        if let Some(registered) = &this.registered {
            if registered.deadline_ms == this.deadline_ms && registered.waker.will_wake(cx.waker())
            {
                return Poll::Pending;
            }
        }
        let slot = Slot {
            deadline_ms: this.deadline_ms,
            waker: cx.waker().clone(),
        };
        let mut sleeps = this.shared.sleeps.lock();
        if this.shared.expired.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        let key = match &this.registered {
            Some(registered) => match sleeps.slots.get_mut(registered.key) {
                Some(entry @ Some(_)) => {
                    *entry = Some(slot);
                    registered.key
                }
                _ => sleeps.insert(slot),
            },
            None => sleeps.insert(slot),
        };
        drop(sleeps);
        this.registered = Some(Registered {
            key,
            deadline_ms: this.deadline_ms,
            waker: cx.waker().clone(),
        });
        Poll::Pending
    }
}

impl hyper::rt::Sleep for CoarseSleep {}

impl Drop for CoarseSleep {
    fn drop(&mut self) {
        if let Some(registered) = self.registered.take() {
            self.shared.sleeps.lock().remove(registered.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt as _;
    use hyper::rt::Timer as _;

    fn armed(timer: &CoarseTimer) -> usize {
        timer.shared.sleeps.lock().slots.iter().flatten().count()
    }

    #[tokio::test(start_paused = true)]
    async fn sleeps_fire_at_the_first_tick_past_their_deadline() {
        let timer = CoarseTimer::new();
        let start = tokio::time::Instant::now();
        let sleep = timer.sleep(Duration::from_millis(2_500));
        let mut other = timer.sleep(Duration::from_secs(3_600));
        assert!((&mut other).now_or_never().is_none());
        assert_eq!(armed(&timer), 1);
        sleep.await;
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(2_500), "{waited:?}");
        assert!(waited <= Duration::from_millis(2_500) + TICK, "{waited:?}");
        assert!((&mut other).now_or_never().is_none());
        assert_eq!(armed(&timer), 1, "the fired sleep left its slot");
        drop(other);
        assert_eq!(armed(&timer), 0, "a dropped sleep leaves its slot");
        let again = timer.sleep(Duration::from_millis(10));
        again.await;
        assert_eq!(
            timer.shared.sleeps.lock().slots.len(),
            2,
            "slots are reused"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_reset_sleep_fires_at_its_new_deadline_from_one_slot() {
        let timer = CoarseTimer::new();
        let start = tokio::time::Instant::now();
        let mut sleep = timer.sleep_after(Duration::from_secs(2));
        assert!((&mut sleep).now_or_never().is_none());
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        // Moved before it fired: the old deadline passes without it.
        sleep.reset_after(Duration::from_secs(2));
        (&mut sleep).await;
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(3), "{waited:?}");
        assert!(waited <= Duration::from_secs(3) + 2 * TICK, "{waited:?}");
        assert_eq!(armed(&timer), 0, "the fired sleep left its slot");
        // Used again after firing.
        sleep.reset_after(Duration::from_secs(1));
        assert!((&mut sleep).now_or_never().is_none());
        assert_eq!(armed(&timer), 1);
        (&mut sleep).await;
        drop(sleep);
        assert_eq!(armed(&timer), 0);
        assert_eq!(
            timer.shared.sleeps.lock().slots.len(),
            1,
            "one slot all along"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn expiring_the_timer_readies_every_sleep_now_and_later() {
        let timer = CoarseTimer::new();
        let mut armed = timer.sleep_after(Duration::from_secs(3_600));
        let mut boxed = timer.sleep(Duration::from_secs(3_600));
        assert!((&mut armed).now_or_never().is_none());
        assert!(boxed.as_mut().now_or_never().is_none());
        let waiting = tokio::spawn(armed);
        tokio::task::yield_now().await;
        timer.expire_all();
        waiting.await.expect("woken");
        assert!(boxed.as_mut().now_or_never().is_some());
        assert!(timer
            .sleep_after(Duration::from_secs(1))
            .now_or_never()
            .is_some());
    }
}
