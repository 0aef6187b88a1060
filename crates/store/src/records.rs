//! Row shapes returned by the store that are not model types themselves.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_model::{
    AccountName, ClientOrderId, OrderKind, OrderState, OrderStatus, PlanId, Side, Symbol, Timestamp,
};

/// Whether a signal was new. Duplicates (same source and idempotency key) change nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalRecordOutcome {
    Stored,
    Duplicate,
}

/// Result of recording a batch of signals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchOutcome {
    /// Every signal (and its sleeve) was stored, in one transaction.
    Stored,
    /// These entries (indices into the batch) are already stored, or repeat an earlier entry of
    /// the batch. Nothing at all was written: the caller drops them, recomputes the sleeves of
    /// the rest (they may have been built on a duplicate) and records again.
    Duplicates(Vec<usize>),
}

/// The target the engine decided for one account and symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRecord {
    pub account: AccountName,
    pub symbol: Symbol,
    /// Blended depth D (signed fraction of account value).
    pub depth: Decimal,
    /// Blended leverage L.
    pub leverage: Decimal,
    /// Target size in base units, rounded to the venue step.
    pub quantity: Decimal,
    pub decided_at: Timestamp,
}

/// One order as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredOrder {
    pub client_order_id: ClientOrderId,
    pub plan_id: PlanId,
    pub leg: u16,
    pub account: AccountName,
    pub symbol: Symbol,
    pub side: Side,
    /// Base units.
    pub qty: Decimal,
    pub kind: OrderKind,
    pub reduce_only: bool,
    pub state: OrderState,
    pub venue_order_id: Option<String>,
    pub filled_qty: Decimal,
    pub avg_fill_price: Option<Decimal>,
    pub fee: Decimal,
    /// Last error or rejection reason.
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new state for an order and what the venue said with it: the arguments of
/// [`crate::Store::update_order`] as one value, for [`crate::Store::settle_order`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderUpdate {
    pub state: OrderState,
    /// `None` keeps the stored value.
    pub venue_order_id: Option<String>,
    /// Cumulative base units filled.
    pub filled_qty: Decimal,
    /// `None` keeps the stored value.
    pub avg_fill_price: Option<Decimal>,
    pub fee: Decimal,
    /// Replaces the stored error (`None` clears it).
    pub error: Option<String>,
    pub at: Timestamp,
}

impl OrderUpdate {
    /// A move to `state` at `at` that reports nothing else: no venue order id (the stored one
    /// stays), nothing filled, no fee, no error. Set the other fields with struct update
    /// syntax (`OrderUpdate { error: Some(..), ..OrderUpdate::new(state, at) }`).
    pub fn new(state: OrderState, at: Timestamp) -> Self {
        Self {
            state,
            venue_order_id: None,
            filled_qty: Decimal::ZERO,
            avg_fill_price: None,
            fee: Decimal::ZERO,
            error: None,
            at,
        }
    }

    /// What a venue's report on an order says, recorded at `at`.
    pub fn from_status(status: &OrderStatus, at: Timestamp) -> Self {
        Self {
            state: status.state,
            venue_order_id: status.venue_order_id.clone(),
            filled_qty: status.filled_qty,
            avg_fill_price: status.avg_fill_price.map(|p| p.get()),
            fee: status.fee,
            error: None,
            at,
        }
    }
}

/// Filter for listing orders; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub account: Option<AccountName>,
    pub symbol: Option<Symbol>,
    pub state: Option<OrderState>,
    /// Newest first; at most this many (default 100).
    pub limit: Option<i64>,
    /// Skip this many of the newest.
    pub offset: Option<i64>,
}

/// Account value at one time, for the equity curve and loss limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EquitySnapshot {
    pub account: AccountName,
    pub value: Decimal,
    /// Unrealised P&L included in `value`, if the venue reports it separately.
    pub unrealised_pnl: Decimal,
    pub at: Timestamp,
}
