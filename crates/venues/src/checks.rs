//! Checks every adapter makes before an order leaves the process (ARCHITECTURE.md, "Limits before
//! the request leaves"):
//! a quantity the venue would refuse, or would have to round, is refused here instead, with the
//! rule it broke.

use rust_decimal::Decimal;
use tradeengine_model::{Instrument, OrderKind, OrderRequest};

use crate::rounding::is_multiple_of;
use crate::{VenueError, VenueErrorKind};

/// Quantity positive and on the step (in venue units: the caller has
/// already converted base units with the instrument's contract size),
/// limit price on the tick.
pub fn check_order(
    venue: &'static str,
    instrument: &Instrument,
    order: &OrderRequest,
) -> Result<(), VenueError> {
    let s = &order.symbol;
    let qty = instrument.base_to_venue(order.qty).unwrap_or(Decimal::ZERO);
    if qty <= Decimal::ZERO || !is_multiple_of(qty, instrument.qty_step) {
        return Err(VenueError::new(
            venue,
            VenueErrorKind::Rejected,
            format!(
                "{s}: quantity {} must be a positive multiple of the step {}",
                order.qty, instrument.qty_step
            ),
        )
        .with_code("bad_qty"));
    }
    if let OrderKind::Limit { price } = order.kind
        && !is_multiple_of(price.get(), instrument.tick_size)
    {
        return Err(VenueError::new(
            venue,
            VenueErrorKind::Rejected,
            format!(
                "{s}: price {price} is not a multiple of the tick {}",
                instrument.tick_size
            ),
        )
        .with_code("bad_price"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use tradeengine_model::{ClientOrderId, Price, Side, Symbol};

    use super::*;

    #[test]
    fn off_grid_orders_are_refused_with_the_rule() {
        let sym = Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}"));
        let i = Instrument::linear(sym.clone(), dec!(0.001), dec!(0.1));
        let mut o = OrderRequest {
            client_order_id: ClientOrderId::new("c").unwrap_or_else(|e| panic!("{e}")),
            symbol: sym,
            side: Side::Buy,
            qty: dec!(0.0015),
            kind: OrderKind::Market,
            reduce_only: false,
        };
        assert_eq!(
            check_order("t", &i, &o).err().and_then(|e| e.code),
            Some("bad_qty".into())
        );
        o.qty = dec!(0.002);
        assert!(check_order("t", &i, &o).is_ok());
        o.kind = OrderKind::Limit {
            price: Price::new(dec!(60000.05)).unwrap_or_else(|e| panic!("{e}")),
        };
        assert_eq!(
            check_order("t", &i, &o).err().and_then(|e| e.code),
            Some("bad_price".into())
        );
    }
}
