//! Splitting one order at the venue's market maximum (plan rule 6): `n = ⌈steps / chunk⌉` legs
//! of near equal size on the step grid, largest first.
//!
//! Two computations of the same legs:
//! - [`split_general`], in `Decimal`: any size, including the off-step close of an off-step
//!   position (its rest rides on the last leg);
//! - [`split_whole`], in integers, for the usual case: a size of a whole number of steps
//!   (< 10^15) and a chunk of at most 10^12 steps. It returns the very same decimals as the
//!   general path (same values, same scales), which is proved below for those bounds and tested
//!   against it; outside them it declines and the general path runs.
//!
//! Why the bounds make the two agree: the general path takes `⌈units / chunk⌉` and
//! `trunc(whole / n)` of 28-digit decimal quotients. A quotient below 10^16 keeps at least 12
//! decimals, and a non-integer `units / chunk` exceeds an integer by at least `1 / chunk ≥
//! 10^-12`, and `whole / n` falls short of one by at least `1 / n ≥ 1 / MAX_LEGS`; so rounding to
//! those decimals never crosses an integer, and ceiling and truncation are exact.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::CoreError;
use crate::num::{self, div, gt, max, mul};

/// More legs than this means the inputs are wrong (a tiny `max_market_qty`, a huge target).
/// Kept with the splitting that counts them, so `plan` depends on this module and not back.
pub const MAX_LEGS: usize = 500;

/// Largest whole number of steps [`split_whole`] takes.
const MAX_UNITS: u128 = 1_000_000_000_000_000;
/// Largest chunk, in steps, [`split_whole`] takes.
const MAX_CHUNK: u128 = 1_000_000_000_000;

/// The legs of an order of `size` venue units (> `limit`), `limit` being the market maximum,
/// given to `leg` in order as venue quantities; `None` when `size` or the chunk is outside the
/// integer path's bounds. `legs` is the number of legs already in the plan.
pub(crate) fn split_whole(
    size: Decimal,
    step: Decimal,
    limit: Decimal,
    legs: usize,
    mut leg: impl FnMut(Decimal) -> Result<(), CoreError>,
) -> Option<Result<(), CoreError>> {
    let units = steps_in(size, step, true).filter(|u| (1..MAX_UNITS).contains(u))?;
    let chunk = steps_in(limit, step, false).filter(|c| (1..=MAX_CHUNK).contains(c))?;
    let n = units.div_ceil(chunk);
    if n > MAX_LEGS.saturating_sub(legs) as u128 {
        return Some(Err(CoreError::TooManyLegs {
            legs: (n + legs as u128).to_string(),
            max: MAX_LEGS,
        }));
    }
    let per = units / n;
    let extra = units - per * n;
    for k in 0..n {
        let units = per + u128::from(k < extra);
        if units == 0 {
            continue;
        }
        // `Decimal::from(units)` is the general path's integer leg size (scale 0), and the same
        // multiplication makes the same decimal.
        let venue_qty = u64::try_from(units)
            .ok()
            .and_then(|u| mul(Decimal::from(u), step, "leg size").ok());
        let Some(venue_qty) = venue_qty else {
            return Some(Err(CoreError::Overflow("leg size")));
        };
        if let Err(e) = leg(venue_qty) {
            return Some(Err(e));
        }
    }
    Some(Ok(()))
}

/// `x / step` in whole steps: exactly when `exact`, otherwise rounded down; `None` when not a
/// whole number (if `exact`) or too large for `u128` arithmetic.
fn steps_in(x: Decimal, step: Decimal, exact: bool) -> Option<u128> {
    if x.is_sign_negative() || step.is_sign_negative() {
        return None;
    }
    let (mx, sx) = (x.mantissa().unsigned_abs(), x.scale());
    let (ms, ss) = (step.mantissa().unsigned_abs(), step.scale());
    // x / step = (mx / 10^sx) / (ms / 10^ss) = mx × 10^ss / (ms × 10^sx).
    let pow = |k: u32| 10u128.checked_pow(k);
    let (num, den) = if ss >= sx {
        (mx.checked_mul(pow(ss - sx)?)?, ms)
    } else {
        (mx, ms.checked_mul(pow(sx - ss)?)?)
    };
    if den == 0 || (exact && num % den != 0) {
        return None;
    }
    Some(num / den)
}

/// The legs of an order of `size` venue units (> `limit`), in `Decimal`: whole steps split
/// evenly, plus the off-step rest of a close of an off-step position on the last leg.
pub(crate) fn split_general(
    size: Decimal,
    step: Decimal,
    limit: Decimal,
    legs: usize,
    mut leg: impl FnMut(Decimal) -> Result<(), CoreError>,
) -> Result<(), CoreError> {
    let units = div(size, step, "order steps")?;
    let whole = units.trunc();
    let rest = num::sub(units, whole, "order steps")?;
    let chunk = div(limit, step, "max market qty")?.trunc();
    let n = max(div(units, chunk, "leg count")?.ceil(), Decimal::ONE);
    if gt(n, Decimal::from(MAX_LEGS.saturating_sub(legs))) {
        return Err(CoreError::TooManyLegs {
            legs: (n + Decimal::from(legs)).to_string(),
            max: MAX_LEGS,
        });
    }
    let n_legs = n.to_usize().unwrap_or(MAX_LEGS);
    let per = div(whole, n, "leg split")?.trunc();
    // `extra` < n legs get one step more than `per`, largest first.
    let mut extra = num::sub(whole, mul(per, n, "leg split")?, "leg split")?;
    for k in 0..n_legs {
        let mut leg_units = per;
        if crate::instrument::positive(extra) {
            leg_units = num::add(leg_units, Decimal::ONE, "leg split")?;
            extra = num::sub(extra, Decimal::ONE, "leg split")?;
        }
        if k + 1 == n_legs {
            leg_units = num::add(leg_units, rest, "leg split")?;
        }
        if leg_units.is_zero() {
            continue;
        }
        leg(mul(leg_units, step, "leg size")?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    use super::*;

    /// Serialised legs (value, scale and sign) or the error.
    fn general(
        size: Decimal,
        step: Decimal,
        limit: Decimal,
        legs: usize,
    ) -> Result<Vec<[u8; 16]>, CoreError> {
        let mut out = Vec::new();
        split_general(size, step, limit, legs, |q| {
            out.push(q.serialize());
            Ok(())
        })
        .map(|()| out)
    }

    fn whole(
        size: Decimal,
        step: Decimal,
        limit: Decimal,
        legs: usize,
    ) -> Option<Result<Vec<[u8; 16]>, CoreError>> {
        let mut out = Vec::new();
        split_whole(size, step, limit, legs, |q| {
            out.push(q.serialize());
            Ok(())
        })
        .map(|r| r.map(|()| out))
    }

    #[test]
    fn whole_steps_split_like_the_general_path() {
        let cases = [
            (dec!(25), dec!(1), dec!(10), 0),
            (dec!(0.025), dec!(0.001), dec!(0.010), 0),
            (dec!(2.5), dec!(0.5), dec!(1), 3),
            (dec!(4001), dec!(1), dec!(2000), 0),
            (dec!(7.000), dec!(0.01), dec!(2.5), 0),
            (dec!(100000), dec!(1), dec!(1), 0),
        ];
        for (size, step, limit, legs) in cases {
            let w = whole(size, step, limit, legs);
            assert!(w.is_some(), "{size} {step} {limit}");
            assert_eq!(
                w,
                Some(general(size, step, limit, legs)),
                "{size} {step} {limit}"
            );
        }
        // Too many legs: the same error, naming the same count.
        assert_eq!(
            whole(dec!(100000), dec!(1), dec!(1), 0),
            Some(Err(CoreError::TooManyLegs {
                legs: "100000".into(),
                max: MAX_LEGS
            }))
        );
        // Off the step grid, or beyond the bounds: the general path's business.
        assert_eq!(whole(dec!(2.55), dec!(0.1), dec!(1), 0), None);
        assert_eq!(whole(dec!(1e16), dec!(1), dec!(1e15), 0), None);
        assert_eq!(whole(dec!(10), dec!(0.000000000000001), dec!(1), 0), None);
    }

    fn decimal(max_mantissa: i64, max_scale: u32) -> impl Strategy<Value = Decimal> {
        (1..=max_mantissa, 0..=max_scale).prop_map(|(m, s)| Decimal::new(m, s))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5_000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Wherever the integer path answers, it answers like the general path: the same legs
        /// to the last digit and scale, or the same error.
        #[test]
        fn whole_is_general_wherever_it_answers(
            steps in 1i64..5_000_000,
            step in decimal(50, 6),
            wanted in 1i64..600,
            off in 0i64..3,
            size_scale in 0u32..3,
            legs in 0usize..10,
        ) {
            // On the grid (off = 0), or off it by a fraction of a step.
            let size = mul(Decimal::from(steps), step, "t").unwrap()
                + Decimal::new(off, 3 + size_scale) * step;
            // About `wanted` legs, so most cases split rather than exceed MAX_LEGS.
            let limit_steps = (steps / wanted).max(1);
            let limit = mul(Decimal::from(limit_steps), step, "t").unwrap();
            prop_assume!(size > limit);
            if let Some(w) = whole(size, step, limit, legs) {
                prop_assert_eq!(w, general(size, step, limit, legs), "{} {} {}", size, step, limit);
            } else {
                prop_assert!(off != 0 || size.scale() > 28, "declined {} {} {}", size, step, limit);
            }
        }
    }
}
