//! Row shapes returned by the store that are not model types themselves.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_model::{
    AccountName, ClientOrderId, OrderKind, OrderState, OrderStatus, PlanId, Position, Side, Symbol,
    Timestamp,
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

/// What an account's cycle writes once it has traded: the targets that changed, the positions
/// read after trading, the equity point and the mark reading. One transaction on the SQL stores, so a cycle
/// costs one commit rather than one per changed target (a cycle where prices moved re-sizes
/// every target; one commit each made the store what every account's cycle waited for).
#[derive(Debug, Clone, Copy)]
pub struct CycleEnd<'a> {
    pub account: &'a AccountName,
    /// Targets whose quantity changed this cycle, each with a `TargetChanged` event.
    pub targets: &'a [TargetRecord],
    /// The positions snapshot (with a `Reconciled` event), when this cycle's read is fresh.
    pub positions: Option<&'a [Position]>,
    pub equity: &'a EquitySnapshot,
    /// The prices this cycle marked at, when a replay needs them (see `crate::MarkReading`).
    pub marks: Option<&'a crate::MarkReading>,
    /// With `marks`: the signals this cycle blended that the account's previous reading did not
    /// list (see [`crate::SeenSignal`]).
    pub seen: &'a [crate::SeenSignal],
    /// With `marks`: the market price at each of this cycle's fills, in the order filled.
    pub fill_prices: &'a [crate::FillPrice],
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

/// Most bytes of a refused signal's body the store keeps; a longer body is cut at a character
/// boundary and ends with [`TRUNCATED_MARKER`]. Bounded so a refusal cannot store megabytes.
pub const MAX_REFUSED_BODY: usize = 4096;
/// Appended to a body cut at [`MAX_REFUSED_BODY`].
pub const TRUNCATED_MARKER: &str = "…[truncated]";
/// Refusals kept per source: older unkeyed refusals are deleted, and older keyed ones keep only
/// their deduplication key and reason (their body is dropped). A sender that cannot
/// authenticate produces only unkeyed refusals, so it cannot grow the table past this.
pub const REFUSALS_KEPT_PER_SOURCE: i64 = 1000;

/// A refusal to record (see `Store::record_refused_signal`).
#[derive(Debug, Clone, Copy)]
pub struct NewRefusal<'a> {
    pub source: &'a str,
    /// The signal's idempotency key, when it was read far enough to have one: a refusal with
    /// a key is recorded once per (source, key).
    pub idempotency_key: Option<&'a str>,
    /// A reason label from a fixed set (`malformed`, `auth`, `unknown_symbol`, `price_band`,
    /// `low_confidence`, …): the metric's `reason` label, never free text.
    pub code: &'a str,
    /// The reason in words.
    pub reason: &'a str,
    /// The audit event's detail (`raw` in its payload).
    pub detail: &'a serde_json::Value,
    /// The request or message body, secrets already redacted (cut to [`MAX_REFUSED_BODY`]).
    pub body: Option<&'a str>,
    /// Whether to append a `SignalRefused` audit event. A keyed refusal is always audited; an
    /// unkeyed one (which anyone can cause) may be audited once per window by the caller.
    pub audit: bool,
    pub at: Timestamp,
}

/// A stored refusal, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedSignal {
    pub seq: i64,
    pub source: String,
    pub idempotency_key: Option<String>,
    /// The bounded reason label.
    pub code: String,
    pub reason: String,
    /// The body with secrets redacted, at most [`MAX_REFUSED_BODY`] bytes (plus the marker);
    /// `None` for refusals stored before bodies were kept, or pruned.
    pub body: Option<String>,
    pub refused_at: Timestamp,
}

/// `body` cut to at most [`MAX_REFUSED_BODY`] bytes at a character boundary, with the marker
/// when it was cut.
pub fn bound_body(body: &str) -> std::borrow::Cow<'_, str> {
    if body.len() <= MAX_REFUSED_BODY {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut cut = MAX_REFUSED_BODY;
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    std::borrow::Cow::Owned(format!("{}{TRUNCATED_MARKER}", &body[..cut]))
}
