//! Someone else trading this account.
//!
//! A second engine with a database of its own (started from another folder, on another
//! machine, or a copy left running after a migration), or a person at the venue's website,
//! moves the account's positions where this engine does not expect them. The leases and locks
//! that keep two engines off one database cannot see an engine with a database of its own.
//! Every cycle reads positions back and trades toward its targets, so one such move is
//! repaired at the next cycle (a manual close is undone, as the README says). Two traders with
//! different targets on one account, though, trade against each other every cycle and bleed
//! fees, and neither would know.
//!
//! Between two start-of-cycle reads, per symbol, this compares the position read now with the
//! position read at the previous cycle's start plus the fills of the orders this engine
//! planned since (final ones: a symbol with an order of ours still working or unsettled at
//! either read is not judged). The read after the previous cycle traded is deliberately not a
//! second reference: when two engines trade at the same moment, each one's after-trade read
//! already holds the other's fill, and a match with it would hide the fight.
//!
//! A read that differs is a **move from outside**: logged at WARN (once per symbol per
//! ten minutes), counted in `tradeengine_outside_position_changes_total` and audited. A move on
//! a symbol this engine itself traded in the window is **contested**: this engine moved the
//! position and something else moved it again before the next read. [`FIGHT_CYCLES`]
//! contested cycles among the last [`FIGHT_WINDOW`] are a fight, and the account is frozen
//! through the stored kill switch (nothing sent, positions kept), which survives restarts and
//! shows in `status`, the API and the dashboard until an operator stops the other trader and
//! runs `tradeengine kill --release`.
//!
//! Why these thresholds: a liquidation, an auto-deleverage or one manual close is a single move
//! and never freezes the account; a read that lagged the venue's matching engine explains one
//! false move, not three within ten cycles.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rust_decimal::Decimal;
use tradeengine_model::{Instrument, PlanId, Position, Symbol, Timestamp};
use tradeengine_store::{OrderFilter, StoredOrder};

use super::AccountWorker;
use super::cycle::Market;
use super::outcome::CycleError;
use super::recovery::Settlement;
use crate::audit_payload::AuditPayload;
use crate::killswitch::KillAction;

/// Contested cycles, among the last [`FIGHT_WINDOW`], that freeze the account.
pub const FIGHT_CYCLES: usize = 3;
/// How many of the account's latest cycles the count looks at.
pub const FIGHT_WINDOW: u64 = 10;
/// The same symbol's move from outside is logged at WARN at most this often (milliseconds).
const WARN_EVERY_MS: i64 = 10 * 60 * 1000;
/// Orders read back per judgement: more than any cycle plans (an incomplete read judges
/// nothing).
const ORDERS_READ: i64 = 2000;

/// What one cycle read, kept for the next cycle's judgement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    /// Plans issued from here on (their [`crate::plan_ids::PlanIds::sequence`]) are this
    /// engine's since the start read.
    pub plans_from: u64,
    /// Positions read at the cycle's start, base units, non-flat only.
    pub start: BTreeMap<Symbol, Decimal>,
    /// Whether the cycle made any plan (else nothing of ours can have filled since).
    pub sent: bool,
    /// Symbols with an order of ours not final at the cycle's start.
    pub unsettled: BTreeSet<Symbol>,
}

/// The fills of this engine's orders since a read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OurFills {
    /// Signed base quantity filled, per symbol.
    pub net: BTreeMap<Symbol, Decimal>,
    /// Symbols with an order of ours in the window that is not final: not judged.
    pub working: BTreeSet<Symbol>,
}

/// A position that moved where this engine's own fills do not take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideMove {
    pub symbol: Symbol,
    /// The previous start read plus our fills since.
    pub expected: Decimal,
    /// What the venue reports now.
    pub actual: Decimal,
    /// This engine traded the symbol in the window: two traders are moving it.
    pub contested: bool,
}

/// Positions as signed base sizes by symbol, flat ones left out.
pub fn sizes(positions: &[Position]) -> BTreeMap<Symbol, Decimal> {
    positions
        .iter()
        .filter(|p| !p.size.get().is_zero())
        .map(|p| (p.symbol.clone(), p.size.get()))
        .collect()
}

/// The moves from outside between `prev` and `now`. `tolerance` is half a lot in base units
/// (zero for a symbol without one): a difference within it is rounding, not a trade.
pub fn outside_moves(
    prev: &Reads,
    now: &BTreeMap<Symbol, Decimal>,
    ours: &OurFills,
    unsettled_now: &BTreeSet<Symbol>,
    tolerance: &dyn Fn(&Symbol) -> Decimal,
) -> Vec<OutsideMove> {
    let symbols: BTreeSet<&Symbol> = prev
        .start
        .keys()
        .chain(now.keys())
        .chain(ours.net.keys())
        .collect();
    let size =
        |map: &BTreeMap<Symbol, Decimal>, s: &Symbol| map.get(s).copied().unwrap_or_default();
    symbols
        .into_iter()
        .filter(|s| {
            !prev.unsettled.contains(*s)
                && !unsettled_now.contains(*s)
                && !ours.working.contains(*s)
        })
        .filter_map(|symbol| {
            let ours_net = size(&ours.net, symbol);
            let expected = size(&prev.start, symbol) + ours_net;
            let actual = size(now, symbol);
            if (actual - expected).abs() <= tolerance(symbol) {
                return None;
            }
            Some(OutsideMove {
                symbol: symbol.clone(),
                expected,
                actual,
                contested: !ours_net.is_zero(),
            })
        })
        .collect()
}

/// Half of an instrument's lot, in base units.
pub fn half_lot(instrument: &Instrument) -> Decimal {
    instrument.qty_step * instrument.contract_size / Decimal::TWO
}

/// The fills of `orders` (this account's, newest first) whose plans this process issued at or
/// after `plans_from`; `None` when the read may have missed some (it is as long as the limit
/// and holds nothing older).
pub fn our_fills(
    orders: &[StoredOrder],
    limit: usize,
    plans_from: u64,
    sequence: &dyn Fn(&PlanId) -> Option<u64>,
) -> Option<OurFills> {
    let mut fills = OurFills::default();
    let mut older_seen = false;
    for order in orders {
        if sequence(&order.plan_id).is_none_or(|n| n < plans_from) {
            older_seen = true;
            continue;
        }
        if !order.state.is_terminal() {
            fills.working.insert(order.symbol.clone());
        }
        if !order.filled_qty.is_zero() {
            *fills.net.entry(order.symbol.clone()).or_default() +=
                order.filled_qty * order.side.sign();
        }
    }
    (older_seen || orders.len() < limit).then_some(fills)
}

/// The fight count across cycles, and when each symbol was last logged.
#[derive(Debug, Default)]
pub struct OutsideWatch {
    /// The previous cycle's reads; `None` before the first cycle of this worker.
    pub prev: Option<Reads>,
    cycle: u64,
    contested: VecDeque<u64>,
    warned: BTreeMap<Symbol, Timestamp>,
    /// This worker engaged the freeze at this time and the shared kill state may not show it
    /// yet (the watcher reads the store every second): the worker freezes meanwhile.
    freezing_since: Option<Timestamp>,
    /// Whether the kill switch held this account at the last judgement.
    was_killed: bool,
    /// The fight could not be stored in the switch (it flattens other accounts): this worker
    /// holds the account frozen until the process restarts.
    held_here: bool,
}

/// How long a freeze this worker engaged is applied before the shared kill state shows it.
const FREEZE_PROPAGATION_MS: i64 = 5_000;

impl OutsideWatch {
    /// Counts this cycle's moves; returns the fight's description when contested moves reach
    /// [`FIGHT_CYCLES`] within [`FIGHT_WINDOW`] cycles.
    pub fn judge(&mut self, moves: &[OutsideMove]) -> Option<String> {
        self.cycle += 1;
        let contested: Vec<&OutsideMove> = moves.iter().filter(|m| m.contested).collect();
        if !contested.is_empty() {
            self.contested.push_back(self.cycle);
        }
        while self
            .contested
            .front()
            .is_some_and(|c| *c + FIGHT_WINDOW <= self.cycle)
        {
            self.contested.pop_front();
        }
        if self.contested.len() < FIGHT_CYCLES || contested.is_empty() {
            return None;
        }
        let symbols: Vec<String> = contested
            .iter()
            .map(|m| format!("{} expected {} read {}", m.symbol, m.expected, m.actual))
            .collect();
        Some(format!(
            "another trader on this account: positions moved against this engine's own orders in {} of the last {} cycles ({}); stop the other engine or trader, then run `tradeengine kill --release`",
            self.contested.len(),
            FIGHT_WINDOW.min(self.cycle),
            symbols.join(", ")
        ))
    }

    /// Follows the kill switch: a release starts the count afresh (the operator has dealt with
    /// the other trader, or says so).
    pub fn kill_seen(&mut self, killed: bool, now: Timestamp) {
        if killed {
            self.freezing_since = None;
        } else if self.was_killed {
            self.contested.clear();
        }
        if self
            .freezing_since
            .is_some_and(|at| (now - at).num_milliseconds() > FREEZE_PROPAGATION_MS)
        {
            self.freezing_since = None;
        }
        self.was_killed = killed;
    }

    /// The cycle is about to trade. Until its own reads are remembered, the previous ones stay
    /// and are assumed to be followed by orders: a cycle that fails after sending leaves the
    /// older reads, and the next judgement must read back the orders it sent.
    pub fn trading(&mut self) {
        if let Some(prev) = &mut self.prev {
            prev.sent = true;
        }
    }

    /// Whether a freeze this worker just engaged still waits to show in the shared state.
    pub fn freezing(&self) -> bool {
        self.freezing_since.is_some() || self.held_here
    }

    /// Whether to log this symbol's move at WARN now (else at debug).
    fn warn_now(&mut self, symbol: &Symbol, now: Timestamp) -> bool {
        let due = self
            .warned
            .get(symbol)
            .is_none_or(|at| (now - *at).num_milliseconds() >= WARN_EVERY_MS);
        if due {
            self.warned.insert(symbol.clone(), now);
        }
        due
    }
}

impl AccountWorker {
    /// After the start-of-cycle read: judges what moved from outside since the previous
    /// cycle's read, and freezes the account when it is a fight. Returns the kill action this
    /// cycle runs under (`kill`, or a freeze this worker just engaged).
    pub(super) async fn watch_outside(
        &mut self,
        market: &Market,
        settlement: &Settlement,
        kill: Option<KillAction>,
        now: Timestamp,
    ) -> Result<Option<KillAction>, CycleError> {
        self.outside.kill_seen(kill.is_some(), now);
        let moves = self.outside_moves_now(market, settlement).await?;
        for m in &moves {
            self.report_outside_move(m, now).await?;
        }
        if let Some(fight) = self.outside.judge(&moves)
            && kill.is_none()
            && !self.outside.freezing()
        {
            tracing::error!(account = %self.name, reason = %fight, "FREEZING the account: another trader is moving its positions");
            match crate::killswitch::freeze_account(&*self.store, &self.name, &fight, now).await? {
                crate::killswitch::FreezeOutcome::NotStored => {
                    tracing::error!(account = %self.name, "the stored kill switch flattens other accounts and cannot also freeze this one: this engine holds the account frozen itself until it restarts");
                    self.outside.held_here = true;
                }
                _ => self.outside.freezing_since = Some(now),
            }
        }
        Ok(match kill {
            None if self.outside.freezing() => Some(KillAction::Freeze),
            other => other,
        })
    }

    /// This cycle's moves from outside (none at the first cycle, or when our own orders since
    /// the previous read cannot all be read back).
    async fn outside_moves_now(
        &self,
        market: &Market,
        settlement: &Settlement,
    ) -> Result<Vec<OutsideMove>, CycleError> {
        let Some(prev) = &self.outside.prev else {
            return Ok(Vec::new());
        };
        let ours = if prev.sent {
            let orders = self
                .store
                .orders(&OrderFilter {
                    account: Some(self.name.clone()),
                    limit: Some(ORDERS_READ),
                    ..OrderFilter::default()
                })
                .await?;
            let sequence = |id: &PlanId| self.plan_ids.sequence(id);
            match our_fills(&orders, ORDERS_READ as usize, prev.plans_from, &sequence) {
                Some(fills) => fills,
                None => return Ok(Vec::new()),
            }
        } else {
            OurFills::default()
        };
        let tolerance = |s: &Symbol| self.instruments.get(s).map(half_lot).unwrap_or_default();
        Ok(outside_moves(
            prev,
            &sizes(&market.positions),
            &ours,
            &settlement.open_symbols,
            &tolerance,
        ))
    }

    /// Logs (rate-limited), counts and audits one move from outside.
    async fn report_outside_move(
        &mut self,
        m: &OutsideMove,
        now: Timestamp,
    ) -> Result<(), CycleError> {
        crate::telemetry::outside_position_change(self.name.as_str(), m.contested);
        if self.outside.warn_now(&m.symbol, now) {
            tracing::warn!(
                account = %self.name, symbol = %m.symbol, expected = %m.expected, read = %m.actual,
                contested = m.contested,
                "position moved outside this engine (a manual trade, a liquidation, or another engine on this account); a cycle trades it back to target"
            );
        } else {
            tracing::debug!(account = %self.name, symbol = %m.symbol, expected = %m.expected, read = %m.actual, "position moved outside this engine");
        }
        AuditPayload::PositionMovedOutside {
            moved_outside: m.actual - m.expected,
            expected: m.expected,
            read: m.actual,
            contested: m.contested,
        }
        .record(
            &*self.store,
            Some(self.name.as_str()),
            Some(m.symbol.as_str()),
            now,
        )
        .await?;
        Ok(())
    }

    /// Keeps this cycle's reads for the next cycle's judgement. `plans_from` is the plan
    /// counter before this cycle planned anything.
    pub(super) fn remember_reads(
        &mut self,
        plans_from: u64,
        market: &Market,
        planned: bool,
        settlement: &Settlement,
    ) {
        self.outside.prev = Some(Reads {
            plans_from,
            start: sizes(&market.positions),
            sent: planned,
            unsettled: settlement.open_symbols.clone(),
        });
    }
}

#[cfg(test)]
#[path = "outside_tests.rs"]
mod tests;
