//! Every fast operation against the `rust_decimal` method it stands for, compared through
//! `Decimal::serialize` (mantissa, scale and sign bit): equal values with another scale or a
//! differently signed zero count as failures.

use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};
use rust_decimal_macros::dec;

use super::*;

fn bits(d: Option<Decimal>) -> Option<[u8; 16]> {
    d.map(|d| d.serialize())
}

fn of(mag: u128, neg: bool, scale: u32) -> Decimal {
    let mut d = Decimal::from_parts(
        mag as u32,
        (mag >> 32) as u32,
        (mag >> 64) as u32,
        neg,
        scale,
    );
    // `from_parts` makes zeros positive; the library's operations can meet negative zeros.
    if mag == 0 && neg {
        d.set_sign_negative(true);
    }
    d
}

/// Decimals of every shape: any bit length up to 96 and any scale, money-like values, small
/// integers and powers of ten (ties and exact quotients), zeros of both signs, the extremes.
fn decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        3 => (0u32..=96, any::<u128>(), 0u32..=28, any::<bool>()).prop_map(|(n, raw, s, neg)| {
            let mag = if n == 0 { 0 } else { raw & ((1u128 << n) - 1) };
            of(mag, neg, s)
        }),
        3 => (-1_000_000_000_000i64..1_000_000_000_000, 0u32..=8)
            .prop_map(|(m, s)| Decimal::new(m, s)),
        2 => (0u128..=25, 0u32..=28, any::<bool>()).prop_map(|(m, s, neg)| of(m, neg, s)),
        2 => (0usize..=28, prop::sample::select(vec![1u128, 2, 5, 25, 125]), 0u32..=28, any::<bool>())
            .prop_map(|(k, f, s, neg)| of(POW10[k] * f, neg, s)),
        1 => prop::sample::select(vec![
            Decimal::MAX,
            Decimal::MIN,
            Decimal::new(1, 28),
            Decimal::new(-1, 28),
            of(M96 - 1, false, 0),
            of(M96 - 1, false, 28),
            of(u128::from(u64::MAX), true, 3),
            of(u128::from(u32::MAX), false, 9),
        ]),
    ]
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 20_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cmp_is_the_librarys(a in decimal(), b in decimal()) {
        prop_assert_eq!(cmp(a, b), a.cmp(&b), "{} vs {}", a, b);
    }

    #[test]
    fn mul_is_the_librarys(a in decimal(), b in decimal()) {
        prop_assert_eq!(bits(mul(a, b)), bits(a.checked_mul(b)), "{} × {}", a, b);
    }

    #[test]
    fn add_and_sub_are_the_librarys(a in decimal(), b in decimal()) {
        prop_assert_eq!(bits(add(a, b)), bits(a.checked_add(b)), "{} + {}", a, b);
        prop_assert_eq!(bits(sub(a, b)), bits(a.checked_sub(b)), "{} − {}", a, b);
    }

    #[test]
    fn div_is_the_librarys(a in decimal(), b in decimal()) {
        prop_assert_eq!(bits(div(a, b)), bits(a.checked_div(b)), "{} / {}", a, b);
    }

    /// Both division paths on their own: the round-by-round port must give the library's
    /// answer wherever it gives one, and the big-round shortcut must too whenever it answers.
    #[test]
    fn each_division_path_is_the_librarys(a in decimal(), b in decimal()) {
        let (pa, pb) = (parts(a), parts(b));
        if let (true, Ok(d)) = (pa.m != 0, u64::try_from(pb.m))
            && d != 0
        {
            let scale = pa.scale as i32 - pb.scale as i32;
            let neg = pa.neg ^ pb.neg;
            let lib = bits(a.checked_div(b));
            if let Some((q, s)) = long_division(pa.m, scale, d) {
                prop_assert_eq!(bits(build(q, neg, s)), lib, "long: {} / {}", a, b);
            }
            if let Some((q, s)) = quick_quotient(pa.m, scale, d) {
                prop_assert_eq!(bits(build(q, neg, s)), lib, "quick: {} / {}", a, b);
            }
        }
    }

    #[test]
    fn round_dp_is_the_librarys(x in decimal(), dp in 0u32..=30) {
        for strategy in [RoundingStrategy::MidpointNearestEven, RoundingStrategy::ToZero] {
            prop_assert_eq!(
                round_dp(x, dp, strategy).serialize(),
                x.round_dp_with_strategy(dp, strategy).serialize(),
                "{} to {} places, {:?}", x, dp, strategy
            );
        }
    }
}

/// The shapes sizing divides most: `V × D × L` by a price, both money-like, on a grid dense in
/// exact quotients, ties and long remainders.
#[test]
fn div_matches_on_a_grid_of_money_like_operands() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for _ in 0..200_000 {
        let a = Decimal::new(
            next(2_000_000_000_000) as i64 - 1_000_000_000_000,
            next(9) as u32,
        );
        let b = Decimal::new(next(10_000_000_000) as i64 + 1, next(13) as u32);
        assert_eq!(bits(div(a, b)), bits(a.checked_div(b)), "{a} / {b}");
        let c = Decimal::new(next(100) as i64 + 1, next(4) as u32);
        assert_eq!(bits(div(a, c)), bits(a.checked_div(c)), "{a} / {c}");
        let dp = next(12) as u32;
        for strategy in [
            RoundingStrategy::MidpointNearestEven,
            RoundingStrategy::ToZero,
        ] {
            let q = a.checked_div(b).unwrap_or_default();
            assert_eq!(
                round_dp(q, dp, strategy).serialize(),
                q.round_dp_with_strategy(dp, strategy).serialize(),
                "{q} to {dp}"
            );
        }
    }
}

#[test]
fn the_librarys_quirks_are_kept() {
    // Trailing zeros are removed only partly: 1.5 / 10 is 0.150, not 0.15.
    let q = div(dec!(1.5), dec!(10)).unwrap();
    assert_eq!(q.to_string(), (dec!(1.5) / dec!(10)).to_string());
    // An exact quotient keeps the dividend's scale: 1.00 / 2 is 0.50.
    assert_eq!(div(dec!(1.00), dec!(2)).unwrap().to_string(), "0.50");
    // A zero keeps its sign and takes the places when rounded.
    let neg_zero = of(0, true, 5);
    assert_eq!(
        round_dp(neg_zero, 2, RoundingStrategy::ToZero).serialize(),
        neg_zero
            .round_dp_with_strategy(2, RoundingStrategy::ToZero)
            .serialize()
    );
    // Overflow is `None`, as the library's.
    assert_eq!(div(Decimal::MAX, dec!(0.1)), None);
    assert_eq!(div(dec!(1), Decimal::ZERO), None);
    assert_eq!(mul(Decimal::MAX, dec!(2)), None);
    assert_eq!(add(Decimal::MAX, dec!(1)), None);
}

#[test]
fn overflow_table_is_the_librarys() {
    // rust_decimal's POWER_OVERFLOW_VALUES, as (lo, mid, hi) words.
    let words: [(u32, u32, u32); 8] = [
        (2576980377, 2576980377, 429496729),
        (687194767, 4123168604, 42949672),
        (2645699854, 1271310319, 4294967),
        (694066715, 3133608139, 429496),
        (2216890319, 2890341191, 42949),
        (2369172679, 4154504685, 4294),
        (4102387834, 2133437386, 429),
        (410238783, 4078814305, 42),
    ];
    for (k, (lo, mid, hi)) in words.iter().enumerate() {
        let v = u128::from(*lo) | (u128::from(*mid) << 32) | (u128::from(*hi) << 64);
        assert_eq!(FIT[k + 1], v, "10^{}", k + 1);
    }
}

/// Quotients whose digits run into the 96-bit limit, where the library's loop takes its rare
/// branches: a quotient just at or over `floor((2^96 − 1) / 10^x)` (one digit less fits), new
/// digits that carry past 2^96 (the last is dropped, rounding half-even with a sticky
/// remainder, ties included), and rounding up at the very top.
#[test]
fn div_matches_where_the_quotient_meets_96_bits() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) % n.max(1)
    };
    let mut tried = 0;
    for _ in 0..200_000 {
        let x = next(8) as usize + 1;
        let edge = FIT[x];
        // At the edge, a little under it, or a little over it (same high word or not).
        let q0 = match next(4) {
            0 => edge,
            1 => edge - u128::from(next(1 << 20)),
            2 => edge + 1 + u128::from(next(1 << 20)),
            _ => (edge & !((1u128 << 64) - 1)) + u128::from(next(u64::MAX)),
        };
        let b = match next(3) {
            0 => [2u64, 4, 5, 8, 16, 20, 25, 125][next(8) as usize],
            1 => next(10u64.pow(x as u32)) + 2,
            _ => next(1 << 40) + 2,
        };
        let Some(a) = q0
            .checked_mul(u128::from(b))
            .and_then(|v| v.checked_add(u128::from(next(b))))
            .filter(|a| *a < M96)
        else {
            continue;
        };
        tried += 1;
        let (sa, sb) = (next(29) as u32, next(29) as u32);
        let (a, b) = (of(a, next(2) == 1, sa), of(u128::from(b), false, sb));
        assert_eq!(bits(div(a, b)), bits(a.checked_div(b)), "{a} / {b}");
    }
    assert!(tried > 50_000, "only {tried} cases fitted in 96 bits");
}

/// Sums whose operands, aligned to one scale, leave 96 bits although the exact result would not.
#[test]
fn add_matches_when_an_aligned_operand_leaves_96_bits() {
    let mut seed = 7u64;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) % n.max(1)
    };
    for _ in 0..50_000 {
        let k = next(3) as usize + 1;
        let m = M96 / POW10[k] + u128::from(next(1000)) - 500;
        let s = next(28 - k as u64) as u32;
        let a = of(m, false, s);
        let aligned = m * POW10[k];
        let other = aligned
            .saturating_sub(u128::from(next(1 << 40)))
            .min(M96 - 1);
        let b = of(other, false, s + k as u32);
        assert_eq!(bits(sub(a, b)), bits(a.checked_sub(b)), "{a} − {b}");
        assert_eq!(bits(add(a, -b)), bits(a.checked_add(-b)), "{a} + −{b}");
        assert_eq!(bits(sub(b, a)), bits(b.checked_sub(a)), "{b} − {a}");
    }
}

#[test]
fn divisors_of_twos_and_fives_are_known_to_end() {
    for d in [
        1u64,
        2,
        4,
        5,
        8,
        10,
        16,
        20,
        25,
        125,
        1000,
        1 << 40,
        5u64.pow(27),
        10u64.pow(19),
    ] {
        assert!(ends(d), "{d}");
    }
    for d in [3u64, 6, 7, 12, 15, 30, 1234567, u64::MAX, 5u64.pow(26) * 3] {
        assert!(!ends(d), "{d}");
    }
}
