//! One account's attribution in one symbol: the sources' sleeves and the unattributed bucket,
//! moved by [`Event`]s.
//!
//! ## Rules
//!
//! - **Rebalance** (the engine planned): each source's gap is its desired virtual position minus
//!   the one it holds; the unattributed bucket's desire is the account target minus the sources'
//!   desires (rounding to the venue step, caps), so the gaps add up to the order the planner
//!   sends. Gaps on opposite sides *net*: the smaller side is crossed in full between buckets at
//!   the reference price and the larger side crosses the same amount, pro rata. What is left of
//!   the larger side caused the order, and each bucket's part of it is its weight in the order.
//! - **Fill** of an order of that plan: quantity, trade cash, fee, slippage (against the
//!   reference) and turnover are split by those weights. A fill of an order the book does not
//!   know (manual or outside trade, an order older than [`PENDING_ORDERS`] plans) or against
//!   the plan's direction goes to the unattributed bucket.
//! - **Funding** is shared by signed exposure (a short sleeve receives what the longs pay).
//! - **Drift**: a position change no fill explains (or a position found at start) is booked to
//!   the unattributed bucket at the given price.
//! - Every split gives its rounding remainder to the unattributed bucket, so the buckets'
//!   positions, trade cash, fees and funding add up to the account's own **exactly**, and so
//!   does P&L at any mark.
//! - Netting saving: each unit a bucket crossed internally would have cost, alone, what the
//!   symbol's last venue fill cost per unit of notional (fee plus slippage); the line is a memo
//!   outside the P&L identity.

use std::collections::{BTreeMap, VecDeque};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_model::{ClientOrderId, Price, SourceId};

use super::bucket::{Bucket, BucketBook};
use super::split::{split, trim};
use crate::CoreError;
use crate::num::{add, div, mul, sub};

/// How many recent orders a book remembers the allocation of. A fill of an older order is
/// booked to the unattributed bucket.
pub const PENDING_ORDERS: usize = 256;

/// What moves a [`SymbolBook`]. Stored as they happen, so a book can be rebuilt from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The engine planned the account's position in this symbol.
    Rebalance {
        /// Each source's desired virtual position, base units (see [`super::desired_positions`]);
        /// a source with a sleeve in the book and absent here desires zero.
        desired: BTreeMap<SourceId, Decimal>,
        /// The account's target, base units.
        target: Decimal,
        /// The price the plan was made at: internal crosses happen at it, slippage is measured
        /// from it.
        reference: Price,
        /// The plan's orders (empty when the planner sent none).
        orders: Vec<ClientOrderId>,
    },
    /// One execution on the venue. `qty` is signed (+ buy).
    Fill {
        client_order_id: Option<ClientOrderId>,
        qty: Decimal,
        price: Price,
        fee: Decimal,
    },
    /// Funding paid (−) or received (+) on the account's position, quote units.
    Funding { amount: Decimal },
    /// A position change no fill explains, booked at `price`, signed base units.
    Drift { qty: Decimal, price: Price },
}

/// Which buckets caused a plan's orders, and by how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Allocation {
    reference: Decimal,
    /// +1 buy, −1 sell.
    direction: Decimal,
    weights: Vec<(Bucket, Decimal)>,
}

/// The attribution of one account in one symbol.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolBook {
    buckets: BTreeMap<Bucket, BucketBook>,
    /// The account's own totals from fills, funding and drift, kept apart from the buckets.
    account: BucketBook,
    pending: VecDeque<(ClientOrderId, Allocation)>,
    /// Fee plus slippage per unit of notional of the last venue fill (≥ 0).
    cost_rate: Decimal,
}

impl SymbolBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// The account's own totals, from fills alone.
    pub fn account(&self) -> &BucketBook {
        &self.account
    }

    /// Every bucket with its books, sources first, unattributed last.
    pub fn buckets(&self) -> impl Iterator<Item = (&Bucket, &BucketBook)> {
        self.buckets.iter()
    }

    pub fn bucket(&self, bucket: &Bucket) -> Option<&BucketBook> {
        self.buckets.get(bucket)
    }

    /// Applies one event; on error the book is left as it was.
    ///
    /// The work is done on a copy of the totals only: the pending allocations (up to
    /// [`PENDING_ORDERS`] of them, each with its weights) are read by a fill and appended to by
    /// a rebalance once nothing can fail any more, so copying them for every event (which made
    /// each event cost more as a session filled the window) would undo nothing.
    pub fn apply(&mut self, event: &Event) -> Result<(), CoreError> {
        let mut next = Self {
            buckets: self.buckets.clone(),
            account: self.account.clone(),
            pending: VecDeque::new(),
            cost_rate: self.cost_rate,
        };
        let mut allocation = None;
        match event {
            Event::Rebalance {
                desired,
                target,
                reference,
                orders: _,
            } => allocation = Some(next.rebalance(desired, *target, reference.get())?),
            Event::Fill {
                client_order_id,
                qty,
                price,
                fee,
            } => {
                let known = self.allocation_of(client_order_id.as_ref(), *qty);
                next.fill(known, *qty, price.get(), *fee)?;
            }
            Event::Funding { amount } => next.funding(*amount)?,
            Event::Drift { qty, price } => next.drift(*qty, price.get())?,
        }
        self.buckets = next.buckets;
        self.account = next.account;
        self.cost_rate = next.cost_rate;
        if let (Some(allocation), Event::Rebalance { orders, .. }) = (allocation, event) {
            for id in orders {
                if self.pending.len() >= PENDING_ORDERS {
                    self.pending.pop_front();
                }
                self.pending.push_back((id.clone(), allocation.clone()));
            }
        }
        Ok(())
    }

    /// The allocation of the plan behind order `id`, if the book still holds it and a fill of
    /// `qty` goes its way.
    fn allocation_of(&self, id: Option<&ClientOrderId>, qty: Decimal) -> Option<Allocation> {
        id.and_then(|id| self.pending.iter().rev().find(|(p, _)| p == id))
            .map(|(_, a)| a)
            .filter(|a| !qty.is_zero() && a.direction.is_sign_negative() == qty.is_sign_negative())
            .cloned()
    }

    /// Σ buckets − account for each summed total: all zero while the identity holds.
    pub fn identity_gap(&self) -> Result<BucketBook, CoreError> {
        let mut sum = BucketBook::default();
        for b in self.buckets.values() {
            sum.absorb(b)?;
        }
        let w = "identity gap";
        Ok(BucketBook {
            qty: sub(sum.qty, self.account.qty, w)?,
            trade_cash: sub(sum.trade_cash, self.account.trade_cash, w)?,
            fees: sub(sum.fees, self.account.fees, w)?,
            funding: sub(sum.funding, self.account.funding, w)?,
            slippage: sub(sum.slippage, self.account.slippage, w)?,
            turnover: sub(sum.turnover, self.account.turnover, w)?,
            ..BucketBook::default()
        })
    }

    fn entry(&mut self, bucket: &Bucket) -> &mut BucketBook {
        self.buckets.entry(bucket.clone()).or_default()
    }

    fn held(&self, bucket: &Bucket) -> Decimal {
        self.buckets.get(bucket).map_or(Decimal::ZERO, |b| b.qty)
    }

    /// Moves the buckets for a plan; returns the allocation its orders' fills are split by.
    fn rebalance(
        &mut self,
        desired: &BTreeMap<SourceId, Decimal>,
        target: Decimal,
        reference: Decimal,
    ) -> Result<Allocation, CoreError> {
        let w = "rebalance gap";
        let mut gaps: Vec<(Bucket, Decimal)> = Vec::with_capacity(desired.len() + 2);
        let mut sum_desired = Decimal::ZERO;
        for (source, d) in desired {
            let bucket = Bucket::Source(source.clone());
            gaps.push((bucket.clone(), sub(*d, self.held(&bucket), w)?));
            sum_desired = add(sum_desired, *d, w)?;
        }
        for (bucket, book) in &self.buckets {
            if let Bucket::Source(s) = bucket
                && !desired.contains_key(s)
                && !book.qty.is_zero()
            {
                gaps.push((bucket.clone(), -book.qty));
            }
        }
        let unattributed = sub(
            sub(target, sum_desired, w)?,
            self.held(&Bucket::Unattributed),
            w,
        )?;
        gaps.push((Bucket::Unattributed, unattributed));

        let mut net = Decimal::ZERO;
        for (_, g) in &gaps {
            net = add(net, *g, w)?;
        }
        let direction = if net.is_sign_negative() && !net.is_zero() {
            Decimal::NEGATIVE_ONE
        } else {
            Decimal::ONE
        };
        let (mut with, mut against) = (Decimal::ZERO, Decimal::ZERO);
        for (_, g) in &gaps {
            let signed = mul(*g, direction, w)?;
            if signed.is_sign_positive() {
                with = add(with, signed, w)?;
            } else {
                against = sub(against, signed, w)?;
            }
        }
        let residual = if against.is_zero() || with.is_zero() {
            gaps
        } else {
            self.cross(gaps, direction, div(against, with, w)?, reference)?
        };
        let weights: Vec<(Bucket, Decimal)> = residual
            .into_iter()
            .filter(|(_, g)| !g.is_zero() && g.is_sign_negative() == direction.is_sign_negative())
            .map(|(b, g)| (b, g.abs()))
            .collect();
        Ok(Allocation {
            reference,
            direction,
            weights,
        })
    }

    /// Crosses the netted part of `gaps` between buckets at `reference`: every gap against
    /// `direction` in full, every gap along it by `fraction`; the unattributed bucket takes what
    /// makes the crosses sum to zero. Returns the gaps left for the venue.
    fn cross(
        &mut self,
        gaps: Vec<(Bucket, Decimal)>,
        direction: Decimal,
        fraction: Decimal,
        reference: Decimal,
    ) -> Result<Vec<(Bucket, Decimal)>, CoreError> {
        let w = "internal cross";
        let mut moved = Decimal::ZERO;
        let mut paid = Decimal::ZERO;
        let mut residual = Vec::with_capacity(gaps.len());
        for (bucket, gap) in gaps {
            if bucket == Bucket::Unattributed {
                residual.push((bucket, gap));
                continue;
            }
            let along = mul(gap, direction, w)?.is_sign_positive();
            let crossed = if along {
                trim(mul(gap, fraction, w)?)
            } else {
                gap
            };
            let cash = -mul(crossed, reference, w)?;
            self.book_cross(&bucket, crossed, cash, reference)?;
            moved = add(moved, crossed, w)?;
            paid = add(paid, cash, w)?;
            residual.push((bucket, sub(gap, crossed, w)?));
        }
        // The unattributed bucket is the counterparty of whatever the sources did not net.
        let (crossed, cash) = (-moved, -paid);
        self.book_cross(&Bucket::Unattributed, crossed, cash, reference)?;
        for (bucket, gap) in residual.iter_mut() {
            if *bucket == Bucket::Unattributed {
                *gap = sub(*gap, crossed, w)?;
            }
        }
        Ok(residual)
    }

    fn book_cross(
        &mut self,
        bucket: &Bucket,
        qty: Decimal,
        cash: Decimal,
        reference: Decimal,
    ) -> Result<(), CoreError> {
        if qty.is_zero() && cash.is_zero() {
            return Ok(());
        }
        let saving = trim(mul(
            mul(qty.abs(), reference, "netting saving")?,
            self.cost_rate,
            "netting saving",
        )?);
        let book = self.entry(bucket);
        book.trade(qty, cash, reference)?;
        book.netting_saving = add(book.netting_saving, saving, "netting saving")?;
        Ok(())
    }

    fn fill(
        &mut self,
        allocation: Option<Allocation>,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
    ) -> Result<(), CoreError> {
        let w = "fill attribution";
        let reference = allocation.as_ref().map_or(price, |a| a.reference);
        let weights: Vec<(Bucket, Decimal)> = allocation.map(|a| a.weights).unwrap_or_default();
        let ratios: Vec<Decimal> = weights.iter().map(|(_, r)| *r).collect();

        let cash = -mul(qty, price, w)?;
        let slippage = mul(qty, sub(price, reference, w)?, w)?;
        let turnover = mul(qty.abs(), price, w)?;
        self.account.trade(qty, cash, price)?;
        self.account.fees = add(self.account.fees, fee, w)?;
        self.account.slippage = add(self.account.slippage, slippage, w)?;
        self.account.turnover = add(self.account.turnover, turnover, w)?;

        let (qty_parts, _) = split(qty, &ratios, w)?;
        let (fee_parts, _) = split(fee, &ratios, w)?;
        let mut given = BucketBook::default();
        for (((bucket, _), part), fee_part) in weights.iter().zip(qty_parts).zip(fee_parts) {
            let share = BucketBook {
                qty: part,
                trade_cash: -mul(part, price, w)?,
                fees: fee_part,
                slippage: mul(part, sub(price, reference, w)?, w)?,
                turnover: mul(part.abs(), price, w)?,
                ..BucketBook::default()
            };
            given.absorb(&share)?;
            self.book_fill(bucket, &share, price)?;
        }
        let rest = BucketBook {
            qty: sub(qty, given.qty, w)?,
            trade_cash: sub(cash, given.trade_cash, w)?,
            fees: sub(fee, given.fees, w)?,
            slippage: sub(slippage, given.slippage, w)?,
            turnover: sub(turnover, given.turnover, w)?,
            ..BucketBook::default()
        };
        self.book_fill(&Bucket::Unattributed, &rest, price)?;

        if !turnover.is_zero() {
            let rate = trim(div(add(fee, slippage, w)?, turnover, w)?);
            self.cost_rate = rate.max(Decimal::ZERO);
        }
        Ok(())
    }

    fn book_fill(
        &mut self,
        bucket: &Bucket,
        share: &BucketBook,
        price: Decimal,
    ) -> Result<(), CoreError> {
        if *share == BucketBook::default() {
            return Ok(());
        }
        let w = "fill attribution";
        let book = self.entry(bucket);
        book.trade(share.qty, share.trade_cash, price)?;
        book.fees = add(book.fees, share.fees, w)?;
        book.slippage = add(book.slippage, share.slippage, w)?;
        book.turnover = add(book.turnover, share.turnover, w)?;
        Ok(())
    }

    fn funding(&mut self, amount: Decimal) -> Result<(), CoreError> {
        let w = "funding attribution";
        self.account.funding = add(self.account.funding, amount, w)?;
        let buckets: Vec<Bucket> = self.buckets.keys().cloned().collect();
        let exposure: Vec<Decimal> = self.buckets.values().map(|b| b.qty).collect();
        let (parts, rest) = split(amount, &exposure, w)?;
        for (bucket, part) in buckets.iter().zip(parts) {
            let book = self.entry(bucket);
            book.funding = add(book.funding, part, w)?;
        }
        let book = self.entry(&Bucket::Unattributed);
        book.funding = add(book.funding, rest, w)?;
        Ok(())
    }

    fn drift(&mut self, qty: Decimal, price: Decimal) -> Result<(), CoreError> {
        let cash = -mul(qty, price, "drift")?;
        self.account.trade(qty, cash, price)?;
        self.entry(&Bucket::Unattributed).trade(qty, cash, price)
    }
}

#[cfg(test)]
#[path = "book_tests.rs"]
mod tests;
