//! What the paper venue refuses before an order can fill, and the price a taker gets.
//!
//! Refusals mirror a real venue's so that engine code tested on paper meets the same errors
//! live: every one is [`VenueErrorKind::Rejected`] with a stable code.
//!
//! ## Taker price
//!
//! `buy = ⌈m·(1 + s/10 000)⌉_tick`, `sell = ⌊m·(1 − s/10 000)⌋_tick`, with `m` the feed price and
//! `s` the slippage in basis points. Rounding to the tick is always against the trader, so even
//! zero slippage never gives a price better than the feed's.

use rust_decimal::{Decimal, RoundingStrategy};
use tradeengine_model::grid;
use tradeengine_model::{Instrument, OrderRequest, Price, Side};

use crate::checks::violation;
use crate::{VenueError, VenueErrorKind};

/// The `venue` field of every paper error.
pub const VENUE: &str = "paper";

/// A refusal with a stable `code`.
pub fn rejected(code: &str, message: impl Into<String>) -> VenueError {
    VenueError::new(VENUE, VenueErrorKind::Rejected, message).with_code(code)
}

/// Our own arithmetic failed (overflow): never the caller's fault.
pub fn internal(message: impl Into<String>) -> VenueError {
    VenueError::new(VENUE, VenueErrorKind::Internal, message)
}

/// Size rules ([`grid::check_grid_and_limits`]): positive, a whole number of steps, at least
/// the minimum, for market orders at most the venue's market maximum, and a limit price on the
/// tick; the same codes and messages as the exchange adapters' checks.
pub fn check_qty(instrument: &Instrument, order: &OrderRequest) -> Result<(), VenueError> {
    grid::check_grid_and_limits(instrument, order).map_err(|v| violation(VENUE, &v))
}

/// A reduce-only order must shrink the current position without flipping it, as on Bybit
/// (error 110017): refused, never trimmed, so the caller learns its picture of the position was
/// wrong.
pub fn check_reduce_only(position_size: Decimal, order: &OrderRequest) -> Result<(), VenueError> {
    if !order.reduce_only {
        return Ok(());
    }
    let symbol = &order.symbol;
    let side = order.side.as_str();
    if position_size.is_zero() {
        return Err(rejected(
            "reduce_only_refused",
            format!("{symbol}: reduce-only {side} refused: there is no position to reduce"),
        ));
    }
    if Side::for_delta(position_size) == Some(order.side) {
        return Err(rejected(
            "reduce_only_refused",
            format!(
                "{symbol}: reduce-only {side} refused: it would increase the position of \
                 {position_size}"
            ),
        ));
    }
    if order.qty > position_size.abs() {
        return Err(rejected(
            "reduce_only_refused",
            format!(
                "{symbol}: reduce-only {side} of {} refused: it would flip the position of \
                 {position_size}",
                order.qty
            ),
        ));
    }
    Ok(())
}

/// Orders other than reduce-only ones must be worth at least the instrument's minimum notional
/// at `price` (the mark for market orders, the limit price for limit orders;
/// [`grid::check_min_notional`]).
pub fn check_min_notional(
    instrument: &Instrument,
    order: &OrderRequest,
    price: Price,
) -> Result<(), VenueError> {
    grid::check_min_notional(instrument, order, price).map_err(|v| violation(VENUE, &v))
}

/// The taker fill price (module docs).
pub fn taker_price(
    mark: Price,
    side: Side,
    slippage_bps: Decimal,
    tick: Decimal,
) -> Result<Price, VenueError> {
    let slip = slippage_bps
        .checked_div(Decimal::from(10_000))
        .ok_or_else(|| internal("slippage overflows"))?;
    let (factor, strategy) = match side {
        Side::Buy => (Decimal::ONE + slip, RoundingStrategy::ToPositiveInfinity),
        Side::Sell => (Decimal::ONE - slip, RoundingStrategy::ToNegativeInfinity),
    };
    let raw = mark
        .get()
        .checked_mul(factor)
        .ok_or_else(|| internal("fill price overflows"))?;
    let on_tick = grid::round_to_step(raw, tick, strategy)
        .map(|v| v.normalize())
        .ok_or_else(|| internal("fill price overflows"))?;
    Price::new(on_tick).map_err(|_| {
        rejected(
            "no_price",
            format!("feed price {mark} less slippage is below one tick {tick}"),
        )
    })
}

/// Whether a resting limit order trades at feed price `mark`: buys at or below their limit,
/// sells at or above it.
pub fn limit_crossed(side: Side, limit: Price, mark: Price) -> bool {
    match side {
        Side::Buy => mark <= limit,
        Side::Sell => mark >= limit,
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use tradeengine_model::{ClientOrderId, OrderKind, Symbol};

    use super::*;

    fn px(v: Decimal) -> Price {
        Price::new(v).unwrap()
    }

    fn btc() -> Instrument {
        crate::paper::default_instruments().remove(0)
    }

    fn order(side: Side, qty: Decimal, reduce_only: bool) -> OrderRequest {
        OrderRequest {
            client_order_id: ClientOrderId::new("o1").unwrap(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side,
            qty,
            kind: OrderKind::Market,
            reduce_only,
        }
    }

    fn code(r: Result<(), VenueError>) -> Option<String> {
        r.err().and_then(|e| e.code)
    }

    #[test]
    fn taker_price_moves_against_the_trader_and_rounds_adversely() {
        let tick = dec!(0.1);
        // 60,000 · 1.0002 = 60,012 exactly.
        assert_eq!(
            taker_price(px(dec!(60000)), Side::Buy, dec!(2), tick)
                .unwrap()
                .get(),
            dec!(60012)
        );
        // 60,000 · 0.9998 = 59,988.
        assert_eq!(
            taker_price(px(dec!(60000)), Side::Sell, dec!(2), tick)
                .unwrap()
                .get(),
            dec!(59988)
        );
        // 60,000.05 · 1.0002 = 60,012.05001 → up to 60,012.1; · 0.9998 = 59,988.04999 → 59,988.0.
        assert_eq!(
            taker_price(px(dec!(60000.05)), Side::Buy, dec!(2), tick)
                .unwrap()
                .get(),
            dec!(60012.1)
        );
        assert_eq!(
            taker_price(px(dec!(60000.05)), Side::Sell, dec!(2), tick)
                .unwrap()
                .get(),
            dec!(59988.0)
        );
        // No slippage: an off-tick feed price still rounds against the trader.
        assert_eq!(
            taker_price(px(dec!(100.05)), Side::Buy, dec!(0), tick)
                .unwrap()
                .get(),
            dec!(100.1)
        );
        assert_eq!(
            taker_price(px(dec!(100.05)), Side::Sell, dec!(0), tick)
                .unwrap()
                .get(),
            dec!(100.0)
        );
        // A sell below one tick has no price.
        assert!(taker_price(px(dec!(0.05)), Side::Sell, dec!(0), tick).is_err());
    }

    #[test]
    fn quantity_rules() {
        let i = btc();
        assert_eq!(
            code(check_qty(&i, &order(Side::Buy, dec!(0.001), false))),
            None
        );
        assert_eq!(
            code(check_qty(&i, &order(Side::Buy, dec!(0), false))).as_deref(),
            Some("bad_qty")
        );
        assert_eq!(
            code(check_qty(&i, &order(Side::Buy, dec!(0.0015), false))).as_deref(),
            Some("bad_qty")
        );
        let mut capped = i.clone();
        capped.max_market_qty = Some(dec!(1));
        capped.min_qty = dec!(0.01);
        assert_eq!(
            code(check_qty(&capped, &order(Side::Buy, dec!(0.005), false))).as_deref(),
            Some("qty_below_min")
        );
        assert_eq!(
            code(check_qty(&capped, &order(Side::Buy, dec!(1.001), false))).as_deref(),
            Some("qty_above_max")
        );
        let mut limit = order(Side::Buy, dec!(0.001), false);
        limit.kind = OrderKind::Limit {
            price: px(dec!(60000.05)),
        };
        assert_eq!(code(check_qty(&i, &limit)).as_deref(), Some("bad_price"));
    }

    #[test]
    fn reduce_only_rules() {
        let ok = |size: Decimal, side, qty| check_reduce_only(size, &order(side, qty, true));
        assert!(ok(dec!(0.01), Side::Sell, dec!(0.004)).is_ok());
        assert!(ok(dec!(0.01), Side::Sell, dec!(0.01)).is_ok());
        assert!(ok(dec!(-0.01), Side::Buy, dec!(0.01)).is_ok());
        let flat = ok(dec!(0), Side::Sell, dec!(0.01)).unwrap_err();
        assert!(flat.message.contains("no position"), "{flat}");
        let grow = ok(dec!(0.01), Side::Buy, dec!(0.01)).unwrap_err();
        assert!(grow.message.contains("increase"), "{grow}");
        let flip = ok(dec!(0.01), Side::Sell, dec!(0.011)).unwrap_err();
        assert!(flip.message.contains("flip"), "{flip}");
        assert_eq!(flip.kind, VenueErrorKind::Rejected);
        // Not reduce-only: anything goes here.
        assert!(check_reduce_only(dec!(0), &order(Side::Sell, dec!(1), false)).is_ok());
    }

    #[test]
    fn min_notional_except_reduce_only() {
        let i = btc();
        // 0.001 at 4,000 = 4 USDT < 5.
        let low = px(dec!(4000));
        let e = check_min_notional(&i, &order(Side::Buy, dec!(0.001), false), low).unwrap_err();
        assert_eq!(e.code.as_deref(), Some("below_min_notional"));
        assert!(e.message.contains("4 USDT"), "{e}");
        assert!(check_min_notional(&i, &order(Side::Sell, dec!(0.001), true), low).is_ok());
        assert!(
            check_min_notional(&i, &order(Side::Buy, dec!(0.001), false), px(dec!(5000))).is_ok()
        );
    }

    #[test]
    fn limits_cross_at_or_through_the_price() {
        let l = px(dec!(100));
        assert!(limit_crossed(Side::Buy, l, px(dec!(100))));
        assert!(limit_crossed(Side::Buy, l, px(dec!(99))));
        assert!(!limit_crossed(Side::Buy, l, px(dec!(100.1))));
        assert!(limit_crossed(Side::Sell, l, px(dec!(100.1))));
        assert!(!limit_crossed(Side::Sell, l, px(dec!(99.9))));
    }
}
