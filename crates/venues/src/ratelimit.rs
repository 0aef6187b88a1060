//! Outbound rate limits, per the venue's documented scopes, plus what the venue tells us.
//!
//! Each venue declares named scopes, each an allowance per window: for Bybit, one per endpoint
//! family per UID (order 10/s, position 50/s, …) and the IP-wide 600 per 5 s; for Binance, the
//! request weight per minute and the order counts per 10 s and per minute. A request takes its
//! cost from every scope it belongs to before it leaves the process, waiting if it must.
//!
//! A scope keeps the log of what this client sent in its last window and lets a request go when
//! the window still has room for it: a burst of the **whole allowance** goes at once, and the
//! next request waits until the oldest leaves the window. That is the fastest pacing a venue's
//! rolling or fixed window accepts (any rolling window holding at most the allowance also keeps
//! every fixed window within it): at Bybit's default 10 orders per second, 50 orders go out in
//! five bursts, the last about 4.2 s after the first (the floor is 4 s), where a token bucket
//! that must never exceed the allowance in any window takes 5.4 s. The window is lengthened
//! by [`Scope::margin`] so that requests sent one window apart cannot arrive inside one window
//! at the venue because the first travelled slower than the second.
//!
//! The venue's own word wins over our model of it:
//! - a 429/418 (or Bybit's 10006) with a wait **pauses the whole venue client** until then;
//! - usage headers (Binance `X-MBX-USED-WEIGHT-1M`, Bybit `X-Bapi-Limit-Status`) pause it until
//!   the window resets when the budget is used up;
//! - Bybit's `X-Bapi-Limit` (the account's real per-endpoint limit, which differs by VIP or PRO
//!   tier) replaces the scope's allowance.
//!
//! A wait longer than `max_wait` is not slept through: the call fails as rate limited with the
//! remaining time, so a worker can move on instead of holding a request for minutes.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::{VenueError, VenueErrorKind};

/// One named budget: at most `amount` requests (or weight units) in any window of `period`.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub name: &'static str,
    pub amount: u32,
    pub period: Duration,
}

impl Scope {
    pub const fn new(name: &'static str, amount: u32, period: Duration) -> Self {
        Self {
            name,
            amount,
            period,
        }
    }

    /// Added to the window: a twentieth of it, at most 100 ms. Network jitter between two
    /// requests is tens of milliseconds; a longer margin would only slow long windows down.
    pub fn margin(&self) -> Duration {
        (self.period / 20).min(Duration::from_millis(100))
    }

    /// The window a request's cost stays counted in.
    fn window(&self) -> Duration {
        self.period + self.margin()
    }
}

struct Budget {
    scope: Scope,
    /// What this client sent in the scope's current window (time, cost), oldest first.
    spent: VecDeque<(Instant, u32)>,
    /// The venue said this scope's budget is used up until then ([`RateLimits::exhaust`]).
    blocked_until: Option<Instant>,
}

impl Budget {
    fn new(scope: Scope) -> Self {
        Self {
            scope,
            spent: VecDeque::new(),
            blocked_until: None,
        }
    }

    /// Forgets spending that has left the window before `now`.
    fn trim(&mut self, now: Instant) {
        let window = self.scope.window();
        while let Some((at, _)) = self.spent.front() {
            if now.saturating_duration_since(*at) < window {
                break;
            }
            self.spent.pop_front();
        }
    }

    fn used(&self) -> u64 {
        self.spent.iter().map(|(_, c)| u64::from(*c)).sum()
    }

    /// How long from `now` until `cost` fits (zero: it fits now). `spent` must be trimmed.
    fn wait_for(&self, cost: u32, now: Instant) -> Duration {
        if let Some(until) = self.blocked_until.filter(|u| *u > now) {
            return until - now;
        }
        let amount = u64::from(self.scope.amount);
        let mut excess = (self.used() + u64::from(cost)).saturating_sub(amount);
        if excess == 0 {
            return Duration::ZERO;
        }
        // The oldest entries leave first: wait until enough of them have.
        for (at, c) in &self.spent {
            excess = excess.saturating_sub(u64::from(*c));
            if excess == 0 {
                return (*at + self.scope.window()).saturating_duration_since(now);
            }
        }
        self.scope.window()
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
        let budgets = scopes
            .iter()
            .filter(|s| s.amount > 0 && !s.period.is_zero())
            .map(|s| (s.name, Budget::new(*s)))
            .collect();
        Self {
            venue,
            budgets: Mutex::new(budgets),
            paused_until: Mutex::new(None),
            max_wait,
        }
    }

    /// Waits until every `(scope, cost)` has room, or fails when the venue asked us to stay
    /// away for longer than `max_wait`. Unknown scope names cost nothing. The cost is taken
    /// from all the request's scopes at the same moment, so a request waiting on one scope
    /// holds nothing in the others.
    pub async fn acquire(&self, costs: &[(&'static str, u32)]) -> Result<(), VenueError> {
        self.wait_out_pause().await?;
        loop {
            let wait = {
                let mut budgets = lock(&self.budgets);
                let now = Instant::now();
                let mut wait = Duration::ZERO;
                for (name, cost) in costs {
                    let Some(b) = budgets.get_mut(name) else {
                        continue;
                    };
                    if *cost > b.scope.amount {
                        return Err(VenueError::new(
                            self.venue,
                            VenueErrorKind::Internal,
                            format!("a request costing {cost} can never fit the {name} budget"),
                        ));
                    }
                    b.trim(now);
                    wait = wait.max(b.wait_for(*cost, now));
                }
                if wait.is_zero() {
                    for (name, cost) in costs {
                        if let Some(b) = budgets.get_mut(name)
                            && *cost > 0
                        {
                            b.spent.push_back((now, *cost));
                        }
                    }
                    return Ok(());
                }
                wait
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Sleeps through a short pause the venue asked for; fails fast on a long one.
    async fn wait_out_pause(&self) -> Result<(), VenueError> {
        let pause = *lock(&self.paused_until);
        let Some(until) = pause else {
            return Ok(());
        };
        let now = Instant::now();
        if until <= now {
            return Ok(());
        }
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
                let blocked = b.blocked_until.is_some_and(|u| u > now);
                (*name, if paused || blocked { 0.0 } else { free })
            })
            .collect();
        out.sort_by_key(|(name, _)| *name);
        out
    }

    /// Stops the requests of one scope for `wait`: the venue reported that endpoint's budget
    /// used up (Bybit's `X-Bapi-Limit-Status: 0` is per endpoint), while the others still
    /// have theirs. Unknown scope names are ignored.
    pub fn exhaust(&self, name: &'static str, wait: Duration) {
        let until = Instant::now() + wait;
        if let Some(b) = lock(&self.budgets).get_mut(name)
            && b.blocked_until.is_none_or(|cur| cur < until)
        {
            b.blocked_until = Some(until);
        }
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

    /// Replaces a scope's allowance with what the venue says the account really has. The
    /// log of what was sent stays: it still counts against the new allowance.
    pub fn set_amount(&self, name: &'static str, amount: u32) {
        let mut budgets = lock(&self.budgets);
        let Some(b) = budgets.get_mut(name) else {
            return;
        };
        if b.scope.amount == amount || amount == 0 {
            return;
        }
        tracing::info!(
            venue = self.venue,
            scope = name,
            amount,
            "venue reported a different rate limit; adopting it"
        );
        b.scope.amount = amount;
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
        tokio::time::advance(Duration::from_millis(1051)).await;
        assert_eq!(limits.headroom(), vec![("orders", 1.0), ("reads", 0.8)]);
        limits.pause_for(Duration::from_secs(5));
        assert_eq!(limits.headroom(), vec![("orders", 0.0), ("reads", 0.0)]);
    }

    async fn take(limits: &RateLimits, costs: &[(&'static str, u32)]) {
        limits
            .acquire(costs)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_whole_allowance_goes_at_once_then_the_next_waits_for_the_window() {
        let limits = RateLimits::new(
            "test",
            &[Scope::new("orders", 10, Duration::from_secs(1))],
            Duration::from_secs(2),
        );
        let t0 = Instant::now();
        for _ in 0..10 {
            take(&limits, &[("orders", 1)]).await;
        }
        assert_eq!(t0.elapsed(), Duration::ZERO, "the allowance must not wait");
        // The eleventh waits for the first to leave the window (1 s plus the 50 ms margin).
        take(&limits, &[("orders", 1)]).await;
        assert_eq!(t0.elapsed(), Duration::from_millis(1050));
    }

    /// 50 orders at 10 per second: five bursts, one window (plus margin) apart, 4.2 s in all,
    /// and no window of one second (plus margin) ever holds more than ten.
    #[tokio::test(start_paused = true)]
    async fn fifty_orders_at_ten_per_second_take_four_windows_and_never_overfill_one() {
        let limits = RateLimits::new(
            "test",
            &[Scope::new("orders", 10, Duration::from_secs(1))],
            Duration::from_secs(2),
        );
        let t0 = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..50 {
            take(&limits, &[("orders", 1)]).await;
            sent.push(t0.elapsed());
        }
        assert_eq!(sent[49], Duration::from_millis(4200));
        for (i, at) in sent.iter().enumerate() {
            let in_window = sent
                .iter()
                .filter(|t| **t >= *at && **t < *at + Duration::from_millis(1050))
                .count();
            assert!(
                in_window <= 10,
                "{in_window} requests in the window from #{i}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn weighted_costs_wait_for_enough_weight_to_leave() {
        let limits = RateLimits::new(
            "test",
            &[Scope::new("weight", 10, Duration::from_secs(1))],
            Duration::from_secs(2),
        );
        let t0 = Instant::now();
        take(&limits, &[("weight", 4)]).await;
        tokio::time::advance(Duration::from_millis(300)).await;
        take(&limits, &[("weight", 4)]).await;
        // 8 used; 5 more fit only once the first 4 have left (at 1,050 ms).
        take(&limits, &[("weight", 5)]).await;
        assert_eq!(t0.elapsed(), Duration::from_millis(1050));
        let err = limits.acquire(&[("weight", 11)]).await.err();
        assert!(err.is_some_and(|e| e.kind == VenueErrorKind::Internal));
    }

    /// A request in two scopes waits for the fuller one and takes from both at once.
    #[tokio::test(start_paused = true)]
    async fn a_request_takes_from_every_scope_when_all_have_room() {
        let limits = RateLimits::new(
            "test",
            &[
                Scope::new("orders", 2, Duration::from_secs(1)),
                Scope::new("ip", 100, Duration::from_secs(5)),
            ],
            Duration::from_secs(2),
        );
        let t0 = Instant::now();
        for _ in 0..3 {
            take(&limits, &[("orders", 1), ("ip", 1)]).await;
        }
        assert_eq!(t0.elapsed(), Duration::from_millis(1050));
        let headroom = limits.headroom();
        assert_eq!(headroom[0], ("ip", 0.97));
    }

    #[tokio::test(start_paused = true)]
    async fn a_lower_allowance_from_the_venue_counts_what_was_already_sent() {
        let limits = RateLimits::new(
            "test",
            &[Scope::new("orders", 10, Duration::from_secs(1))],
            Duration::from_secs(2),
        );
        let t0 = Instant::now();
        for _ in 0..5 {
            take(&limits, &[("orders", 1)]).await;
        }
        limits.set_amount("orders", 5);
        take(&limits, &[("orders", 1)]).await;
        assert_eq!(t0.elapsed(), Duration::from_millis(1050));
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

    /// An endpoint's used-up budget holds that scope until the reset and no other.
    #[tokio::test(start_paused = true)]
    async fn an_exhausted_scope_waits_for_its_reset_and_the_others_go_on() {
        let limits = RateLimits::new(
            "test",
            &[
                Scope::new("batch", 10, Duration::from_secs(1)),
                Scope::new("order", 10, Duration::from_secs(1)),
            ],
            Duration::from_secs(2),
        );
        limits.exhaust("batch", Duration::from_millis(400));
        let t0 = Instant::now();
        take(&limits, &[("order", 1)]).await;
        assert_eq!(t0.elapsed(), Duration::ZERO);
        assert_eq!(limits.headroom(), vec![("batch", 0.0), ("order", 0.9)]);
        take(&limits, &[("batch", 1)]).await;
        assert_eq!(t0.elapsed(), Duration::from_millis(400));
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
