//! `scoring = "seed"`: sirouk/trade-engine's miner filter, score and rank over the miners'
//! metrics, minus its bugs, so an imported setup selects miners as it did.
//!
//! Filter (per miner, over positions in the universe):
//! - returns: `thirty_day_returns − 1 > min_thirty_day_return` and likewise all-time. A 30-day
//!   return of exactly 1.0 is not a measurement: it is the validator's default, which the older
//!   (override) format writes for every miner, so treating it as "made nothing" excluded
//!   everyone. It counts as not reported and the 30-day filter is skipped for that miner; the
//!   all-time filter and the position-based filters below (win rate, `Σ r > min_total_return`)
//!   still keep losing miners out. A real 30-day return is never exactly 1.0 for a miner who
//!   traded in those 30 days, and one who did not is dropped as inactive;
//! - at least `min_trades_per_asset` positions in every universe asset (when > 0);
//! - active within `max_trade_age_days`;
//! - at least one universe position.
//!
//! Metrics:
//! - `DD = min over positions of dd(orders)`; a running leverage-weighted entry
//!   `avg = Σ lev·price / Σ lev` and per order the move `m = (price − avg)/avg · |L|` (long) or
//!   `(avg − price)/avg · |L|` (short), `dd = min(0, m…)`; refuse `DD < max_drawdown_threshold`;
//! - `r_i = return − 1` (at close for closed, current for open); `n`, win rate `p = #(r>0)/n`;
//!   refuse `n < min_trades` or `p < min_profitable_rate`;
//! - `sharpe = mean(r)/std(r)` (population std; 0 if n < 2 or std = 0);
//! - `consistency = 1 − std(g)/mean(g)` over idle gaps `g` between positions by `open_ms`;
//! - `R = Σ r_i`; refuse `R ≤ min_total_return`.
//!
//! Score, with `pct` a rank percentile among survivors (best 1, worst 0, ties in document order):
//! `total = ((1+DD)²)^de + pct(sharpe)^se + (1+R) + p^pe + pct(n)·ln(1+n)/pcd + pct(consistency)`.
//!
//! Bugs fixed (intent kept, arithmetic corrected):
//! 1. **Crash on two open positions**: the gap `open_ms[i] − close_ms[i−1]` subtracted a null
//!    `close_ms` and aborted every cycle. Gaps are now taken only after a closed position, and
//!    overlapping positions give a gap of 0 (no idle time), not a negative one. With no gap or a
//!    zero mean gap the consistency is 0, as sirouk/trade-engine's "fewer than 2" case was.
//! 2. **Return filters that never excluded anyone**: `thirty_day_returns <= 0` on a
//!    multiplicative return (≈ 1.x) is never true. The intent, "drop miners that lost money",
//!    is now `return − 1 ≤ threshold` (default 0). A missing or NaN return fails the filter.
//! 3. **Gains counted as drawdown**: sirouk/trade-engine took `−|m|`, so a favourable move lowered
//!    `DD`. Only adverse moves count now. The `((1+DD)²)^exponent` shape is kept so configured
//!    exponents mean what they meant.
//! 4. **FLAT orders in the drawdown walk**: current-era FLAT orders carry `−net` leverage, which
//!    drove `Σ lev` to ~0 and the average to garbage (or a division by zero); FLAT orders and
//!    Vanta's unfilled orders are skipped, and a running leverage of 0 resets the walk.
//! 5. **Recency only from closed positions**: a miner whose only recent activity was an open
//!    position had "latest = 0" and was dropped; the latest activity now includes open
//!    positions' orders.

use super::config::SeedParams;
use super::types::{MinerPositions, Position};
use super::universe::Universe;

const DAY_MS: f64 = 86_400_000.0;

/// The validator's default 30-day return, written when none was computed.
const THIRTY_DAY_PLACEHOLDER: f64 = 1.0;

/// Why a miner was not ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    ReturnsNotPositive,
    NoUniversePositions,
    TooFewTradesPerAsset,
    Inactive,
    Drawdown,
    TooFewTrades,
    LowWinRate,
    TotalReturn,
    // PTN scoring reasons.
    Eliminated,
    NotInMainCompetition,
    PtnDrawdown,
    Penalised,
    Plagiarism,
    NoPositions,
}

impl Exclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReturnsNotPositive => "returns_not_positive",
            Self::NoUniversePositions => "no_universe_positions",
            Self::TooFewTradesPerAsset => "too_few_trades_per_asset",
            Self::Inactive => "inactive",
            Self::Drawdown => "drawdown",
            Self::TooFewTrades => "too_few_trades",
            Self::LowWinRate => "low_win_rate",
            Self::TotalReturn => "total_return",
            Self::Eliminated => "eliminated",
            Self::NotInMainCompetition => "not_in_main_competition",
            Self::PtnDrawdown => "ptn_drawdown",
            Self::Penalised => "penalised",
            Self::Plagiarism => "plagiarism",
            Self::NoPositions => "no_positions",
        }
    }
}

/// A surviving miner's metrics.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SeedMetrics {
    pub drawdown: f64,
    pub n: usize,
    pub win_rate: f64,
    pub sharpe: f64,
    pub consistency: f64,
    pub total_return: f64,
}

/// Reused buffers, so scoring 500 miners allocates nothing per miner.
#[derive(Debug, Default)]
pub struct Scratch {
    returns: Vec<f64>,
    spans: Vec<(i64, Option<i64>)>,
    gaps: Vec<f64>,
    per_asset: Vec<usize>,
}

/// Filters and measures one miner.
pub fn evaluate(
    m: &MinerPositions,
    universe: &Universe,
    p: &SeedParams,
    now_ms: i64,
    s: &mut Scratch,
) -> Result<SeedMetrics, Exclusion> {
    let positive = |r: Option<f64>, min: Option<f64>| match min {
        None => true,
        Some(min) => r.is_some_and(|r| r - 1.0 > min),
    };
    let thirty_day_reported = m.thirty_day() != Some(THIRTY_DAY_PLACEHOLDER);
    if (thirty_day_reported && !positive(m.thirty_day(), p.min_thirty_day_return))
        || !positive(m.all_time_returns, p.min_all_time_return)
    {
        return Err(Exclusion::ReturnsNotPositive);
    }
    let Some((latest, dd)) = walk_positions(m, universe, s) else {
        return Err(Exclusion::NoUniversePositions);
    };
    if p.min_trades_per_asset > 0 && s.per_asset.iter().any(|c| *c < p.min_trades_per_asset) {
        return Err(Exclusion::TooFewTradesPerAsset);
    }
    let cutoff = now_ms as f64 - p.max_trade_age_days * DAY_MS;
    if latest.is_none_or(|l| (l as f64) < cutoff) {
        return Err(Exclusion::Inactive);
    }
    if dd < p.max_drawdown_threshold {
        return Err(Exclusion::Drawdown);
    }
    let n = s.returns.len();
    if n < p.min_trades || n == 0 {
        return Err(Exclusion::TooFewTrades);
    }
    let wins = s.returns.iter().filter(|r| **r > 0.0).count();
    let win_rate = wins as f64 / n as f64;
    if win_rate < p.min_profitable_rate {
        return Err(Exclusion::LowWinRate);
    }
    let (mean, std) = mean_std(&s.returns);
    let sharpe = if n < 2 || std == 0.0 { 0.0 } else { mean / std };
    let total_return: f64 = s.returns.iter().sum();
    if total_return <= p.min_total_return {
        return Err(Exclusion::TotalReturn);
    }
    let consistency = consistency(&mut s.spans, &mut s.gaps);
    Ok(SeedMetrics {
        drawdown: dd,
        n,
        win_rate,
        sharpe,
        consistency,
        total_return,
    })
}

/// One pass over the miner's positions in the universe: fills `s` with each position's return
/// and span and the count per asset, and returns the latest activity and the worst drawdown
/// (`None` when no position is in the universe).
fn walk_positions(
    m: &MinerPositions,
    universe: &Universe,
    s: &mut Scratch,
) -> Option<(Option<i64>, f64)> {
    s.returns.clear();
    s.spans.clear();
    s.per_asset.clear();
    s.per_asset.resize(universe.len(), 0);
    let mut latest: Option<i64> = None;
    let mut dd = 0.0_f64;
    let mut any = false;
    for pos in &m.positions {
        let Some(asset) = pos
            .trade_pair
            .as_ref()
            .and_then(|t| universe.asset_of_id(t))
        else {
            continue;
        };
        any = true;
        s.per_asset[asset] += 1;
        let summary = pos.order_summary();
        latest = latest.max(pos.last_activity_ms());
        dd = dd.min(summary.drawdown);
        let ret = if pos.is_closed() {
            pos.return_at_close.or(pos.current_return)
        } else {
            pos.current_return
        };
        if let Some(r) = ret {
            s.returns.push(r - 1.0);
        }
        s.spans.push((pos.open_ms.unwrap_or(0), pos.closed_at_ms()));
    }
    any.then_some((latest, dd))
}

/// Worst adverse move seen at the position's orders (≤ 0).
pub fn position_drawdown(pos: &Position) -> f64 {
    pos.order_summary().drawdown
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// `1 − std(g)/mean(g)` over idle gaps after closed positions, sorted by open time.
fn consistency(spans: &mut [(i64, Option<i64>)], gaps: &mut Vec<f64>) -> f64 {
    spans.sort_by_key(|(open, _)| *open);
    gaps.clear();
    for w in spans.windows(2) {
        if let Some(prev_close) = w[0].1 {
            gaps.push((w[1].0.saturating_sub(prev_close)).max(0) as f64);
        }
    }
    let (mean, std) = mean_std(gaps);
    if gaps.is_empty() || mean <= 0.0 {
        0.0
    } else {
        1.0 - std / mean
    }
}

/// Rank percentiles: the best value 1.0, the worst 0.0, linear in rank; ties and NaN keep
/// document order (NaN ranks last).
pub fn percentiles(values: &[f64]) -> Vec<f64> {
    let n = values.len();
    if n == 1 {
        return vec![1.0];
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| desc_nan_last(values[a], values[b]));
    let mut out = vec![0.0; n];
    for (k, i) in idx.into_iter().enumerate() {
        out[i] = 1.0 - k as f64 / (n - 1) as f64;
    }
    out
}

/// Descending order with NaN last; equal values compare equal (stable sorts keep input order).
pub fn desc_nan_last(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ => b.partial_cmp(&a).unwrap_or(std::cmp::Ordering::Equal),
    }
}

/// Metric total scores for the survivors, in input order.
pub fn total_scores(ms: &[SeedMetrics], p: &SeedParams) -> Vec<f64> {
    let sharpe = percentiles(&ms.iter().map(|m| m.sharpe).collect::<Vec<_>>());
    let count = percentiles(&ms.iter().map(|m| m.n as f64).collect::<Vec<_>>());
    let cons = percentiles(&ms.iter().map(|m| m.consistency).collect::<Vec<_>>());
    ms.iter()
        .enumerate()
        .map(|(i, m)| {
            let dd_term = ((1.0 + m.drawdown).powi(2)).powf(p.drawdown_exponent);
            let n_term = if p.position_count_divisor == 0.0 {
                0.0
            } else {
                count[i] * (1.0 + m.n as f64).ln() / p.position_count_divisor
            };
            dd_term
                + sharpe[i].powf(p.sharpe_exponent)
                + (1.0 + m.total_return)
                + m.win_rate.powf(p.profitable_rate_exponent)
                + n_term
                + cons[i]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::types::{Order, Side};
    use super::*;

    fn order(side: Side, lev: f64, price: f64) -> Order {
        Order {
            order_type: Some(side),
            leverage: Some(lev),
            price: Some(price),
            processed_ms: Some(0),
            src: Some(0),
        }
    }

    #[test]
    fn drawdown_counts_adverse_moves_only() {
        let up = Position {
            orders: vec![order(Side::Long, 0.5, 100.0), order(Side::Long, 0.5, 120.0)],
            ..Position::default()
        };
        assert_eq!(position_drawdown(&up), 0.0);
        let down = Position {
            orders: vec![order(Side::Long, 0.5, 100.0), order(Side::Long, 0.5, 80.0)],
            ..Position::default()
        };
        // avg = 90, m = (80 − 90)/90 · 1.0
        assert!((position_drawdown(&down) - (-10.0 / 90.0)).abs() < 1e-12);
        let short_up = Position {
            orders: vec![
                order(Side::Short, -0.5, 100.0),
                order(Side::Short, -0.5, 120.0),
            ],
            ..Position::default()
        };
        assert!((position_drawdown(&short_up) - (-10.0 / 110.0)).abs() < 1e-12);
        // A current-era FLAT carrying −net leverage is ignored.
        let flat = Position {
            orders: vec![order(Side::Long, 0.5, 100.0), order(Side::Flat, -0.5, 50.0)],
            ..Position::default()
        };
        assert_eq!(position_drawdown(&flat), 0.0);
    }

    #[test]
    fn consistency_survives_open_positions_and_overlaps() {
        let mut gaps = Vec::new();
        // Two open positions (sirouk/trade-engine crashed here) and one closed.
        let mut spans = vec![(0, Some(10)), (20, None), (30, None)];
        assert_eq!(consistency(&mut spans, &mut gaps), 1.0);
        let mut spans = vec![(0, Some(10)), (20, Some(30)), (60, Some(70))];
        // gaps 10, 30: mean 20, std 10
        assert!((consistency(&mut spans, &mut gaps) - 0.5).abs() < 1e-12);
        let mut spans = vec![(0, Some(100)), (50, None)];
        assert_eq!(consistency(&mut spans, &mut gaps), 0.0);
        let mut spans = vec![(0, None)];
        assert_eq!(consistency(&mut spans, &mut gaps), 0.0);
    }

    #[test]
    fn percentiles_rank_linearly_with_stable_ties() {
        assert_eq!(percentiles(&[5.0]), vec![1.0]);
        assert_eq!(percentiles(&[1.0, 3.0, 2.0]), vec![0.0, 1.0, 0.5]);
        assert_eq!(percentiles(&[2.0, 2.0, f64::NAN]), vec![1.0, 0.5, 0.0]);
    }
}
