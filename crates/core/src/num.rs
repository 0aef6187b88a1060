//! Exact decimal helpers shared by sizing and planning.
//!
//! The arithmetic goes through [`fast`], which returns the very `Decimal` (value, scale and sign)
//! that `rust_decimal` returns, only sooner; comparisons likewise ([`cmp`], [`min`], [`max`]).
//!
//! Every function is total: it returns [`CoreError::Overflow`] instead of panicking, so extreme
//! but valid inputs (a price of 1e15, a step of 1e-12) can never take the process down.
//!
//! Rounding rules, all on a grid of `step` (venue units):
//! - [`round_half_even`]: the nearest multiple of `step`, ties to the even multiple
//!   (0.0125 → 0.012, 0.0135 → 0.014 at step 0.001). Used for targets, as sirouk/trade-engine
//!   rounds them, so an imported setup sizes the same.
//! - [`floor_toward_zero`]: the nearest multiple of `step` no farther from zero than the input
//!   (−0.0129 → −0.012). Used whenever a cap or a budget limits a size, so a limit is never
//!   exceeded by rounding.

use std::cmp::Ordering;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::CoreError;

pub mod fast;

/// `a.cmp(&b)`, exact, without the library's general-case cost.
#[inline(always)]
pub fn cmp(a: Decimal, b: Decimal) -> Ordering {
    fast::cmp(a, b)
}

/// `a < b`.
#[inline(always)]
pub fn lt(a: Decimal, b: Decimal) -> bool {
    cmp(a, b) == Ordering::Less
}

/// `a ≤ b`.
#[inline(always)]
pub fn le(a: Decimal, b: Decimal) -> bool {
    cmp(a, b) != Ordering::Greater
}

/// `a > b`.
#[inline(always)]
pub fn gt(a: Decimal, b: Decimal) -> bool {
    cmp(a, b) == Ordering::Greater
}

/// `a ≥ b`.
#[inline(always)]
pub fn ge(a: Decimal, b: Decimal) -> bool {
    cmp(a, b) != Ordering::Less
}

/// `Decimal::min(a, b)`: `a` when the two are equal (which matters: `20` and `20.0` print
/// apart).
#[inline(always)]
pub fn min(a: Decimal, b: Decimal) -> Decimal {
    if gt(a, b) { b } else { a }
}

/// `Decimal::max(a, b)` (the inherent method, not `Ord::max`): `a` when the two are equal.
#[inline(always)]
pub fn max(a: Decimal, b: Decimal) -> Decimal {
    if lt(a, b) { b } else { a }
}

/// `Some(k)` when `step` is exactly 10^-k: rounding to it is then a rescale, no division.
/// Most venue steps are (0.001, 1, 0.01); 0.5 or 5 take the general path.
#[inline]
fn decimal_places(step: Decimal) -> Option<u32> {
    (step.mantissa() == 1).then(|| step.scale())
}

/// True when `d` is exactly 1 (as a contract size usually is), by its fields: no comparison.
#[inline(always)]
pub fn is_one(d: Decimal) -> bool {
    d.mantissa() == 1 && d.scale() == 0
}

/// `x` rounded half-even to a multiple of `step` (`step > 0`, checked by the caller).
#[inline(always)]
pub fn round_half_even(
    x: Decimal,
    step: Decimal,
    what: &'static str,
) -> Result<Decimal, CoreError> {
    to_step(x, step, RoundingStrategy::MidpointNearestEven, what)
}

/// `x` moved toward zero to a multiple of `step` (`step > 0`, checked by the caller).
#[inline(always)]
pub fn floor_toward_zero(
    x: Decimal,
    step: Decimal,
    what: &'static str,
) -> Result<Decimal, CoreError> {
    to_step(x, step, RoundingStrategy::ToZero, what)
}

#[inline(always)]
fn to_step(
    x: Decimal,
    step: Decimal,
    strategy: RoundingStrategy,
    what: &'static str,
) -> Result<Decimal, CoreError> {
    if let Some(places) = decimal_places(step) {
        return Ok(fast::round_dp(x, places, strategy));
    }
    let units = fast::round_dp(div(x, step, what)?, 0, strategy);
    mul(units, step, what)
}

/// Base units → venue units (`base / contract_size`). A contract size of 1 is free, and one of
/// 10^-k (KuCoin's 0.001 BTC lots) only moves the decimal point: no division either way.
#[inline(always)]
pub fn to_venue(base: Decimal, contract_size: Decimal) -> Result<Decimal, CoreError> {
    if is_one(contract_size) {
        return Ok(base);
    }
    if let Some(k) = decimal_places(contract_size)
        && base.scale() >= k
        && let Ok(v) = Decimal::try_from_i128_with_scale(base.mantissa(), base.scale() - k)
    {
        return Ok(v);
    }
    div(base, contract_size, "base to venue units")
}

/// Venue units → base units (`venue × contract_size`), with the same shortcuts.
#[inline(always)]
pub fn to_base(venue: Decimal, contract_size: Decimal) -> Result<Decimal, CoreError> {
    if is_one(contract_size) {
        return Ok(venue);
    }
    if let Some(k) = decimal_places(contract_size)
        && let Ok(v) = Decimal::try_from_i128_with_scale(venue.mantissa(), venue.scale() + k)
    {
        return Ok(v);
    }
    mul(venue, contract_size, "venue to base units")
}

#[inline(always)]
pub fn mul(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, CoreError> {
    // A `match`, not `ok_or`: building the error eagerly costs a drop on every call.
    match fast::mul(a, b) {
        Some(v) => Ok(v),
        None => Err(CoreError::Overflow(what)),
    }
}

#[inline(always)]
pub fn div(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, CoreError> {
    match fast::div(a, b) {
        Some(v) => Ok(v),
        None => Err(CoreError::Overflow(what)),
    }
}

#[inline(always)]
pub fn add(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, CoreError> {
    match fast::add(a, b) {
        Some(v) => Ok(v),
        None => Err(CoreError::Overflow(what)),
    }
}

#[inline(always)]
pub fn sub(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, CoreError> {
    match fast::sub(a, b) {
        Some(v) => Ok(v),
        None => Err(CoreError::Overflow(what)),
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn half_even_ties_go_to_the_even_step() {
        assert_eq!(
            round_half_even(dec!(0.0125), dec!(0.001), "t"),
            Ok(dec!(0.012))
        );
        assert_eq!(
            round_half_even(dec!(0.0135), dec!(0.001), "t"),
            Ok(dec!(0.014))
        );
        assert_eq!(
            round_half_even(dec!(-0.0125), dec!(0.001), "t"),
            Ok(dec!(-0.012))
        );
        assert_eq!(round_half_even(dec!(12.5), dec!(1), "t"), Ok(dec!(12)));
        assert_eq!(round_half_even(dec!(0.0004), dec!(0.001), "t"), Ok(dec!(0)));
    }

    #[test]
    fn floor_moves_toward_zero_on_both_sides() {
        assert_eq!(
            floor_toward_zero(dec!(0.0129), dec!(0.001), "t"),
            Ok(dec!(0.012))
        );
        assert_eq!(
            floor_toward_zero(dec!(-0.0129), dec!(0.001), "t"),
            Ok(dec!(-0.012))
        );
        assert_eq!(floor_toward_zero(dec!(7), dec!(2.5), "t"), Ok(dec!(5)));
    }

    #[test]
    fn power_of_ten_steps_match_the_general_path() {
        for x in [
            dec!(0.0125),
            dec!(-0.0135),
            dec!(12.5),
            dec!(7.77777),
            dec!(-0.0004),
        ] {
            for step in [dec!(0.001), dec!(1), dec!(0.01)] {
                for strategy in [
                    RoundingStrategy::MidpointNearestEven,
                    RoundingStrategy::ToZero,
                ] {
                    let general = (x / step).round_dp_with_strategy(0, strategy) * step;
                    assert_eq!(to_step(x, step, strategy, "t"), Ok(general), "{x} {step}");
                }
            }
        }
        // Steps that are not powers of ten take the division path.
        assert_eq!(round_half_even(dec!(7.25), dec!(0.5), "t"), Ok(dec!(7.0)));
        assert_eq!(round_half_even(dec!(7.75), dec!(0.5), "t"), Ok(dec!(8.0)));
        assert_eq!(floor_toward_zero(dec!(-7), dec!(5), "t"), Ok(dec!(-5)));
        assert!(is_one(dec!(1)) && !is_one(dec!(1.0)) && !is_one(dec!(0.001)));
    }

    #[test]
    fn unit_conversions_match_plain_arithmetic() {
        for x in [
            dec!(0.0125),
            dec!(-12.5),
            dec!(3),
            dec!(0.000000001),
            dec!(123456789.123),
        ] {
            for cs in [
                dec!(1),
                dec!(0.001),
                dec!(0.01),
                dec!(10),
                dec!(0.5),
                dec!(1.0),
            ] {
                assert_eq!(to_venue(x, cs), Ok(x / cs), "{x} / {cs}");
                assert_eq!(to_base(x, cs), Ok(x * cs), "{x} × {cs}");
            }
        }
        // Past 28 decimal places the shortcut steps aside for checked arithmetic.
        assert_eq!(
            to_base(dec!(0.0000000000000000000000000001), dec!(0.001)),
            Ok(Decimal::ZERO)
        );
        assert_eq!(to_venue(dec!(5), dec!(0.001)), Ok(dec!(5000)));
    }

    #[test]
    fn min_and_max_return_the_same_operand_as_the_library() {
        let values = [
            dec!(20),
            dec!(20.0),
            dec!(-1),
            dec!(0),
            dec!(0.000),
            dec!(19.99),
        ];
        for a in values {
            for b in values {
                assert_eq!(min(a, b).serialize(), a.min(b).serialize(), "min({a}, {b})");
                assert_eq!(max(a, b).serialize(), a.max(b).serialize(), "max({a}, {b})");
                assert_eq!(cmp(a, b), a.cmp(&b));
            }
        }
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        assert_eq!(
            round_half_even(Decimal::MAX, dec!(0.5), "huge"),
            Err(CoreError::Overflow("huge"))
        );
        assert_eq!(
            mul(Decimal::MAX, dec!(2), "m"),
            Err(CoreError::Overflow("m"))
        );
    }
}
