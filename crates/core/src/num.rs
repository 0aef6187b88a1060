//! Exact decimal helpers shared by sizing and planning.
//!
//! The arithmetic is `rust_decimal`'s own checked operations. Hand-written `u128` fast paths
//! of them once lived here; they saved about 0.3 ms per 500-symbol batch, which a whole cycle
//! (hundreds of milliseconds waiting on venues) does not notice, so they were removed and the
//! money path reads as the library it trusts (BENCHMARKS.md, "Money core").
//!
//! Every function is total: it returns [`CoreError::Overflow`] instead of panicking, so extreme
//! but valid inputs (a price of 1e15, a step of 1e-12) can never take the process down.
//!
//! Rounding and unit conversion are the instrument-grid rules of [`tradeengine_model::grid`];
//! sizing names its two directions here, on a grid of `step` (venue units):
//! - [`round_half_even`]: the nearest multiple of `step`, ties to the even multiple
//!   (0.0125 → 0.012, 0.0135 → 0.014 at step 0.001). Used for targets.
//! - [`floor_toward_zero`]: the nearest multiple of `step` no farther from zero than the input
//!   (−0.0129 → −0.012). Used whenever a cap or a budget limits a size, so a limit is never
//!   exceeded by rounding.

use std::cmp::Ordering;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::CoreError;

/// `a.cmp(&b)`: by value, so `20` and `20.0` are equal.
#[inline(always)]
pub fn cmp(a: Decimal, b: Decimal) -> Ordering {
    a.cmp(&b)
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

pub use tradeengine_model::grid::is_one;
use tradeengine_model::grid::{self, decimal_places};

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

/// [`grid::round_to_step`], the one rounding rule; a power-of-ten step (most venue steps)
/// rounds to decimal places, which gives the same value and scale without a division.
#[inline(always)]
fn to_step(
    x: Decimal,
    step: Decimal,
    strategy: RoundingStrategy,
    what: &'static str,
) -> Result<Decimal, CoreError> {
    if let Some(places) = decimal_places(step) {
        return Ok(x.round_dp_with_strategy(places, strategy));
    }
    match grid::round_to_step(x, step, strategy) {
        Some(v) => Ok(v),
        None => Err(CoreError::Overflow(what)),
    }
}

/// Base units → venue units ([`grid::to_venue`]).
#[inline(always)]
pub fn to_venue(base: Decimal, contract_size: Decimal) -> Result<Decimal, CoreError> {
    match grid::to_venue(base, contract_size) {
        Some(v) => Ok(v),
        None => Err(CoreError::Overflow("base to venue units")),
    }
}

/// Venue units → base units ([`grid::to_base`]).
#[inline(always)]
pub fn to_base(venue: Decimal, contract_size: Decimal) -> Result<Decimal, CoreError> {
    match grid::to_base(venue, contract_size) {
        Some(v) => Ok(v),
        None => Err(CoreError::Overflow("venue to base units")),
    }
}

#[inline(always)]
pub fn mul(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, CoreError> {
    match a.checked_mul(b) {
        Some(v) => Ok(v),
        None => Err(CoreError::Overflow(what)),
    }
}

#[inline(always)]
pub fn div(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, CoreError> {
    match a.checked_div(b) {
        Some(v) => Ok(v),
        None => Err(CoreError::Overflow(what)),
    }
}

#[inline(always)]
pub fn add(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, CoreError> {
    match a.checked_add(b) {
        Some(v) => Ok(v),
        None => Err(CoreError::Overflow(what)),
    }
}

#[inline(always)]
pub fn sub(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, CoreError> {
    match a.checked_sub(b) {
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
