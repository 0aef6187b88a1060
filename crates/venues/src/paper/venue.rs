//! [`PaperVenue`]: the [`Venue`] implementation over the ledger, the order rules, a price feed
//! and a state store.
//!
//! ## One transaction per call
//!
//! Every call runs under one lock, as a [`Txn`] on the live state:
//!
//! 1. **sweep**: resting limit orders the feed price has crossed are filled at their limit price
//!    with the maker fee, or cancelled if they became invalid (a reduce-only order that would
//!    now grow the position, or no margin left);
//! 2. the call's own change is validated in full and applied; a refusal undoes it (the sweep
//!    stays);
//! 3. if anything changed, the change is appended to the journal, and only once that is
//!    durable does the call return.
//!
//! So a refused call changes nothing (beyond the sweep), and a failed append changes nothing in
//! memory either: the call returns `Ambiguous` with code `state_save_failed`, and the store makes
//! sure the failed record is never replayed. As for any venue, the caller settles that by
//! querying the client order id.
//!
//! An append is one `fdatasync` of a record the size of the change, on the calling task's
//! thread. Every [`COMPACT_EVERY`] records the whole (bounded) state is written as the new
//! snapshot and the journal starts again; every open does the same.
//!
//! ## Bounded state
//!
//! Memory and snapshots hold positions, open orders, the last `recent_orders` finished orders
//! and the last `recent_fills` fills ([`PaperConfig`]); older ones are dropped. The engine's
//! store keeps the full history: it records each order's outcome and fill as the call returns.
//!
//! Limit orders see the price only when the venue is called (or [`PaperVenue::tick`] is): a
//! price that crosses and comes back between two calls does not fill them.
//!
//! ## Idempotency
//!
//! Open orders and the last `recent_orders` finished ones are kept by client order id. Placing
//! a kept id again with the *same* request returns that order's status (as it stands now) and
//! fills nothing; the same id with a different request is refused
//! (`duplicate_client_order_id`), because it is a bug, not a retry. Refused orders are not kept,
//! so a retry after a refusal is judged afresh, like on a real venue.
//!
//! The window is a count, not a time, because of what the engine asks for: it looks an order
//! up by client id only while its own store has not recorded the order's end, that is, right
//! after an ambiguous reply within the cycle, and at its next start for the orders a crash cut
//! short. Both are among the latest orders of the account (at most one cycle's worth: one per
//! planned leg), whatever the time since, so a window of the last 4,096 finished orders covers
//! dozens of cycles of a 50-symbol account. An order that has left the window is answered as
//! unknown, as real venues do once their history window has passed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use rust_decimal::Decimal;
use tradeengine_model::{
    ClientOrderId, Clock, Fill, Instrument, MarginMode, OrderRequest, OrderState, OrderStatus,
    Position, Price, Symbol, Timestamp,
};

use super::orders::{VENUE, internal, rejected};
use super::state::STATE_VERSION;
use super::txn::Txn;
use super::{PaperConfig, PaperError, PaperOrder, PaperPnl, PaperState, PaperStateStore};
use crate::{AccountBalance, PriceFeed, Venue, VenueError, VenueErrorKind};

/// A simulated account filling against a [`PriceFeed`]. Cheap to share as `Arc<dyn Venue>`.
pub struct PaperVenue {
    pub(super) config: PaperConfig,
    instruments: BTreeMap<Symbol, Instrument>,
    pub(super) feed: Arc<dyn PriceFeed>,
    clock: Arc<dyn Clock>,
    store: Box<dyn PaperStateStore>,
    live: Mutex<Live>,
}

/// Journal records between two compactions: replaying them at open stays quick, and the
/// snapshot (at most `recent_orders` finished orders) is written once per this many changes.
pub const COMPACT_EVERY: usize = 1024;

/// The account as it stands, with what bounds it.
#[derive(Debug)]
struct Live {
    state: PaperState,
    /// Finished orders in the order they finished, oldest first: the next to leave the
    /// recent-order index.
    finished: VecDeque<ClientOrderId>,
    /// The orders of `state.orders` not finished yet: the only ones a sweep can settle. Kept
    /// so a call does not walk the whole recent-order window (up to `recent_orders` finished
    /// orders) to find the few resting ones, which made every read cost more as a session
    /// filled its window.
    resting: BTreeSet<ClientOrderId>,
    /// Journal records since the last compaction.
    since_compaction: usize,
}

impl std::fmt::Debug for PaperVenue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaperVenue")
            .field("instruments", &self.instruments.keys().collect::<Vec<_>>())
            .field("feed", &self.feed)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl PaperVenue {
    /// Opens the account saved in `store`, or creates one holding `config.starting_balance`
    /// (and saves it at once, so a broken store fails here rather than after the first fill).
    pub fn open(
        config: PaperConfig,
        feed: Arc<dyn PriceFeed>,
        clock: Arc<dyn Clock>,
        store: Box<dyn PaperStateStore>,
    ) -> Result<Self, PaperError> {
        config.validate()?;
        let instruments: BTreeMap<Symbol, Instrument> = config
            .instruments
            .iter()
            .map(|i| (i.symbol.clone(), i.clone()))
            .collect();
        let state = match store.load()? {
            Some(saved) => {
                saved.check(&instruments).map_err(PaperError::BadState)?;
                saved
            }
            None => PaperState::new(config.starting_balance),
        };
        let live = bounded(state, &config);
        // Folds the journal into a fresh snapshot (and trims a state saved with a larger
        // window or by an older version); on a new account, a broken store fails here rather
        // than after the first fill.
        store.compact(&live.state)?;
        Ok(Self {
            config,
            instruments,
            feed,
            clock,
            store,
            live: Mutex::new(live),
        })
    }

    /// The price feed this account fills against (strategy sources build their candles from it,
    /// so they decide on the prices the account trades at).
    pub fn feed(&self) -> Arc<dyn PriceFeed> {
        self.feed.clone()
    }

    /// The most recent fills (at most `recent_fills`), oldest first, after filling any
    /// crossed limit orders. The full history is in the engine's store.
    pub fn fills(&self) -> Result<Vec<Fill>, VenueError> {
        self.read(|st, _| Ok(st.fills.iter().cloned().collect()))
    }

    /// Realised and unrealised P&L, fees, balance and equity at the feed's current prices.
    pub fn pnl(&self) -> Result<PaperPnl, VenueError> {
        self.read(|st, now| {
            let marks = self.marks(st, None, now)?;
            st.pnl(&marks).ok_or_else(|| internal("P&L overflows"))
        })
    }

    /// Fills (or cancels) resting limit orders the feed price has crossed now; returns how many
    /// orders it settled. Every other call does this too; `tick` is for a driver loop with
    /// nothing else to ask.
    pub fn tick(&self) -> Result<usize, VenueError> {
        self.write(|_, _| Ok(())).map(|((), settled)| settled)
    }

    /// A copy of the whole account as it stands (no sweep), for inspection and tests.
    pub fn snapshot(&self) -> PaperState {
        self.lock().state.clone()
    }

    // ----- transactions -------------------------------------------------------------------

    /// The state stays consistent even if a thread panicked while holding the lock: a
    /// [`Txn`] dropped before it is finished (as in unwinding) undoes its writes, so taking the
    /// poisoned value is safe.
    fn lock(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Journals what `txn` wrote and makes it final; on failure undoes it all.
    fn commit(
        &self,
        txn: Txn<'_>,
        finished: &mut VecDeque<ClientOrderId>,
        resting: &mut BTreeSet<ClientOrderId>,
    ) -> Result<bool, VenueError> {
        if txn.is_empty() {
            return Ok(false);
        }
        let seq = txn
            .journal_seq
            .checked_add(1)
            .ok_or_else(|| internal("journal sequence overflows"))?;
        let cap = self.config.recent_orders;
        let (change, moves) = txn.change(
            seq,
            |new| {
                let over = (finished.len() + new.len()).saturating_sub(cap);
                finished.iter().chain(new).take(over).cloned().collect()
            },
            self.config.recent_fills,
        );
        if let Err(e) = self.store.append(&change) {
            txn.rollback();
            return Err(VenueError::new(
                VENUE,
                VenueErrorKind::Ambiguous,
                format!("change not applied in memory; saving it failed and may or may not have reached the file: {e}"),
            )
            .with_code("state_save_failed"));
        }
        txn.finish(&change);
        finished.extend(moves.finished);
        finished.drain(..change.evicted.len().min(finished.len()));
        for o in &change.orders {
            let id = &o.request.client_order_id;
            if o.status.state.is_terminal() {
                resting.remove(id);
            } else {
                resting.insert(id.clone());
            }
        }
        for id in &change.evicted {
            resting.remove(id);
        }
        Ok(true)
    }

    /// After a committed change: every [`COMPACT_EVERY`] records, the state becomes the new
    /// snapshot. The change itself is already durable in the journal, so a failed compaction
    /// is only logged (and tried again after as many records).
    fn after_commit(&self, live: &mut Live) {
        live.since_compaction += 1;
        if live.since_compaction < COMPACT_EVERY {
            return;
        }
        live.since_compaction = 0;
        if let Err(e) = self.store.compact(&live.state) {
            tracing::warn!(error = %e, "paper state compaction failed; the journal keeps growing until the next one");
        }
    }

    fn read<T>(
        &self,
        op: impl FnOnce(&PaperState, Timestamp) -> Result<T, VenueError>,
    ) -> Result<T, VenueError> {
        let mut guard = self.lock();
        let now = self.clock.now();
        if !self
            .crossed_orders(&guard.state, &guard.resting, now)
            .is_empty()
        {
            let live = &mut *guard;
            let mut txn = Txn::begin(&mut live.state);
            if let Err(e) = self.sweep(&mut txn, &live.resting, now) {
                txn.rollback();
                return Err(e);
            }
            if self.commit(txn, &mut live.finished, &mut live.resting)? {
                self.after_commit(live);
            }
        }
        op(&guard.state, now)
    }

    /// Runs `op` after the sweep; returns its result and how many orders the sweep settled.
    fn write<T>(
        &self,
        op: impl FnOnce(&mut Txn<'_>, Timestamp) -> Result<T, VenueError>,
    ) -> Result<(T, usize), VenueError> {
        let mut guard = self.lock();
        let live = &mut *guard;
        let now = self.clock.now();
        let mut txn = Txn::begin(&mut live.state);
        let settled = match self.sweep(&mut txn, &live.resting, now) {
            Ok(n) => n,
            Err(e) => {
                txn.rollback();
                return Err(e);
            }
        };
        let swept = txn.savepoint();
        let result = op(&mut txn, now);
        if result.is_err() {
            txn.rollback_to(swept);
        }
        if self.commit(txn, &mut live.finished, &mut live.resting)? {
            self.after_commit(live);
        }
        result.map(|v| (v, settled))
    }

    // ----- prices and rules ---------------------------------------------------------------

    pub(super) fn instrument(&self, symbol: &Symbol) -> Result<&Instrument, VenueError> {
        self.instruments.get(symbol).ok_or_else(|| {
            rejected(
                "unknown_symbol",
                format!("{symbol} is not traded on this paper venue"),
            )
        })
    }

    pub(super) fn mark(&self, symbol: &Symbol, now: Timestamp) -> Result<Price, VenueError> {
        self.feed.price(symbol, now).ok_or_else(|| {
            VenueError::new(
                VENUE,
                VenueErrorKind::Retryable,
                format!("the price feed has no price for {symbol} at {now}"),
            )
            .with_code("no_price")
        })
    }

    /// Marks of every open position, plus `extra`.
    pub(super) fn marks(
        &self,
        st: &PaperState,
        extra: Option<&Symbol>,
        now: Timestamp,
    ) -> Result<BTreeMap<Symbol, Price>, VenueError> {
        st.open_symbols()
            .chain(extra)
            .map(|s| Ok((s.clone(), self.mark(s, now)?)))
            .collect()
    }
}

#[async_trait]
impl Venue for PaperVenue {
    fn kind(&self) -> &'static str {
        VENUE
    }

    /// Equity: wallet balance (starting balance + realised P&L − fees) plus unrealised P&L at
    /// the feed's prices. See the ledger module docs for why equity is the right `V`.
    async fn account_value(&self) -> Result<Decimal, VenueError> {
        Ok(self.account_balance().await?.value)
    }

    /// Equity, and equity minus the initial margin of open positions: the margin check a paper
    /// order must pass (see `margin_if`).
    async fn account_balance(&self) -> Result<AccountBalance, VenueError> {
        self.read(|st, now| {
            let marks = self.marks(st, None, now)?;
            let m = st
                .margin_figures(&marks)
                .ok_or_else(|| internal("equity overflows"))?;
            Ok(AccountBalance {
                value: m.equity,
                available_margin: m.equity.checked_sub(m.initial_margin),
            })
        })
    }

    async fn positions(&self) -> Result<Vec<Position>, VenueError> {
        self.read(|st, _| {
            Ok(st
                .positions
                .values()
                .filter(|p| !p.size.is_zero())
                .cloned()
                .collect())
        })
    }

    async fn instruments(&self, symbols: &[Symbol]) -> Result<Vec<Instrument>, VenueError> {
        symbols
            .iter()
            .map(|s| self.instrument(s).cloned())
            .collect()
    }

    async fn prices(&self, symbols: &[Symbol]) -> Result<BTreeMap<Symbol, Price>, VenueError> {
        let now = self.clock.now();
        symbols
            .iter()
            .map(|s| Ok((s.clone(), self.mark(s, now)?)))
            .collect()
    }

    /// Leverage must be in `1..=min(config.max_leverage, instrument.max_leverage)`; lowering
    /// it under an open position is refused if the margin would no longer fit.
    async fn set_leverage(&self, symbol: &Symbol, leverage: Decimal) -> Result<(), VenueError> {
        self.write(|st, now| {
            let instrument = self.instrument(symbol)?;
            let max = self.config.max_leverage.min(instrument.max_leverage);
            if leverage < Decimal::ONE || leverage > max {
                return Err(rejected(
                    "bad_leverage",
                    format!("{symbol}: leverage {leverage} is outside 1 to {max}"),
                ));
            }
            let current = st.position_or_flat(symbol, self.config.default_leverage);
            if current.leverage == leverage {
                return Ok(());
            }
            let mut next = current.clone();
            next.leverage = leverage;
            if !current.size.is_zero() {
                let marks = self.marks(st, None, now)?;
                self.check_margin(st, &marks, &current, &next, Decimal::ZERO)?;
            }
            st.set_position(next);
            Ok(())
        })
        .map(|((), _)| ())
    }

    /// Stored per symbol and reported on positions; margin is checked as cross either way.
    async fn set_margin_mode(&self, symbol: &Symbol, mode: MarginMode) -> Result<(), VenueError> {
        self.write(|st, _| {
            self.instrument(symbol)?;
            let mut p = st.position_or_flat(symbol, self.config.default_leverage);
            p.margin_mode = mode;
            st.set_position(p);
            Ok(())
        })
        .map(|((), _)| ())
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        self.write(|st, now| self.place(st, order, now))
            .map(|(status, _)| status)
    }

    /// Cancelling a finished order is not an error: its final status is returned.
    async fn cancel_order(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderStatus, VenueError> {
        self.write(|st, now| match st.orders.get(client_order_id) {
            Some(o) if o.request.symbol == *symbol => {
                if o.status.state.is_terminal() {
                    return Ok(o.status.clone());
                }
                let mut cancelled = o.clone();
                cancelled.status.state = OrderState::Cancelled;
                cancelled.status.updated_at = now;
                let status = cancelled.status.clone();
                st.put_order(cancelled);
                Ok(status)
            }
            _ => Err(rejected(
                "order_not_found",
                format!("no order {client_order_id} in {symbol}"),
            )),
        })
        .map(|(status, _)| status)
    }

    async fn order_by_client_id(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, VenueError> {
        self.read(|st, _| {
            Ok(st
                .orders
                .get(client_order_id)
                .filter(|o| o.request.symbol == *symbol)
                .map(|o| o.status.clone()))
        })
    }

    async fn open_orders(&self, symbol: Option<&Symbol>) -> Result<Vec<OrderStatus>, VenueError> {
        self.read(|st, _| {
            let mut open: Vec<&PaperOrder> = st
                .orders
                .values()
                .filter(|o| !o.status.state.is_terminal())
                .filter(|o| symbol.is_none_or(|s| o.request.symbol == *s))
                .collect();
            open.sort_by_key(|o| o.seq);
            Ok(open.into_iter().map(|o| o.status.clone()).collect())
        })
    }
}

/// The loaded state trimmed to the configured windows (a state saved with larger ones, or by
/// a version that kept everything), with its finished-order queue rebuilt: oldest first, by
/// the time they finished and then by sequence.
fn bounded(mut state: PaperState, config: &PaperConfig) -> Live {
    state.version = STATE_VERSION;
    let mut finished: Vec<(Timestamp, u64, ClientOrderId)> = state
        .orders
        .values()
        .filter(|o| o.status.state.is_terminal())
        .map(|o| {
            (
                o.status.updated_at,
                o.seq,
                o.request.client_order_id.clone(),
            )
        })
        .collect();
    finished.sort();
    let over = finished.len().saturating_sub(config.recent_orders);
    for (_, _, id) in finished.drain(..over) {
        state.orders.remove(&id);
    }
    let extra_fills = state.fills.len().saturating_sub(config.recent_fills);
    state.fills.drain(..extra_fills);
    let resting = state
        .orders
        .values()
        .filter(|o| !o.status.state.is_terminal())
        .map(|o| o.request.client_order_id.clone())
        .collect();
    Live {
        state,
        finished: finished.into_iter().map(|(_, _, id)| id).collect(),
        resting,
        since_compaction: 0,
    }
}
