//! Sweeps: one replay per weight set, on all cores, and the figures a quant compares them by.
//!
//! Per set: return (P&L over the starting balance), maximum drawdown (largest fall of the
//! equity curve from its running peak, as a fraction of that peak), Sharpe ratio of the
//! per-cycle equity returns (mean over standard deviation, annualised by the cycles per year
//! of the price series; `f64`, a statistic for display, never a money amount), fees, turnover,
//! and P&L by source.
//!
//! No Sharpe ratio for a curve spanning less than [`MIN_SHARPE_SPAN`]: annualising minutes of
//! returns multiplies their noise by the square root of the cycles in a year (a 3-minute paper
//! session printed -3775), a figure no one can compare with anything.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tradeengine_core::attribution::{GroupBy, PnlLine};
use tradeengine_model::{SourceId, Timestamp};
use tradeengine_venues::PriceFeed;

use crate::replay::{
    ReplayError, ReplayOutcome, ReplaySetup, StoredSession, replay, replay_recorded,
};

/// One weight set's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SetSummary {
    pub weights: BTreeMap<SourceId, Decimal>,
    /// P&L / starting balance.
    pub return_fraction: Decimal,
    pub max_drawdown: Decimal,
    /// `None` with fewer than two cycles, no variation, or a span under [`MIN_SHARPE_SPAN`].
    pub sharpe: Option<f64>,
    /// From the first to the last equity point, seconds (what the Sharpe ratio is taken over).
    pub span_secs: i64,
    pub pnl: Decimal,
    pub fees: Decimal,
    pub turnover: Decimal,
    pub netting_saving: Decimal,
    pub by_source: Vec<PnlLine>,
    pub equity: Vec<(Timestamp, Decimal)>,
}

/// The figures of one replay.
pub fn summarise(
    weights: &BTreeMap<SourceId, Decimal>,
    outcome: &ReplayOutcome,
    starting_balance: Decimal,
) -> Result<SetSummary, ReplayError> {
    let (by_source, total) = outcome
        .ledger
        .report(None, &outcome.marks, GroupBy::Source)?;
    let return_fraction = if starting_balance.is_zero() {
        Decimal::ZERO
    } else {
        total.pnl / starting_balance
    };
    Ok(SetSummary {
        weights: weights.clone(),
        return_fraction,
        max_drawdown: max_drawdown(starting_balance, &outcome.equity),
        sharpe: sharpe(starting_balance, &outcome.equity),
        span_secs: span(&outcome.equity).num_seconds(),
        pnl: total.pnl,
        fees: total.fees,
        turnover: total.turnover,
        netting_saving: by_source.iter().map(|l| l.netting_saving).sum(),
        by_source,
        equity: outcome.equity.clone(),
    })
}

/// Largest fall from a running peak (the starting balance counts as the first peak), as a
/// fraction of that peak.
pub fn max_drawdown(start: Decimal, equity: &[(Timestamp, Decimal)]) -> Decimal {
    let mut peak = start;
    let mut worst = Decimal::ZERO;
    for (_, e) in equity {
        if *e > peak {
            peak = *e;
        }
        if peak > Decimal::ZERO {
            let dd = (peak - *e) / peak;
            if dd > worst {
                worst = dd;
            }
        }
    }
    worst
}

/// The shortest equity curve a Sharpe ratio is given for: a day.
pub const MIN_SHARPE_SPAN: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// From the first to the last point of `equity` (zero when it has fewer than two).
pub fn span(equity: &[(Timestamp, Decimal)]) -> chrono::TimeDelta {
    match (equity.first(), equity.last()) {
        (Some((a, _)), Some((b, _))) => *b - *a,
        _ => chrono::TimeDelta::zero(),
    }
}

/// Annualised Sharpe ratio of per-cycle returns (risk-free rate 0); `None` with fewer than two
/// cycles, no variation, or a curve spanning less than [`MIN_SHARPE_SPAN`].
pub fn sharpe(start: Decimal, equity: &[(Timestamp, Decimal)]) -> Option<f64> {
    if span(equity) < MIN_SHARPE_SPAN {
        return None;
    }
    let mut prev = start.to_f64()?;
    let mut returns = Vec::with_capacity(equity.len());
    for (_, e) in equity {
        let e = e.to_f64()?;
        if prev > 0.0 {
            returns.push(e / prev - 1.0);
        }
        prev = e;
    }
    let n = returns.len();
    if n < 2 {
        return None;
    }
    let mean = returns.iter().sum::<f64>() / n as f64;
    let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    if sd == 0.0 {
        return None;
    }
    let per_cycle_secs = span(equity).num_milliseconds() as f64 / 1000.0 / (n - 1).max(1) as f64;
    let per_year = if per_cycle_secs > 0.0 {
        365.0 * 86_400.0 / per_cycle_secs
    } else {
        1.0
    };
    Some(mean / sd * per_year.sqrt())
}

/// Runs every weight set on all cores; `done` is called once per finished set (a progress bar).
/// Results come back in the order of `sets`, each summarised or with its error.
pub fn sweep(
    setup: &ReplaySetup,
    sets: &[BTreeMap<SourceId, Decimal>],
    signals: &[tradeengine_model::Signal],
    feed: Arc<dyn PriceFeed>,
    times: &[Timestamp],
    done: &(dyn Fn() + Sync),
) -> Vec<Result<SetSummary, ReplayError>> {
    sets.par_iter()
        .map(|weights| {
            let set = setup.with_weights(weights);
            // The paper venue answers at once: no reactor is needed to drive its futures.
            let outcome = futures::executor::block_on(replay(&set, signals, feed.clone(), times));
            done();
            summarise(weights, &outcome?, set.paper.starting_balance)
        })
        .collect()
}

/// [`sweep`] of a stored session, each set replayed with [`replay_recorded`].
pub fn sweep_recorded(
    setup: &ReplaySetup,
    sets: &[BTreeMap<SourceId, Decimal>],
    session: &StoredSession,
    done: &(dyn Fn() + Sync),
) -> Vec<Result<SetSummary, ReplayError>> {
    sets.par_iter()
        .map(|weights| {
            let set = setup.with_weights(weights);
            let outcome = futures::executor::block_on(replay_recorded(&set, session));
            done();
            summarise(weights, &outcome?, set.paper.starting_balance)
        })
        .collect()
}

/// Every weight set of a grid: for each source a list of values; sets whose weights sum above
/// one are left out (the blend refuses them).
pub fn grid(axes: &[(SourceId, Vec<Decimal>)]) -> Vec<BTreeMap<SourceId, Decimal>> {
    let mut sets: Vec<BTreeMap<SourceId, Decimal>> = vec![BTreeMap::new()];
    for (source, values) in axes {
        let mut next = Vec::with_capacity(sets.len() * values.len());
        for set in &sets {
            for v in values {
                let mut s = set.clone();
                s.insert(source.clone(), *v);
                next.push(s);
            }
        }
        sets = next;
    }
    sets.retain(|s| s.values().sum::<Decimal>() <= Decimal::ONE);
    sets
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use rust_decimal_macros::dec;

    use super::*;

    fn at(min: i64) -> Timestamp {
        Utc.timestamp_opt(min * 60, 0).unwrap()
    }

    #[test]
    fn drawdown_is_the_largest_fall_from_a_running_peak() {
        let curve = [
            (at(1), dec!(110)),
            (at(2), dec!(99)),
            (at(3), dec!(120)),
            (at(4), dec!(108)),
        ];
        assert_eq!(max_drawdown(dec!(100), &curve), dec!(0.1));
    }

    #[test]
    fn a_flat_curve_has_no_sharpe_and_a_rising_one_a_positive_one() {
        let day = |d: i64| at(d * 24 * 60);
        assert_eq!(
            sharpe(dec!(100), &[(day(1), dec!(100)), (day(2), dec!(100))]),
            None
        );
        let rising = [
            (day(1), dec!(101)),
            (day(2), dec!(103)),
            (day(3), dec!(104)),
        ];
        assert!(sharpe(dec!(100), &rising).unwrap() > 0.0);
    }

    #[test]
    fn a_curve_shorter_than_a_day_has_no_sharpe() {
        // Three minutes of a falling curve: annualised, this was about -3,800.
        let minutes = [(at(1), dec!(99)), (at(2), dec!(97)), (at(3), dec!(96.5))];
        assert_eq!(span(&minutes), chrono::TimeDelta::minutes(2));
        assert_eq!(sharpe(dec!(100), &minutes), None);
        // The same moves spread over a day and a minute are ranked.
        let long = [
            (at(1), dec!(99)),
            (at(2), dec!(97)),
            (at(2 + 24 * 60), dec!(96.5)),
        ];
        assert!(sharpe(dec!(100), &long).unwrap() < 0.0);
    }

    #[test]
    fn a_grid_leaves_out_sets_above_one() {
        let a = SourceId::new("a").unwrap();
        let b = SourceId::new("b").unwrap();
        let sets = grid(&[
            (a.clone(), vec![dec!(0), dec!(0.5), dec!(1)]),
            (b.clone(), vec![dec!(0), dec!(0.5)]),
        ]);
        assert_eq!(sets.len(), 5);
        assert!(sets.iter().all(|s| s[&a] + s[&b] <= Decimal::ONE));
    }
}
