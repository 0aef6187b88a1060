//! Snapping decimals to a venue increment (a price tick or a quantity step).
//!
//! `round_to_step(v, step, s) = round_s(v / step) × step`, where `round_s` rounds to a whole
//! number of steps with the rounding strategy `s`. The strategy is always named by the caller,
//! because the right direction depends on who the rounding must not favour: a paper fill price
//! rounds *against* the trader (buys up, sells down), a feed price rounds to the nearest tick.

use rust_decimal::{Decimal, RoundingStrategy};
use tradeengine_model::Instrument;

use crate::{VenueError, VenueErrorKind};

/// `value` snapped to a whole number of `step`s with `strategy`. `None` when `step` is not
/// positive or on overflow.
pub fn round_to_step(value: Decimal, step: Decimal, strategy: RoundingStrategy) -> Option<Decimal> {
    if step <= Decimal::ZERO {
        return None;
    }
    let units = value.checked_div(step)?.round_dp_with_strategy(0, strategy);
    units.checked_mul(step).map(|v| v.normalize())
}

/// True when `value` is a whole number of `step`s (and `step` is positive).
pub fn is_multiple_of(value: Decimal, step: Decimal) -> bool {
    step > Decimal::ZERO && value.checked_rem(step).is_some_and(|r| r.is_zero())
}

/// A base quantity in the venue's order units (`units`: "contracts", "lots"): divided by the
/// instrument's contract size and rounded **toward zero** to its step, so an order never
/// exceeds what was planned. Refused (code `bad_qty`) when it cannot be expressed.
pub fn to_venue_units(
    venue: &'static str,
    i: &Instrument,
    base: Decimal,
    units: &str,
) -> Result<Decimal, VenueError> {
    i.base_to_venue(base)
        .and_then(|v| round_to_step(v, i.qty_step, RoundingStrategy::ToZero))
        .ok_or_else(|| {
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

    use super::*;

    #[test]
    fn rounds_in_the_named_direction() {
        let up = RoundingStrategy::ToPositiveInfinity;
        let down = RoundingStrategy::ToNegativeInfinity;
        let near = RoundingStrategy::MidpointAwayFromZero;
        assert_eq!(
            round_to_step(dec!(60012.01), dec!(0.1), up),
            Some(dec!(60012.1))
        );
        assert_eq!(
            round_to_step(dec!(60012.09), dec!(0.1), down),
            Some(dec!(60012.0))
        );
        assert_eq!(
            round_to_step(dec!(60012.05), dec!(0.1), near),
            Some(dec!(60012.1))
        );
        assert_eq!(
            round_to_step(dec!(60012.04), dec!(0.1), near),
            Some(dec!(60012.0))
        );
        // Already on the grid: unchanged whatever the direction.
        assert_eq!(
            round_to_step(dec!(150.125), dec!(0.001), up),
            Some(dec!(150.125))
        );
        // Steps that are not powers of ten.
        assert_eq!(
            round_to_step(dec!(1.26), dec!(0.25), down),
            Some(dec!(1.25))
        );
        assert_eq!(round_to_step(dec!(1.26), dec!(0.25), up), Some(dec!(1.5)));
    }

    #[test]
    fn refuses_non_positive_steps() {
        let s = RoundingStrategy::MidpointAwayFromZero;
        assert_eq!(round_to_step(dec!(1), dec!(0), s), None);
        assert_eq!(round_to_step(dec!(1), dec!(-0.1), s), None);
    }

    #[test]
    fn multiples() {
        assert!(is_multiple_of(dec!(0.003), dec!(0.001)));
        assert!(is_multiple_of(dec!(0.0030), dec!(0.001)));
        assert!(!is_multiple_of(dec!(0.0035), dec!(0.001)));
        assert!(is_multiple_of(dec!(2.5), dec!(0.1)));
        assert!(!is_multiple_of(dec!(1), dec!(0)));
    }

    fn instrument(venue_symbol: &str, contract_size: Decimal, step: Decimal) -> Instrument {
        Instrument {
            venue_symbol: venue_symbol.into(),
            contract_size,
            min_qty: step,
            ..Instrument::linear(
                tradeengine_model::Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}")),
                step,
                rust_decimal_macros::dec!(0.1),
            )
        }
    }

    #[test]
    fn base_quantities_become_contracts_rounded_toward_zero() {
        use rust_decimal_macros::dec;
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
        use rust_decimal_macros::dec;
        // KuCoin XBTUSDTM: multiplier 0.001 BTC, whole lots.
        let i = instrument("XBTUSDTM", dec!(0.001), dec!(1));
        let l = |base| to_venue_units("kucoin", &i, base, "lots").ok();
        assert_eq!(l(dec!(0.012)), Some(dec!(12)));
        // 12.9 lots: never rounded up to 13.
        assert_eq!(l(dec!(0.0129)), Some(dec!(12)));
        assert_eq!(l(dec!(0.0009)), Some(dec!(0)));
    }
}
