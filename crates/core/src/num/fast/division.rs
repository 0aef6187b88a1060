//! Division for [`super`]: `a.checked_div(b)` of `rust_decimal`, recomputed on a `u128`
//! quotient for divisors whose mantissa fits in 64 bits.
//!
//! The library's long division (`div_impl`, its 32- and 64-bit divisor paths) takes the integer
//! quotient, then up to nine more digits per round while a remainder is left and the quotient
//! has room (`find_scale`), rounds half-even on the last remainder, and strips trailing zeros
//! (`unscale`, which does not always strip them all). Two roads to the same answer:
//! - [`quick_quotient`]: when no remainder along the way is zero, the answer is the quotient at
//!   the largest scale `S ≤ 28` whose digits fit in 96 bits, rounded half-even, then stripped,
//!   whatever the rounds; so this takes rounds of up to 19 digits (one or two divisions instead
//!   of three or four);
//! - [`long_division`]: a quotient that ends stops the library at a round boundary, which then
//!   decides the scale of the result (`1.5 / 10` is `0.150`), so these take the library's
//!   rounds one for one.

use rust_decimal::Decimal;

use super::{FIT, M96, MAX_SCALE, POW10, div_rem, fit, parts, pow10};

/// `5^-k mod 2^128` for k = 0..=8: dividing a multiple of 10^k by 10^k is then a shift and a
/// multiplication (exact division by an odd number), with no division instruction.
const INV5: [u128; 9] = {
    let mut t = [1u128; 9];
    let mut k = 1;
    while k < 9 {
        let a = POW10[k] >> k; // 5^k
        // Newton's iteration for the inverse modulo 2^128: each step doubles the correct bits.
        let mut x = a;
        let mut i = 0;
        while i < 7 {
            x = x.wrapping_mul(2u128.wrapping_sub(a.wrapping_mul(x)));
            i += 1;
        }
        t[k] = x;
        k += 1;
    }
    t
};

/// Same as `a.checked_div(b)`, for divisors whose mantissa fits in 64 bits (prices, contract
/// sizes, steps, sums of a few of them); wider divisors, zeros and overflow go to the library.
#[inline(always)]
pub fn div(a: Decimal, b: Decimal) -> Option<Decimal> {
    unpack(div_packed(a, b))
}

/// [`div`], its answer packed in a `u128` (see [`pack`]) so that it comes back in registers.
#[inline(never)]
fn div_packed(a: Decimal, b: Decimal) -> u128 {
    let (pa, pb) = (parts(a), parts(b));
    if pa.m == 0 || pb.m == 0 {
        return pack(a.checked_div(b));
    }
    let Ok(d) = u64::try_from(pb.m) else {
        return pack(a.checked_div(b));
    };
    let scale = pa.scale as i32 - pb.scale as i32;
    // A divisor of only twos and fives (10, 0.5, 0.001...) always ends: straight to the rounds.
    let quick = if ends(d) {
        None
    } else {
        quick_quotient(pa.m, scale, d)
    };
    match quick.or_else(|| long_division(pa.m, scale, d)) {
        Some((q, scale)) if q < M96 && (0..=MAX_SCALE).contains(&scale) => {
            // A quotient rounded to zero is a positive zero, as `from_parts` makes it.
            let neg = pa.neg ^ pb.neg && q != 0;
            q | ((scale as u128) << 96) | (u128::from(neg) << 127)
        }
        // Overflow, or a corner (rounding up past 96 bits) left to the library.
        _ => pack(a.checked_div(b)),
    }
}

/// `None` as a `u128`: its scale field (255) is no scale a `Decimal` has.
const PACKED_NONE: u128 = u128::MAX;

/// A `Decimal` in one `u128`: mantissa in bits 0..96, scale in bits 96..104, sign in bit 127.
fn pack(d: Option<Decimal>) -> u128 {
    match d {
        Some(d) => {
            let p = parts(d);
            p.m | (u128::from(p.scale) << 96) | (u128::from(p.neg) << 127)
        }
        None => PACKED_NONE,
    }
}

#[inline(always)]
fn unpack(bits: u128) -> Option<Decimal> {
    if bits == PACKED_NONE {
        return None;
    }
    let mag = bits & (M96 - 1);
    let scale = ((bits >> 96) & 0xff) as u32;
    let neg = bits >> 127 == 1;
    let mut d = Decimal::from_parts(
        mag as u32,
        (mag >> 32) as u32,
        (mag >> 64) as u32,
        neg,
        scale,
    );
    // `from_parts` makes a zero positive; keep the sign the library gave, should it give a
    // negative zero.
    if neg && mag == 0 {
        d.set_sign_negative(true);
    }
    Some(d)
}

/// True when `d` has no prime factor but 2 and 5, so every quotient by it has a finite decimal
/// expansion.
#[inline]
pub(super) fn ends(d: u64) -> bool {
    if d == 0 {
        return false;
    }
    let mut odd = d >> d.trailing_zeros();
    while odd.is_multiple_of(5) {
        odd /= 5;
    }
    odd == 1
}

/// Decimal digits `q` (< 2^96) can take on before reaching 2^96, at most 19.
#[inline]
fn room(q: u128) -> u32 {
    if q <= FIT[19] {
        return 19;
    }
    let bits = 128 - q.leading_zeros();
    // A lower bound from the bit length (1233 / 4096 < log10 2), then exact steps up.
    let mut x = ((96u32.saturating_sub(bits) * 1233) >> 12).min(19);
    while x < 19 && q <= fit(x + 1) {
        x += 1;
    }
    x
}

/// `(quotient, scale)` of `m / d` at starting scale `scale` when no remainder along the way is
/// zero (see [`div`]); `None` when one is, or the result needs the library's corner cases.
pub(super) fn quick_quotient(m: u128, mut scale: i32, d: u64) -> Option<(u128, i32)> {
    let (mut q, mut r) = div_rem(m, d);
    if r == 0 {
        return None;
    }
    loop {
        let x = room(q).min((MAX_SCALE - scale) as u32);
        if x == 0 {
            // No more digits fit: round half-even on the remainder.
            let twice = u128::from(r) << 1;
            if twice > u128::from(d) || (twice == u128::from(d) && q & 1 == 1) {
                q += 1;
            }
            break;
        }
        let p = pow10(x);
        let (digits, rest) = div_rem(u128::from(r) * p, d);
        // q × 10^x < 2^96 (room), digits < 10^x: no u128 overflow.
        q = q * p + digits;
        r = rest;
        scale += x as i32;
        if r == 0 {
            return None;
        }
        if q >= M96 {
            // The new digits carried past 96 bits: drop the last one, rounding half-even with
            // the (non-zero) remainder as sticky bit.
            scale -= 1;
            let last = q % 10;
            q /= 10;
            if last >= 5 {
                q += 1;
            }
            break;
        }
    }
    if q >= M96 || scale < 0 {
        return None;
    }
    unscale(&mut q, &mut scale);
    Some((q, scale))
}

/// `(quotient, scale)` of `m / d` at starting scale `scale`, as `rust_decimal`'s `div_impl`
/// computes it round by round; `None` when that would overflow or round past 96 bits.
pub(super) fn long_division(m: u128, mut scale: i32, d: u64) -> Option<(u128, i32)> {
    let (mut q, mut r) = div_rem(m, d);
    let mut require_unscale = false;
    if r != 0 || scale < 0 {
        loop {
            let power = if r == 0 {
                if scale >= 0 {
                    break;
                }
                (-scale).min(9) as u32
            } else {
                require_unscale = true;
                let x = if scale == MAX_SCALE {
                    0
                } else {
                    find_scale(q, scale)?
                };
                if x == 0 {
                    // No more digits fit: round half-even on the remainder.
                    let twice = u128::from(r) << 1;
                    if twice > u128::from(d) || (twice == u128::from(d) && q & 1 == 1) {
                        q += 1;
                        if q >= M96 {
                            return None;
                        }
                    }
                    break;
                }
                x
            };
            scale += power as i32;
            let p = pow10(power);
            q *= p;
            if q >= M96 {
                return None;
            }
            let (digits, rest) = div_rem(u128::from(r) * p, d);
            r = rest;
            q += digits;
            if q >= M96 {
                // The new digits carried past 96 bits: drop the last one, rounding half-even
                // with the remainder as sticky bit (`unscale_from_overflow`).
                scale -= 1;
                if scale < 0 {
                    return None;
                }
                let last = q % 10;
                q /= 10;
                if last > 5 || (last == 5 && (r != 0 || q & 1 == 1)) {
                    q += 1;
                }
                break;
            }
        }
    }
    if require_unscale {
        unscale(&mut q, &mut scale);
    }
    Some((q, scale))
}

/// How many decimal digits the quotient `q` at `scale` can take on (0..=9) without leaving 96
/// bits or scale 28; `None` when the scale cannot become non-negative. A line-by-line port of
/// `rust_decimal`'s `Buf12::find_scale`, thresholds included.
fn find_scale(q: u128, scale: i32) -> Option<u32> {
    const MAX_HI: [u32; 10] = [
        u32::MAX,
        429496729,
        42949672,
        4294967,
        429496,
        42949,
        4294,
        429,
        42,
        4,
    ];
    const MAX_9_LOW64: u64 = 5441186219426131129;
    let hi = (q >> 64) as u32;
    let low64 = q as u64;
    let fits = |x: u32, scale: i32| (x as i32 + scale >= 0).then_some(x);
    if hi > MAX_HI[1] {
        return (scale >= 0).then_some(0);
    }
    if scale > MAX_SCALE - 9 {
        let x = (MAX_SCALE - scale) as u32;
        if hi < (fit(x) >> 64) as u32 {
            return fits(x, scale);
        }
    } else if hi < MAX_HI[9] || (hi == MAX_HI[9] && low64 <= MAX_9_LOW64) {
        return Some(9);
    }
    let mut x = if hi > MAX_HI[5] {
        if hi > MAX_HI[3] {
            if hi > MAX_HI[2] { 1 } else { 2 }
        } else if hi > MAX_HI[4] {
            3
        } else {
            4
        }
    } else if hi > MAX_HI[7] {
        if hi > MAX_HI[6] { 5 } else { 6 }
    } else if hi > MAX_HI[8] {
        7
    } else {
        8
    };
    let limit = fit(x);
    if hi == (limit >> 64) as u32 && low64 > limit as u64 {
        x -= 1;
    }
    fits(x, scale)
}

/// True when 10^K divides `q`, from the two 64-bit halves (`2^64 mod 10^K` folds the high half
/// in), so the remainders are by constants: multiplications, no division.
fn divisible<const K: usize>(q: u128) -> bool {
    let p = POW10[K] as u64;
    let two64 = ((1u128 << 64) % POW10[K]) as u64;
    let (hi, lo) = ((q >> 64) as u64, q as u64);
    // hi < 2^32 (q < 2^96) and p ≤ 10^8: no overflow below.
    ((hi % p) * two64 + lo % p).is_multiple_of(p)
}

/// `q / 10^K` for a multiple `q` of 10^K: a shift by K, then the inverse of 5^K.
fn div_exact<const K: usize>(q: u128) -> u128 {
    (q >> K).wrapping_mul(INV5[K])
}

/// Removes trailing zeros the way `rust_decimal`'s `unscale` does: groups of eight only while
/// the low 32 bits are zero, then at most one group of four, two and one, never below scale 0.
/// (So a quotient can keep some trailing zeros; the result must match, not be minimal.)
fn unscale(q: &mut u128, scale: &mut i32) {
    while (*q as u32) == 0 && *scale >= 8 && divisible::<8>(*q) {
        *q = div_exact::<8>(*q);
        *scale -= 8;
    }
    if (*q as u32) & 0xf == 0 && *scale >= 4 && divisible::<4>(*q) {
        *q = div_exact::<4>(*q);
        *scale -= 4;
    }
    if (*q as u32) & 0x3 == 0 && *scale >= 2 && divisible::<2>(*q) {
        *q = div_exact::<2>(*q);
        *scale -= 2;
    }
    if (*q as u32) & 0x1 == 0 && *scale >= 1 && divisible::<1>(*q) {
        *q = div_exact::<1>(*q);
        *scale -= 1;
    }
}
