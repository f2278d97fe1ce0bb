//! The per-socket event rate limit: [`RateLimit`], its [`RateLimitPolicy`] and the token
//! bucket each socket keeps when the limit is set.

use tokio::time::Instant;

use crate::sync::Mutex;

/// What happens to an event that comes when its socket's rate limit is used up (see
/// [`Builder::max_events_per_second`](crate::Builder::max_events_per_second)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RateLimitPolicy {
    /// The event is not dispatched: an [`Error`](crate::Error) of kind
    /// [`ErrorKind::RateLimited`](crate::ErrorKind::RateLimited) goes to the error pipeline,
    /// whose handler's return value answers the event's acknowledgement. The socket stays.
    #[default]
    Drop,
    /// The socket is disconnected from its namespace (the client sees `io server disconnect`);
    /// the connection and its other namespaces stay, unless the client still sends events on
    /// the namespace it left, which closes the connection, as in socket.io.
    Disconnect,
}

/// The event rate limit of every socket: `rate` events per second on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RateLimit {
    pub(crate) rate: u32,
    pub(crate) burst: u32,
    pub(crate) policy: RateLimitPolicy,
}

/// A token bucket: `burst` tokens at first, refilled at `rate` per second, one taken per event.
pub(crate) struct TokenBucket {
    state: Mutex<BucketState>,
}

struct BucketState {
    tokens: f64,
    last: Instant,
    /// The previous event was refused too (only the first refusal of a run is logged at warn).
    refusing: bool,
}

/// An event the bucket refused.
pub(crate) struct Refused {
    /// The first refusal since an event last passed.
    pub(crate) first: bool,
}

impl TokenBucket {
    pub(crate) fn new(limit: &RateLimit) -> Self {
        TokenBucket {
            state: Mutex::new(BucketState {
                tokens: f64::from(limit.burst),
                last: Instant::now(),
                refusing: false,
            }),
        }
    }

    /// Takes a token for one event, or refuses it.
    pub(crate) fn take(&self, limit: &RateLimit) -> Result<(), Refused> {
        let now = Instant::now();
        let mut state = self.state.lock();
        let elapsed = now.saturating_duration_since(state.last).as_secs_f64();
        state.tokens = (state.tokens + elapsed * f64::from(limit.rate)).min(f64::from(limit.burst));
        state.last = now;
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            state.refusing = false;
            Ok(())
        } else {
            let first = !state.refusing;
            state.refusing = true;
            Err(Refused { first })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn bucket_passes_the_burst_then_the_rate() {
        let limit = RateLimit {
            rate: 2,
            burst: 3,
            policy: RateLimitPolicy::Drop,
        };
        let bucket = TokenBucket::new(&limit);
        assert!((0..3).all(|_| bucket.take(&limit).is_ok()));
        assert!(bucket.take(&limit).is_err_and(|r| r.first));
        assert!(bucket.take(&limit).is_err_and(|r| !r.first));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(bucket.take(&limit).is_ok());
        assert!(bucket.take(&limit).is_err_and(|r| r.first));
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!((0..3).all(|_| bucket.take(&limit).is_ok()));
        assert!(bucket.take(&limit).is_err());
    }
}
