//! What P&L attribution reads and writes: its own events, and the fills in the order they were
//! stored. The event is kept as JSON: its shape belongs to `tradeengine-core::attribution`, and
//! the store only keeps it in order.

use serde::{Deserialize, Serialize};
use tradeengine_model::{AccountName, Fill, Price, SignalId, SourceId, Symbol, Timestamp};

/// One attribution event of one account in one symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PnlEventRecord {
    /// Order of storage (set by the store; ignored on write).
    pub seq: i64,
    pub account: AccountName,
    pub symbol: Symbol,
    pub at: Timestamp,
    pub event: serde_json::Value,
}

/// A stored fill with the account it belongs to and its order of storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFill {
    pub seq: i64,
    pub account: AccountName,
    pub fill: Fill,
}

/// The prices one cycle of an account planned and marked at (see `Store::record_marks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkReading {
    /// Order of storage (set by the store; ignored on write).
    pub seq: i64,
    pub account: AccountName,
    pub at: Timestamp,
    pub prices: std::collections::BTreeMap<Symbol, tradeengine_model::Price>,
}

/// One sleeve as a cycle blended it: the last signal applied to it. A reading keeps those of the
/// sleeves that changed since the account's previous reading (see `Store::marks_with_signals`),
/// so a replay applies exactly the signals the live cycle had seen, however the intake's commits
/// and the cycle interleaved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenSignal {
    pub source: SourceId,
    pub symbol: Symbol,
    pub signal: SignalId,
}

/// The market price one fill of a cycle was made at (a paper venue fills at the price when the
/// order reaches it, which can have moved since the cycle's reading).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillPrice {
    pub symbol: Symbol,
    pub price: Price,
}

/// A stored reading with what its cycle blended and filled at (see `Store::marks_with_signals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedReading {
    pub reading: MarkReading,
    /// `None`: stored without them (before the store kept them, or by a store that does not).
    pub seen: Option<Vec<SeenSignal>>,
    /// In the order filled; empty when none were recorded.
    pub fill_prices: Vec<FillPrice>,
}
