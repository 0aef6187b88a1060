//! What P&L attribution reads and writes: its own events, and the fills in the order they were
//! stored. The event is kept as JSON: its shape belongs to `tradeengine-core::attribution`, and
//! the store only keeps it in order.

use serde::{Deserialize, Serialize};
use tradeengine_model::{AccountName, Fill, Symbol, Timestamp};

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
