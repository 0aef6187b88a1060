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

/// The metric scoring's parameters (sirouk/trade-engine's names and defaults).
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
    /// the filter off.
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
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
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

/// What the source's sleeves do when the source cannot refresh within its TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnStale {
    /// Emit depth 0 for every asset: stop following a source we cannot see.
    #[default]
    Flat,
    /// Keep the last targets.
    Hold,
}

/// Population sanity guard ([`super::guard`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sn8Config {
    pub source: SourceId,
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
        assert!(
            serde_json::from_value::<Sn8Config>(serde_json::json!({"source": "s", "topn": 1}))
                .is_err()
        );
    }
}
