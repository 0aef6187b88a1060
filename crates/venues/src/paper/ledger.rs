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
