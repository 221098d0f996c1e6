//! Per-caller rate limit: a token bucket per access token (per client address for anonymous
//! callers), refilled continuously at the configured rate. In memory: each server instance
//! limits its own share, which is what a load balancer spreading callers evenly needs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before full (idle) ones are dropped, so one-off callers cannot grow the map.
const MAX_BUCKETS: usize = 10_000;

struct Bucket {
    tokens: f64,
    last: Instant,
}

pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// The outcome of one request's check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Allowed, with this many requests left in the bucket.
    Allowed { remaining: u32, limit: u32 },
    /// Refused; a request will be allowed again after this long.
    Refused { retry_after: Duration, limit: u32 },
    /// No limit is configured.
    Unlimited,
}

impl RateLimiter {
    /// `per_minute` requests a minute per caller, in bursts of up to as many; 0 turns it off.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, key: &str, now: Instant) -> Verdict {
        if self.per_minute == 0 {
            return Verdict::Unlimited;
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock means a panic elsewhere mid-update; do not lock everyone out.
            return Verdict::Unlimited;
        };
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.last).as_secs_f64() * per_second < capacity
            });
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let refilled = bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * per_second;
        bucket.tokens = refilled.min(capacity);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Verdict::Allowed {
                remaining: bucket.tokens.floor() as u32,
                limit: self.per_minute,
            }
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Verdict::Refused {
                retry_after: Duration::from_secs_f64(wait),
                limit: self.per_minute,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_uses_the_bucket_and_time_refills_it() {
        let limiter = RateLimiter::new(60);
        let start = Instant::now();
        for left in (0..60).rev() {
            assert_eq!(
                limiter.check("t1", start),
                Verdict::Allowed {
                    remaining: left,
                    limit: 60
                }
            );
        }
        assert!(matches!(
            limiter.check("t1", start),
            Verdict::Refused { .. }
        ));
        assert!(
            matches!(limiter.check("t2", start), Verdict::Allowed { .. }),
            "callers have their own buckets"
        );
        let later = start + Duration::from_secs(1);
        assert!(
            matches!(
                limiter.check("t1", later),
                Verdict::Allowed { remaining: 0, .. }
            ),
            "one a second comes back"
        );
    }

    #[test]
    fn zero_turns_it_off() {
        assert_eq!(
            RateLimiter::new(0).check("t", Instant::now()),
            Verdict::Unlimited
        );
    }
}
