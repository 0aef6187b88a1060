//! Positions nobody asked for: a position on the venue that the store has no record of
//! managing (a fresh or lost database, a manual trade) is not the engine's to trade. Without
//! this, a fresh data dir against an account holding positions closed them all at start
//! (`current=1.495 target=0.000`) with no signal received.
//!
//! "A record of managing" an account's symbol is any of: a stored non-zero target for it, a
//! stored order for it, a sleeve for the symbol (restored from the store or set since start),
//! or an operator decision. A restart with an intact database therefore works as before: every
//! position the engine opened has its orders and targets stored.
//!
//! An unknown position is handled by the account's `on_unknown_position`:
//! - `hold` (default): left alone — no target, no order, not recorded as a target — until a
//!   source sets a target for the symbol after it was first seen, or an operator decides;
//! - `adopt`: managed from now on, kept as it is (target = current) until a source sets one;
//! - `flatten`: managed from now on, closed (target zero) until a source sets one.
//!
//! Operator decisions (`tradeengine positions adopt|flatten`) and the automatic ones are stored
//! under [`decisions_key`] with an audit event, and read by the worker every cycle, so a
//! running engine acts at its next cycle and a restart remembers an adoption.
//!
//! A position in a symbol no `[[symbols]]` entry names (a manual trade, or a symbol removed
//! from the configuration while the engine held it) is never traded automatically either: it is
//! shown as `unconfigured`, counted in `tradeengine_unknown_positions` and logged once at WARN.
//! An operator's `flatten` decision closes it (the worker reads its instrument from the venue);
//! `adopt` has nothing to keep it at without a configured symbol.
//!
//! The kill switch's flatten is an operator's order to close everything: it closes held
//! positions too. Loss-limit halts act on managed positions only.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_core::size::SizedTarget;
use tradeengine_model::{AccountName, Position, Symbol, Timestamp};
use tradeengine_store::{OrderFilter, Store, StoreError};

use crate::audit_payload::AuditPayload;

use crate::config::UnknownPositionPolicy;
use crate::state::SharedState;
pub use crate::state::UnknownPositionView;

/// An operator's (or the policy's) decision on one account's symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Manage it, keeping it as it is until a source sets a target.
    Adopt,
    /// Manage it, closing it unless a source sets a target.
    Flatten,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Adopt => "adopt",
            Self::Flatten => "flatten",
        }
    }
}

/// One stored decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDecision {
    pub decision: Decision,
    pub at: Timestamp,
    /// Who decided: `cli: …` or `on_unknown_position`.
    pub by: String,
}

/// The state key holding one account's decisions, by symbol.
pub fn decisions_key(account: &AccountName) -> String {
    format!("positions.decisions.{account}")
}

/// Reads one account's decisions.
pub async fn decisions(
    store: &dyn Store,
    account: &AccountName,
) -> Result<BTreeMap<Symbol, StoredDecision>, StoreError> {
    Ok(store
        .get_state(&decisions_key(account))
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// Records a decision (and audits it) for the engine to act on at the account's next cycle.
pub async fn record_decision(
    store: &dyn Store,
    account: &AccountName,
    symbol: &Symbol,
    decision: Decision,
    by: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut all = decisions(store, account).await?;
    all.insert(
        symbol.clone(),
        StoredDecision {
            decision,
            at: now,
            by: by.to_string(),
        },
    );
    let value = serde_json::to_value(&all).unwrap_or_default();
    store.put_state(&decisions_key(account), &value).await?;
    AuditPayload::UnknownPositionDecided {
        unknown_position: decision.as_str(),
        by,
    }
    .record(store, Some(account.as_str()), Some(symbol.as_str()), now)
    .await?;
    Ok(())
}

/// One worker's view of which symbols it manages.
#[derive(Debug, Default)]
pub struct UnknownPositions {
    /// Symbols with a record of managing (or a decision).
    managed: BTreeSet<Symbol>,
    /// Checked against the store and not managed, with when first seen.
    held: BTreeMap<Symbol, Timestamp>,
    /// Open in a symbol the configuration does not name, with when first seen.
    unconfigured: BTreeMap<Symbol, Timestamp>,
    /// Decided: kept or closed until a sleeve changes after the decision's time.
    decided: BTreeMap<Symbol, (Decision, Timestamp)>,
    /// The newest decision time applied per symbol (a newer stored one is applied again).
    applied: BTreeMap<Symbol, Timestamp>,
    /// The view last written to the store (for `tradeengine status`), written again on change.
    saved: Option<BTreeMap<Symbol, UnknownPositionView>>,
}

/// The state key where a worker keeps its unknown positions for `tradeengine status`.
pub fn view_key(account: &AccountName) -> String {
    format!("positions.unknown.{account}")
}

/// Gauge `tradeengine_unknown_positions{account}`: positions held because nobody manages them.
fn metric(account: &AccountName, held: usize) {
    metrics::gauge!("tradeengine_unknown_positions", "account" => account.to_string())
        .set(held as f64);
}

impl UnknownPositions {
    /// Classifies this cycle's positions and adjusts `targets` (see the module docs). Called
    /// after risk states and the kill switch shaped the targets. Returns what to show.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply(
        &mut self,
        account: &AccountName,
        policy: UnknownPositionPolicy,
        store: &dyn Store,
        state: &SharedState,
        positions: &BTreeMap<Symbol, Position>,
        targets: &mut Vec<SizedTarget>,
        kill_flatten: bool,
        halted: bool,
        now: Timestamp,
    ) -> Result<BTreeMap<Symbol, UnknownPositionView>, StoreError> {
        // Decisions first: an operator's word is the newest.
        self.take_decisions(store, account).await?;
        self.follow_sleeves(state).await;
        self.classify_new(account, policy, store, positions, targets, now)
            .await?;
        self.track_unconfigured(account, state, positions, now);
        // A held position closed by hand leaves nothing to protect.
        self.held
            .retain(|s, _| positions.get(s).is_some_and(|p| !p.size.is_zero()));
        let view = self.view(positions);
        self.shape_targets(positions, targets, kill_flatten, halted);
        metric(account, self.held.len() + self.unconfigured.len());
        if self.saved.as_ref() != Some(&view) {
            let value = serde_json::to_value(&view).unwrap_or_default();
            store.put_state(&view_key(account), &value).await?;
            self.saved = Some(view.clone());
        }
        Ok(view)
    }

    /// Positions in symbols the live configuration does not name: logged once when first seen,
    /// forgotten when closed or configured again.
    fn track_unconfigured(
        &mut self,
        account: &AccountName,
        state: &SharedState,
        positions: &BTreeMap<Symbol, Position>,
        now: Timestamp,
    ) {
        let config = state.config();
        let outside = |s: &Symbol| config.symbol(s.as_str()).is_none();
        self.unconfigured
            .retain(|s, _| outside(s) && positions.get(s).is_some_and(|p| !p.size.is_zero()));
        for (symbol, p) in positions {
            if p.size.is_zero() || !outside(symbol) || self.unconfigured.contains_key(symbol) {
                continue;
            }
            tracing::warn!(%account, %symbol, size = %p.size.get(), "position in a symbol no [[symbols]] entry names: not traded by the engine; close it with `tradeengine positions flatten --account {account} --symbol {symbol}` or configure the symbol again");
            self.unconfigured.insert(symbol.clone(), now);
        }
    }

    /// Unconfigured positions an operator decided to flatten: the worker closes them (no target
    /// of the configuration covers them).
    pub fn unconfigured_to_close(&self) -> BTreeSet<Symbol> {
        self.unconfigured
            .keys()
            .filter(|s| matches!(self.decided.get(*s), Some((Decision::Flatten, _))))
            .cloned()
            .collect()
    }

    /// Applies stored operator decisions newer than the last applied one of their symbol.
    async fn take_decisions(
        &mut self,
        store: &dyn Store,
        account: &AccountName,
    ) -> Result<(), StoreError> {
        for (symbol, d) in decisions(store, account).await? {
            if self.applied.get(&symbol).is_some_and(|at| *at >= d.at) {
                continue;
            }
            self.applied.insert(symbol.clone(), d.at);
            self.held.remove(&symbol);
            self.managed.insert(symbol.clone());
            self.decided.insert(symbol, (d.decision, d.at));
        }
        Ok(())
    }

    /// A source that set a target for the symbol after a position was seen or decided on takes
    /// over; any sleeve at all makes the symbol managed.
    async fn follow_sleeves(&mut self, state: &SharedState) {
        let latest = state.latest_sleeve_updates().await;
        let latest_sleeve = |symbol: &Symbol| latest.get(symbol).copied();
        self.decided
            .retain(|s, (_, at)| latest_sleeve(s).is_none_or(|u| u <= *at));
        self.held
            .retain(|s, since| latest_sleeve(s).is_none_or(|u| u <= *since));
        for symbol in latest.keys() {
            if !self.held.contains_key(symbol) {
                self.managed.insert(symbol.clone());
            }
        }
    }

    /// Positions in configured symbols that nothing manages yet: recorded ones become managed,
    /// the others get the account's `on_unknown_position` policy.
    async fn classify_new(
        &mut self,
        account: &AccountName,
        policy: UnknownPositionPolicy,
        store: &dyn Store,
        positions: &BTreeMap<Symbol, Position>,
        targets: &[SizedTarget],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let configured: BTreeSet<Symbol> = targets.iter().map(|t| t.symbol.clone()).collect();
        for (symbol, p) in positions {
            if p.size.is_zero()
                || !configured.contains(symbol)
                || self.managed.contains(symbol)
                || self.held.contains_key(symbol)
            {
                continue;
            }
            if recorded(store, account, symbol).await? {
                self.managed.insert(symbol.clone());
                continue;
            }
            match policy {
                UnknownPositionPolicy::Hold => {
                    tracing::warn!(%account, %symbol, size = %p.size.get(), "position not opened by this engine (no stored target, order or sleeve): left alone until a source sets a target or `tradeengine positions adopt|flatten`");
                    AuditPayload::UnknownPositionHeld {
                        unknown_position: "held",
                        size: p.size.get(),
                    }
                    .record(store, Some(account.as_str()), Some(symbol.as_str()), now)
                    .await?;
                    self.held.insert(symbol.clone(), now);
                }
                UnknownPositionPolicy::Adopt | UnknownPositionPolicy::Flatten => {
                    let decision = if policy == UnknownPositionPolicy::Adopt {
                        Decision::Adopt
                    } else {
                        Decision::Flatten
                    };
                    tracing::warn!(%account, %symbol, size = %p.size.get(), decision = decision.as_str(), "position not opened by this engine: on_unknown_position applied");
                    record_decision(store, account, symbol, decision, "on_unknown_position", now)
                        .await?;
                    self.applied.insert(symbol.clone(), now);
                    self.managed.insert(symbol.clone());
                    self.decided.insert(symbol.clone(), (decision, now));
                }
            }
        }
        Ok(())
    }

    /// What to show: every held position, and every decided one (a flattened one until it is
    /// closed).
    fn view(
        &self,
        positions: &BTreeMap<Symbol, Position>,
    ) -> BTreeMap<Symbol, UnknownPositionView> {
        let mut view = BTreeMap::new();
        let size = |s: &Symbol| positions.get(s).map(|p| p.size.get()).unwrap_or_default();
        for (symbol, since) in &self.held {
            view.insert(
                symbol.clone(),
                UnknownPositionView {
                    size: size(symbol),
                    status: "held",
                    since: *since,
                },
            );
        }
        for (symbol, since) in &self.unconfigured {
            view.insert(
                symbol.clone(),
                UnknownPositionView {
                    size: size(symbol),
                    status: "unconfigured",
                    since: *since,
                },
            );
        }
        for (symbol, (decision, at)) in &self.decided {
            let current = size(symbol);
            if *decision == Decision::Flatten && current.is_zero() {
                continue;
            }
            view.insert(
                symbol.clone(),
                UnknownPositionView {
                    size: current,
                    status: match decision {
                        Decision::Adopt => "adopted",
                        Decision::Flatten => "flattening",
                    },
                    since: *at,
                },
            );
        }
        view
    }

    /// Held symbols leave the targets (unless the kill switch flattens everything); adopted ones
    /// keep their size, flattened ones go to zero.
    fn shape_targets(
        &self,
        positions: &BTreeMap<Symbol, Position>,
        targets: &mut Vec<SizedTarget>,
        kill_flatten: bool,
        halted: bool,
    ) {
        let size = |s: &Symbol| positions.get(s).map(|p| p.size.get()).unwrap_or_default();
        if !kill_flatten {
            targets.retain(|t| !self.held.contains_key(&t.symbol));
        }
        for t in targets.iter_mut() {
            match self.decided.get(&t.symbol) {
                Some((Decision::Adopt, _)) if !kill_flatten && !halted => {
                    keep_current(t, size(&t.symbol))
                }
                Some((Decision::Flatten, _)) => keep_current(t, Decimal::ZERO),
                _ => {}
            }
        }
    }
}

/// Whether the store holds a record of the engine managing `symbol` on `account`: a non-zero
/// target or any order.
async fn recorded(
    store: &dyn Store,
    account: &AccountName,
    symbol: &Symbol,
) -> Result<bool, StoreError> {
    let targets = store.targets(account).await?;
    if targets
        .iter()
        .any(|t| &t.symbol == symbol && !t.quantity.is_zero())
    {
        return Ok(true);
    }
    let orders = store
        .orders(&OrderFilter {
            account: Some(account.clone()),
            symbol: Some(symbol.clone()),
            limit: Some(1),
            ..OrderFilter::default()
        })
        .await?;
    Ok(!orders.is_empty())
}

/// Sets a target to `qty` base units (the current position, or zero).
fn keep_current(t: &mut SizedTarget, qty: Decimal) {
    t.qty = tradeengine_model::Quantity::new(qty);
    t.unrounded_qty = qty;
    t.venue_qty = qty.checked_div(t.contract_size).unwrap_or_default();
    t.notional = qty.abs().checked_mul(t.price.get()).unwrap_or_default();
}
