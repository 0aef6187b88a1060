//! SN8 source configuration: scoring, selection, depth scaling, guard and staleness.
//!
//! Defaults reproduce sirouk/trade-engine's `bittensor_processor_config.json` where it has the
//! parameter, so an imported setup selects the same miners.

use rust_decimal::Decimal;
use serde::Deserialize;
use tradeengine_model::SourceId;

/// How miners are chosen and ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    /// sirouk/trade-engine's filter, score and rank, minus its bugs ([`super::metric_score`]); the
    /// config value is `"seed"`.
    #[default]
    Seed,
    /// The validator's own statistics: eliminated and challenge-period miners dropped, ranked
    /// by the validator's weight ([`super::ptn_score`]).
    Ptn,
}

/// The validator's data-freshness tier the key reads (`/miner-positions?tier=`), per
/// taoshidev/vanta-network `docs/validator_rest_server.md`: 0 shows every position 24 h late, 30
/// and 50 show that share in real time and the rest 24 h late, 100 shows everything in real time
/// and is the only tier the WebSocket stream accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Tier(u8);

impl Tier {
    pub const FULL: Tier = Tier(100);
    /// The delay of a delayed position.
    pub const DELAY_MS: i64 = 86_400_000;

    pub fn new(v: i64) -> Result<Self, String> {
        match v {
            0 | 30 | 50 | 100 => Ok(Self(v as u8)),
            _ => Err(format!("tier must be 0, 30, 50 or 100, not {v}")),
        }
    }

    pub fn value(self) -> u8 {
        self.0
    }

    /// How late the delayed share of positions is (0 at tier 100).
    pub fn delay_ms(self) -> i64 {
        if self.0 == 100 { 0 } else { Self::DELAY_MS }
    }

    /// Percent of positions shown late.
    pub fn delayed_percent(self) -> u8 {
        100 - self.0
    }

    /// Whether the validator's WebSocket stream accepts a key of this tier.
    pub fn allows_stream(self) -> bool {
        self.0 == 100
    }
}

impl Default for Tier {
    fn default() -> Self {
        Self::FULL
    }
}

impl TryFrom<i64> for Tier {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        Self::new(v)
    }
}

impl From<Tier> for i64 {
    fn from(t: Tier) -> i64 {
        i64::from(t.0)
    }
}

/// The metric scoring's parameters (sirouk/trade-engine's names and defaults).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedParams {
    pub min_trades: usize,
    /// Most negative allowed drawdown (−0.5 = 50 % of the position's leverage-scaled value).
    pub max_drawdown_threshold: f64,
    pub min_profitable_rate: f64,
    /// Σ simple returns must exceed this.
    pub min_total_return: f64,
    pub drawdown_exponent: f64,
    pub sharpe_exponent: f64,
    pub profitable_rate_exponent: f64,
    pub position_count_divisor: f64,
    pub min_trades_per_asset: usize,
    pub max_trade_age_days: f64,
    /// sirouk/trade-engine's "returns ≤ 0" filters, as simple returns: a miner is kept only if
    /// `thirty_day_returns − 1 > min_thirty_day_return` (and likewise all-time). `None` turns
    /// the filter off. A 30-day return of exactly 1.0 is the validator's placeholder (the older
    /// format writes it for every miner) and counts as not reported: the 30-day filter then
    /// does not apply to that miner (see [`super::metric_score`]).
    pub min_thirty_day_return: Option<f64>,
    pub min_all_time_return: Option<f64>,
}

impl Default for SeedParams {
    fn default() -> Self {
        Self {
            min_trades: 10,
            max_drawdown_threshold: -0.5,
            min_profitable_rate: 0.6,
            min_total_return: 0.0,
            drawdown_exponent: 6.0,
            sharpe_exponent: 2.0,
            profitable_rate_exponent: 5.0,
            position_count_divisor: 5.0,
            min_trades_per_asset: 0,
            max_trade_age_days: 14.0,
            min_thirty_day_return: Some(0.0),
            min_all_time_return: Some(0.0),
        }
    }
}

/// Filters on the validator's statistics for `scoring = "ptn"`; all off by default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PtnParams {
    /// Keep only miners whose instantaneous max drawdown ratio is at least this (0.93 leaves
    /// margin before the validator's 10 % cut). `None`: no filter.
    pub min_drawdown_ratio: Option<f64>,
    /// Keep only miners whose total penalty multiplier is at least this (1.0 = unpenalised).
    pub min_penalty_total: Option<f64>,
    /// Drop miners whose plagiarism score is above this.
    pub max_plagiarism: Option<f64>,
}

/// What the source's sleeves do when the source cannot refresh within its TTL (and with positions
/// the tier shows late).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnStale {
    /// Emit depth 0 for every asset: stop following a source we cannot see.
    #[default]
    Flat,
    /// Keep the last targets.
    Hold,
}

/// Population sanity guard ([`super::guard`]).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardParams {
    /// Fewer miners than this is suspicious (seed: ≤ 50 was rejected).
    pub min_miners: usize,
    /// A count within `max(abs_tolerance, rel_tolerance × median)` of the rolling median of
    /// accepted counts is consistent (seed: 10 absolute).
    pub abs_tolerance: usize,
    pub rel_tolerance: f64,
    /// How many accepted counts the median looks at.
    pub history: usize,
    /// After this many consecutive rejected fetches that agree with each other, the new count
    /// is accepted as the new normal.
    pub confirm_after: usize,
}

impl Default for GuardParams {
    fn default() -> Self {
        Self {
            min_miners: 51,
            abs_tolerance: 10,
            rel_tolerance: 0.05,
            history: 5,
            confirm_after: 3,
        }
    }
}

/// One SN8 source.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sn8Config {
    pub source: SourceId,
    /// The key's data tier, always sent as `?tier=`; positions it shows late follow `on_stale`.
    #[serde(default)]
    pub tier: Tier,
    #[serde(default)]
    pub scoring: Scoring,
    #[serde(default)]
    pub seed: SeedParams,
    #[serde(default)]
    pub ptn: PtnParams,
    /// Only the best N ranked miners vote; `None`: all ranked miners (sirouk/trade-engine's
    /// behaviour).
    #[serde(default)]
    pub top_n: Option<usize>,
    /// Multiplies Σ net leverage × weight before the ±1 clamp (PTN crypto leverage is at most
    /// 0.5, so copying 1:1 keeps depths small). Seed: 1.
    #[serde(default = "one")]
    pub depth_scale: Decimal,
    /// Each position's |net leverage| is capped here before it votes: sirouk/trade-engine's
    /// `leverage_limit_crypto`, which its code never applied.
    #[serde(default = "half")]
    pub leverage_limit: Decimal,
    #[serde(default)]
    pub guard: GuardParams,
    /// Age of the last accepted payload after which the source is stale.
    #[serde(default = "default_ttl")]
    pub ttl_secs: u64,
    #[serde(default)]
    pub on_stale: OnStale,
}

fn one() -> Decimal {
    Decimal::ONE
}
fn half() -> Decimal {
    Decimal::new(5, 1)
}
fn default_ttl() -> u64 {
    120
}

impl Sn8Config {
    pub fn new(source: SourceId) -> Self {
        Self {
            source,
            tier: Tier::FULL,
            scoring: Scoring::Seed,
            seed: SeedParams::default(),
            ptn: PtnParams::default(),
            top_n: None,
            depth_scale: one(),
            leverage_limit: half(),
            guard: GuardParams::default(),
            ttl_secs: default_ttl(),
            on_stale: OnStale::Flat,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c: Sn8Config = serde_json::from_value(serde_json::json!({
            "source": "sn8", "scoring": "ptn", "top_n": 10,
            "seed": {"min_trades": 5}, "on_stale": "hold"
        }))
        .unwrap();
        assert_eq!(c.scoring, Scoring::Ptn);
        assert_eq!(c.seed.min_trades, 5);
        assert_eq!(c.seed.drawdown_exponent, 6.0);
        assert_eq!(c.top_n, Some(10));
        assert_eq!(c.on_stale, OnStale::Hold);
        assert_eq!(c.leverage_limit, Decimal::new(5, 1));
        assert_eq!(c.tier, Tier::FULL);
        let t: Sn8Config =
            serde_json::from_value(serde_json::json!({"source": "s", "tier": 30})).unwrap();
        assert_eq!((t.tier.value(), t.tier.delayed_percent()), (30, 70));
        assert!(!t.tier.allows_stream() && Tier::FULL.allows_stream());
        assert_eq!(Tier::FULL.delay_ms(), 0);
        assert!(
            serde_json::from_value::<Sn8Config>(serde_json::json!({"source": "s", "tier": 40}))
                .is_err()
        );
        assert!(
            serde_json::from_value::<Sn8Config>(serde_json::json!({"source": "s", "topn": 1}))
                .is_err()
        );
    }
}
