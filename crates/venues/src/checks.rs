//! The instrument-grid rules of [`tradeengine_model::grid`] as venue errors: every adapter
//! calls [`check_order`] before an order leaves the process, so a quantity the venue would
//! refuse, or would have to round, is refused here instead, with the rule it broke; and sizes
//! an order in venue units with [`to_venue_units`]. The paper venue reports the same
//! violations, with the same codes and messages, through [`violation`].

use rust_decimal::Decimal;
use tradeengine_model::grid::{self, GridViolation};
use tradeengine_model::{Instrument, OrderRequest};

use crate::{VenueError, VenueErrorKind};

/// A grid violation as `venue`'s error: [`VenueErrorKind::Rejected`] with the violation's code,
/// except an overflow of our own arithmetic, which is `Internal` (never the caller's fault).
pub fn violation(venue: impl Into<String>, v: &GridViolation) -> VenueError {
    match v {
        GridViolation::Overflow { .. } => {
            VenueError::new(venue, VenueErrorKind::Internal, v.to_string())
        }
        _ => VenueError::new(venue, VenueErrorKind::Rejected, v.to_string()).with_code(v.code()),
    }
}

/// Quantity positive and, in venue units (the instrument's contract size applied), a whole
/// number of steps; limit price on the tick ([`grid::check_grid`]).
pub fn check_order(
    venue: &'static str,
    instrument: &Instrument,
    order: &OrderRequest,
) -> Result<(), VenueError> {
    grid::check_grid(instrument, order).map_err(|v| violation(venue, &v))
}

/// A base quantity in the venue's order units (`units`: "contracts", "lots"), rounded toward
/// zero to the step ([`grid::order_venue_qty`]). Refused (code `bad_qty`) when it cannot be
/// expressed.
pub fn to_venue_units(
    venue: &'static str,
    i: &Instrument,
    base: Decimal,
    units: &str,
) -> Result<Decimal, VenueError> {
    grid::order_venue_qty(i, base).ok_or_else(|| {
        VenueError::new(
            venue,
            VenueErrorKind::Rejected,
            format!(
                "{}: quantity {base} cannot be expressed in {units}",
                i.symbol
            ),
        )
        .with_code("bad_qty")
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use tradeengine_model::{ClientOrderId, OrderKind, Price, Side, Symbol};

    use super::*;

    fn sym() -> Symbol {
        Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn off_grid_orders_are_refused_with_the_rule() {
        let i = Instrument::linear(sym(), dec!(0.001), dec!(0.1));
        let mut o = OrderRequest {
            client_order_id: ClientOrderId::new("c").unwrap_or_else(|e| panic!("{e}")),
            symbol: sym(),
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

    #[test]
    fn contracts_are_checked_in_venue_units() {
        // MEXC BTC_USDT: contracts of 0.0001 BTC, whole contracts.
        let i = Instrument {
            contract_size: dec!(0.0001),
            ..Instrument::linear(sym(), dec!(1), dec!(0.1))
        };
        let mut o = OrderRequest {
            client_order_id: ClientOrderId::new("c").unwrap_or_else(|e| panic!("{e}")),
            symbol: sym(),
            side: Side::Buy,
            qty: dec!(0.0012),
            kind: OrderKind::Market,
            reduce_only: false,
        };
        assert!(check_order("mexc", &i, &o).is_ok(), "12 contracts");
        o.qty = dec!(0.00125);
        let e = check_order("mexc", &i, &o).err();
        assert_eq!(
            e.map(|e| e.message),
            Some(
                "BTCUSDT: quantity 0.00125 (12.5 in venue units) is not a multiple of the step 1"
                    .into()
            )
        );
    }

    fn instrument(venue_symbol: &str, contract_size: Decimal, step: Decimal) -> Instrument {
        Instrument {
            venue_symbol: venue_symbol.into(),
            contract_size,
            min_qty: step,
            ..Instrument::linear(sym(), step, dec!(0.1))
        }
    }

    #[test]
    fn base_quantities_become_contracts_rounded_toward_zero() {
        // BloFin BTC-USDT: contract value 0.001 BTC, lot 0.1 contract.
        let i = instrument("BTC-USDT", dec!(0.001), dec!(0.1));
        let c = |base| to_venue_units("blofin", &i, base, "contracts").ok();
        // 0.0123 BTC / 0.001 = 12.3 contracts, on the 0.1 lot.
        assert_eq!(c(dec!(0.0123)), Some(dec!(12.3)));
        // 0.01239 BTC = 12.39 contracts: never rounded up to 12.4.
        assert_eq!(c(dec!(0.01239)), Some(dec!(12.3)));
        assert_eq!(c(dec!(0.00009)), Some(dec!(0)));
        assert_eq!(c(dec!(1)), Some(dec!(1000)));
    }

    #[test]
    fn base_quantities_become_whole_lots_rounded_toward_zero() {
        // KuCoin XBTUSDTM: multiplier 0.001 BTC, whole lots.
        let i = instrument("XBTUSDTM", dec!(0.001), dec!(1));
        let l = |base| to_venue_units("kucoin", &i, base, "lots").ok();
        assert_eq!(l(dec!(0.012)), Some(dec!(12)));
        // 12.9 lots: never rounded up to 13.
        assert_eq!(l(dec!(0.0129)), Some(dec!(12)));
        assert_eq!(l(dec!(0.0009)), Some(dec!(0)));
    }
}
