//! A seeded random-walk price feed: reproducible synthetic markets for demos and tests.
//!
//! ## Formula
//!
//! Time is cut into steps of `interval` from `origin`: `n = ⌊(t − origin) / interval⌋`, so the
//! price is constant within a step. For each symbol, step `i` draws one 64-bit word
//! `h_i = SplitMix64(key)[i]`, the `i`-th output of a SplitMix64 generator seeded with
//! `key = mix(seed ⊕ mix(FNV-1a(symbol)))`. SplitMix64 is random-access (output `i` is
//! `mix(key + (i + 1)·γ)`), so any step can be drawn without drawing the ones before it.
//!
//! - `u_i = 2·(h_i >> 43) + 1 − 2²¹`: an odd integer in (−2²¹, 2²¹), symmetric around 0, so
//!   `u_i / 2²¹` is uniform on (−1, 1) to 21 bits, with standard deviation `1/√3`.
//! - `S_n = Σ_{i<n} u_i`: an exact integer sum (no rounding can accumulate along the path).
//! - `ln(P_n / P_0) = σ·√3·S_n / 2²¹`, with `σ = volatility_bps / 10 000`: each step moves the
//!   log-price by a uniform amount with standard deviation `σ` (dimensionless, per step).
//! - `P_n` is rounded to the nearest tick (half away from zero), and never below one tick.
//!
//! The log-price walk has no drift, so the median price stays at `P_0`; a multiplicative walk
//! `P·(1 + r)` would instead drift down by `σ²/2` per step.
//!
//! ## Cost
//!
//! `S_n` needs every `u_i` before `n`. The feed keeps a checkpoint of `S` every 4,096 steps per
//! symbol (8 bytes each), so a query costs at most 4,096 draws plus extending the checkpoints
//! once; a year of one-second steps is about 7,700 checkpoints (62 KB) per symbol. Steps past
//! [`RandomWalkFeed::MAX_STEPS`] (2³² ≈ 136 years of seconds) have no price, so a misconfigured
//! `origin` cannot make one query run for minutes.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::TimeDelta;
use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};
use tradeengine_model::{Price, Symbol, Timestamp};

use super::{FeedError, PriceFeed};
use tradeengine_model::grid;

/// Steps after `origin` that have a price; later instants get `None`.
const MAX_STEPS: u64 = 1 << 32;
/// Steps between two checkpoints of the cumulative sum.
const BLOCK: u64 = 4096;
/// `2²¹`: the draw's scale, see the module docs.
const SCALE: i64 = 1 << 21;

/// One symbol of the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkSymbol {
    /// Price at step 0.
    pub start: Price,
    /// Every price is a whole number of ticks, quote units.
    pub tick: Decimal,
    /// Standard deviation of one step's log-return, in basis points (0–1,000).
    pub volatility_bps: Decimal,
}

/// Settings of a [`RandomWalkFeed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomWalkConfig {
    pub seed: u64,
    /// Instant of step 0. Keep it fixed across restarts so a persisted paper account keeps
    /// seeing the same market.
    pub origin: Timestamp,
    /// Length of one step.
    pub interval: TimeDelta,
    pub symbols: BTreeMap<Symbol, WalkSymbol>,
}

impl RandomWalkConfig {
    /// BTCUSDT, ETHUSDT and SOLUSDT at round 2025-ish prices with one-second steps. Volatilities
    /// are per second: 1 bp for BTC is about 3 % a day (`1e-4 · √86 400 ≈ 0.029`), ETH and SOL
    /// move more.
    pub fn demo(seed: u64, origin: Timestamp) -> Self {
        let mut symbols = BTreeMap::new();
        let mut add = |name: &str, start: Decimal, tick: Decimal, vol: Decimal| {
            if let (Ok(symbol), Ok(start)) = (Symbol::new(name), Price::new(start)) {
                symbols.insert(
                    symbol,
                    WalkSymbol {
                        start,
                        tick,
                        volatility_bps: vol,
                    },
                );
            }
        };
        add(
            "BTCUSDT",
            Decimal::new(60_000, 0),
            Decimal::new(1, 1),
            Decimal::ONE,
        );
        add(
            "ETHUSDT",
            Decimal::new(3_000, 0),
            Decimal::new(1, 2),
            Decimal::new(13, 1),
        );
        add(
            "SOLUSDT",
            Decimal::new(150, 0),
            Decimal::new(1, 3),
            Decimal::new(2, 0),
        );
        Self {
            seed,
            origin,
            interval: TimeDelta::seconds(1),
            symbols,
        }
    }
}

/// Per-symbol constants and the checkpoint cache.
#[derive(Debug)]
struct Walk {
    spec: WalkSymbol,
    key: u64,
    /// `σ·√3`, the log-return of a full-scale draw.
    sigma_sqrt3: Decimal,
    /// `checkpoints[j] = S_{j·BLOCK}`; `checkpoints[0] = 0`.
    checkpoints: Mutex<Vec<i64>>,
}

/// A seeded random-walk feed. The price at `(seed, symbol, step)` never depends on which
/// prices were asked for before.
#[derive(Debug)]
pub struct RandomWalkFeed {
    origin: Timestamp,
    interval_ms: i64,
    walks: BTreeMap<Symbol, Walk>,
}

impl RandomWalkFeed {
    /// Steps after `origin` that have a price; later instants get `None`.
    pub const MAX_STEPS: u64 = MAX_STEPS;

    pub fn new(config: RandomWalkConfig) -> Result<Self, FeedError> {
        let interval_ms = config.interval.num_milliseconds();
        if interval_ms <= 0 {
            return Err(FeedError::BadSetting {
                field: "interval".into(),
                value: config.interval.to_string(),
                rule: "must be at least one millisecond",
            });
        }
        let sqrt3 = Decimal::from(3)
            .sqrt()
            .ok_or_else(|| FeedError::BadSetting {
                field: "sqrt(3)".into(),
                value: "3".into(),
                rule: "internal: square root failed",
            })?;
        let mut walks = BTreeMap::new();
        for (symbol, spec) in config.symbols {
            let bad = |field: &str, value: Decimal, rule| FeedError::BadSetting {
                field: format!("{symbol}.{field}"),
                value: value.to_string(),
                rule,
            };
            if spec.tick <= Decimal::ZERO {
                return Err(bad("tick", spec.tick, "must be greater than zero"));
            }
            if spec.volatility_bps < Decimal::ZERO || spec.volatility_bps > Decimal::from(1000) {
                return Err(bad(
                    "volatility_bps",
                    spec.volatility_bps,
                    "must be between 0 and 1000 basis points per step",
                ));
            }
            let sigma_sqrt3 = (spec.volatility_bps / Decimal::from(10_000))
                .checked_mul(sqrt3)
                .ok_or_else(|| bad("volatility_bps", spec.volatility_bps, "overflows"))?;
            let key = mix(config.seed ^ mix(fnv1a(symbol.as_str().as_bytes())));
            walks.insert(
                symbol,
                Walk {
                    spec,
                    key,
                    sigma_sqrt3,
                    checkpoints: Mutex::new(vec![0]),
                },
            );
        }
        Ok(Self {
            origin: config.origin,
            interval_ms,
            walks,
        })
    }

    /// The step covering `at`; `None` before `origin` or past [`Self::MAX_STEPS`].
    pub fn step_at(&self, at: Timestamp) -> Option<u64> {
        let elapsed_ms = at.signed_duration_since(self.origin).num_milliseconds();
        if elapsed_ms < 0 {
            return None;
        }
        let step = u64::try_from(elapsed_ms / self.interval_ms).ok()?;
        (step < MAX_STEPS).then_some(step)
    }

    /// The price of `symbol` at step `step`.
    pub fn price_at_step(&self, symbol: &Symbol, step: u64) -> Option<Price> {
        if step >= MAX_STEPS {
            return None;
        }
        let walk = self.walks.get(symbol)?;
        let sum = walk.sum_to(step)?;
        // ln(P_n / P_0) = σ·√3·S_n / 2²¹ (module docs).
        let log_return = walk
            .sigma_sqrt3
            .checked_mul(Decimal::from(sum))?
            .checked_div(Decimal::from(SCALE))?;
        let raw = walk
            .spec
            .start
            .get()
            .checked_mul(log_return.checked_exp()?)?;
        let on_tick =
            grid::round_to_step(raw, walk.spec.tick, RoundingStrategy::MidpointAwayFromZero)?
                .normalize();
        Price::new(on_tick.max(walk.spec.tick)).ok()
    }
}

impl Walk {
    /// `S_n`, extending the checkpoints as needed. `None` only on overflow, which the
    /// [`RandomWalkFeed::MAX_STEPS`] bound rules out (`|S| < 2³² · 2²¹ = 2⁵³`).
    fn sum_to(&self, n: u64) -> Option<i64> {
        let block = n / BLOCK;
        let block_idx = usize::try_from(block).ok()?;
        let base = {
            let mut cps = self.checkpoints.lock().unwrap_or_else(|p| p.into_inner());
            while cps.len() <= block_idx {
                let j = u64::try_from(cps.len() - 1).ok()?;
                let last = *cps.last()?;
                let next = last.checked_add(self.partial_sum(j * BLOCK, (j + 1) * BLOCK)?)?;
                cps.push(next);
            }
            *cps.get(block_idx)?
        };
        base.checked_add(self.partial_sum(block * BLOCK, n)?)
    }

    /// `Σ_{from ≤ i < to} u_i`.
    fn partial_sum(&self, from: u64, to: u64) -> Option<i64> {
        (from..to).try_fold(0i64, |acc, i| acc.checked_add(self.draw(i)))
    }

    /// `u_i`, see the module docs.
    fn draw(&self, i: u64) -> i64 {
        let h = mix(self.key.wrapping_add(i.wrapping_mul(GAMMA)));
        let top21 = i64::try_from(h >> 43).unwrap_or(0);
        2 * top21 + 1 - SCALE
    }
}

impl PriceFeed for RandomWalkFeed {
    fn price(&self, symbol: &Symbol, at: Timestamp) -> Option<Price> {
        self.price_at_step(symbol, self.step_at(at)?)
    }

    fn symbols(&self) -> Vec<Symbol> {
        self.walks.keys().cloned().collect()
    }
}

/// SplitMix64's increment (the golden ratio in 64 bits).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64 output function (Steele, Lea and Flood 2014): adds γ, then mixes.
fn mix(z: u64) -> u64 {
    let mut z = z.wrapping_add(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 64-bit FNV-1a: a stable hash of the symbol name (std's hashers may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rust_decimal::prelude::ToPrimitive;
    use rust_decimal_macros::dec;

    use super::*;

    /// Log-return of a price pair as `f64`, for test statistics only.
    fn ln_ratio(a: Price, b: Price) -> f64 {
        (b.get() / a.get())
            .to_f64()
            .map(f64::ln)
            .unwrap_or(f64::NAN)
    }

    fn origin() -> Timestamp {
        chrono::Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .unwrap()
    }

    fn btc() -> Symbol {
        Symbol::new("BTCUSDT").unwrap()
    }

    fn feed(seed: u64) -> RandomWalkFeed {
        RandomWalkFeed::new(RandomWalkConfig::demo(seed, origin())).unwrap()
    }

    fn series(f: &RandomWalkFeed, symbol: &Symbol, steps: std::ops::Range<u64>) -> Vec<Price> {
        steps.map(|s| f.price_at_step(symbol, s).unwrap()).collect()
    }

    #[test]
    fn same_seed_same_series_whatever_the_call_order() {
        let forward = series(&feed(7), &btc(), 0..10_000);
        // A fresh feed asked far ahead first, then backwards.
        let f = feed(7);
        let far = f.price_at_step(&btc(), 9_999).unwrap();
        let backward: Vec<Price> = (0..10_000)
            .rev()
            .map(|s| f.price_at_step(&btc(), s).unwrap())
            .collect();
        assert_eq!(far, forward[9_999]);
        assert_eq!(backward.into_iter().rev().collect::<Vec<_>>(), forward);
    }

    #[test]
    fn different_seeds_and_symbols_give_different_series() {
        let a = series(&feed(1), &btc(), 0..200);
        let b = series(&feed(2), &btc(), 0..200);
        assert_eq!(a[0], b[0], "both start at the configured price");
        assert_ne!(a, b);
        // Two symbols with identical settings still walk apart.
        let mut cfg = RandomWalkConfig::demo(1, origin());
        let spec = cfg.symbols[&btc()].clone();
        cfg.symbols.insert(Symbol::new("XBTUSDT").unwrap(), spec);
        let f = RandomWalkFeed::new(cfg).unwrap();
        let x = series(&f, &Symbol::new("XBTUSDT").unwrap(), 0..200);
        assert_ne!(a, x);
    }

    #[test]
    fn step_zero_is_the_start_price_and_every_price_is_on_tick() {
        let f = feed(3);
        assert_eq!(
            f.price_at_step(&btc(), 0).map(Price::get),
            Some(dec!(60000))
        );
        let sol = Symbol::new("SOLUSDT").unwrap();
        for p in series(&f, &sol, 0..2_000) {
            assert!(grid::is_multiple_of(p.get(), dec!(0.001)), "{p}");
        }
    }

    #[test]
    fn time_maps_to_steps() {
        let f = feed(3);
        let t0 = origin();
        assert_eq!(f.step_at(t0 - TimeDelta::milliseconds(1)), None);
        assert_eq!(f.step_at(t0), Some(0));
        assert_eq!(f.step_at(t0 + TimeDelta::milliseconds(999)), Some(0));
        assert_eq!(f.step_at(t0 + TimeDelta::seconds(90)), Some(90));
        // Constant within a step, and a query by time equals the query by step.
        let at = t0 + TimeDelta::milliseconds(90_500);
        assert_eq!(f.price(&btc(), at), f.price_at_step(&btc(), 90));
        assert_eq!(f.price(&btc(), t0 - TimeDelta::seconds(1)), None);
        assert_eq!(f.price(&Symbol::new("DOGEUSDT").unwrap(), at), None);
        assert_eq!(f.price_at_step(&btc(), MAX_STEPS), None);
    }

    #[test]
    fn step_volatility_matches_the_setting() {
        // 1 bp per step configured; the sample standard deviation of 40,000 log-returns should
        // be within 3 % of 1e-4 (its standard error is about 0.4 %; tick rounding at 60,000
        // with a 0.1 tick adds at most 0.08 bp of noise).
        let prices = series(&feed(11), &btc(), 0..40_001);
        let rets: Vec<f64> = prices.windows(2).map(|w| ln_ratio(w[0], w[1])).collect();
        let n = rets.len() as f64;
        let mean = rets.iter().sum::<f64>() / n;
        let var = rets.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (n - 1.0);
        let sd = var.sqrt();
        assert!((sd / 1e-4 - 1.0).abs() < 0.03, "sd = {sd}");
        assert!(mean.abs() < 3.0 * 1e-4 / n.sqrt(), "mean = {mean}");
    }

    #[test]
    fn draws_are_symmetric_odd_integers() {
        let f = feed(5);
        let walk = &f.walks[&btc()];
        for i in 0..10_000 {
            let u = walk.draw(i);
            assert!(u % 2 != 0 && u > -SCALE && u < SCALE, "u = {u}");
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut cfg = RandomWalkConfig::demo(1, origin());
        cfg.interval = TimeDelta::zero();
        assert!(RandomWalkFeed::new(cfg).is_err());
        let mut cfg = RandomWalkConfig::demo(1, origin());
        if let Some(s) = cfg.symbols.get_mut(&btc()) {
            s.volatility_bps = dec!(1001);
        }
        let err = RandomWalkFeed::new(cfg).unwrap_err().to_string();
        assert!(err.contains("BTCUSDT.volatility_bps"), "{err}");
        let mut cfg = RandomWalkConfig::demo(1, origin());
        if let Some(s) = cfg.symbols.get_mut(&btc()) {
            s.tick = dec!(0);
        }
        assert!(RandomWalkFeed::new(cfg).is_err());
    }
}
