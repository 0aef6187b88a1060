//! The margin cap: worked cases and properties (never more margin than the pool, never a cut
//! of a reducing target, never below the position on the same side, always whole steps).

use proptest::prelude::*;
use rust_decimal_macros::dec;
use tradeengine_model::{Price, Quantity};

use super::*;

fn target(
    symbol: &str,
    qty: Decimal,
    price: Decimal,
    leverage: Decimal,
    step: Decimal,
) -> SizedTarget {
    SizedTarget {
        symbol: Symbol::new(symbol).unwrap(),
        price: Price::new(price).unwrap(),
        raw_qty: qty,
        qty: Quantity::new(qty),
        unrounded_qty: qty,
        venue_qty: qty,
        notional: qty.abs() * price,
        leverage,
        sizing_leverage: leverage,
        limited_by: None,
        qty_step: step,
        contract_size: Decimal::ONE,
    }
}

fn flat() -> BTreeMap<Symbol, Decimal> {
    BTreeMap::new()
}

#[test]
fn a_fresh_target_past_the_free_margin_is_cut_to_it() {
    // 1,000 USDT free of 1,000, 5 % of it kept: 950 × 10 / 50,000 = 0.19 BTC.
    let mut t = [target(
        "BTCUSDT",
        dec!(0.5),
        dec!(50000),
        dec!(10),
        dec!(0.001),
    )];
    let capped = cap_by_margin(&mut t, &flat(), dec!(1000), dec!(1000), dec!(0.05)).unwrap();
    assert_eq!(capped.len(), 1);
    assert_eq!(t[0].qty.get(), dec!(0.19));
    assert_eq!(t[0].limited_by, Some(Limit::MarginCap));
    assert_eq!(t[0].notional, dec!(9500));
}

#[test]
fn a_target_within_the_free_margin_is_untouched() {
    let mut t = [target(
        "BTCUSDT",
        dec!(-0.1),
        dec!(50000),
        dec!(10),
        dec!(0.001),
    )];
    let before = t.clone();
    assert!(
        cap_by_margin(&mut t, &flat(), dec!(1000), dec!(1000), dec!(0.05))
            .unwrap()
            .is_empty()
    );
    assert_eq!(t, before);
}

#[test]
fn only_the_increase_needs_margin_and_a_reduction_none() {
    let held: BTreeMap<Symbol, Decimal> = [(Symbol::new("BTCUSDT").unwrap(), dec!(0.3))].into();
    let mut t = [target(
        "BTCUSDT",
        dec!(0.6),
        dec!(50000),
        dec!(10),
        dec!(0.001),
    )];
    cap_by_margin(&mut t, &held, dec!(1000), dec!(1000), dec!(0.05)).unwrap();
    assert_eq!(
        t[0].qty.get(),
        dec!(0.49),
        "0.3 held + 0.19 the free margin carries"
    );
    let mut r = [target(
        "BTCUSDT",
        dec!(0.1),
        dec!(50000),
        dec!(10),
        dec!(0.001),
    )];
    assert!(
        cap_by_margin(&mut r, &held, dec!(0), dec!(1000), dec!(0.05))
            .unwrap()
            .is_empty()
    );
    assert_eq!(r[0].qty.get(), dec!(0.1));
}

#[test]
fn symbols_share_one_pool() {
    let mut t = [
        target("BTCUSDT", dec!(0.1), dec!(50000), dec!(10), dec!(0.001)),
        target("ETHUSDT", dec!(5), dec!(2000), dec!(10), dec!(0.01)),
    ];
    // BTC takes 500 of the 950; ETH gets 450 × 10 / 2,000 = 2.25.
    cap_by_margin(&mut t, &flat(), dec!(1000), dec!(1000), dec!(0.05)).unwrap();
    assert_eq!(t[0].qty.get(), dec!(0.1));
    assert_eq!(t[1].qty.get(), dec!(2.25));
}

#[test]
fn a_bad_buffer_is_refused() {
    let mut t = [target(
        "BTCUSDT",
        dec!(0.1),
        dec!(50000),
        dec!(10),
        dec!(0.001),
    )];
    assert!(cap_by_margin(&mut t, &flat(), dec!(1000), dec!(1000), dec!(1)).is_err());
    assert!(cap_by_margin(&mut t, &flat(), dec!(1000), dec!(1000), dec!(-0.1)).is_err());
}

fn dec_in(lo: i64, hi: i64, scale: u32) -> impl Strategy<Value = Decimal> {
    (lo..=hi).prop_map(move |n| Decimal::new(n, scale))
}

proptest! {
    #[test]
    fn the_cap_never_spends_more_than_the_pool(
        qtys in prop::collection::vec(dec_in(-5000, 5000, 3), 1..4),
        helds in prop::collection::vec(dec_in(-3000, 3000, 3), 4),
        prices in prop::collection::vec(dec_in(100, 100_000, 1), 4),
        levs in prop::collection::vec(1i64..=50, 4),
        available in dec_in(-1000, 1_000_000, 2),
        value in dec_in(0, 1_000_000, 2),
        buffer in dec_in(0, 50, 2),
    ) {
        let names = ["AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT"];
        let mut targets: Vec<SizedTarget> = qtys.iter().enumerate().map(|(i, q)| {
            target(names[i], *q, prices[i], Decimal::from(levs[i]), dec!(0.001))
        }).collect();
        let before = targets.clone();
        let held: BTreeMap<Symbol, Decimal> = (0..targets.len())
            .map(|i| (Symbol::new(names[i]).unwrap(), helds[i]))
            .collect();
        cap_by_margin(&mut targets, &held, available, value, buffer).unwrap();
        let pool = (available - value * buffer).max(Decimal::ZERO);
        let mut spent = Decimal::ZERO;
        for (t, b) in targets.iter().zip(&before) {
            let h = held[&t.symbol];
            let q = t.qty.get();
            let wanted = b.qty.get();
            // Never grows, never changes side, whole steps.
            prop_assert!(q.abs() <= wanted.abs());
            prop_assert!(q.is_zero() || q.is_sign_negative() == wanted.is_sign_negative());
            prop_assert_eq!(q % dec!(0.001), Decimal::ZERO);
            let same = h.is_zero() || wanted.is_zero() || (h > Decimal::ZERO) == (wanted > Decimal::ZERO);
            let kept = if same { h.abs() } else { Decimal::ZERO };
            if wanted.abs() <= kept {
                // Reducing: untouched.
                prop_assert_eq!(q, wanted);
                continue;
            }
            if q != wanted {
                // A cut never goes below what is held on that side (to the step).
                prop_assert!(q.abs() >= (kept / dec!(0.001)).floor() * dec!(0.001));
            }
            spent += (q.abs() - kept).max(Decimal::ZERO) * t.price.get() / t.leverage;
        }
        prop_assert!(spent <= pool + dec!(0.000001), "spent {} of {}", spent, pool);
    }
}
