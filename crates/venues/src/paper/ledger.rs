//! The paper account's accounting: one-way positions with an average entry price.
//!
//! Notation: `S` signed size (base units, + long), `E` average entry (USDT per base unit), `q`
//! signed fill quantity, `F` fill price, `m` mark price (the feed's price), `L` leverage.
//!
//! - **Open or add** (`S = 0` or `q` on the same side): `S' = S + q`,
//!   `E' = (|S|·E + |q|·F) / |S'|`, nothing realised. `E'` keeps rust_decimal's 28 significant
//!   digits; it is never rounded to a tick, so realised P&L is not skewed by rounding.
//! - **Reduce, close or flip** (`q` on the other side): `c = min(|q|, |S|)` closes at `F`,
//!   realising `c·(F − E)·sign(S)` USDT. `S' = S + q`; `E' = E` while some of the old side is
//!   left, none when flat, and `F` after a flip (the remaining `|q| − |S|` opens at `F`).
//! - **Fee** `= |q|·F·rate` USDT, exact (no rounding): quantities, prices and rates have few
//!   decimals, so the product fits rust_decimal's 28 digits.
//! - **Wallet balance** `B' = B + realised − fee`.
//! - **Unrealised P&L** `U = Σ (m − E)·S` over open positions.
//! - **Equity** `= B + U`. This is the paper venue's account value `V`.
//! - **Initial margin** `IM = Σ |S|·m / L`. An order that makes a position larger (or flips it
//!   into a larger one) is refused when `IM > equity` after the fill; reductions always pass.
//!
//! Why `V = B + U` (equity) rather than a collateral-like `V` without unrealised P&L: equity is
//! what the account is worth if everything were closed now, so closing a position leaves `V`
//! unchanged except for fees. Without `U`, closing a winner would jump `V` up by the realised
//! profit and resize every other symbol's target in the same cycle: churn caused by bookkeeping,
//! not by any signal. With `U`, a loss on one symbol also shrinks the others' targets right away,
//! which is the conservative direction. The price is that `V` moves with the market every cycle;
//! the planner's drift band absorbs that.
//!
//! Not simulated: liquidation, funding payments, maintenance margin, margin reserved by resting
//! orders; isolated and cross margin are stored but both checked as cross.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_model::{Position, Price, Quantity, Symbol};

use super::PaperState;

/// A position after a fill, not yet written to the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionChange {
    pub position: Position,
    /// P&L realised by the fill, USDT (before fees).
    pub realised: Decimal,
}

/// `pos` after a fill of signed `qty` at `price` (module docs). `None` on overflow.
pub fn position_after(pos: &Position, qty: Decimal, price: Price) -> Option<PositionChange> {
    let size = pos.size.get();
    let new_size = size.checked_add(qty)?;
    let mut next = pos.clone();
    next.size = Quantity::new(new_size);
    let same_side = size.is_zero() || (size > Decimal::ZERO) == (qty > Decimal::ZERO);
    if same_side {
        let old_cost = match pos.entry_price {
            Some(e) => size.abs().checked_mul(e.get())?,
            None => Decimal::ZERO,
        };
        let cost = old_cost.checked_add(qty.abs().checked_mul(price.get())?)?;
        next.entry_price = if new_size.is_zero() {
            None
        } else {
            Price::new(cost.checked_div(new_size.abs())?).ok()
        };
        return Some(PositionChange {
            position: next,
            realised: Decimal::ZERO,
        });
    }
    let entry = pos.entry_price?.get();
    let closed = qty.abs().min(size.abs());
    let per_unit = price.get().checked_sub(entry)?;
    let direction = if size > Decimal::ZERO {
        Decimal::ONE
    } else {
        Decimal::NEGATIVE_ONE
    };
    let realised = closed.checked_mul(per_unit)?.checked_mul(direction)?;
    next.entry_price = if new_size.is_zero() {
        None
    } else if (new_size > Decimal::ZERO) == (size > Decimal::ZERO) {
        pos.entry_price
    } else {
        Some(price)
    };
    Some(PositionChange {
        position: next,
        realised,
    })
}

/// Equity and initial margin, USDT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarginFigures {
    pub equity: Decimal,
    pub initial_margin: Decimal,
}

/// The account's P&L, USDT, for session summaries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperPnl {
    /// Starting balance + realised − fees.
    pub wallet_balance: Decimal,
    pub realised_pnl: Decimal,
    /// At the feed's current prices.
    pub unrealised_pnl: Decimal,
    pub fees_paid: Decimal,
    /// `wallet_balance + unrealised_pnl`: the account value.
    pub equity: Decimal,
    pub realised_by_symbol: BTreeMap<Symbol, Decimal>,
}

impl PaperState {
    /// The position in `symbol`, or a flat one at `default_leverage` if never traded.
    pub fn position_or_flat(&self, symbol: &Symbol, default_leverage: Decimal) -> Position {
        self.positions.get(symbol).cloned().unwrap_or_else(|| {
            let mut p = Position::flat(symbol.clone());
            p.leverage = default_leverage;
            p
        })
    }

    /// Symbols with a non-zero position.
    pub fn open_symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.positions
            .values()
            .filter(|p| !p.size.is_zero())
            .map(|p| &p.symbol)
    }

    /// `U = Σ (m − E)·S`; `None` when a mark is missing or on overflow.
    pub fn unrealised_pnl(&self, marks: &BTreeMap<Symbol, Price>) -> Option<Decimal> {
        self.positions.values().try_fold(Decimal::ZERO, |acc, p| {
            acc.checked_add(unrealised_of(p, marks)?)
        })
    }

    /// Equity and initial margin as they are.
    pub fn margin_figures(&self, marks: &BTreeMap<Symbol, Price>) -> Option<MarginFigures> {
        self.margin_if(marks, None, Decimal::ZERO)
    }

    /// Equity and initial margin if `candidate` replaced the position in its symbol and the
    /// wallet balance moved by `balance_delta` (realised − fee). Lets a check run before
    /// anything is written.
    pub fn margin_if(
        &self,
        marks: &BTreeMap<Symbol, Price>,
        candidate: Option<&Position>,
        balance_delta: Decimal,
    ) -> Option<MarginFigures> {
        let mut equity = self.balance.checked_add(balance_delta)?;
        let mut initial_margin = Decimal::ZERO;
        let others = self
            .positions
            .values()
            .filter(|p| candidate.is_none_or(|c| c.symbol != p.symbol));
        for p in others.chain(candidate) {
            equity = equity.checked_add(unrealised_of(p, marks)?)?;
            initial_margin = initial_margin.checked_add(initial_margin_of(p, marks)?)?;
        }
        Some(MarginFigures {
            equity,
            initial_margin,
        })
    }

    /// The P&L summary at `marks`.
    pub fn pnl(&self, marks: &BTreeMap<Symbol, Price>) -> Option<PaperPnl> {
        let unrealised = self.unrealised_pnl(marks)?;
        Some(PaperPnl {
            wallet_balance: self.balance,
            realised_pnl: self.realised_pnl,
            unrealised_pnl: unrealised,
            fees_paid: self.fees_paid,
            equity: self.balance.checked_add(unrealised)?,
            realised_by_symbol: self.realised_by_symbol.clone(),
        })
    }
}

fn unrealised_of(p: &Position, marks: &BTreeMap<Symbol, Price>) -> Option<Decimal> {
    if p.size.is_zero() {
        return Some(Decimal::ZERO);
    }
    p.unrealised_pnl(*marks.get(&p.symbol)?)
}

fn initial_margin_of(p: &Position, marks: &BTreeMap<Symbol, Price>) -> Option<Decimal> {
    if p.size.is_zero() {
        return Some(Decimal::ZERO);
    }
    p.size
        .notional_at(*marks.get(&p.symbol)?)?
        .checked_div(p.leverage)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use rust_decimal_macros::dec;
    use tradeengine_model::{ClientOrderId, Fill, Side};

    use super::*;
    use crate::paper::txn::Txn;

    fn btc() -> Symbol {
        Symbol::new("BTCUSDT").unwrap()
    }

    fn px(v: Decimal) -> Price {
        Price::new(v).unwrap()
    }

    fn fill(qty: Decimal, price: Decimal, fee: Decimal) -> Fill {
        Fill {
            client_order_id: ClientOrderId::new("t").unwrap(),
            venue_order_id: None,
            symbol: btc(),
            side: Side::for_delta(qty).unwrap(),
            qty: qty.abs(),
            price: px(price),
            fee,
            filled_at: Utc.timestamp_opt(0, 0).single().unwrap(),
        }
    }

    /// Applies a fill to the state and returns what it realised.
    fn trade(s: &mut PaperState, qty: Decimal, price: Decimal) -> Decimal {
        let pos = s.position_or_flat(&btc(), dec!(10));
        let change = position_after(&pos, qty, px(price)).unwrap();
        let realised = change.realised;
        let mut t = Txn::begin(s);
        t.record_fill(change, fill(qty, price, dec!(0))).unwrap();
        t.keep();
        realised
    }

    fn size_entry(s: &PaperState) -> (Decimal, Option<Decimal>) {
        let p = &s.positions[&btc()];
        (p.size.get(), p.entry_price.map(Price::get))
    }

    #[test]
    fn worked_example_add_reduce_flip_close() {
        let mut s = PaperState::new(dec!(10000));
        // Buy 0.010 at 60,000, then 0.030 at 62,000:
        // E = (0.010·60,000 + 0.030·62,000) / 0.040 = 2,460 / 0.040 = 61,500.
        assert_eq!(trade(&mut s, dec!(0.010), dec!(60000)), dec!(0));
        assert_eq!(trade(&mut s, dec!(0.030), dec!(62000)), dec!(0));
        assert_eq!(size_entry(&s), (dec!(0.040), Some(dec!(61500))));
        // Sell 0.015 at 63,000: realised 0.015·(63,000 − 61,500) = 22.5; entry unchanged.
        assert_eq!(trade(&mut s, dec!(-0.015), dec!(63000)), dec!(22.5));
        assert_eq!(size_entry(&s), (dec!(0.025), Some(dec!(61500))));
        // Sell 0.040 at 61,000: closes 0.025 for 0.025·(61,000 − 61,500) = −12.5, then opens
        // a 0.015 short at 61,000.
        assert_eq!(trade(&mut s, dec!(-0.040), dec!(61000)), dec!(-12.5));
        assert_eq!(size_entry(&s), (dec!(-0.015), Some(dec!(61000))));
        // Buy 0.005 at 60,000 against the short: 0.005·(60,000 − 61,000)·(−1) = +5.
        assert_eq!(trade(&mut s, dec!(0.005), dec!(60000)), dec!(5));
        // Buy 0.010 at 62,000 closes it: 0.010·(62,000 − 61,000)·(−1) = −10; flat.
        assert_eq!(trade(&mut s, dec!(0.010), dec!(62000)), dec!(-10));
        assert_eq!(size_entry(&s), (dec!(0), None));
        // 22.5 − 12.5 + 5 − 10 = 5, and no fees were charged here.
        assert_eq!(s.realised_pnl, dec!(5));
        assert_eq!(s.realised_by_symbol[&btc()], dec!(5));
        assert_eq!(s.balance, dec!(10005));
        assert_eq!(s.fills.len(), 6);
    }

    #[test]
    fn average_entry_keeps_full_precision() {
        let mut s = PaperState::new(dec!(10000));
        trade(&mut s, dec!(0.001), dec!(60000.1));
        trade(&mut s, dec!(0.002), dec!(60000.2));
        // (60.0001 + 120.0004) / 0.003 = 60,000.1666…, not rounded to the 0.1 tick.
        let e = s.positions[&btc()].entry_price.unwrap().get();
        assert_eq!(e.round_dp(6), dec!(60000.166667));
    }

    #[test]
    fn fees_come_off_the_balance() {
        let mut s = PaperState::new(dec!(1000));
        let pos = s.position_or_flat(&btc(), dec!(1));
        let change = position_after(&pos, dec!(0.01), px(dec!(60000))).unwrap();
        // Fee = 0.01 · 60,000 · 0.00055 = 0.33.
        let mut t = Txn::begin(&mut s);
        t.record_fill(change, fill(dec!(0.01), dec!(60000), dec!(0.33)))
            .unwrap();
        t.keep();
        assert_eq!(s.balance, dec!(999.67));
        assert_eq!(s.fees_paid, dec!(0.33));
    }

    #[test]
    fn equity_and_initial_margin() {
        let mut s = PaperState::new(dec!(1000));
        trade(&mut s, dec!(0.1), dec!(60000));
        let marks = BTreeMap::from([(btc(), px(dec!(61000)))]);
        // U = (61,000 − 60,000)·0.1 = 100; IM = 0.1·61,000 / 10 = 610.
        let m = s.margin_figures(&marks).unwrap();
        assert_eq!(m.equity, dec!(1100));
        assert_eq!(m.initial_margin, dec!(610));
        // The same at leverage 5 instead: IM 1,220.
        let mut at5 = s.positions[&btc()].clone();
        at5.leverage = dec!(5);
        let m5 = s.margin_if(&marks, Some(&at5), dec!(0)).unwrap();
        assert_eq!(m5.initial_margin, dec!(1220));
        let pnl = s.pnl(&marks).unwrap();
        assert_eq!((pnl.unrealised_pnl, pnl.equity), (dec!(100), dec!(1100)));
        // A missing mark is not silently zero.
        assert_eq!(s.unrealised_pnl(&BTreeMap::new()), None);
    }
}
