//! MEXC's order side codes, and how the engine's moves of a **net** (one-way) position map onto
//! them.
//!
//! | code | meaning | our order |
//! |---|---|---|
//! | 1 | open long | buy, not reduce-only |
//! | 2 | close short | buy, reduce-only |
//! | 3 | open short | sell, not reduce-only |
//! | 4 | close long | sell, reduce-only |
//!
//! The account runs in one-way mode (MEXC `positionMode` 2; hedge mode is refused at connect),
//! and the code is chosen from the order alone: a reduce-only order is a close, anything else an
//! open. That is exact for every order the engine sends, because its planner
//! (`tradeengine-core` plan rules 2–4) marks every reduction reduce-only and never lets an
//! increase reduce. With current net position `c` and target `t` (contracts):
//!
//! - `c ≥ 0`, `t > c` → `1` (open long) for `t − c`;
//! - `c > 0`, `0 ≤ t < c` → `4` (close long) for `c − t`;
//! - `c ≤ 0`, `t < c` → `3` (open short) for `c − t`;
//! - `c < 0`, `c < t ≤ 0` → `2` (close short) for `t − c`;
//! - a flip (`c > 0 > t` or `c < 0 < t`) is **two** orders: close the whole of `c` (`4` or
//!   `2`), then open the whole of `t` (`3` or `1`). No single order crosses zero.
//!
//! These are easy to invert (closing a long with 2 buys more); the tests below pin them.

use tradeengine_model::Side;

/// One of MEXC's four order sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideCode {
    OpenLong = 1,
    CloseShort = 2,
    OpenShort = 3,
    CloseLong = 4,
}

impl SideCode {
    /// The code for an order: reduce-only orders close, others open.
    pub fn for_order(side: Side, reduce_only: bool) -> Self {
        match (side, reduce_only) {
            (Side::Buy, false) => Self::OpenLong,
            (Side::Buy, true) => Self::CloseShort,
            (Side::Sell, false) => Self::OpenShort,
            (Side::Sell, true) => Self::CloseLong,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            1 => Self::OpenLong,
            2 => Self::CloseShort,
            3 => Self::OpenShort,
            4 => Self::CloseLong,
            _ => return None,
        })
    }

    pub fn code(self) -> i64 {
        self as i64
    }

    /// The direction of the trade: opening long and closing short both buy.
    pub fn side(self) -> Side {
        match self {
            Self::OpenLong | Self::CloseShort => Side::Buy,
            Self::OpenShort | Self::CloseLong => Side::Sell,
        }
    }

    /// Whether the order can only shrink a position.
    pub fn reduces(self) -> bool {
        matches!(self, Self::CloseShort | Self::CloseLong)
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn codes_are_mexcs() {
        assert_eq!(SideCode::for_order(Side::Buy, false).code(), 1);
        assert_eq!(SideCode::for_order(Side::Buy, true).code(), 2);
        assert_eq!(SideCode::for_order(Side::Sell, false).code(), 3);
        assert_eq!(SideCode::for_order(Side::Sell, true).code(), 4);
        for code in 1..=4 {
            let s = SideCode::from_code(code).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(SideCode::for_order(s.side(), s.reduces()), s);
        }
        assert_eq!(SideCode::from_code(5), None);
        // Closing a long sells (4), closing a short buys (2).
        assert_eq!(SideCode::CloseLong.side(), Side::Sell);
        assert_eq!(SideCode::CloseShort.side(), Side::Buy);
    }

    /// The orders that move net position `c` to `t`, as the engine's planner forms them
    /// (reductions reduce-only, a flip is close then open), mapped to codes.
    fn moves(c: Decimal, t: Decimal) -> Vec<(i64, Decimal)> {
        let mut legs = Vec::new();
        let opposite = !c.is_zero() && !t.is_zero() && c.is_sign_negative() != t.is_sign_negative();
        let side = |d: Decimal| {
            if d > Decimal::ZERO {
                Side::Buy
            } else {
                Side::Sell
            }
        };
        if opposite {
            legs.push((SideCode::for_order(side(-c), true), c.abs()));
            legs.push((SideCode::for_order(side(t), false), t.abs()));
        } else if t != c {
            let reduces = t.abs() < c.abs();
            legs.push((SideCode::for_order(side(t - c), reduces), (t - c).abs()));
        }
        legs.into_iter().map(|(s, q)| (s.code(), q)).collect()
    }

    #[test]
    fn every_net_move_maps_to_the_right_codes() {
        assert_eq!(moves(dec!(0), dec!(5)), vec![(1, dec!(5))]);
        assert_eq!(moves(dec!(5), dec!(8)), vec![(1, dec!(3))]);
        assert_eq!(moves(dec!(8), dec!(5)), vec![(4, dec!(3))]);
        assert_eq!(moves(dec!(8), dec!(0)), vec![(4, dec!(8))]);
        assert_eq!(moves(dec!(0), dec!(-5)), vec![(3, dec!(5))]);
        assert_eq!(moves(dec!(-5), dec!(-8)), vec![(3, dec!(3))]);
        assert_eq!(moves(dec!(-8), dec!(-5)), vec![(2, dec!(3))]);
        assert_eq!(moves(dec!(-8), dec!(0)), vec![(2, dec!(8))]);
        // Flips: close all, then open all.
        assert_eq!(moves(dec!(8), dec!(-3)), vec![(4, dec!(8)), (3, dec!(3))]);
        assert_eq!(moves(dec!(-8), dec!(3)), vec![(2, dec!(8)), (1, dec!(3))]);
        assert!(moves(dec!(4), dec!(4)).is_empty());
    }
}
