//! Exact splits: a total shared over weights so that the parts add back to the total with no
//! rounding loss.
//!
//! Each part is `total × w / Σw` rounded half-even to [`DP`] places; whatever the rounding
//! left over is returned as the remainder, which the caller books to the unattributed bucket.
//! The parts plus the remainder equal the total exactly, because the remainder is computed by
//! subtraction, which `Decimal` does exactly at these scales.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::CoreError;
use crate::num::{add, div, mul, sub};

/// Decimal places kept by a split share (quantities and quote amounts alike): far below any
/// venue's step or tick, and few enough that `share × price` stays inside `Decimal`'s 28 digits
/// for every realistic position.
pub const DP: u32 = 12;

/// Rounds a derived amount to [`DP`] places, half-even: the nearest, so `3 × (1/3)` (which
/// `Decimal` holds as 0.99…9) comes back as 1 rather than leaving dust behind.
pub(crate) fn trim(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(DP, RoundingStrategy::MidpointNearestEven)
}

/// Splits `total` over `weights` (any signs, non-zero sum). Returns one part per weight and the
/// remainder `total − Σ parts`.
pub(crate) fn split(
    total: Decimal,
    weights: &[Decimal],
    what: &'static str,
) -> Result<(Vec<Decimal>, Decimal), CoreError> {
    let mut sum = Decimal::ZERO;
    for w in weights {
        sum = add(sum, *w, what)?;
    }
    let mut parts = Vec::with_capacity(weights.len());
    let mut given = Decimal::ZERO;
    if sum.is_zero() {
        // Nothing to weigh by: everything is remainder.
        parts.resize(weights.len(), Decimal::ZERO);
        return Ok((parts, total));
    }
    for w in weights {
        let part = trim(mul(total, div(*w, sum, what)?, what)?);
        given = add(given, part, what)?;
        parts.push(part);
    }
    Ok((parts, sub(total, given, what)?))
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn thirds_leave_their_rounding_as_remainder() {
        let (parts, rest) = split(dec!(1), &[dec!(1), dec!(1), dec!(1)], "t").unwrap();
        assert_eq!(parts, vec![dec!(0.333333333333); 3]);
        assert_eq!(rest, dec!(0.000000000001));
        assert_eq!(parts.iter().sum::<Decimal>() + rest, dec!(1));
    }

    #[test]
    fn opposite_weights_share_by_sign() {
        // Longs 3 and a short 1 (net 2) share a funding of −10: the short receives.
        let (parts, rest) = split(dec!(-10), &[dec!(3), dec!(-1)], "t").unwrap();
        assert_eq!(parts, vec![dec!(-15), dec!(5)]);
        assert_eq!(rest, Decimal::ZERO);
    }

    #[test]
    fn zero_weights_give_everything_to_the_remainder() {
        let (parts, rest) = split(dec!(7.5), &[Decimal::ZERO, Decimal::ZERO], "t").unwrap();
        assert_eq!(parts, vec![Decimal::ZERO; 2]);
        assert_eq!(rest, dec!(7.5));
    }
}
