//! From a validator payload to one signed depth per asset.
//!
//! 1. Select and order miners: [`super::metric_score`] or [`super::ptn_score`].
//! 2. Keep the best `top_n` (all when unset) and give rank `k` of `N` the gradient weight
//!    `w(k) = (N + 1 − k) / (N(N+1)/2)`: the weights sum to 1 and fall linearly (N = 3 gives
//!    1/2, 1/3, 1/6). A selected miner that is flat in an asset is a zero vote for it.
//! 3. Per asset `a`, over the selected miners' open positions on pairs the validator still
//!    allows (`/trade-pairs`: disabled and dropped pairs do not vote), with net leverage `ℓ`
//!    capped at ±min(`leverage_limit`, the pair's `max_leverage`) and entry price `p` (see
//!    [`super::net`]); with a tier below 100 a position showing no activity within the tier's
//!    delay may be a day-old view and follows `on_stale` (flat: it does not vote):
//!    `depth_a = clamp(depth_scale · Σ ℓ·w, −1, +1)` (a signed fraction of account value), and
//!    `price_a = Σ p·|ℓ·w| / Σ |ℓ·w|` over contributions with a known price (quote per base).
//!    Depth is rounded half to even at [`crate::DEPTH_DECIMALS`] places after the clamp, the
//!    price at 12 places.
//!
//! Scores are `f64` (they only order miners); weights, leverages, depths and prices are exact
//! decimals, because depth feeds the order path.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use rust_decimal::Decimal;
use tradeengine_model::{Price, Symbol};

use super::config::OnStale;
use super::config::{Scoring, Sn8Config};
use super::metric_score::{self, Exclusion, Scratch, SeedMetrics};
use super::net::net_position;
use super::ptn_score;
use super::types::{EliminationsDoc, MinerPositions, Position, PositionsDoc, StatisticsDoc};
use super::universe::Universe;
use super::unusable::{RowIssue, count_rows};

/// One ranked miner.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RankedMiner {
    pub hotkey: String,
    /// 1 is best.
    pub rank: usize,
    pub score: f64,
    /// Gradient weight when among the top N, else zero.
    pub weight: Decimal,
    /// Seed metrics (`scoring = "seed"` only).
    pub metrics: Option<SeedMetrics>,
}

/// One asset's result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AssetDepth {
    pub symbol: Symbol,
    /// Signed fraction of account value in [−1, 1].
    pub depth: Decimal,
    /// Before the clamp, to show when the clamp bit.
    pub unclamped: Decimal,
    /// Weighted average entry price of the votes.
    pub price: Option<Price>,
    /// Selected miners with a non-zero position in this asset.
    pub contributors: usize,
}

/// The whole result of one ranking.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ranking {
    pub scoring: Scoring,
    /// Miners in the payload.
    pub considered: usize,
    /// Every ranked miner, best first; only the top N carry a weight.
    pub miners: Vec<RankedMiner>,
    /// How many miners each filter removed.
    pub excluded: BTreeMap<Exclusion, usize>,
    /// Every asset of the universe, in symbol order, including those nobody holds (depth 0).
    pub assets: Vec<AssetDepth>,
    /// Rows of the payload that could not be used, by reason.
    pub unusable: BTreeMap<RowIssue, usize>,
    /// Positions read from JSON-encoded strings (the older override format).
    pub json_string_rows: usize,
    /// The tier the payload was read at.
    pub tier: u8,
}

impl Ranking {
    pub fn selected(&self) -> impl Iterator<Item = &RankedMiner> {
        self.miners.iter().filter(|m| !m.weight.is_zero())
    }

    pub fn depth_of(&self, symbol: &Symbol) -> Option<Decimal> {
        self.assets
            .iter()
            .find(|a| &a.symbol == symbol)
            .map(|a| a.depth)
    }
}

/// Why ranking could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RankError {
    #[error("scoring = \"ptn\" needs the validator's /statistics (and /eliminations) payloads")]
    MissingStatistics,
}

/// The validator's judgement, for `scoring = "ptn"`.
#[derive(Debug, Clone, Copy)]
pub struct PtnInputs<'a> {
    pub statistics: &'a StatisticsDoc,
    pub eliminations: &'a EliminationsDoc,
}

/// Ranks miners and computes per-asset depths. `now_ms` is the evaluation time (epoch ms).
pub fn rank(
    doc: &PositionsDoc,
    ptn: Option<PtnInputs<'_>>,
    cfg: &Sn8Config,
    universe: &Universe,
    now_ms: i64,
) -> Result<Ranking, RankError> {
    let mut excluded: BTreeMap<Exclusion, usize> = BTreeMap::new();
    // (index into doc.miners or None, hotkey, score, metrics), best first.
    let mut ordered: Vec<(Option<usize>, String, f64, Option<SeedMetrics>)> = Vec::new();
    match cfg.scoring {
        Scoring::Seed => {
            let mut scratch = Scratch::default();
            let mut survivors: Vec<(usize, SeedMetrics)> = Vec::new();
            for (i, (_, m)) in doc.miners.iter().enumerate() {
                match metric_score::evaluate(m, universe, &cfg.seed, now_ms, &mut scratch) {
                    Ok(metrics) => survivors.push((i, metrics)),
                    Err(e) => *excluded.entry(e).or_default() += 1,
                }
            }
            let metrics: Vec<SeedMetrics> = survivors.iter().map(|(_, m)| *m).collect();
            let totals = metric_score::total_scores(&metrics, &cfg.seed);
            let mut idx: Vec<usize> = (0..survivors.len()).collect();
            idx.sort_by(|&a, &b| metric_score::desc_nan_last(totals[a], totals[b]));
            ordered = idx
                .into_iter()
                .map(|k| {
                    let (i, m) = survivors[k];
                    (Some(i), doc.miners[i].0.clone(), totals[k], Some(m))
                })
                .collect();
        }
        Scoring::Ptn => {
            let inputs = ptn.ok_or(RankError::MissingStatistics)?;
            let (chosen, ex) = ptn_score::select(inputs.statistics, inputs.eliminations, &cfg.ptn);
            for e in ex {
                *excluded.entry(e).or_default() += 1;
            }
            let by_key: HashMap<&str, usize> = doc
                .miners
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.as_str(), i))
                .collect();
            for c in chosen {
                match by_key.get(c.hotkey.as_str()) {
                    Some(&i) => ordered.push((Some(i), c.hotkey, c.score, None)),
                    None => *excluded.entry(Exclusion::NoPositions).or_default() += 1,
                }
            }
        }
    }

    let n = cfg.top_n.map_or(ordered.len(), |t| t.min(ordered.len()));
    let weights = rank_weights(n);
    let miners: Vec<RankedMiner> = ordered
        .iter()
        .enumerate()
        .map(|(k, (_, hotkey, score, metrics))| RankedMiner {
            hotkey: hotkey.clone(),
            rank: k + 1,
            score: *score,
            weight: weights.get(k).copied().unwrap_or_default(),
            metrics: *metrics,
        })
        .collect();

    let selected = ordered
        .iter()
        .zip(&weights)
        .filter_map(|((i, ..), w)| i.map(|i| (&doc.miners[i].1, *w)));
    let rows = count_rows(doc, universe);
    let mut unusable = rows.unusable;
    let mut delayed = 0;
    let assets = aggregate(selected, cfg, universe, now_ms, &mut delayed);
    if delayed > 0 {
        unusable.insert(RowIssue::DelayedByTier, delayed);
    }
    Ok(Ranking {
        scoring: cfg.scoring,
        considered: doc.miners.len(),
        miners,
        excluded,
        assets,
        unusable,
        json_string_rows: rows.json_string_rows,
        tier: cfg.tier.value(),
    })
}

/// Gradient weights for ranks 1..=n, exact: `(n + 1 − k) / (n(n+1)/2)`.
pub fn rank_weights(n: usize) -> Vec<Decimal> {
    if n == 0 {
        return Vec::new();
    }
    let total = Decimal::from(n) * Decimal::from(n + 1) / Decimal::TWO;
    (1..=n).map(|k| Decimal::from(n + 1 - k) / total).collect()
}

#[derive(Default, Clone, Copy)]
struct Acc {
    sum: Decimal,
    abs_priced: Decimal,
    px_weighted: Decimal,
    contributors: usize,
}

/// True when the tier may be showing this open position as it was a day ago: every position at
/// tier 0; at 30 and 50, one with no activity within the delay (a fresher order proves the row
/// is real-time; without one the two cannot be told apart).
fn shown_late(pos: &Position, cfg: &Sn8Config, now_ms: i64) -> bool {
    let delay = cfg.tier.delay_ms();
    if delay == 0 {
        return false;
    }
    cfg.tier.value() == 0
        || pos
            .last_activity_ms()
            .is_none_or(|t| t < now_ms.saturating_sub(delay))
}

fn aggregate<'a>(
    selected: impl Iterator<Item = (&'a MinerPositions, Decimal)>,
    cfg: &Sn8Config,
    universe: &Universe,
    now_ms: i64,
    delayed: &mut usize,
) -> Vec<AssetDepth> {
    let mut acc = vec![Acc::default(); universe.len()];
    let limit = cfg.leverage_limit.abs();
    for (m, w) in selected {
        let mut held = vec![false; universe.len()];
        for pos in &m.positions {
            if pos.is_closed() {
                continue;
            }
            let Some((a, rule)) = pos
                .trade_pair
                .as_ref()
                .and_then(|t| universe.entry_of_id(t))
            else {
                continue;
            };
            if !rule.votes() {
                continue;
            }
            if shown_late(pos, cfg, now_ms) && cfg.on_stale == OnStale::Flat {
                *delayed += 1;
                continue;
            }
            let Some(np) = net_position(pos) else {
                continue;
            };
            if np.net.is_zero() {
                continue;
            }
            let cap = rule
                .max_leverage()
                .and_then(crate::num::f64_to_decimal)
                .map_or(limit, |m| limit.min(m));
            let lev = np.net.clamp(-cap, cap);
            let Some(c) = lev.checked_mul(w) else {
                continue;
            };
            let slot = &mut acc[a];
            let Some(sum) = slot.sum.checked_add(c) else {
                continue;
            };
            slot.sum = sum;
            if np.avg_price > Decimal::ZERO
                && let (Some(abs), Some(px)) = (
                    slot.abs_priced.checked_add(c.abs()),
                    np.avg_price
                        .checked_mul(c.abs())
                        .and_then(|v| slot.px_weighted.checked_add(v)),
                )
            {
                slot.abs_priced = abs;
                slot.px_weighted = px;
            }
            held[a] = true;
        }
        for (slot, h) in acc.iter_mut().zip(held) {
            slot.contributors += usize::from(h);
        }
    }
    universe
        .symbols()
        .iter()
        .zip(acc)
        .map(|(symbol, a)| asset_depth(symbol, &a, cfg))
        .collect()
}

/// One asset's depth from its summed votes (scaled, clamped to ±1) and its vote-weighted entry
/// price.
fn asset_depth(symbol: &Symbol, a: &Acc, cfg: &Sn8Config) -> AssetDepth {
    let unclamped = a
        .sum
        .checked_mul(cfg.depth_scale)
        .unwrap_or(if a.sum.is_sign_negative() {
            Decimal::MIN
        } else {
            Decimal::MAX
        });
    let price = if a.abs_priced.is_zero() {
        None
    } else {
        a.px_weighted
            .checked_div(a.abs_priced)
            .and_then(|p| Price::new(p.round_dp(12).normalize()).ok())
    };
    AssetDepth {
        symbol: symbol.clone(),
        depth: crate::round_depth(unclamped.clamp(Decimal::NEGATIVE_ONE, Decimal::ONE)),
        unclamped: crate::round_depth(unclamped),
        price,
        contributors: a.contributors,
    }
}

/// The operator's view (`tradeengine sn8 rank`): depths per asset, then the top miners.
pub fn format_ranking(r: &Ranking, show: usize) -> String {
    let mut s = String::new();
    let selected = r.selected().count();
    let _ = writeln!(
        s,
        "scoring: {:?}   miners in payload: {}   ranked: {}   voting (top N): {}",
        r.scoring,
        r.considered,
        r.miners.len(),
        selected
    );
    let _ = writeln!(s, "tier: {}", r.tier);
    if !r.unusable.is_empty() || r.json_string_rows > 0 {
        let parts: Vec<String> = r
            .unusable
            .iter()
            .map(|(e, n)| format!("{}={n}", e.as_str()))
            .collect();
        let _ = writeln!(
            s,
            "unusable rows: {}   (positions read from JSON strings: {})",
            if parts.is_empty() {
                "none".to_string()
            } else {
                parts.join(" ")
            },
            r.json_string_rows
        );
    }
    if !r.excluded.is_empty() {
        let parts: Vec<String> = r
            .excluded
            .iter()
            .map(|(e, n)| format!("{}={n}", e.as_str()))
            .collect();
        let _ = writeln!(s, "excluded: {}", parts.join(" "));
    }
    let _ = writeln!(
        s,
        "\n{:<12} {:>12} {:>12} {:>16} {:>6}",
        "asset", "depth", "unclamped", "avg price", "votes"
    );
    for a in &r.assets {
        let _ = writeln!(
            s,
            "{:<12} {:>12} {:>12} {:>16} {:>6}",
            a.symbol.as_str(),
            a.depth.round_dp(6).normalize(),
            a.unclamped.round_dp(6).normalize(),
            a.price.map_or("-".to_string(), |p| p
                .get()
                .round_dp(4)
                .normalize()
                .to_string()),
            a.contributors
        );
    }
    let _ = writeln!(
        s,
        "\n{:>4} {:<50} {:>12} {:>10}",
        "rank", "hotkey", "score", "weight"
    );
    for m in r.miners.iter().take(show) {
        let _ = writeln!(
            s,
            "{:>4} {:<50} {:>12.6} {:>10}",
            m.rank,
            m.hotkey.chars().take(50).collect::<String>(),
            m.score,
            m.weight.round_dp(6).normalize()
        );
    }
    if r.miners.len() > show {
        let _ = writeln!(s, "… {} more", r.miners.len() - show);
    }
    s
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn gradient_weights_sum_to_one() {
        assert_eq!(rank_weights(0), Vec::<Decimal>::new());
        assert_eq!(rank_weights(1), vec![dec!(1)]);
        let w = rank_weights(3);
        assert_eq!(w[0], dec!(0.5));
        // 1/6 is not a finite decimal: exact to 28 significant digits.
        assert!((w[2] * dec!(6) - dec!(1)).abs() < dec!(0.000000000000000000000001));
        let w = rank_weights(500);
        let total: Decimal = w.iter().sum();
        assert!((total - dec!(1)).abs() < dec!(0.0000000000000000001));
        assert!(w.windows(2).all(|p| p[0] > p[1]));
    }
}
