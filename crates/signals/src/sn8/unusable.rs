//! Rows of a payload the source cannot use, counted by reason so none is dropped silently: the
//! counts go to `sn8 rank`, the `tradeengine_sn8_unusable_rows` metric and the refused-signal
//! record.
//!
//! Every position row of every miner is looked at once (a trade pair lookup each, the same cost
//! as the ranking's own walk). `delayed_by_tier` is counted where it happens instead: among the
//! voting miners' open positions, when the tier shows them late and `on_stale = "flat"` keeps
//! them out of the vote.

use std::collections::BTreeMap;

use super::types::{PositionsDoc, RowOrigin};
use super::universe::Universe;

/// Why a row could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowIssue {
    /// A miner entry that is neither an object nor a JSON-encoded one.
    UnreadableMiner,
    /// A position that is neither an object nor a JSON-encoded one.
    UnreadablePosition,
    /// A position without a readable trade pair.
    NoTradePair,
    /// A trade pair the source's mapping does not follow.
    UnmappedPair,
    /// A pair `/trade-pairs` lists as disabled.
    PairDisabled,
    /// A followed pair `/trade-pairs` no longer lists.
    PairDropped,
    /// An open position the tier shows late, kept out of the vote by `on_stale = "flat"`.
    DelayedByTier,
}

impl RowIssue {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnreadableMiner => "unreadable_miner",
            Self::UnreadablePosition => "unreadable_position",
            Self::NoTradePair => "no_trade_pair",
            Self::UnmappedPair => "unmapped_pair",
            Self::PairDisabled => "pair_disabled",
            Self::PairDropped => "pair_dropped",
            Self::DelayedByTier => "delayed_by_tier",
        }
    }
}

/// What one pass over the rows found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowCounts {
    pub unusable: BTreeMap<RowIssue, usize>,
    /// Positions that arrived as JSON-encoded strings and were read.
    pub json_string_rows: usize,
}

/// Counts every unusable row of a payload by reason.
pub fn count_rows(doc: &PositionsDoc, universe: &Universe) -> RowCounts {
    use super::trade_pairs::PairRule;
    let mut out = RowCounts::default();
    let mut add = |issue: RowIssue, n: usize| {
        if n > 0 {
            *out.unusable.entry(issue).or_default() += n;
        }
    };
    add(RowIssue::UnreadableMiner, doc.skipped);
    let mut strings = 0;
    for (_, m) in &doc.miners {
        for pos in &m.positions {
            let issue = match pos.origin {
                RowOrigin::Unreadable => Some(RowIssue::UnreadablePosition),
                RowOrigin::JsonString | RowOrigin::Object => {
                    strings += usize::from(pos.origin == RowOrigin::JsonString);
                    match &pos.trade_pair {
                        None => Some(RowIssue::NoTradePair),
                        Some(id) => match universe.entry_of_id(id) {
                            None => Some(RowIssue::UnmappedPair),
                            Some((_, PairRule::Disabled)) => Some(RowIssue::PairDisabled),
                            Some((_, PairRule::Dropped)) => Some(RowIssue::PairDropped),
                            Some(_) => None,
                        },
                    }
                }
            };
            if let Some(issue) = issue {
                add(issue, 1);
            }
        }
    }
    out.json_string_rows = strings;
    out
}
