//! A miner's net exposure in one position, exact.
//!
//! Leverage is a signed fraction of the miner's account (PTN: LONG +, SHORT −). Orders are
//! replayed by `processed_ms`:
//! - same sign as the running net (or from zero): add, and the entry price becomes the
//!   leverage-weighted average `avg' = (avg·|net| + price·|lev|) / |net + lev|`;
//! - opposite sign and larger: flip to the leftover, entry price = that order's price (PTN itself
//!   turns such an order into a close, so real data never hits this; kept for sirouk/trade-engine's
//!   sake);
//! - opposite sign, not larger: reduce, entry price unchanged; exactly zero resets it.
//!
//! Example (seed, verified there): LONG 0.3@100, LONG 0.1@110, SHORT −0.6@120 → (−0.2, 120).
//!
//! Changes from sirouk/trade-engine, each a fix:
//! - closed means closed by any sign (`is_closed_position`, `position_type` FLAT, a positive
//!   `close_ms`, or a FLAT order), not only "has a FLAT order";
//! - Vanta's unfilled/cancelled limit and bracket orders (src 5, 7, 8, 10) are skipped;
//! - sums are exact decimals, so a reduce to zero is exactly zero (sirouk/trade-engine needed `<
//!   1e-15`);
//! - an order with no usable leverage is skipped rather than crashing the cycle; one with no
//!   usable price moves the net but not the entry price;
//! - when no order is usable (tier-filtered history), the validator's own `net_leverage` and
//!   `average_entry_price` are used;
//! - the reference entry price is the validator's own `average_entry_price` whenever it gives
//!   one: the validator moves it on reductions too and, in newer data, includes slippage, so
//!   the replay above (which keeps it on a reduce and uses raw fill prices) is only the
//!   fallback for rows without it.

use rust_decimal::Decimal;

use crate::num::f64_to_decimal;

use super::types::{Position, Side};

/// Net signed leverage and average entry price (0 when unknown or flat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetPosition {
    pub net: Decimal,
    pub avg_price: Decimal,
}

/// The open exposure of a position; zero for a closed one. `None` only on arithmetic overflow
/// from absurd inputs, which the caller treats as "no exposure from this position".
pub fn net_position(pos: &Position) -> Option<NetPosition> {
    if pos.is_closed() {
        return Some(NetPosition::default());
    }
    let mut orders: Vec<(i64, Decimal, Option<Decimal>)> = pos
        .orders
        .iter()
        .filter(|o| o.was_filled() && o.order_type != Some(Side::Flat))
        .filter_map(|o| {
            let lev = f64_to_decimal(o.leverage?)?;
            let price = o
                .price
                .and_then(f64_to_decimal)
                .filter(|p| *p > Decimal::ZERO);
            Some((o.processed_ms.unwrap_or(i64::MAX), lev, price))
        })
        .filter(|(_, lev, _)| !lev.is_zero())
        .collect();
    if orders.is_empty() {
        let net = pos
            .net_leverage
            .and_then(f64_to_decimal)
            .unwrap_or_default();
        let avg = pos
            .average_entry_price
            .and_then(f64_to_decimal)
            .filter(|p| *p > Decimal::ZERO && !net.is_zero())
            .unwrap_or_default();
        return Some(NetPosition {
            net,
            avg_price: avg,
        });
    }
    let validator_avg = pos
        .average_entry_price
        .and_then(f64_to_decimal)
        .filter(|p| *p > Decimal::ZERO);
    orders.sort_by_key(|(ms, _, _)| *ms);
    let mut net = Decimal::ZERO;
    let mut avg = Decimal::ZERO;
    for (_, lev, price) in orders {
        let next = net.checked_add(lev)?;
        let same_side = net.is_zero() || net.is_sign_positive() == lev.is_sign_positive();
        if same_side {
            if let Some(p) = price {
                let weighted = avg
                    .checked_mul(net.abs())?
                    .checked_add(p.checked_mul(lev.abs())?)?;
                avg = weighted.checked_div(next.abs())?;
            }
        } else if lev.abs() > net.abs() {
            avg = price.unwrap_or_default();
        } else if next.is_zero() {
            avg = Decimal::ZERO;
        }
        net = next;
    }
    if net.is_zero() {
        avg = Decimal::ZERO;
    } else if let Some(v) = validator_avg {
        avg = v;
    }
    Some(NetPosition {
        net,
        avg_price: avg,
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::super::types::Order;
    use super::*;

    fn order(side: Side, lev: f64, price: f64, ms: i64) -> Order {
        Order {
            order_type: Some(side),
            leverage: Some(lev),
            price: Some(price),
            processed_ms: Some(ms),
            src: Some(0),
        }
    }

    fn open(orders: Vec<Order>) -> Position {
        Position {
            close_ms: Some(0),
            is_closed_position: Some(false),
            orders,
            ..Position::default()
        }
    }

    #[test]
    fn seed_example_flips_to_the_leftover() {
        let p = open(vec![
            order(Side::Long, 0.3, 100.0, 1),
            order(Side::Long, 0.1, 110.0, 2),
            order(Side::Short, -0.6, 120.0, 3),
        ]);
        assert_eq!(
            net_position(&p),
            Some(NetPosition {
                net: dec!(-0.2),
                avg_price: dec!(120)
            })
        );
    }

    #[test]
    fn weighted_entry_and_partial_reduce_in_time_order() {
        // Given out of order; replayed by processed_ms.
        let p = open(vec![
            order(Side::Short, -0.1, 130.0, 3),
            order(Side::Long, 0.1, 100.0, 1),
            order(Side::Long, 0.3, 120.0, 2),
        ]);
        let n = net_position(&p).unwrap();
        assert_eq!(n.net, dec!(0.3));
        assert_eq!(n.avg_price, dec!(115));
    }

    #[test]
    fn exact_reduce_to_zero_and_closed_positions() {
        let p = open(vec![
            order(Side::Long, 0.1, 100.0, 1),
            order(Side::Long, 0.2, 100.0, 2),
            order(Side::Short, -0.3, 120.0, 3),
        ]);
        assert_eq!(net_position(&p), Some(NetPosition::default()));
        let mut closed = open(vec![order(Side::Long, 0.1, 100.0, 1)]);
        closed.close_ms = Some(5);
        assert_eq!(net_position(&closed), Some(NetPosition::default()));
        let mut typed = open(vec![order(Side::Long, 0.1, 100.0, 1)]);
        typed.position_type = Some(Side::Flat);
        assert_eq!(net_position(&typed), Some(NetPosition::default()));
    }

    #[test]
    fn unfilled_limit_orders_and_bad_numbers_are_skipped() {
        let mut unfilled = order(Side::Long, 0.4, 90.0, 2);
        unfilled.src = Some(5);
        let mut nan = order(Side::Long, 0.4, 90.0, 3);
        nan.leverage = None;
        let p = open(vec![order(Side::Long, 0.2, 100.0, 1), unfilled, nan]);
        assert_eq!(net_position(&p).unwrap().net, dec!(0.2));
    }

    #[test]
    fn the_validator_entry_price_wins_when_present() {
        // Replaying gives 115 (the reduce keeps the entry); the validator moved it to 112.5.
        let mut p = open(vec![
            order(Side::Long, 0.1, 100.0, 1),
            order(Side::Long, 0.3, 120.0, 2),
            order(Side::Short, -0.1, 130.0, 3),
        ]);
        assert_eq!(net_position(&p).unwrap().avg_price, dec!(115));
        p.average_entry_price = Some(112.5);
        assert_eq!(
            net_position(&p),
            Some(NetPosition {
                net: dec!(0.3),
                avg_price: dec!(112.5)
            })
        );
        // A zero or missing validator price falls back to the replay.
        p.average_entry_price = Some(0.0);
        assert_eq!(net_position(&p).unwrap().avg_price, dec!(115));
    }

    #[test]
    fn falls_back_to_the_validator_fields() {
        let p = Position {
            net_leverage: Some(-0.25),
            average_entry_price: Some(3000.0),
            ..Position::default()
        };
        assert_eq!(
            net_position(&p),
            Some(NetPosition {
                net: dec!(-0.25),
                avg_price: dec!(3000)
            })
        );
    }
}
