//! Request rate limits per client address and per signed-in user (DESIGN.md), answered with
//! RATE_LIMITED and `retryAfter` before any work is done. GCRA buckets from `governor`.

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::atomic::{AtomicU64, Ordering},
};

/// The per-address and per-user limiters; a `None` limit is off.
pub struct RateLimits {
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_user: Option<DefaultKeyedRateLimiter<i64>>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits").finish_non_exhaustive()
    }
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_second: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = NonZeroU32::new(per_second)?;
    // Bursts of twice the steady rate are fine (a page load fires several queries at once).
    let burst = NonZeroU32::new(per_second.saturating_mul(2)).unwrap_or(rate);
    Some(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

impl RateLimits {
    /// Limits of `per_address` and `per_user` requests a second (0 turns one off).
    pub fn new(per_address: u32, per_user: u32) -> Self {
        Self {
            per_address: limiter(per_address),
            per_user: limiter(per_user),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    fn housekeeping(&self) {
        // Forget idle keys now and then so the maps stay small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            if let Some(l) = &self.per_address {
                l.retain_recent();
            }
            if let Some(l) = &self.per_user {
                l.retain_recent();
            }
        }
    }

    /// `Err(seconds to wait)` when `address` is over its rate.
    pub fn check_address(&self, address: IpAddr) -> Result<(), u64> {
        self.housekeeping();
        match &self.per_address {
            Some(limiter) => limiter
                .check_key(&address)
                .map_err(|n| n.wait_time_from(self.clock.now()).as_secs().max(1)),
            None => Ok(()),
        }
    }

    /// `Err(seconds to wait)` when `user_id` is over its rate.
    pub fn check_user(&self, user_id: i64) -> Result<(), u64> {
        match &self.per_user {
            Some(limiter) => limiter
                .check_key(&user_id)
                .map_err(|n| n.wait_time_from(self.clock.now()).as_secs().max(1)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_past_the_limit_is_refused_and_others_are_not() {
        let limits = RateLimits::new(1, 1);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!(limits.check_address(a).is_ok());
        assert!(limits.check_address(a).is_ok());
        assert_eq!(limits.check_address(a), Err(1));
        assert!(limits.check_address(b).is_ok());
        assert!(limits.check_user(1).is_ok());
        assert!(limits.check_user(1).is_ok());
        assert!(limits.check_user(1).is_err());
        let off = RateLimits::new(0, 0);
        for _ in 0..100 {
            assert!(off.check_address(a).is_ok());
        }
    }
}
