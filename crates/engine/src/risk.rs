//! The engine's side of risk (the rules themselves are in `tradeengine_core::risk`): each
//! account's portfolio state, kept in the store so it survives restarts, its operator reset, and
//! the gate every order leg passes in a cycle.
//!
//! ## Persistence
//!
//! - `risk.<account>`: the [`PortfolioTracker`] (state, rule, period starts, high-water mark),
//!   written only by that account's worker, after each reading that changed it.
//! - `risk.<account>.reset`: the latest operator reset (`{at, by}`), written by the CLI and the
//!   API. The worker applies it at its next cycle. Two keys, so a reset can never be lost to a
//!   worker writing a tracker it read just before the reset.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tradeengine_core::risk::{
    ExposureBook, LegIntent, OrderRateWindow, PreTradeLimits, RiskRefusal, admit_leg,
};
pub use tradeengine_core::risk::{PortfolioState, PortfolioTracker, RiskRule};
use tradeengine_model::{AccountName, Symbol, Timestamp};
use tradeengine_store::{AuditKind, Store, StoreError};

fn tracker_key(account: &AccountName) -> String {
    format!("risk.{account}")
}

fn reset_key(account: &AccountName) -> String {
    format!("risk.{account}.reset")
}

fn corrupt(what: &str, e: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        reason: e.to_string(),
    }
}

/// An operator reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskReset {
    pub at: Timestamp,
    pub by: String,
}

/// The stored tracker of `account` (a fresh ACTIVE one when none was stored yet), with any
/// newer operator reset applied.
pub async fn load(
    store: &dyn Store,
    account: &AccountName,
) -> Result<PortfolioTracker, StoreError> {
    let mut tracker = match store.get_state(&tracker_key(account)).await? {
        None | Some(serde_json::Value::Null) => PortfolioTracker::default(),
        Some(v) => serde_json::from_value(v).map_err(|e| corrupt("risk state", e))?,
    };
    if let Some(reset) = read_reset(store, account).await?
        && tracker.baseline_at.is_none_or(|b| b < reset.at)
    {
        tracker.reset(reset.at);
    }
    Ok(tracker)
}

/// Stores the tracker (the account's worker only).
pub async fn save(
    store: &dyn Store,
    account: &AccountName,
    tracker: &PortfolioTracker,
) -> Result<(), StoreError> {
    let v = serde_json::to_value(tracker).map_err(|e| corrupt("risk state", e))?;
    store.put_state(&tracker_key(account), &v).await
}

async fn read_reset(
    store: &dyn Store,
    account: &AccountName,
) -> Result<Option<RiskReset>, StoreError> {
    match store.get_state(&reset_key(account)).await? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| corrupt("risk reset", e)),
    }
}

/// The operator reset: the account goes back to ACTIVE at its worker's next cycle, with every
/// loss period and the high-water mark counted from `at`. Audited with who asked and the state
/// it replaced; returns that state.
pub async fn reset(
    store: &dyn Store,
    account: &AccountName,
    by: &str,
    at: Timestamp,
) -> Result<PortfolioTracker, StoreError> {
    let before = load(store, account).await?;
    let reset = RiskReset {
        at,
        by: by.to_string(),
    };
    let v = serde_json::to_value(&reset).map_err(|e| corrupt("risk reset", e))?;
    store.put_state(&reset_key(account), &v).await?;
    store
        .audit(
            AuditKind::RiskStateChanged,
            Some(account.as_str()),
            None,
            serde_json::json!({
                "reset": true, "by": by, "from": before.state, "to": PortfolioState::Active,
                "rule": before.rule, "detail": before.detail,
            }),
            at,
        )
        .await?;
    Ok(before)
}

/// What one cycle's orders are checked against: the account's limits per symbol, its portfolio
/// state, the book of positions (updated as legs are admitted, across the symbols executed in
/// parallel) and the account's order-rate window (which outlives the cycle).
#[derive(Debug)]
pub struct RiskGate {
    pub state: PortfolioState,
    account_limits: PreTradeLimits,
    symbol_limits: BTreeMap<Symbol, PreTradeLimits>,
    book: Mutex<ExposureBook>,
    window: Arc<Mutex<OrderRateWindow>>,
}

impl RiskGate {
    pub fn new(
        state: PortfolioState,
        account_limits: PreTradeLimits,
        symbol_limits: BTreeMap<Symbol, PreTradeLimits>,
        book: ExposureBook,
        window: Arc<Mutex<OrderRateWindow>>,
    ) -> Self {
        Self {
            state,
            account_limits,
            symbol_limits,
            book: Mutex::new(book),
            window,
        }
    }

    /// The pre-trade limits of `symbol`.
    pub fn limits(&self, symbol: &Symbol) -> &PreTradeLimits {
        self.symbol_limits
            .get(symbol)
            .unwrap_or(&self.account_limits)
    }

    /// The position the book holds for `symbol` now (legs admitted so far included).
    pub fn position(&self, symbol: &Symbol) -> rust_decimal::Decimal {
        self.book
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .position(symbol)
    }

    /// Checks one leg and books it when admitted. (A lock poisoned by a panic elsewhere still
    /// holds a consistent book: a leg is booked whole or not at all.)
    pub fn admit(&self, leg: &LegIntent<'_>, now: Timestamp) -> Result<(), RiskRefusal> {
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        admit_leg(
            &mut book,
            &mut window,
            leg,
            self.limits(leg.symbol),
            self.state,
            now,
        )
    }
}
