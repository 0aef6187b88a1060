//! `rust_decimal` operations recomputed on `u128` mantissas: the same `Decimal`, bit for bit, in
//! a fraction of the time for the operands the money path sees.
//!
//! Each function returns exactly what the named `rust_decimal` method returns (value, scale and
//! sign, compared through `Decimal::serialize` in the tests), and calls that method itself
//! whenever its operands leave the range handled here: a zero (whose sign and scale rules are the
//! library's), a divisor wider than 64 bits, a result that would overflow or need rounding past
//! 96 bits. So these are not new arithmetic rules, only a faster road to the library's answers;
//! rounding stays half-even or toward zero exactly where the callers ask for it.
//!
//! Where the time went (measured on the machine of BENCHMARKS.md):
//! - `checked_div` (~70–95 ns) takes nine digits per round on 32-bit limbs, three or four rounds
//!   for a 28-digit quotient; [`div`] takes one or two rounds of `u128` arithmetic;
//! - `round_dp_with_strategy` (~60–90 ns) divides three times to round once; [`round_dp`]
//!   divides once;
//! - every `checked_*` returns an `Option<Decimal>` through memory, written in pieces and read
//!   back whole, which stalls the caller for longer than the arithmetic takes. The operations
//!   here are always inlined, and the division, too large to inline, hands its answer back
//!   packed in a `u128`, which travels in registers.
//!
//! Representation: a `Decimal` is `(-1)^neg × m / 10^scale` with `m < 2^96` and `scale ≤ 28`.

use std::cmp::Ordering;

use rust_decimal::{Decimal, RoundingStrategy};

mod division;

pub use division::div;
#[cfg(test)]
use division::{ends, long_division, quick_quotient};

/// 2^96: every mantissa is below it.
pub(super) const M96: u128 = 1 << 96;
pub(super) const MAX_SCALE: i32 = 28;

/// 10^k for k = 0..=28, as `u128`.
pub(super) const POW10: [u128; 29] = {
    let mut t = [1u128; 29];
    let mut k = 1;
    while k < 29 {
        t[k] = t[k - 1] * 10;
        k += 1;
    }
    t
};

/// `floor((2^96 − 1) / 10^k)` for k = 0..=28: the largest mantissa that stays below 2^96 when
/// scaled by 10^k. Entries 1..=8 are `rust_decimal`'s `POWER_OVERFLOW_VALUES`.
pub(super) const FIT: [u128; 29] = {
    let mut t = [0u128; 29];
    let mut k = 0;
    while k < 29 {
        t[k] = (M96 - 1) / POW10[k];
        k += 1;
    }
    t
};

#[inline(always)]
pub(super) fn pow10(k: u32) -> u128 {
    POW10.get(k as usize).copied().unwrap_or(u128::MAX)
}

/// `FIT[k]`, zero beyond the table (nothing fits).
#[inline(always)]
pub(super) fn fit(k: u32) -> u128 {
    FIT.get(k as usize).copied().unwrap_or(0)
}

/// A `Decimal` taken apart: `(-1)^neg × m / 10^scale`.
#[derive(Clone, Copy)]
pub(super) struct Parts {
    pub(super) m: u128,
    pub(super) neg: bool,
    pub(super) scale: u32,
}

#[inline(always)]
pub(super) fn parts(d: Decimal) -> Parts {
    Parts {
        m: d.mantissa().unsigned_abs(),
        neg: d.is_sign_negative(),
        scale: d.scale(),
    }
}

/// The `Decimal` `(-1)^neg × mag / 10^scale`; `None` outside its range. A zero comes out
/// positive, as `Decimal::from_parts` makes it.
#[inline(always)]
pub(super) fn build(mag: u128, neg: bool, scale: i32) -> Option<Decimal> {
    if mag >= M96 || !(0..=MAX_SCALE).contains(&scale) {
        return None;
    }
    Some(Decimal::from_parts(
        mag as u32,
        (mag >> 32) as u32,
        (mag >> 64) as u32,
        neg,
        scale as u32,
    ))
}

/// `n / d` and `n % d`, with a native 64-bit division when `n` fits in a word.
#[inline(always)]
pub(super) fn div_rem(n: u128, d: u64) -> (u128, u64) {
    if let Ok(n64) = u64::try_from(n) {
        return (u128::from(n64 / d), n64 % d);
    }
    let q = n / u128::from(d);
    (q, (n - q * u128::from(d)) as u64)
}

/// Same as `a.cmp(&b)`: exact, by aligning the mantissas' scales.
#[inline(always)]
pub fn cmp(a: Decimal, b: Decimal) -> Ordering {
    // Signed mantissas: a zero of either sign is 0, so signs and zeros need no special case.
    let (ma, mb) = (a.mantissa(), b.mantissa());
    let (sa, sb) = (a.scale(), b.scale());
    match sa.cmp(&sb) {
        Ordering::Equal => ma.cmp(&mb),
        Ordering::Less => cmp_scaled(ma, sb - sa, mb),
        Ordering::Greater => cmp_scaled(mb, sa - sb, ma).reverse(),
    }
}

/// `m × 10^k` against `other` (both signed, `|other| < 2^96`).
#[inline(always)]
fn cmp_scaled(m: i128, k: u32, other: i128) -> Ordering {
    if m.unsigned_abs() <= fit(k) {
        // |m × 10^k| < 2^96: no overflow.
        (m * pow10(k) as i128).cmp(&other)
    } else if m > 0 {
        // m × 10^k ≥ 2^96 > other.
        Ordering::Greater
    } else {
        Ordering::Less
    }
}

/// Same as `a.checked_mul(b)`.
///
/// Always inlined, as are the other operations returning `Option<Decimal>`: returned through
/// memory, such a value is stored in pieces and read back whole, which stalls the caller for
/// longer than the multiplication takes.
#[inline(always)]
pub fn mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    let (pa, pb) = (parts(a), parts(b));
    if pa.m == 0 || pb.m == 0 {
        return Some(Decimal::ZERO);
    }
    if let (Ok(x), Ok(y)) = (u64::try_from(pa.m), u64::try_from(pb.m)) {
        // One widening multiplication; exact, so it is the library's answer when it fits.
        let p = u128::from(x) * u128::from(y);
        if let Some(d) = build(p, pa.neg ^ pb.neg, (pa.scale + pb.scale) as i32) {
            return Some(d);
        }
    }
    library_mul(a, b)
}

#[cold]
#[inline(never)]
fn library_mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_mul(b)
}

/// Same as `a.checked_add(b)`.
#[inline(always)]
pub fn add(a: Decimal, b: Decimal) -> Option<Decimal> {
    add_sub(a, b, false)
}

/// Same as `a.checked_sub(b)`.
#[inline(always)]
pub fn sub(a: Decimal, b: Decimal) -> Option<Decimal> {
    add_sub(a, b, true)
}

#[inline(always)]
fn add_sub(a: Decimal, b: Decimal, subtract: bool) -> Option<Decimal> {
    let (pa, pb) = (parts(a), parts(b));
    // Zeros follow the library's rules: `0 ± y` is `±y` as it stands (scale kept; a zero `y`
    // keeps its sign), `x ± 0` is `x`.
    if pa.m == 0 {
        let mut r = b;
        if subtract && pb.m != 0 {
            r.set_sign_negative(!pb.neg);
        }
        return Some(r);
    }
    if pb.m == 0 {
        return Some(a);
    }
    // Align to the larger scale. Both aligned operands must stay below 2^96: the library rounds
    // an operand that does not, and then its answer is no longer the exact sum.
    let (x, y, scale) = match pa.scale.cmp(&pb.scale) {
        Ordering::Equal => (pa.m, pb.m, pa.scale),
        Ordering::Less => {
            let k = pb.scale - pa.scale;
            if pa.m > fit(k) {
                return library_add_sub(a, b, subtract);
            }
            (pa.m * pow10(k), pb.m, pb.scale)
        }
        Ordering::Greater => {
            let k = pa.scale - pb.scale;
            if pb.m > fit(k) {
                return library_add_sub(a, b, subtract);
            }
            (pa.m, pb.m * pow10(k), pa.scale)
        }
    };
    // The exact result is `±x ± y` at `scale`; it is the library's when it fits without rounding.
    let nb = pb.neg ^ subtract;
    let (mag, neg) = if pa.neg == nb {
        (x + y, pa.neg)
    } else if x >= y {
        (x - y, pa.neg)
    } else {
        (y - x, nb)
    };
    match build(mag, neg, scale as i32) {
        Some(d) => Some(d),
        None => library_add_sub(a, b, subtract),
    }
}

#[cold]
#[inline(never)]
fn library_add_sub(a: Decimal, b: Decimal, subtract: bool) -> Option<Decimal> {
    if subtract {
        a.checked_sub(b)
    } else {
        a.checked_add(b)
    }
}

/// Same as `x.round_dp_with_strategy(dp, strategy)` for the two strategies the core uses,
/// `MidpointNearestEven` and `ToZero` (others go to the library).
#[inline]
pub fn round_dp(x: Decimal, dp: u32, strategy: RoundingStrategy) -> Decimal {
    let even = match strategy {
        RoundingStrategy::MidpointNearestEven => true,
        RoundingStrategy::ToZero => false,
        _ => return x.round_dp_with_strategy(dp, strategy),
    };
    let p = parts(x);
    if p.scale <= dp {
        return x;
    }
    if p.m == 0 {
        return x.round_dp_with_strategy(dp, strategy);
    }
    let k = p.scale - dp;
    let div = pow10(k);
    let (mut q, r) = match u64::try_from(div) {
        Ok(d) => {
            let (q, r) = div_rem(p.m, d);
            (q, u128::from(r))
        }
        Err(_) => (p.m / div, p.m % div),
    };
    if even {
        let half = div / 2;
        if r > half || (r == half && q & 1 == 1) {
            q += 1;
        }
    }
    build(q, p.neg, dp as i32).unwrap_or_else(|| x.round_dp_with_strategy(dp, strategy))
}

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
