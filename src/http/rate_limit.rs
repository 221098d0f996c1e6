//! The rate limit: `RATE_LIMIT_PER_MINUTE` requests a minute per access token (per client
//! address without one), in bursts of as many, on every route but the health probes; a poem
//! middleware ([`RateLimit`]) put on each route in `http::routes`.
//!
//! The arithmetic is governor's GCRA (one timestamp per key, no timers). Its keyed store is a
//! `HashMap` under one mutex rather than its sharded `dashmap` store: a check holds the lock for
//! one hash lookup and one compare, which at a registry's request rates on a two-core machine
//! never queues, and the build stays smaller.
//!
//! Memory stays bounded. Keys come only from tokens the registry issued (an unknown token is
//! limited by its address) and from addresses a TCP peer really had (`X-Forwarded-For` is read
//! only from trusted proxies, `http::client`); an IPv6 caller counts by its /64, the block one
//! subscriber usually holds, so that cycling through one's own addresses buys nothing. Every
//! [`SWEEP_EVERY`] a task forgets the keys whose budget has refilled (governor's
//! `retain_recent`: such a key is the same as a fresh one) and gives back the memory; were more
//! than [`MAX_KEYS`] still spending after that, the task starts over with an empty store (every
//! budget full again, a warning logged), so the store never holds more than `MAX_KEYS` plus the
//! new keys of one sweep interval, each a few dozen bytes.
//!
//! Budgets are per instance: each server process counts its own. Behind a load balancer spreading
//! callers over N instances, a caller gets up to N times the budget (the README says so, and how
//! to set it).

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter as Gcra};
use poem::http::{StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use super::{AppState, client, rest};
use crate::domain::access::Caller;

/// How often keys whose budget has refilled are forgotten.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// The most keys kept after a sweep (a few MB): beyond it the store starts over.
pub const MAX_KEYS: usize = 100_000;

/// Whose budget a request spends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// An access token, by its id.
    Token(i64),
    /// A client address without a valid token; IPv6 addresses by their /64.
    Address(IpAddr),
}

impl Key {
    /// The key of a client at `ip`.
    pub fn address(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let network = u128::from(v6) & !(u128::from(u64::MAX));
                Key::Address(IpAddr::V6(Ipv6Addr::from(network)))
            }
            v4 => Key::Address(v4),
        }
    }
}

/// What is left of a caller's budget after its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub limit_per_minute: u32,
    pub remaining: u32,
}

/// A request over the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub limit_per_minute: u32,
    /// How long until one request will be allowed again.
    pub retry_after: Duration,
}

impl Refused {
    /// `retry_after` in whole seconds, rounded up (at least 1), as `Retry-After` gives it.
    pub fn retry_after_secs(&self) -> u64 {
        (self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0)).max(1)
    }

    /// A message a caller can act on.
    pub fn message(&self) -> String {
        format!(
            "more than {} requests a minute; try again in {} s",
            self.limit_per_minute,
            self.retry_after_secs()
        )
    }
}

/// The outcome of one request's check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed(Budget),
    Refused(Refused),
    /// No limit is configured.
    Unlimited,
}

type Store<C> = Gcra<Key, HashMapStateStore<Key>, C, StateInformationMiddleware>;

/// Every caller's budget on this instance.
pub struct RateLimiter<C: Clock = DefaultClock> {
    per_minute: Option<NonZeroU32>,
    clock: C,
    /// Behind a lock only so that a sweep over `MAX_KEYS` can start over; checks share it.
    store: RwLock<Option<Store<C>>>,
}

impl RateLimiter {
    /// `per_minute` requests a minute per key, in bursts of up to as many; 0 turns it off.
    pub fn new(per_minute: u32) -> Self {
        Self::with_clock(per_minute, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimiter<C> {
    /// [`RateLimiter::new`] on another clock (tests move a fake one).
    pub fn with_clock(per_minute: u32, clock: C) -> Self {
        let per_minute = NonZeroU32::new(per_minute);
        Self {
            per_minute,
            store: RwLock::new(per_minute.map(|n| Self::empty(n, &clock))),
            clock,
        }
    }

    fn empty(per_minute: NonZeroU32, clock: &C) -> Store<C> {
        Gcra::new(
            Quota::per_minute(per_minute),
            HashMapStateStore::default(),
            clock.clone(),
        )
    }

    /// Whether requests are limited at all.
    pub fn is_on(&self) -> bool {
        self.per_minute.is_some()
    }

    /// Spends one request of `key`'s budget.
    pub fn check(&self, key: &Key) -> Verdict {
        let store = self.store.read().unwrap_or_else(PoisonError::into_inner);
        let (Some(store), Some(limit)) = (store.as_ref(), self.per_minute) else {
            return Verdict::Unlimited;
        };
        match store.check_key(key) {
            Ok(state) => Verdict::Allowed(Budget {
                limit_per_minute: limit.get(),
                remaining: state.remaining_burst_capacity(),
            }),
            Err(not_until) => Verdict::Refused(Refused {
                limit_per_minute: limit.get(),
                retry_after: not_until.wait_time_from(self.clock.now()),
            }),
        }
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        let store = self.store.read().unwrap_or_else(PoisonError::into_inner);
        store.as_ref().map_or(0, |s| s.len())
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the keys whose budget has refilled, gives the memory back when that freed much,
    /// and starts over if more than [`MAX_KEYS`] remain (see the module's doc).
    pub fn sweep(&self) {
        let Some(per_minute) = self.per_minute else {
            return;
        };
        let remaining = {
            let store = self.store.read().unwrap_or_else(PoisonError::into_inner);
            let Some(store) = store.as_ref() else {
                return;
            };
            let before = store.len();
            store.retain_recent();
            let after = store.len();
            if after < before / 2 {
                store.shrink_to_fit();
            }
            after
        };
        if remaining > MAX_KEYS {
            tracing::warn!(
                keys = remaining,
                max = MAX_KEYS,
                "more callers spending their rate-limit budget than the store holds: every budget starts over"
            );
            let mut store = self.store.write().unwrap_or_else(PoisonError::into_inner);
            *store = Some(Self::empty(per_minute, &self.clock));
        }
    }
}

/// Sweeps `limiter` every [`SWEEP_EVERY`] until it is dropped.
pub fn sweep_periodically(limiter: &Arc<RateLimiter>) {
    if !limiter.is_on() {
        return;
    }
    let limiter = Arc::downgrade(limiter);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(limiter) = limiter.upgrade() else {
                break;
            };
            limiter.sweep();
        }
    });
}

/// How a kind of route answers a request over the budget: in the shape of its other errors,
/// with status 429 and `Retry-After`.
pub type Refusal = fn(&Request, &Refused) -> Response;

/// The rate limit as a middleware: spends one request of the caller's budget before the route
/// runs, and answers with the route's [`Refusal`] when none is left. The caller it authenticated
/// and the budget left go into the request's extensions ([`rest::caller`] reads the first, GraphQL
/// answers with the second), so a request reads its token once.
#[derive(Clone, Copy)]
pub struct RateLimit {
    refuse: Refusal,
}

impl RateLimit {
    /// The rate limit, refusing as `refuse` does.
    pub fn new(refuse: Refusal) -> Self {
        Self { refuse }
    }
}

impl<E: Endpoint> Middleware<E> for RateLimit {
    type Output = RateLimited<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RateLimited {
            inner,
            refuse: self.refuse,
        }
    }
}

/// A route behind [`RateLimit`].
pub struct RateLimited<E> {
    inner: E,
    refuse: Refusal,
}

impl<E: Endpoint> Endpoint for RateLimited<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let Some(state) = req.data::<AppState>() else {
            // `http::routes` gives every route the state; never serve unlimited by mistake.
            tracing::error!("the rate limit runs on a route without the application state");
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into());
        };
        let (verdict, caller) = spend(&req, state).await;
        match verdict {
            Verdict::Refused(refused) => return Ok((self.refuse)(&req, &refused)),
            Verdict::Allowed(budget) => {
                req.extensions_mut().insert(budget);
            }
            Verdict::Unlimited => {}
        }
        if let Some(caller) = caller {
            rest::remember_caller(&mut req, caller);
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

/// Spends one request of the budget of the caller's token, or, without a valid one, of its
/// address; returns the verdict and the caller when its token is valid.
async fn spend(req: &Request, state: &AppState) -> (Verdict, Option<rest::Identified>) {
    if !state.limiter.is_on() {
        return (Verdict::Unlimited, None);
    }
    // A bad token is the route's to refuse (in its own shape); meanwhile its address pays.
    let caller = rest::identify(req, state).await.ok();
    let key = match caller.as_ref().map(|i| &i.caller) {
        Some(Caller::Signed(actor)) => Key::Token(actor.token_id),
        _ => Key::address(client::address(req, &state.settings.trusted_proxies)),
    };
    (state.limiter.check(&key), caller)
}

/// The answer of a route beside GraphQL to a request over the rate limit: 429, `Retry-After`,
/// and the usual error body with the code `RATE_LIMITED`.
pub fn rate_limited(_req: &Request, refused: &Refused) -> Response {
    let mut response = rest::RestError {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "RATE_LIMITED",
        description: refused.message(),
    }
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, refused.retry_after_secs().into());
    response
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn key(ip: &str) -> Key {
        Key::address(ip.parse().expect("an address"))
    }

    #[test]
    fn a_burst_uses_the_budget_and_time_refills_it() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(60, clock.clone());
        let t1 = Key::Token(1);
        for left in (0..60).rev() {
            assert_eq!(
                limiter.check(&t1),
                Verdict::Allowed(Budget {
                    limit_per_minute: 60,
                    remaining: left
                })
            );
        }
        let Verdict::Refused(refused) = limiter.check(&t1) else {
            panic!("the 61st request in a burst of 60 is refused");
        };
        assert_eq!(refused.retry_after_secs(), 1, "one a second comes back");
        assert!(
            matches!(limiter.check(&Key::Token(2)), Verdict::Allowed(_)),
            "callers have their own budgets"
        );
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            limiter.check(&t1),
            Verdict::Allowed(Budget {
                limit_per_minute: 60,
                remaining: 0
            }),
        );
    }

    #[test]
    fn zero_turns_it_off() {
        let limiter = RateLimiter::new(0);
        assert!(!limiter.is_on());
        assert_eq!(limiter.check(&Key::Token(1)), Verdict::Unlimited);
    }

    #[test]
    fn a_sweep_forgets_only_the_keys_whose_budget_has_refilled() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(60, clock.clone());
        for i in 0..100 {
            limiter.check(&Key::Token(i));
        }
        clock.advance(Duration::from_secs(30));
        for _ in 0..60 {
            limiter.check(&Key::Token(7));
        }
        clock.advance(Duration::from_secs(31));
        limiter.sweep();
        assert_eq!(limiter.len(), 1, "only the key still refilling is kept");
        assert_eq!(
            limiter.check(&Key::Token(7)),
            Verdict::Allowed(Budget {
                limit_per_minute: 60,
                remaining: 30
            }),
            "with what it spent: 31 s refilled 31 requests, and this one is spent"
        );
    }

    #[test]
    fn a_sweep_over_the_cap_starts_over() {
        let limiter = RateLimiter::with_clock(60, FakeRelativeClock::default());
        for i in 0..=(MAX_KEYS as i64) {
            limiter.check(&Key::Token(i));
        }
        limiter.sweep();
        assert!(limiter.is_empty());
        assert!(matches!(
            limiter.check(&Key::Token(0)),
            Verdict::Allowed(Budget { remaining: 59, .. })
        ));
    }

    #[test]
    fn an_ipv6_caller_counts_by_its_64_block() {
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.9"), key("203.0.113.9"));
        assert_ne!(key("203.0.113.9"), key("203.0.113.10"));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let refused = |ms| Refused {
            limit_per_minute: 1,
            retry_after: Duration::from_millis(ms),
        };
        assert_eq!(refused(0).retry_after_secs(), 1);
        assert_eq!(refused(1000).retry_after_secs(), 1);
        assert_eq!(refused(1001).retry_after_secs(), 2);
    }
}
