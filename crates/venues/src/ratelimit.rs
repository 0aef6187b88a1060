//! Outbound rate limits, per the venue's documented scopes, plus what the venue tells us.
//!
//! Each venue declares named scopes with a GCRA quota (`governor`): for Bybit, one per endpoint
//! family per UID (order 10/s, position 50/s, …) and the IP-wide 600 per 5 s; for Binance, the
//! request weight per minute and the order counts per 10 s and per minute. A request takes its
//! cost from every scope it belongs to before it leaves the process, waiting if it must.
//!
//! The venue's own word wins over our model of it:
//! - a 429/418 (or Bybit's 10006) with a wait **pauses the whole venue client** until then;
//! - usage headers (Binance `X-MBX-USED-WEIGHT-1M`, Bybit `X-Bapi-Limit-Status`) pause it until
//!   the window resets when the budget is used up;
//! - Bybit's `X-Bapi-Limit` (the account's real per-endpoint limit, which differs by VIP or PRO
//!   tier) replaces the scope's quota.
//!
//! A wait longer than `max_wait` is not slept through: the call fails as rate limited with the
//! remaining time, so a worker can move on instead of holding a request for minutes.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

use crate::{VenueError, VenueErrorKind};

/// One named budget: at most `amount` requests (or weight units) in any window of `period`.
///
/// Venues count in rolling windows, and a GCRA limiter allowing a burst `b` at a sustained rate
/// `r` can send `b + r·period` in one window, so every quota keeps `b + r·period = amount`:
/// - [`Scope::new`]: half the amount at once, the other half spread over the period
///   (`b = ⌊L/2⌋`) — a quiet account sends a handful of requests without waiting;
/// - [`Scope::steady`]: for per-second windows where a long run (a 50-symbol rebalance)
///   matters more than the first few requests. A small allowance (under 100) sends one at once
///   and spreads the rest (`b = max(1, ⌊L/10⌋)`): at Bybit's default 10 orders per second, 50
///   orders take 5.4 s instead of 9 s. A large one (a PRO tier's 200/s, learnt from the venue)
///   covers a whole rebalance in its half burst, so it gets `b = ⌊L/2⌋` like [`Scope::new`].
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub name: &'static str,
    pub amount: u32,
    pub period: Duration,
    /// Pace from the second request while the allowance is small.
    steady: bool,
}

impl Scope {
    pub const fn new(name: &'static str, amount: u32, period: Duration) -> Self {
        Self {
            name,
            amount,
            period,
            steady: false,
        }
    }

    pub const fn steady(name: &'static str, amount: u32, period: Duration) -> Self {
        Self {
            name,
            amount,
            period,
            steady: true,
        }
    }

    fn quota(&self) -> Option<Quota> {
        let divisor = if self.steady && self.amount < 100 {
            10
        } else {
            2
        };
        let burst = (self.amount / divisor).max(1);
        let spread = self
            .amount
            .checked_sub(burst)
            .filter(|n| *n > 0)
            .unwrap_or(1);
        let per_cell = self.period.checked_div(spread)?;
        Quota::with_period(per_cell)
            .map(|q| q.allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN)))
    }
}

struct Budget {
    scope: Scope,
    limiter: Arc<DefaultDirectRateLimiter>,
    /// What this client spent in the scope's current window (time, cost), oldest first, for
    /// the headroom metric: the limiter itself cannot be read without spending.
    spent: VecDeque<(Instant, u32)>,
}

impl Budget {
    fn new(scope: Scope, limiter: DefaultDirectRateLimiter) -> Self {
        Self {
            scope,
            limiter: Arc::new(limiter),
            spent: VecDeque::new(),
        }
    }

    /// Forgets spending older than one period before `now`.
    fn trim(&mut self, now: Instant) {
        while let Some((at, _)) = self.spent.front() {
            if now.saturating_duration_since(*at) < self.scope.period {
                break;
            }
            self.spent.pop_front();
        }
    }
}

/// The limits of one venue client (one API key).
pub struct RateLimits {
    venue: &'static str,
    budgets: Mutex<HashMap<&'static str, Budget>>,
    paused_until: Mutex<Option<Instant>>,
    max_wait: Duration,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scopes: Vec<Scope> = lock(&self.budgets).values().map(|b| b.scope).collect();
        f.debug_struct("RateLimits")
            .field("venue", &self.venue)
            .field("scopes", &scopes)
            .field("paused_until", &*lock(&self.paused_until))
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RateLimits {
    pub fn new(venue: &'static str, scopes: &[Scope], max_wait: Duration) -> Self {
        let mut budgets = HashMap::new();
        for s in scopes {
            if let Some(q) = s.quota() {
                budgets.insert(s.name, Budget::new(*s, RateLimiter::direct(q)));
            }
        }
        Self {
            venue,
            budgets: Mutex::new(budgets),
            paused_until: Mutex::new(None),
            max_wait,
        }
    }

    /// Waits until every `(scope, cost)` has room, or fails when the venue asked us to stay
    /// away for longer than `max_wait`. Unknown scope names cost nothing.
    pub async fn acquire(&self, costs: &[(&'static str, u32)]) -> Result<(), VenueError> {
        let pause = *lock(&self.paused_until);
        if let Some(until) = pause {
            let now = Instant::now();
            if until > now {
                let wait = until - now;
                if wait > self.max_wait {
                    return Err(VenueError::new(
                        self.venue,
                        VenueErrorKind::RateLimited,
                        format!(
                            "rate limited by the venue for another {} ms",
                            wait.as_millis()
                        ),
                    )
                    .with_code("paused")
                    .with_retry_after(wait));
                }
                tokio::time::sleep_until(until).await;
            }
        }
        for (name, cost) in costs {
            let limiter = lock(&self.budgets).get(name).map(|b| b.limiter.clone());
            let (Some(limiter), Some(n)) = (limiter, NonZeroU32::new(*cost)) else {
                continue;
            };
            if limiter.until_n_ready(n).await.is_err() {
                return Err(VenueError::new(
                    self.venue,
                    VenueErrorKind::Internal,
                    format!("a request costing {cost} can never fit the {name} budget"),
                ));
            }
            if let Some(b) = lock(&self.budgets).get_mut(name) {
                let now = Instant::now();
                b.trim(now);
                b.spent.push_back((now, *cost));
            }
        }
        Ok(())
    }

    /// The fraction of each scope's allowance this client has not spent in the scope's last
    /// period (1 = idle, 0 = used up), by scope name; every scope reads 0 while the venue has
    /// paused us. For the rate-limit headroom metric: an operator sees a budget running out
    /// before the venue starts refusing.
    pub fn headroom(&self) -> Vec<(&'static str, f64)> {
        let paused = self.paused_for().is_some();
        let now = Instant::now();
        let mut out: Vec<(&'static str, f64)> = lock(&self.budgets)
            .iter_mut()
            .map(|(name, b)| {
                b.trim(now);
                let used: u64 = b.spent.iter().map(|(_, c)| u64::from(*c)).sum();
                let amount = u64::from(b.scope.amount.max(1));
                let free = amount.saturating_sub(used) as f64 / amount as f64;
                (*name, if paused { 0.0 } else { free })
            })
            .collect();
        out.sort_by_key(|(name, _)| *name);
        out
    }

    /// Stops all requests of this client for `wait` (a 429, a ban, a used-up budget).
    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut p = lock(&self.paused_until);
        if p.is_none_or(|cur| cur < until) {
            *p = Some(until);
            tracing::warn!(
                venue = self.venue,
                wait_ms = wait.as_millis() as u64,
                "venue asked us to slow down; pausing requests"
            );
        }
    }

    /// How long requests are paused from now, if they are.
    pub fn paused_for(&self) -> Option<Duration> {
        let until = (*lock(&self.paused_until))?;
        let now = Instant::now();
        (until > now).then(|| until - now)
    }

    /// Replaces a scope's allowance with what the venue says the account really has. A no-op
    /// when unchanged, so the limiter's history survives repeated headers.
    pub fn set_amount(&self, name: &'static str, amount: u32) {
        let mut budgets = lock(&self.budgets);
        let Some(b) = budgets.get_mut(name) else {
            return;
        };
        if b.scope.amount == amount {
            return;
        }
        let scope = Scope { amount, ..b.scope };
        if let Some(q) = scope.quota() {
            tracing::info!(
                venue = self.venue,
                scope = name,
                amount,
                "venue reported a different rate limit; adopting it"
            );
            b.scope = scope;
            b.limiter = Arc::new(RateLimiter::direct(q));
            b.spent.clear();
        }
    }

    /// The allowance of a scope per its period, for tests and reports.
    pub fn amount(&self, name: &str) -> Option<u32> {
        lock(&self.budgets).get(name).map(|b| b.scope.amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn headroom_falls_with_spending_and_recovers_after_the_period() {
        let limits = RateLimits::new(
            "test",
            &[
                Scope::new("orders", 10, Duration::from_secs(1)),
                Scope::new("reads", 100, Duration::from_secs(60)),
            ],
            Duration::from_secs(2),
        );
        assert_eq!(limits.headroom(), vec![("orders", 1.0), ("reads", 1.0)]);
        for _ in 0..4 {
            limits
                .acquire(&[("orders", 1), ("reads", 5)])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(limits.headroom(), vec![("orders", 0.6), ("reads", 0.8)]);
        tokio::time::advance(Duration::from_millis(1001)).await;
        assert_eq!(limits.headroom(), vec![("orders", 1.0), ("reads", 0.8)]);
        limits.pause_for(Duration::from_secs(5));
        assert_eq!(limits.headroom(), vec![("orders", 0.0), ("reads", 0.0)]);
    }

    #[tokio::test]
    async fn a_burst_fits_then_the_next_request_waits() {
        let limits = RateLimits::new(
            "test",
            &[Scope::new("orders", 10, Duration::from_secs(1))],
            Duration::from_secs(2),
        );
        let take = || async {
            limits
                .acquire(&[("orders", 1)])
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let t0 = std::time::Instant::now();
        // Half the window's amount goes at once…
        for _ in 0..5 {
            take().await;
        }
        assert!(
            t0.elapsed() < Duration::from_millis(150),
            "burst must not wait"
        );
        // …the other half is spread over the window, one per 200 ms…
        take().await;
        assert!(
            t0.elapsed() >= Duration::from_millis(180),
            "{:?}",
            t0.elapsed()
        );
        for _ in 0..4 {
            take().await;
        }
        // …so ten take a whole window, never less.
        assert!(
            t0.elapsed() >= Duration::from_millis(980),
            "{:?}",
            t0.elapsed()
        );
    }

    #[tokio::test]
    async fn a_steady_scope_paces_from_the_second_request() {
        let limits = RateLimits::new(
            "test",
            &[Scope::steady("orders", 10, Duration::from_millis(500))],
            Duration::from_secs(2),
        );
        let t0 = std::time::Instant::now();
        limits
            .acquire(&[("orders", 1)])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(t0.elapsed() < Duration::from_millis(40));
        for _ in 0..9 {
            limits
                .acquire(&[("orders", 1)])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        // 1 at once, then one per 500/9 ms: ten within the 500 ms window, never eleven.
        assert!(
            t0.elapsed() >= Duration::from_millis(490),
            "{:?}",
            t0.elapsed()
        );
    }

    #[tokio::test]
    async fn a_long_pause_fails_fast_with_the_remaining_wait() {
        let limits = RateLimits::new("test", &[], Duration::from_millis(100));
        limits.pause_for(Duration::from_secs(30));
        let err = limits.acquire(&[]).await.err();
        let err = err.unwrap_or_else(|| panic!("expected a pause error"));
        assert_eq!(err.kind, VenueErrorKind::RateLimited);
        assert!(err.retry_after.is_some_and(|d| d > Duration::from_secs(29)));
    }

    #[tokio::test]
    async fn a_short_pause_is_waited_out() {
        let limits = RateLimits::new("test", &[], Duration::from_secs(1));
        limits.pause_for(Duration::from_millis(60));
        let t0 = std::time::Instant::now();
        limits.acquire(&[]).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(t0.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn the_venues_own_limit_replaces_ours() {
        let limits = RateLimits::new(
            "test",
            &[Scope::new("order", 10, Duration::from_secs(1))],
            Duration::from_secs(1),
        );
        limits.set_amount("order", 200);
        assert_eq!(limits.amount("order"), Some(200));
        limits.set_amount("unknown", 5);
        assert_eq!(limits.amount("unknown"), None);
    }
}
