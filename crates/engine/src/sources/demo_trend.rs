//! The demo source's decision: a slow trend follower on the paper account's price feed, so the
//! paper demo trades the way a real strategy would (a position held for tens of minutes, a
//! handful of signals an hour) instead of flipping at random every few seconds, which burned
//! about 0.5 % of equity a minute in fees.
//!
//! ## Rule
//!
//! Every decision samples the feed once a minute: `fast` = mean of the last `fast_secs`,
//! `slow` = mean of the last `slow_secs` (or of the history there is, when the feed started
//! later). Momentum `m = (fast − slow) / slow`.
//! - `m > band` → long `depth`; `m < −band` → short `depth`; in between → keep the current
//!   depth (hysteresis: a position changes side only when the trend has clearly turned, so noise
//!   around zero does not flip it back and forth).
//! - Until there are `2 × fast_secs` of history (a brand-new demo), the current depth holds; a
//!   demo with no depth yet takes its **opening view**, a seeded long or short per symbol, so
//!   the first run fills an order within seconds.
//!
//! All arithmetic is `Decimal`; the rule is a pure function of (feed, time, previous depth).

use rust_decimal::Decimal;
use tradeengine_model::{Symbol, Timestamp};
use tradeengine_venues::PriceFeed;

/// Seconds between two samples of the feed.
const SAMPLE_SECS: i64 = 60;

/// The rule's parameters (from the demo source's settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendParams {
    /// Depth held long or short, fraction of account value (before the source's weight).
    pub depth: Decimal,
    pub fast_secs: u64,
    pub slow_secs: u64,
    /// Momentum needed to take or turn a side, as a fraction of price.
    pub band: Decimal,
}

/// The seeded opening view of `symbol`: long or short `depth`.
pub fn opening_view(seed: u64, symbol: &Symbol, depth: Decimal) -> Decimal {
    let h = symbol
        .as_str()
        .bytes()
        .fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
        });
    if splitmix64(seed ^ splitmix64(h)) & 1 == 0 {
        depth
    } else {
        -depth
    }
}

/// Mean of the feed's prices of `symbol` over `secs` ending at `now`, one sample a minute, from
/// the samples the feed has (`None` when it has none).
fn mean(feed: &dyn PriceFeed, symbol: &Symbol, now: Timestamp, secs: u64) -> Option<Decimal> {
    let samples = (secs as i64 / SAMPLE_SECS).max(1);
    let mut sum = Decimal::ZERO;
    let mut n = 0i64;
    for k in 0..samples {
        let at = now - chrono::Duration::seconds(k * SAMPLE_SECS);
        if let Some(p) = feed.price(symbol, at) {
            sum = sum.checked_add(p.get())?;
            n += 1;
        }
    }
    (n > 0).then(|| sum / Decimal::from(n))
}

/// Momentum of `symbol` at `now`, or `None` while there is too little history.
pub fn momentum(
    feed: &dyn PriceFeed,
    symbol: &Symbol,
    now: Timestamp,
    p: &TrendParams,
) -> Option<Decimal> {
    let warm_up = now - chrono::Duration::seconds(2 * p.fast_secs as i64);
    feed.price(symbol, warm_up)?;
    let fast = mean(feed, symbol, now, p.fast_secs)?;
    let slow = mean(feed, symbol, now, p.slow_secs)?;
    if slow.is_zero() {
        return None;
    }
    Some((fast - slow) / slow)
}

/// The depth to hold after a decision at `now`, from the depth held before (`None`: nothing
/// yet, take the opening view).
pub fn decide(
    feed: Option<&dyn PriceFeed>,
    symbol: &Symbol,
    now: Timestamp,
    previous: Option<Decimal>,
    seed: u64,
    p: &TrendParams,
) -> Decimal {
    let held = previous.unwrap_or_else(|| opening_view(seed, symbol, p.depth));
    match feed.and_then(|f| momentum(f, symbol, now, p)) {
        Some(m) if m > p.band => p.depth,
        Some(m) if m < -p.band => -p.depth,
        _ => held,
    }
}

/// SplitMix64: a fixed, seedable mix of bits, so the demo's script and trend are the same on
/// every run with the same seed.
pub(crate) fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tradeengine_model::Price;

    #[derive(Debug)]
    struct Ramp {
        origin: Timestamp,
        per_minute: Decimal,
    }

    impl PriceFeed for Ramp {
        fn price(&self, _: &Symbol, at: Timestamp) -> Option<Price> {
            let minutes = (at - self.origin).num_seconds();
            if minutes < 0 {
                return None;
            }
            Price::new(Decimal::from(1000) + self.per_minute * Decimal::from(minutes / 60)).ok()
        }
        fn symbols(&self) -> Vec<Symbol> {
            Vec::new()
        }
    }

    fn params() -> TrendParams {
        TrendParams {
            depth: Decimal::new(4, 1),
            fast_secs: 300,
            slow_secs: 1800,
            band: Decimal::new(2, 3),
        }
    }

    #[test]
    fn follows_a_clear_trend_and_holds_in_noise() {
        let Ok(sym) = Symbol::new("BTCUSDT") else {
            panic!("symbol")
        };
        let origin = Timestamp::MIN_UTC + chrono::Duration::days(1);
        let up = Ramp {
            origin,
            per_minute: Decimal::ONE,
        };
        let down = Ramp {
            origin,
            per_minute: -Decimal::ONE,
        };
        let flat = Ramp {
            origin,
            per_minute: Decimal::ZERO,
        };
        let later = origin + chrono::Duration::hours(1);
        let p = params();
        let d = p.depth;
        assert_eq!(decide(Some(&up), &sym, later, Some(-d), 1, &p), d);
        assert_eq!(decide(Some(&down), &sym, later, Some(d), 1, &p), -d);
        assert_eq!(decide(Some(&flat), &sym, later, Some(-d), 1, &p), -d);
        // Too little history: the held depth, or the opening view.
        let early = origin + chrono::Duration::minutes(5);
        assert_eq!(decide(Some(&up), &sym, early, Some(-d), 1, &p), -d);
        let open = decide(Some(&up), &sym, early, None, 1, &p);
        assert_eq!(open.abs(), d);
        assert_eq!(open, opening_view(1, &sym, d));
        assert_eq!(decide(None, &sym, later, None, 1, &p), open);
    }

    #[test]
    fn opening_views_differ_across_seeds_and_symbols() {
        let d = Decimal::ONE;
        let views: BTreeMap<(u64, String), Decimal> = (0..16)
            .flat_map(|seed| {
                ["BTCUSDT", "ETHUSDT"].into_iter().filter_map(move |s| {
                    let sym = Symbol::new(s).ok()?;
                    Some(((seed, s.to_string()), opening_view(seed, &sym, d)))
                })
            })
            .collect();
        assert!(views.values().any(|v| *v == d));
        assert!(views.values().any(|v| *v == -d));
    }
}
