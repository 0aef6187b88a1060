//! A call's changes to the live paper account, undoable until they are durable.
//!
//! Copying the account for every call (and comparing the copy afterwards) costs the size of the
//! account, which grows with the order history it keeps. A [`Txn`] writes in place instead and
//! logs each old value, so it can undo its writes (all of them, or back to a savepoint) and
//! list exactly what it changed as a [`PaperChange`] for the journal. Reads go through `Deref`
//! to the state as it stands inside the transaction. A transaction dropped before
//! [`Txn::finish`] (a refusal, a failed append, a panic unwinding) undoes its writes, so the
//! live state never holds a change the journal does not.

use std::collections::BTreeSet;
use std::ops::Deref;

use rust_decimal::Decimal;
use tradeengine_model::{ClientOrderId, Fill, Position, Symbol};

use super::ledger::PositionChange;
use super::{PaperChange, PaperOrder, PaperState};

/// The value a write replaced.
#[derive(Debug)]
enum Undo {
    Totals {
        balance: Decimal,
        realised_pnl: Decimal,
        fees_paid: Decimal,
        next_order_seq: u64,
    },
    Position(Symbol, Option<Position>),
    Realised(Symbol, Option<Decimal>),
    /// Boxed: an order is several times the size of the other entries.
    Order(ClientOrderId, Option<Box<PaperOrder>>),
    FillPushed,
}

/// Writes to `state` with an undo log (module docs).
#[derive(Debug)]
pub(super) struct Txn<'a> {
    state: &'a mut PaperState,
    undo: Vec<Undo>,
}

impl Deref for Txn<'_> {
    type Target = PaperState;

    fn deref(&self) -> &PaperState {
        self.state
    }
}

/// What a committed transaction did to orders, for the recent-order index.
#[derive(Debug, Default)]
pub(super) struct OrderMoves {
    /// Orders that finished in this transaction (new and already final, or open before),
    /// in the order they were written.
    pub finished: Vec<ClientOrderId>,
}

impl<'a> Txn<'a> {
    pub fn begin(state: &'a mut PaperState) -> Self {
        Self {
            state,
            undo: Vec::new(),
        }
    }

    /// Whether anything was written (and not undone).
    pub fn is_empty(&self) -> bool {
        self.undo.is_empty()
    }

    /// A point [`Self::rollback_to`] can return to.
    pub fn savepoint(&self) -> usize {
        self.undo.len()
    }

    /// Undoes every write made after `savepoint`, newest first.
    pub fn rollback_to(&mut self, savepoint: usize) {
        while self.undo.len() > savepoint {
            let Some(entry) = self.undo.pop() else { break };
            let st = &mut *self.state;
            match entry {
                Undo::Totals {
                    balance,
                    realised_pnl,
                    fees_paid,
                    next_order_seq,
                } => {
                    st.balance = balance;
                    st.realised_pnl = realised_pnl;
                    st.fees_paid = fees_paid;
                    st.next_order_seq = next_order_seq;
                }
                Undo::Position(symbol, old) => restore(&mut st.positions, symbol, old),
                Undo::Realised(symbol, old) => restore(&mut st.realised_by_symbol, symbol, old),
                Undo::Order(id, old) => restore(&mut st.orders, id, old.map(|o| *o)),
                Undo::FillPushed => {
                    st.fills.pop_back();
                }
            }
        }
    }

    /// Undoes everything (as dropping does; this says so at the call site).
    pub fn rollback(self) {}

    fn save_totals(&mut self) {
        let st = &*self.state;
        self.undo.push(Undo::Totals {
            balance: st.balance,
            realised_pnl: st.realised_pnl,
            fees_paid: st.fees_paid,
            next_order_seq: st.next_order_seq,
        });
    }

    /// Writes `position` over its symbol's; writing what is already there is no change.
    pub fn set_position(&mut self, position: Position) {
        if self.state.positions.get(&position.symbol) == Some(&position) {
            return;
        }
        let symbol = position.symbol.clone();
        let old = self.state.positions.insert(symbol.clone(), position);
        self.undo.push(Undo::Position(symbol, old));
    }

    /// Writes `order` over the one with its client order id (or adds it); writing what is
    /// already there is no change.
    pub fn put_order(&mut self, order: PaperOrder) {
        let id = order.request.client_order_id.clone();
        if self.state.orders.get(&id) == Some(&order) {
            return;
        }
        let old = self.state.orders.insert(id.clone(), order);
        self.undo.push(Undo::Order(id, old.map(Box::new)));
    }

    pub fn set_next_order_seq(&mut self, next: u64) {
        self.save_totals();
        self.state.next_order_seq = next;
    }

    /// Writes a fill: position, balance, realised P&L, fees, the fill list. All or nothing:
    /// `None` (overflow) writes nothing.
    pub fn record_fill(&mut self, change: PositionChange, fill: Fill) -> Option<()> {
        let st = &*self.state;
        let balance = st
            .balance
            .checked_add(change.realised)?
            .checked_sub(fill.fee)?;
        let realised = st.realised_pnl.checked_add(change.realised)?;
        let fees = st.fees_paid.checked_add(fill.fee)?;
        let old_by_symbol = st.realised_by_symbol.get(&fill.symbol).copied();
        let by_symbol = old_by_symbol
            .unwrap_or_default()
            .checked_add(change.realised)?;
        self.save_totals();
        let st = &mut *self.state;
        st.balance = balance;
        st.realised_pnl = realised;
        st.fees_paid = fees;
        st.realised_by_symbol.insert(fill.symbol.clone(), by_symbol);
        self.undo
            .push(Undo::Realised(fill.symbol.clone(), old_by_symbol));
        self.set_position(change.position);
        self.state.fills.push_back(fill);
        self.undo.push(Undo::FillPushed);
        Some(())
    }

    /// The journal record of everything written (numbered `seq`), and which orders finished.
    /// `evict` picks the finished orders that leave the recent-order index, given those that
    /// finished here; `keep_fills` is how many fills the recent-fill list holds.
    /// Nothing is applied to the index or the fill list yet: that happens in
    /// [`Self::finish`], once the record is durable.
    pub fn change(
        &self,
        seq: u64,
        evict: impl FnOnce(&[ClientOrderId]) -> Vec<ClientOrderId>,
        keep_fills: usize,
    ) -> (PaperChange, OrderMoves) {
        let st = &*self.state;
        let mut positions = BTreeSet::new();
        let mut realised = BTreeSet::new();
        let mut orders = Vec::new();
        let mut order_seen = BTreeSet::new();
        let mut was_open_or_new = BTreeSet::new();
        let mut fills = 0usize;
        for entry in &self.undo {
            match entry {
                Undo::Totals { .. } => {}
                Undo::Position(symbol, _) => {
                    positions.insert(symbol.clone());
                }
                Undo::Realised(symbol, _) => {
                    realised.insert(symbol.clone());
                }
                Undo::Order(id, old) => {
                    if order_seen.insert(id.clone()) {
                        orders.push(id.clone());
                        // The first undo entry of an id holds its value before the call.
                        if old.as_ref().is_none_or(|o| !o.status.state.is_terminal()) {
                            was_open_or_new.insert(id.clone());
                        }
                    }
                }
                Undo::FillPushed => fills += 1,
            }
        }
        let finished: Vec<ClientOrderId> = orders
            .iter()
            .filter(|id| was_open_or_new.contains(*id))
            .filter(|id| {
                st.orders
                    .get(*id)
                    .is_some_and(|o| o.status.state.is_terminal())
            })
            .cloned()
            .collect();
        let evicted = evict(&finished);
        let new_fills: Vec<Fill> = st
            .fills
            .iter()
            .skip(st.fills.len() - fills)
            .cloned()
            .collect();
        let change = PaperChange {
            seq,
            balance: st.balance,
            realised_pnl: st.realised_pnl,
            fees_paid: st.fees_paid,
            next_order_seq: st.next_order_seq,
            positions: positions
                .iter()
                .filter_map(|s| st.positions.get(s).cloned())
                .collect(),
            realised_by_symbol: realised
                .iter()
                .filter_map(|s| Some((s.clone(), *st.realised_by_symbol.get(s)?)))
                .collect(),
            orders: orders
                .iter()
                .filter_map(|id| st.orders.get(id).cloned())
                .collect(),
            evicted,
            fills: new_fills,
            fills_dropped: st.fills.len().saturating_sub(keep_fills),
        };
        (change, OrderMoves { finished })
    }

    /// Makes the writes final once `change` is durable: drops the evicted orders and the
    /// oldest fills it names, and records its sequence.
    pub fn finish(mut self, change: &PaperChange) {
        self.undo.clear();
        let st = &mut *self.state;
        for id in &change.evicted {
            st.orders.remove(id);
        }
        st.fills.drain(..change.fills_dropped.min(st.fills.len()));
        st.journal_seq = change.seq;
    }

    /// Keeps the writes without a journal record, for tests of the accounting alone.
    #[cfg(test)]
    pub fn keep(mut self) {
        self.undo.clear();
    }
}

impl Drop for Txn<'_> {
    fn drop(&mut self) {
        self.rollback_to(0);
    }
}

fn restore<K: Ord, V>(map: &mut std::collections::BTreeMap<K, V>, key: K, old: Option<V>) {
    match old {
        Some(v) => {
            map.insert(key, v);
        }
        None => {
            map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use rust_decimal_macros::dec;
    use tradeengine_model::{OrderKind, OrderRequest, OrderState, OrderStatus, Price, Side};

    use super::*;
    use crate::paper::ledger::position_after;

    fn btc() -> Symbol {
        Symbol::new("BTCUSDT").unwrap()
    }

    fn order(id: &str, seq: u64, state: OrderState) -> PaperOrder {
        let cid = ClientOrderId::new(id).unwrap();
        let at = Utc.timestamp_opt(0, 0).single().unwrap();
        PaperOrder {
            seq,
            request: OrderRequest {
                client_order_id: cid.clone(),
                symbol: btc(),
                side: Side::Buy,
                qty: dec!(0.001),
                kind: OrderKind::Market,
                reduce_only: false,
            },
            status: OrderStatus {
                client_order_id: cid,
                venue_order_id: None,
                symbol: btc(),
                side: Side::Buy,
                state,
                qty: dec!(0.001),
                filled_qty: Decimal::ZERO,
                avg_fill_price: None,
                fee: Decimal::ZERO,
                reduce_only: false,
                updated_at: at,
            },
            note: None,
        }
    }

    fn fill_at(price: Decimal) -> (PositionChange, Fill) {
        let pos = Position::flat(btc());
        let px = Price::new(price).unwrap();
        let change = position_after(&pos, dec!(0.001), px).unwrap();
        let fill = Fill {
            client_order_id: ClientOrderId::new("f").unwrap(),
            venue_order_id: None,
            symbol: btc(),
            side: Side::Buy,
            qty: dec!(0.001),
            price: px,
            fee: dec!(0.01),
            filled_at: Utc.timestamp_opt(0, 0).single().unwrap(),
        };
        (change, fill)
    }

    #[test]
    fn rollback_restores_the_state_exactly() {
        let mut s = PaperState::new(dec!(100));
        s.orders.insert(
            ClientOrderId::new("a").unwrap(),
            order("a", 1, OrderState::Acknowledged),
        );
        s.next_order_seq = 2;
        let before = s.clone();
        let mut t = Txn::begin(&mut s);
        let (change, fill) = fill_at(dec!(60000));
        t.record_fill(change, fill).unwrap();
        t.put_order(order("a", 1, OrderState::Filled));
        t.put_order(order("b", 2, OrderState::Filled));
        t.set_next_order_seq(3);
        assert!(!t.is_empty());
        t.rollback();
        assert_eq!(s, before);
    }

    #[test]
    fn a_savepoint_keeps_what_came_before_it() {
        let mut s = PaperState::new(dec!(100));
        let mut t = Txn::begin(&mut s);
        t.put_order(order("a", 1, OrderState::Filled));
        let sp = t.savepoint();
        t.put_order(order("b", 2, OrderState::Filled));
        t.rollback_to(sp);
        let (change, moves) = t.change(1, |_| Vec::new(), 10);
        assert_eq!(change.orders.len(), 1);
        assert_eq!(moves.finished, vec![ClientOrderId::new("a").unwrap()]);
    }

    #[test]
    fn the_change_replays_to_the_same_state() {
        let mut s = PaperState::new(dec!(100));
        s.orders.insert(
            ClientOrderId::new("old").unwrap(),
            order("old", 1, OrderState::Filled),
        );
        s.fills.push_back(fill_at(dec!(59000)).1);
        s.next_order_seq = 2;
        let mut replayed = s.clone();
        let mut t = Txn::begin(&mut s);
        let (change, fill) = fill_at(dec!(60000));
        t.record_fill(change, fill).unwrap();
        t.put_order(order("new", 2, OrderState::Filled));
        t.set_next_order_seq(3);
        // Rewriting an unchanged value is not a change.
        let same = t.positions[&btc()].clone();
        t.set_position(same);
        let (change, moves) = t.change(1, <[ClientOrderId]>::to_vec, 1);
        assert_eq!(moves.finished, vec![ClientOrderId::new("new").unwrap()]);
        assert_eq!(change.positions.len(), 1);
        assert_eq!(change.fills.len(), 1);
        assert_eq!(change.fills_dropped, 1, "keep one fill of two");
        t.finish(&change);
        replayed.apply(&change).unwrap();
        assert_eq!(replayed, s);
        assert!(!s.orders.contains_key(&ClientOrderId::new("new").unwrap()));
        assert_eq!(s.fills.len(), 1);
        assert_eq!(s.journal_seq, 1);
    }
}
