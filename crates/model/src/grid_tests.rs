use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::*;
use crate::{ClientOrderId, Side};

fn sym() -> Symbol {
    Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}"))
}

fn order(qty: Decimal, kind: OrderKind, reduce_only: bool) -> OrderRequest {
    OrderRequest {
        client_order_id: ClientOrderId::new("c").unwrap_or_else(|e| panic!("{e}")),
        symbol: sym(),
        side: Side::Buy,
        qty,
        kind,
        reduce_only,
    }
}

fn limit(p: Decimal) -> OrderKind {
    OrderKind::Limit {
        price: Price::new(p).unwrap_or_else(|e| panic!("{e}")),
    }
}

/// KuCoin's XBTUSDTM: lots of 0.001 BTC, whole lots.
fn lots() -> Instrument {
    Instrument {
        venue_symbol: "XBTUSDTM".into(),
        contract_size: dec!(0.001),
        min_qty: dec!(1),
        max_market_qty: Some(dec!(1000)),
        ..Instrument::linear(sym(), dec!(1), dec!(0.1))
    }
}

#[test]
fn rounds_in_the_named_direction() {
    let up = RoundingStrategy::ToPositiveInfinity;
    let down = RoundingStrategy::ToNegativeInfinity;
    let near = RoundingStrategy::MidpointAwayFromZero;
    let even = RoundingStrategy::MidpointNearestEven;
    let zero = RoundingStrategy::ToZero;
    let r = round_to_step;
    assert_eq!(r(dec!(60012.01), dec!(0.1), up), Some(dec!(60012.1)));
    assert_eq!(r(dec!(60012.09), dec!(0.1), down), Some(dec!(60012.0)));
    assert_eq!(r(dec!(60012.05), dec!(0.1), near), Some(dec!(60012.1)));
    assert_eq!(r(dec!(0.0125), dec!(0.001), even), Some(dec!(0.012)));
    assert_eq!(r(dec!(0.0135), dec!(0.001), even), Some(dec!(0.014)));
    assert_eq!(r(dec!(-0.0129), dec!(0.001), zero), Some(dec!(-0.012)));
    // Steps that are not powers of ten, and the scale the arithmetic gives.
    assert_eq!(r(dec!(1.26), dec!(0.25), down), Some(dec!(1.25)));
    assert_eq!(r(dec!(1.26), dec!(0.25), up), Some(dec!(1.5)));
    let seven = r(dec!(7.25), dec!(0.5), even).unwrap_or_default();
    assert_eq!(seven.to_string(), "7.0");
    // Refused: no step.
    assert_eq!(r(dec!(1), dec!(0), near), None);
    assert_eq!(r(dec!(1), dec!(-0.1), near), None);
    assert_eq!(r(Decimal::MAX, dec!(0.5), near), None, "overflow is None");
}

#[test]
fn multiples() {
    assert!(is_multiple_of(dec!(0.003), dec!(0.001)));
    assert!(is_multiple_of(dec!(0.0030), dec!(0.001)));
    assert!(!is_multiple_of(dec!(0.0035), dec!(0.001)));
    assert!(is_multiple_of(dec!(2.5), dec!(0.1)));
    assert!(!is_multiple_of(dec!(1), dec!(0)));
}

#[test]
fn conversions_shortcut_exactly() {
    assert_eq!(to_venue(dec!(0.0125), dec!(0.001)), Some(dec!(12.5)));
    assert_eq!(to_base(dec!(12), dec!(0.001)), Some(dec!(0.012)));
    assert_eq!(to_venue(dec!(5), dec!(0.001)), Some(dec!(5000)));
    assert_eq!(to_venue(dec!(1), dec!(0)), None);
    assert!(is_one(dec!(1)) && !is_one(dec!(1.0)) && !is_one(dec!(0.001)));
}

#[test]
fn order_sizes_round_toward_zero_in_venue_units() {
    // BloFin BTC-USDT: contract value 0.001 BTC, lot 0.1 contract.
    let blofin = Instrument {
        contract_size: dec!(0.001),
        ..Instrument::linear(sym(), dec!(0.1), dec!(0.1))
    };
    assert_eq!(order_venue_qty(&blofin, dec!(0.0123)), Some(dec!(12.3)));
    assert_eq!(order_venue_qty(&blofin, dec!(0.01239)), Some(dec!(12.3)));
    assert_eq!(order_venue_qty(&blofin, dec!(0.00009)), Some(dec!(0)));
    assert_eq!(order_venue_qty(&lots(), dec!(0.0129)), Some(dec!(12)));
}

#[test]
fn grid_checks_name_the_rule_and_the_units() {
    let i = lots();
    let code = |r: Result<(), GridViolation>| r.err().map(|e| e.code());
    assert_eq!(
        code(check_grid(
            &i,
            &order(dec!(0.012), OrderKind::Market, false)
        )),
        None
    );
    assert_eq!(
        code(check_grid(&i, &order(dec!(0), OrderKind::Market, false))),
        Some("bad_qty")
    );
    let e = check_grid(&i, &order(dec!(0.0125), OrderKind::Market, false)).err();
    assert_eq!(
        e.map(|e| e.to_string()).as_deref(),
        Some("BTCUSDT: quantity 0.0125 (12.5 in venue units) is not a multiple of the step 1")
    );
    let e = check_grid(&i, &order(dec!(0.012), limit(dec!(60000.05)), false)).err();
    assert_eq!(
        e.map(|e| e.to_string()).as_deref(),
        Some("BTCUSDT: limit price 60000.05 is not a multiple of the tick 0.1")
    );
    // Base-unit instruments say nothing about venue units.
    let linear = Instrument::linear(sym(), dec!(0.001), dec!(0.1));
    let e = check_grid(&linear, &order(dec!(0.0015), OrderKind::Market, false)).err();
    assert_eq!(
        e.map(|e| e.to_string()).as_deref(),
        Some("BTCUSDT: quantity 0.0015 is not a multiple of the step 0.001")
    );
}

#[test]
fn limits_are_in_venue_units_and_market_only_for_the_maximum() {
    let i = lots();
    let check = |qty, kind| check_grid_and_limits(&i, &order(qty, kind, false)).err();
    assert_eq!(check(dec!(0.001), OrderKind::Market), None);
    assert_eq!(
        check(dec!(1), OrderKind::Market),
        None,
        "1000 lots is the maximum"
    );
    assert_eq!(
        check(dec!(1.001), OrderKind::Market).map(|e| e.code()),
        Some("qty_above_max")
    );
    assert_eq!(
        check(dec!(1.001), limit(dec!(100))),
        None,
        "limits have no maximum"
    );
    let mut min5 = lots();
    min5.min_qty = dec!(5);
    let e = check_size_limits(&min5, &order(dec!(0.004), OrderKind::Market, false)).err();
    assert_eq!(e.as_ref().map(|e| e.code()), Some("qty_below_min"));
    assert_eq!(
        e.map(|e| e.to_string()).as_deref(),
        Some("BTCUSDT: quantity 4 is below the minimum 5")
    );
}

#[test]
fn min_notional_spares_reduce_only_orders() {
    let mut i = Instrument::linear(sym(), dec!(0.001), dec!(0.1));
    i.min_notional = dec!(5);
    let px = Price::new(dec!(4000)).unwrap_or_else(|e| panic!("{e}"));
    let e = check_min_notional(&i, &order(dec!(0.001), OrderKind::Market, false), px).err();
    assert_eq!(
        e.map(|e| e.to_string()).as_deref(),
        Some("BTCUSDT: order value 4 USDT (0.001 at 4000) is below the minimum 5 USDT")
    );
    assert!(check_min_notional(&i, &order(dec!(0.001), OrderKind::Market, true), px).is_ok());
}

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..12).prop_map(|(m, s)| Decimal::new(m, s))
}

fn step() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (0u32..9).prop_map(|k| Decimal::new(1, k)),
        (1i64..1000, 0u32..6).prop_map(|(m, s)| Decimal::new(m, s)),
    ]
}

fn strategy() -> impl Strategy<Value = RoundingStrategy> {
    prop_oneof![
        Just(RoundingStrategy::MidpointNearestEven),
        Just(RoundingStrategy::ToZero),
        Just(RoundingStrategy::ToPositiveInfinity),
        Just(RoundingStrategy::ToNegativeInfinity),
        Just(RoundingStrategy::MidpointAwayFromZero),
    ]
}

proptest! {
    /// The result is on the grid, within one step of the input, on the named side of it, and
    /// the power-of-ten shortcut agrees with the division it replaces.
    #[test]
    fn rounding_lands_on_the_grid_on_the_named_side(
        x in decimal(), step in step(), s in strategy()
    ) {
        let Some(r) = round_to_step(x, step, s) else { return Ok(()) };
        prop_assert!(is_multiple_of(r, step), "{r} on {step}");
        prop_assert!((r - x).abs() < step, "{x} → {r} at {step}");
        match s {
            RoundingStrategy::ToZero => prop_assert!(r.abs() <= x.abs()),
            RoundingStrategy::ToPositiveInfinity => prop_assert!(r >= x),
            RoundingStrategy::ToNegativeInfinity => prop_assert!(r <= x),
            _ => prop_assert!((r - x).abs() * Decimal::TWO <= step),
        }
        if let Some(general) = x.checked_div(step).and_then(|u| {
            u.round_dp_with_strategy(0, s).checked_mul(step)
        }) {
            prop_assert_eq!(r, general);
        }
    }

    /// The shortcuts equal plain arithmetic, and with a power-of-ten contract size (exact
    /// both ways) base → venue → base is the identity.
    #[test]
    fn conversions_match_plain_arithmetic(x in decimal(), k in 0u32..6, m in 1i64..2000) {
        let ten = Decimal::new(1, k);
        for cs in [ten, Decimal::new(m, k)] {
            if let (Some(v), Some(plain)) = (to_venue(x, cs), x.checked_div(cs)) {
                prop_assert_eq!(v, plain);
            }
            if let (Some(b), Some(plain)) = (to_base(x, cs), x.checked_mul(cs)) {
                prop_assert_eq!(b, plain);
            }
        }
        if let Some(v) = to_venue(x, ten) {
            prop_assert_eq!(to_base(v, ten), Some(x), "{} / {} = {}", x, ten, v);
        }
    }

    /// An order sized with `order_venue_qty` never exceeds the planned base quantity and
    /// always passes the step check.
    #[test]
    fn order_sizes_never_exceed_the_plan(units in 0i64..10_000_000, k in 0u32..6) {
        let base = Decimal::new(units, 6);
        let i = Instrument {
            contract_size: Decimal::new(1, k),
            ..lots()
        };
        if let Some(v) = order_venue_qty(&i, base) {
            prop_assert!(is_multiple_of(v, i.qty_step) || v.is_zero());
            let back = to_base(v, i.contract_size).unwrap_or(Decimal::MAX);
            prop_assert!(back <= base, "{base} → {v} lots → {back}");
            prop_assert!(base - back < i.contract_size, "{base} → {back}");
        }
    }
}
