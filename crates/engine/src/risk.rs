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

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_core::risk::{
    ExposureBook, LegIntent, OrderRateWindow, PreTradeLimits, RiskRefusal, admit_leg,
};
pub use tradeengine_core::risk::{PortfolioState, PortfolioTracker, RiskRule};
use tradeengine_model::{AccountName, Symbol, Timestamp};
use tradeengine_store::{Store, StoreError};

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

/// Whether the account's worker has applied an operator reset made at `at` (its stored tracker
/// counts from then): what `tradeengine risk reset` waits for as a running engine's
/// acknowledgement.
pub async fn reset_applied(
    store: &dyn Store,
    account: &AccountName,
    at: Timestamp,
) -> Result<bool, StoreError> {
    Ok(match store.get_state(&tracker_key(account)).await? {
        None | Some(serde_json::Value::Null) => false,
        Some(v) => serde_json::from_value::<PortfolioTracker>(v)
            .map_err(|e| corrupt("risk state", e))?
            .baseline_at
            .is_some_and(|b| b >= at),
    })
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
    crate::audit_payload::AuditPayload::RiskReset {
        reset: true,
        by,
        from: before.state,
        to: PortfolioState::Active,
        rule: before.rule,
        detail: before.detail.as_deref(),
    }
    .record(store, Some(account.as_str()), None, at)
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

impl RiskGate {
    /// A copy of the gate's book and order-rate window as they stand now, to ask what the
    /// gate would say about some legs without booking them in the gate itself.
    pub fn trial(&self) -> RiskTrial<'_> {
        let book = self.book.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let window = self
            .window
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        RiskTrial {
            gate: self,
            book,
            window,
        }
    }
}

/// The gate's checks on a private copy of its state (see [`RiskGate::trial`]): legs admitted
/// here are booked in the copy only, so a plan's later legs are checked as `admit` would check
/// them, and nothing of it reaches the real gate.
#[derive(Debug)]
pub struct RiskTrial<'g> {
    gate: &'g RiskGate,
    book: ExposureBook,
    window: OrderRateWindow,
}

impl RiskTrial<'_> {
    /// The position the copy holds for `symbol` (legs admitted in the trial included).
    pub fn position(&self, symbol: &Symbol) -> Decimal {
        self.book.position(symbol)
    }

    /// [`RiskGate::admit`], on the copy.
    pub fn admit(&mut self, leg: &LegIntent<'_>, now: Timestamp) -> Result<(), RiskRefusal> {
        admit_leg(
            &mut self.book,
            &mut self.window,
            leg,
            self.gate.limits(leg.symbol),
            self.gate.state,
            now,
        )
    }
}

/// One ongoing refusal of a symbol's plan: what it was refused for, and the target and
/// portfolio state it was refused under.
///
/// While a target stays out of bounds, every reconciliation interval plans the same order
/// again and the gate refuses it again. Recording each of those (a rejected order row and a
/// `risk_refused` event per interval) buries the one decision an operator needs to see, so a
/// refusal is recorded once per episode: the worker keeps the episode, and a later cycle whose
/// plan the gate would refuse *first thing, by the same rule*, with the same target and the
/// same portfolio state, stores no plan and records nothing (it is still counted, see
/// `CycleReport::risk_held`). A changed target, rule or risk state, or a cycle where the
/// refusal has cleared (nothing to plan, or the plan passes), ends the episode, so the next
/// refusal is recorded again. Episodes live in the worker's memory: after a restart the first
/// refusal is recorded afresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalEpisode {
    /// The symbol's target, base units.
    pub target_qty: Decimal,
    pub target_leverage: Decimal,
    pub state: PortfolioState,
    pub rule: RiskRule,
}

impl RefusalEpisode {
    /// Whether a cycle with this target and state continues the episode (the rule is compared
    /// once the gate has answered).
    pub fn covers(
        &self,
        target_qty: Decimal,
        target_leverage: Decimal,
        state: PortfolioState,
    ) -> bool {
        self.target_qty == target_qty
            && self.target_leverage == target_leverage
            && self.state == state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_episode_covers_only_its_own_target_and_state() {
        let episode = RefusalEpisode {
            target_qty: Decimal::new(83, 3),
            target_leverage: Decimal::ONE,
            state: PortfolioState::Active,
            rule: RiskRule::MaxOrderNotional,
        };
        let (qty, lev) = (Decimal::new(83, 3), Decimal::ONE);
        assert!(episode.covers(qty, lev, PortfolioState::Active));
        assert!(!episode.covers(Decimal::new(84, 3), lev, PortfolioState::Active));
        assert!(!episode.covers(qty, Decimal::TWO, PortfolioState::Active));
        assert!(!episode.covers(qty, lev, PortfolioState::Reducing));
    }
}
