//! Checking a venue's instrument rules before sizing or planning divides by them.
//!
//! `Instrument::validate` (model) states the rules. Sizing and planning run once per account and
//! symbol each cycle (1,000 calls at 5 accounts × 100 symbols), and a `Decimal` comparison costs
//! about as much as a multiplication, so the common case reads the signs from the decimals'
//! fields and asks the model only when something is off, to name the broken rule.

use rust_decimal::Decimal;
use tradeengine_model::Instrument;

use crate::CoreError;

/// `v > 0`, from the sign bit and the zero test.
pub(crate) fn positive(v: Decimal) -> bool {
    v.is_sign_positive() && !v.is_zero()
}

/// `v < 0`, likewise (a negative zero is not negative).
pub(crate) fn negative(v: Decimal) -> bool {
    v.is_sign_negative() && !v.is_zero()
}

/// `v ≥ 0`, likewise (a negative zero counts as zero).
pub(crate) fn non_negative(v: Decimal) -> bool {
    v.is_sign_positive() || v.is_zero()
}

/// `Ok` when `i` obeys `Instrument::validate`; otherwise the model's error, naming the field.
pub(crate) fn check(i: &Instrument) -> Result<(), CoreError> {
    let ok = positive(i.qty_step)
        && non_negative(i.min_qty)
        && positive(i.tick_size)
        && non_negative(i.min_notional)
        && positive(i.contract_size)
        && positive(i.max_leverage)
        && i.max_market_qty
            .is_none_or(|max| positive(max) && crate::num::ge(max, i.qty_step));
    if ok {
        return Ok(());
    }
    let bad = |source| CoreError::BadInstrument {
        symbol: i.symbol.to_string(),
        source,
    };
    i.validate().map_err(bad)?;
    // The model accepted what the fast path refused: the two disagree, so refuse with both named.
    Err(CoreError::bad(
        "instrument",
        &i.symbol,
        "failed the core's check although the model accepted it",
    ))
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use tradeengine_model::Symbol;

    use super::*;

    fn ok() -> Instrument {
        Instrument {
            max_market_qty: Some(dec!(100)),
            ..Instrument::linear(Symbol::new("BTCUSDT").unwrap(), dec!(0.001), dec!(0.1))
        }
    }

    #[test]
    fn agrees_with_the_model_on_every_field() {
        assert_eq!(check(&ok()), Ok(()));
        let cases: [fn(&mut Instrument); 9] = [
            |i| i.qty_step = dec!(0),
            |i| i.qty_step = dec!(-0.001),
            |i| i.min_qty = dec!(-1),
            |i| i.tick_size = dec!(0),
            |i| i.min_notional = dec!(-5),
            |i| i.contract_size = dec!(0),
            |i| i.max_leverage = dec!(-1),
            |i| i.max_market_qty = Some(dec!(0.0005)),
            |i| i.max_market_qty = Some(dec!(0)),
        ];
        for (k, break_it) in cases.iter().enumerate() {
            let mut i = ok();
            break_it(&mut i);
            assert!(i.validate().is_err(), "case {k}: the model should refuse");
            assert!(
                matches!(check(&i), Err(CoreError::BadInstrument { .. })),
                "case {k}"
            );
        }
        let mut zero_min = ok();
        zero_min.min_qty = dec!(0);
        zero_min.min_notional = dec!(0);
        assert_eq!(check(&zero_min), Ok(()));
    }

    #[test]
    fn sign_helpers() {
        assert!(positive(dec!(0.0001)) && !positive(dec!(0)) && !positive(dec!(-1)));
        assert!(non_negative(dec!(0)) && non_negative(-dec!(0)) && !non_negative(dec!(-0.1)));
        assert!(negative(dec!(-0.1)) && !negative(-dec!(0)) && !negative(dec!(0.1)));
    }
}
