//! One bucket's books in one symbol: a source's sleeve, or the unattributed remainder.
//!
//! The state is kept as cash flows, not as P&L, so sums over buckets are exact: the buckets'
//! positions add up to the account's position and their trade cash to the account's, and P&L
//! is derived only when marking ([`BucketBook::pnl`]).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_model::SourceId;

use super::split::trim;
use crate::CoreError;
use crate::num::{add, div, mul, sub};

/// Who a share of the account's position and P&L belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// A source's sleeve.
    Source(SourceId),
    /// Positions the engine did not open, outside and manual trades, drift repair and rounding
    /// residue. Declared last so it sorts after every source.
    Unattributed,
}

impl Bucket {
    /// The name shown in reports: the source id, or `unattributed`.
    pub fn name(&self) -> &str {
        match self {
            Self::Source(s) => s.as_str(),
            Self::Unattributed => "unattributed",
        }
    }
}

/// Running totals of one bucket (or of the whole account, see [`super::SymbolBook::account`]).
///
/// Signs: `qty` + long; `trade_cash` is what trading paid (−) or received (+) before fees;
/// `fees` + paid, − rebate; `funding` + received; `slippage` + cost (bought above or sold below
/// the plan's reference price, already inside `trade_cash`); `netting_saving` + saved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketBook {
    /// Virtual position, base units.
    pub qty: Decimal,
    /// Σ −(signed qty × price) over fills and internal crosses, quote units.
    pub trade_cash: Decimal,
    /// Trading P&L realised as the position shrank (average cost), gross of fees.
    pub realised: Decimal,
    pub fees: Decimal,
    pub funding: Decimal,
    /// Part of `trade_cash` lost to fills away from the reference price (memo line).
    pub slippage: Decimal,
    /// Estimated fees and slippage avoided by netting against other buckets (memo line, not in
    /// the P&L: the saving is already in the cheaper trade cash).
    pub netting_saving: Decimal,
    /// Σ |qty| × price of the bucket's share of venue fills, quote units.
    pub turnover: Decimal,
}

impl BucketBook {
    /// Books a trade of `qty` (signed) for `cash` (normally `−qty × price`): moves the position
    /// and the trade cash, and realises the average-cost P&L of any part that reduces the
    /// position.
    pub(crate) fn trade(
        &mut self,
        qty: Decimal,
        cash: Decimal,
        price: Decimal,
    ) -> Result<(), CoreError> {
        let before = self.qty;
        if !before.is_zero()
            && !qty.is_zero()
            && before.is_sign_negative() != qty.is_sign_negative()
        {
            // Average entry of the open position: its entry notional over its size.
            let open_cost = sub(self.realised, self.trade_cash, "sleeve entry cost")?;
            let avg = div(open_cost, before, "sleeve average entry")?;
            let closed = if qty.abs() < before.abs() {
                qty.abs()
            } else {
                before.abs()
            };
            let per_unit = sub(price, avg, "sleeve realised")?;
            let gain = mul(closed, per_unit, "sleeve realised")?;
            let gain = if before.is_sign_negative() {
                -gain
            } else {
                gain
            };
            self.realised = add(self.realised, trim(gain), "sleeve realised")?;
        }
        self.qty = add(self.qty, qty, "sleeve position")?;
        self.trade_cash = add(self.trade_cash, cash, "sleeve trade cash")?;
        Ok(())
    }

    /// P&L at `mark`: trade cash + position × mark − fees + funding, quote units.
    pub fn pnl(&self, mark: Decimal) -> Result<Decimal, CoreError> {
        let value = add(
            self.trade_cash,
            mul(self.qty, mark, "position × mark")?,
            "marked P&L",
        )?;
        add(
            sub(value, self.fees, "P&L net of fees")?,
            self.funding,
            "P&L with funding",
        )
    }

    /// The unrealised part of the gross trading P&L at `mark` (gross = realised + unrealised).
    pub fn unrealised(&self, mark: Decimal) -> Result<Decimal, CoreError> {
        let gross = add(
            self.trade_cash,
            mul(self.qty, mark, "position × mark")?,
            "gross P&L",
        )?;
        sub(gross, self.realised, "unrealised P&L")
    }

    /// Adds every total of `other` into `self` (for roll-ups over symbols or accounts).
    pub fn absorb(&mut self, other: &Self) -> Result<(), CoreError> {
        let w = "P&L roll-up";
        self.qty = add(self.qty, other.qty, w)?;
        self.trade_cash = add(self.trade_cash, other.trade_cash, w)?;
        self.realised = add(self.realised, other.realised, w)?;
        self.fees = add(self.fees, other.fees, w)?;
        self.funding = add(self.funding, other.funding, w)?;
        self.slippage = add(self.slippage, other.slippage, w)?;
        self.netting_saving = add(self.netting_saving, other.netting_saving, w)?;
        self.turnover = add(self.turnover, other.turnover, w)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn realises_average_cost_as_the_position_shrinks_and_flips() {
        let mut b = BucketBook::default();
        b.trade(dec!(1), dec!(-100), dec!(100)).unwrap();
        b.trade(dec!(1), dec!(-110), dec!(110)).unwrap();
        // Average 105; sell 3 at 120: 2 close (+30), 1 opens short at 120.
        b.trade(dec!(-3), dec!(360), dec!(120)).unwrap();
        assert_eq!(b.qty, dec!(-1));
        assert_eq!(b.realised, dec!(30));
        // Marked at 100: short from 120 earns 20 unrealised; total 50.
        assert_eq!(b.unrealised(dec!(100)).unwrap(), dec!(20));
        assert_eq!(b.pnl(dec!(100)).unwrap(), dec!(50));
    }

    #[test]
    fn pnl_is_net_of_fees_and_counts_funding() {
        let b = BucketBook {
            qty: dec!(2),
            trade_cash: dec!(-200),
            fees: dec!(0.5),
            funding: dec!(-0.25),
            ..BucketBook::default()
        };
        assert_eq!(b.pnl(dec!(101)).unwrap(), dec!(1.25));
    }
}
