//! [`PaperVenue`]: the [`Venue`] implementation over the ledger, the order rules, a price feed
//! and a state store.
//!
//! ## One transaction per call
//!
//! Every call runs under one lock, on a copy of the state:
//!
//! 1. **sweep**: resting limit orders the feed price has crossed are filled at their limit price
//!    with the maker fee, or cancelled if they became invalid (a reduce-only order that would
//!    now grow the position, or no margin left);
//! 2. the call's own change is validated in full, then applied to the copy;
//! 3. if anything changed, the copy is saved, and only then becomes the live state.
//!
//! So a refused call changes nothing (beyond the sweep), and a failed save changes nothing in
//! memory either: the call returns `Ambiguous` with code `state_save_failed`, because the file
//! may or may not have been replaced. As for any venue, the caller settles that by querying the
//! client order id.
//!
//! A save is file I/O with two fsyncs on the calling task's thread (milliseconds). That is
//! fine for a venue called a few times per cycle; it is the price of never losing a fill.
//!
//! Limit orders see the price only when the venue is called (or [`PaperVenue::tick`] is): a
//! price that crosses and comes back between two calls does not fill them.
//!
//! ## Idempotency
//!
//! Accepted orders are kept by client order id. Placing an id again with the *same* request
//! returns that order's status (as it stands now) and fills nothing; the same id with a
//! different request is refused (`duplicate_client_order_id`), because it is a bug, not a
//! retry. Refused orders are not kept, so a retry after a refusal is judged afresh, like on a
//! real venue.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use rust_decimal::Decimal;
use tradeengine_model::{
    ClientOrderId, Clock, Fill, Instrument, MarginMode, OrderRequest, OrderState, OrderStatus,
    Position, Price, Symbol, Timestamp,
};

use super::orders::{VENUE, internal, rejected};
use super::{PaperConfig, PaperError, PaperOrder, PaperPnl, PaperState, PaperStateStore};
use crate::{AccountBalance, PriceFeed, Venue, VenueError, VenueErrorKind};

/// A simulated account filling against a [`PriceFeed`]. Cheap to share as `Arc<dyn Venue>`.
pub struct PaperVenue {
    pub(super) config: PaperConfig,
    instruments: BTreeMap<Symbol, Instrument>,
    pub(super) feed: Arc<dyn PriceFeed>,
    clock: Arc<dyn Clock>,
    store: Box<dyn PaperStateStore>,
    state: Mutex<PaperState>,
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
            None => {
                let fresh = PaperState::new(config.starting_balance);
                store.save(&fresh)?;
                fresh
            }
        };
        Ok(Self {
            config,
            instruments,
            feed,
            clock,
            store,
            state: Mutex::new(state),
        })
    }

    /// The price feed this account fills against (strategy sources build their candles from it,
    /// so they decide on the prices the account trades at).
    pub fn feed(&self) -> Arc<dyn PriceFeed> {
        self.feed.clone()
    }

    /// Every fill so far, oldest first (after filling any crossed limit orders).
    pub fn fills(&self) -> Result<Vec<Fill>, VenueError> {
        self.read(|st, _| Ok(st.fills.clone()))
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
        let mut live = self.lock();
        let now = self.clock.now();
        let mut next = live.clone();
        let settled = self.sweep(&mut next, now)?;
        self.commit(&mut live, next)?;
        Ok(settled)
    }

    /// A copy of the whole account as it stands (no sweep), for inspection and tests.
    pub fn snapshot(&self) -> PaperState {
        self.lock().clone()
    }

    // ----- transactions -------------------------------------------------------------------

    /// The state stays consistent even if a thread panicked while holding the lock: changes
    /// are made on a copy and swapped in whole, so taking the poisoned value is safe.
    fn lock(&self) -> MutexGuard<'_, PaperState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Saves `next` and makes it live, if it differs from the live state.
    fn commit(&self, live: &mut PaperState, next: PaperState) -> Result<(), VenueError> {
        if *live == next {
            return Ok(());
        }
        self.store.save(&next).map_err(|e| {
            VenueError::new(
                VENUE,
                VenueErrorKind::Ambiguous,
                format!("change not applied in memory; saving it failed and may or may not have reached the file: {e}"),
            )
            .with_code("state_save_failed")
        })?;
        *live = next;
        Ok(())
    }

    fn read<T>(
        &self,
        op: impl FnOnce(&PaperState, Timestamp) -> Result<T, VenueError>,
    ) -> Result<T, VenueError> {
        let mut live = self.lock();
        let now = self.clock.now();
        if !self.crossed_orders(&live, now).is_empty() {
            let mut next = live.clone();
            self.sweep(&mut next, now)?;
            self.commit(&mut live, next)?;
        }
        op(&live, now)
    }

    fn write<T>(
        &self,
        op: impl FnOnce(&mut PaperState, Timestamp) -> Result<T, VenueError>,
    ) -> Result<T, VenueError> {
        let mut live = self.lock();
        let now = self.clock.now();
        let swept = if self.crossed_orders(&live, now).is_empty() {
            None
        } else {
            let mut s = live.clone();
            self.sweep(&mut s, now)?;
            Some(s)
        };
        let mut next = swept.clone().unwrap_or_else(|| live.clone());
        match op(&mut next, now) {
            Ok(v) => {
                self.commit(&mut live, next)?;
                Ok(v)
            }
            Err(e) => {
                if let Some(s) = swept {
                    self.commit(&mut live, s)?;
                }
                Err(e)
            }
        }
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
            st.positions.insert(symbol.clone(), next);
            Ok(())
        })
    }

    /// Stored per symbol and reported on positions; margin is checked as cross either way.
    async fn set_margin_mode(&self, symbol: &Symbol, mode: MarginMode) -> Result<(), VenueError> {
        self.write(|st, _| {
            self.instrument(symbol)?;
            let mut p = st.position_or_flat(symbol, self.config.default_leverage);
            p.margin_mode = mode;
            st.positions.insert(symbol.clone(), p);
            Ok(())
        })
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderStatus, VenueError> {
        self.write(|st, now| self.place(st, order, now))
    }

    /// Cancelling a finished order is not an error: its final status is returned.
    async fn cancel_order(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderStatus, VenueError> {
        self.write(|st, now| match st.orders.get_mut(client_order_id) {
            Some(o) if o.request.symbol == *symbol => {
                if !o.status.state.is_terminal() {
                    o.status.state = OrderState::Cancelled;
                    o.status.updated_at = now;
                }
                Ok(o.status.clone())
            }
            _ => Err(rejected(
                "order_not_found",
                format!("no order {client_order_id} in {symbol}"),
            )),
        })
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
