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
//! A read that differs is a **move from outside**: logged at WARN (once per symbol per ten
//! minutes), counted in `tradeengine_outside_position_changes_total` and audited. It is
//! **contested** when this engine itself traded the symbol in the same window (it moved the
//! position and something else moved it again before the next read), and it **counts toward a
//! fight** when this engine traded the symbol within the last [`FIGHT_WINDOW_MINUTES`] minutes:
//! a symbol the engine trades back to its target. [`FIGHT_MOVES`] cycles with such moves within
//! that window are a fight, and the account is frozen through the stored kill switch (nothing
//! sent, positions kept), which survives restarts and shows in `status`, the API and the
//! dashboard until an operator stops the other trader and runs `tradeengine kill --release`.
//!
//! Why not contested moves only: two engines whose cycles are seconds apart each re-read right
//! after their own fill, and each sees the other's trade only in a later window in which it did
//! not trade itself; every move then looks uncontested while they flip the position back and
//! forth. What they share is that each keeps moving a symbol the other keeps trading back.
//!
//! Why these thresholds: a liquidation, an auto-deleverage or one manual close is a single move
//! and never freezes the account; a position in a symbol this engine does not trade (held,
//! unconfigured) never counts; a read that lagged the venue explains one false move, not three
//! within half an hour (the fault suite's 1,000 scenarios see none at all).

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

/// Cycles with moves from outside on symbols this engine trades, within
/// [`FIGHT_WINDOW_MINUTES`], that freeze the account.
pub const FIGHT_MOVES: usize = 3;
/// How far back the fight count and "a symbol this engine trades" look.
pub const FIGHT_WINDOW_MINUTES: i64 = 30;
/// The same symbol's move from outside is logged at WARN at most this often (milliseconds).
const WARN_EVERY_MS: i64 = 10 * 60 * 1000;
/// Most orders read back per judgement: more than any cycle plans (an incomplete read judges
/// nothing).
const ORDERS_READ: i64 = 2000;
/// Orders read back first: a cycle's own orders usually fit, so a judgement costs what the
/// last cycle did, not the account's history; a bigger cycle reads 4× more until complete.
const FIRST_ORDERS_READ: i64 = 64;

/// What one cycle read, kept for the next cycle's judgement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    /// Plans issued from here on (their [`crate::plan_ids::PlanIds::sequence`]) are this
    /// engine's since the start read.
    pub plans_from: u64,
    /// Positions read at the cycle's start, base units, non-flat only.
    pub start: BTreeMap<Symbol, Decimal>,
    /// Whether the cycle made any plan (else nothing of ours can have filled since).
    pub planned: bool,
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
    /// This engine traded the symbol in the same window: two traders are moving it.
    pub contested: bool,
    /// This engine traded the symbol within [`FIGHT_WINDOW_MINUTES`] (it trades it back to
    /// target): the move counts toward a fight. Set by [`OutsideWatch::judge`].
    pub counts: bool,
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
                counts: false,
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
    /// When this engine last had a fill in each symbol.
    traded: BTreeMap<Symbol, Timestamp>,
    /// When cycles with moves that count toward a fight were judged, oldest first.
    fight_cycles: VecDeque<Timestamp>,
    warned: BTreeMap<Symbol, Timestamp>,
    /// This worker engaged the freeze at this time and the shared kill state may not show it
    /// yet (the watcher reads the store every second): the worker freezes meanwhile.
    freezing_since: Option<Timestamp>,
    /// Whether the kill switch held this account at the last judgement.
    was_killed: bool,
    /// The fight could not be stored in the switch (it flattens other accounts): this worker
    /// holds the account frozen, and stores the freeze as soon as that switch is released.
    held_here: Option<String>,
    /// Whether a freeze held before a restart ([`crate::killswitch::PendingFreeze`]) was read.
    pending_read: bool,
}

/// How long a freeze this worker engaged is applied before the shared kill state shows it.
const FREEZE_PROPAGATION_MS: i64 = 5_000;

impl OutsideWatch {
    /// Notes the symbols this engine filled since the last read (`ours`), marks which `moves`
    /// count toward a fight, and returns the fight's description when cycles with such moves
    /// reach [`FIGHT_MOVES`] within [`FIGHT_WINDOW_MINUTES`].
    pub fn judge(
        &mut self,
        moves: &mut [OutsideMove],
        ours: &OurFills,
        now: Timestamp,
    ) -> Option<String> {
        let window = chrono::Duration::minutes(FIGHT_WINDOW_MINUTES);
        for (symbol, net) in &ours.net {
            if !net.is_zero() {
                self.traded.insert(symbol.clone(), now);
            }
        }
        self.traded.retain(|_, at| now - *at <= window);
        for m in moves.iter_mut() {
            m.counts = m.contested || self.traded.contains_key(&m.symbol);
        }
        while self
            .fight_cycles
            .front()
            .is_some_and(|at| now - *at > window)
        {
            self.fight_cycles.pop_front();
        }
        let counting: Vec<&OutsideMove> = moves.iter().filter(|m| m.counts).collect();
        if counting.is_empty() {
            return None;
        }
        self.fight_cycles.push_back(now);
        if self.fight_cycles.len() < FIGHT_MOVES {
            return None;
        }
        let symbols: Vec<String> = counting
            .iter()
            .map(|m| format!("{} expected {} read {}", m.symbol, m.expected, m.actual))
            .collect();
        Some(format!(
            "another trader on this account: positions this engine trades moved from outside in {} cycles within {FIGHT_WINDOW_MINUTES} minutes, each traded back ({}); stop the other engine or trader, then run `tradeengine kill --release`",
            self.fight_cycles.len(),
            symbols.join(", ")
        ))
    }

    /// Follows the kill switch: a release starts the count afresh (the operator has dealt with
    /// the other trader, or says so).
    pub fn kill_seen(&mut self, killed: bool, now: Timestamp) {
        if killed {
            self.freezing_since = None;
        } else if self.was_killed {
            self.fight_cycles.clear();
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
            prev.planned = true;
        }
    }

    /// Whether a freeze this worker just engaged still waits to show in the shared state.
    pub fn freezing(&self) -> bool {
        self.freezing_since.is_some() || self.held_here.is_some()
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
        if !self.outside.pending_read {
            let pending = crate::killswitch::read_pending_freezes(&*self.store).await?;
            if let Some(p) = pending.into_iter().find(|p| p.account == self.name) {
                tracing::error!(account = %self.name, reason = %p.reason, since = %p.since, "this account stays FROZEN: the engine froze it before the restart, and the stored kill switch (a flatten of other accounts) cannot hold it yet");
                self.outside.held_here = Some(p.reason);
            }
            self.outside.pending_read = true;
        }
        let (mut moves, ours) = self.outside_moves_now(market, settlement).await?;
        let fight = self.outside.judge(&mut moves, &ours, now);
        for m in &moves {
            self.report_outside_move(m, now).await?;
        }
        // A freeze held in memory (the switch flattened other accounts) is stored as soon as
        // the switch allows it, so `status` shows it and `kill --release` releases it.
        let fight = fight.or_else(|| self.outside.held_here.clone());
        if let Some(fight) = fight
            && kill.is_none()
            && self.outside.freezing_since.is_none()
        {
            if self.outside.held_here.is_none() {
                tracing::error!(account = %self.name, reason = %fight, "FREEZING the account: another trader is moving its positions");
            }
            match crate::killswitch::freeze_account(&*self.store, &self.name, &fight, now).await? {
                crate::killswitch::FreezeOutcome::NotStored => {
                    if self.outside.held_here.is_none() {
                        tracing::error!(account = %self.name, "the stored kill switch flattens other accounts and cannot also freeze this one: this engine holds the account frozen itself, and stores the freeze once that switch is released");
                    }
                    self.outside.held_here = Some(fight);
                }
                _ => {
                    self.outside.held_here = None;
                    self.outside.freezing_since = Some(now);
                }
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
    ) -> Result<(Vec<OutsideMove>, OurFills), CycleError> {
        let Some(prev) = &self.outside.prev else {
            return Ok((Vec::new(), OurFills::default()));
        };
        let ours = if prev.planned {
            let sequence = |id: &PlanId| self.plan_ids.sequence(id);
            let mut limit = FIRST_ORDERS_READ;
            loop {
                let orders = self
                    .store
                    .orders(&OrderFilter {
                        account: Some(self.name.clone()),
                        limit: Some(limit),
                        ..OrderFilter::default()
                    })
                    .await?;
                match our_fills(&orders, limit as usize, prev.plans_from, &sequence) {
                    Some(fills) => break fills,
                    None if limit < ORDERS_READ => limit = (limit * 4).min(ORDERS_READ),
                    None => return Ok((Vec::new(), OurFills::default())),
                }
            }
        } else {
            OurFills::default()
        };
        let tolerance = |s: &Symbol| self.instruments.get(s).map(half_lot).unwrap_or_default();
        let moves = outside_moves(
            prev,
            &sizes(&market.positions),
            &ours,
            &settlement.open_symbols,
            &tolerance,
        );
        Ok((moves, ours))
    }

    /// Logs (rate-limited), counts and audits one move from outside.
    async fn report_outside_move(
        &mut self,
        m: &OutsideMove,
        now: Timestamp,
    ) -> Result<(), CycleError> {
        crate::telemetry::outside_position_change(self.name.as_str(), m.counts);
        // A move that counts toward a fight is always logged: at most a few come before the
        // freeze.
        if m.counts || self.outside.warn_now(&m.symbol, now) {
            tracing::warn!(
                account = %self.name, symbol = %m.symbol, expected = %m.expected, read = %m.actual,
                contested = m.contested, traded_back = m.counts,
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
            traded_back: m.counts,
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
            planned,
            unsettled: settlement.open_symbols.clone(),
        });
    }
}

#[cfg(test)]
#[path = "outside_tests.rs"]
mod tests;
