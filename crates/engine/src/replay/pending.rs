//! What a replay cycle takes from the record: the signals its reading lists (a stored session)
//! or those received by its time, and the market prices of the live cycle's fills.

use std::collections::{BTreeMap, VecDeque};

use tradeengine_model::{Price, Signal, SourceId, Symbol, Timestamp};
use tradeengine_store::{FillPrice, SeenSignal};

/// The signals not applied yet: in the order given (the intake's, for a stored session), and
/// by receive time.
pub(super) struct Pending<'a> {
    pub(super) signals: Vec<&'a Signal>,
    applied: Vec<bool>,
    /// Indices by receive time (stable: ties in the order given), and the next to look at.
    by_time: Vec<usize>,
    next: usize,
    /// Per sleeve, its signals' indices in the order given.
    by_sleeve: BTreeMap<(SourceId, Symbol), VecDeque<usize>>,
}

impl<'a> Pending<'a> {
    pub(super) fn new(signals: &'a [Signal]) -> Self {
        let signals: Vec<&Signal> = signals.iter().collect();
        let mut by_time: Vec<usize> = (0..signals.len()).collect();
        by_time.sort_by_key(|&k| signals[k].received_at);
        let mut by_sleeve: BTreeMap<_, VecDeque<usize>> = BTreeMap::new();
        for (k, s) in signals.iter().enumerate() {
            by_sleeve
                .entry((s.source.clone(), s.symbol.clone()))
                .or_default()
                .push_back(k);
        }
        Self {
            applied: vec![false; signals.len()],
            signals,
            by_time,
            next: 0,
            by_sleeve,
        }
    }

    /// Every signal not applied yet received by `now`, by receive time (`false`: apply at the
    /// cycle's time).
    pub(super) fn received_by(&mut self, now: Timestamp) -> Vec<(usize, bool)> {
        let mut out = Vec::new();
        while let Some(&k) = self.by_time.get(self.next) {
            if self.signals[k].received_at > now {
                break;
            }
            self.next += 1;
            if !self.applied[k] {
                self.applied[k] = true;
                out.push((k, false));
            }
        }
        out
    }

    /// For each sleeve a reading lists, its signals up to and including the last one the live
    /// cycle had blended, in the order given (`true`: apply at its receive time). A listed
    /// signal already applied (a restart lists every sleeve again) or not stored adds nothing.
    pub(super) fn seen(&mut self, list: &[SeenSignal]) -> Vec<(usize, bool)> {
        let mut out = Vec::new();
        for s in list {
            let key = (s.source.clone(), s.symbol.clone());
            let Some(queue) = self.by_sleeve.get_mut(&key) else {
                continue;
            };
            let Some(n) = queue.iter().position(|&k| self.signals[k].id == s.signal) else {
                continue;
            };
            for k in queue.drain(..=n) {
                if !self.applied[k] {
                    self.applied[k] = true;
                    out.push((k, true));
                }
            }
        }
        // Sleeves apart, in the order given, as the intake applied them.
        out.sort_unstable();
        out
    }
}

/// What a stored session recorded beside its prices, per time (see
/// [`super::replay_recorded`]).
pub(super) struct Recorded<'a> {
    pub seen: &'a [Option<Vec<SeenSignal>>],
    pub fills: &'a [Vec<FillPrice>],
}

/// Per symbol, the market prices of the live cycle's fills, in the order filled.
pub(super) fn cycle_fills(
    recorded: Option<&Recorded<'_>>,
    cycle: usize,
) -> BTreeMap<Symbol, VecDeque<Price>> {
    let mut out: BTreeMap<Symbol, VecDeque<Price>> = BTreeMap::new();
    for f in recorded
        .and_then(|r| r.fills.get(cycle))
        .into_iter()
        .flatten()
    {
        out.entry(f.symbol.clone()).or_default().push_back(f.price);
    }
    out
}
