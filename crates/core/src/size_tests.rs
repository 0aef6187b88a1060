//! Unit tests of sizing, caps and the gross budget, with the worked examples of the module docs.

use rust_decimal_macros::dec;

use super::*;

fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

fn p(v: Decimal) -> Price {
    Price::new(v).unwrap()
}

fn blend_of(symbol: &str, depth: Decimal, base: Decimal, leverage: Decimal) -> Blend {
    Blend {
        symbol: sym(symbol),
        depth,
        raw_depth: depth,
        base,
        raw_leverage: leverage,
        leverage,
        depth_capped: false,
        leverage_capped: false,
        leverage_cap: None,
        max_notional: None,
        contributions: Vec::new(),
    }
}

fn linear(symbol: &str, step: Decimal) -> Instrument {
    Instrument::linear(sym(symbol), step, dec!(0.1))
}

fn kucoin_btc() -> Instrument {
    Instrument {
        symbol: sym("BTCUSDT"),
        venue_symbol: "XBTUSDTM".into(),
        qty_step: dec!(1),
        min_qty: dec!(1),
        max_market_qty: Some(dec!(1000000)),
        tick_size: dec!(0.1),
        min_notional: dec!(0),
        contract_size: dec!(0.001),
        max_leverage: dec!(125),
    }
}

fn account(v: Decimal) -> AccountSizing {
    AccountSizing {
        value: v,
        leverage_override: None,
    }
}

fn size(
    b: &Blend,
    price: Decimal,
    i: &Instrument,
    a: &AccountSizing,
    policy: &BlendPolicy,
) -> SizedTarget {
    size_target(
        &SizeInput {
            blend: b,
            price: p(price),
            instrument: i,
        },
        a,
        policy,
    )
    .unwrap()
}

#[test]
fn seed_btc_example_rounds_to_0_167() {
    let b = blend_of("BTCUSDT", dec!(0.10), dec!(0), dec!(10));
    let t = size(
        &b,
        dec!(60000),
        &linear("BTCUSDT", dec!(0.001)),
        &account(dec!(10000)),
        &BlendPolicy::default(),
    );
    assert_eq!(t.raw_qty.round_dp(5), dec!(0.16667));
    assert_eq!(t.qty.get(), dec!(0.167));
    assert_eq!(t.venue_qty, dec!(0.167));
    assert_eq!(t.notional, dec!(10020));
    assert_eq!(t.leverage, dec!(10));
    assert_eq!(t.limited_by, None);
    // The planner's hysteresis reads the value before rounding.
    assert_eq!(t.unrounded_qty, t.raw_qty);
}

#[test]
fn seed_eth_example_is_0_8333_before_rounding() {
    // ETHUSDT leverage 5, weight 0.5 × depth 0.1 = D 0.05, price 3,000.
    let b = blend_of("ETHUSDT", dec!(0.05), dec!(0), dec!(5));
    let t = size(
        &b,
        dec!(3000),
        &linear("ETHUSDT", dec!(0.001)),
        &account(dec!(10000)),
        &BlendPolicy::default(),
    );
    assert_eq!(t.raw_qty.round_dp(4), dec!(0.8333));
    assert_eq!(t.qty.get(), dec!(0.833));
}

#[test]
fn kucoin_lots_round_half_even() {
    // 0.0125 BTC held as a base-unit sleeve = 12.5 lots of 0.001 → 12 lots.
    let b = blend_of("BTCUSDT", dec!(0), dec!(0.0125), dec!(1));
    let t = size(
        &b,
        dec!(60000),
        &kucoin_btc(),
        &account(dec!(10000)),
        &BlendPolicy::default(),
    );
    assert_eq!(t.venue_qty, dec!(12));
    assert_eq!(t.qty.get(), dec!(0.012));
}

#[test]
fn half_even_ties_at_step_0_001() {
    let i = linear("BTCUSDT", dec!(0.001));
    for (raw, want) in [
        (dec!(0.0125), dec!(0.012)),
        (dec!(0.0135), dec!(0.014)),
        (dec!(-0.0125), dec!(-0.012)),
    ] {
        let b = blend_of("BTCUSDT", dec!(0), raw, dec!(1));
        let t = size(
            &b,
            dec!(60000),
            &i,
            &account(dec!(1)),
            &BlendPolicy::default(),
        );
        assert_eq!(t.qty.get(), want, "{raw}");
    }
}

#[test]
fn a_tiny_target_is_zero_not_the_minimum() {
    let b = blend_of("BTCUSDT", dec!(0), dec!(0.00001), dec!(1));
    let t = size(
        &b,
        dec!(60000),
        &linear("BTCUSDT", dec!(0.001)),
        &account(dec!(10000)),
        &BlendPolicy::default(),
    );
    assert_eq!(t.qty, Quantity::ZERO);
    assert_eq!(t.notional, dec!(0));
}

#[test]
fn leverage_override_moves_margin_only_unless_switched_on() {
    let b = blend_of("BTCUSDT", dec!(0.10), dec!(0), dec!(10));
    let i = linear("BTCUSDT", dec!(0.001));
    let a = AccountSizing {
        value: dec!(10000),
        leverage_override: Some(dec!(5)),
    };
    let seed = size(&b, dec!(60000), &i, &a, &BlendPolicy::default());
    assert_eq!(seed.leverage, dec!(5));
    assert_eq!(seed.sizing_leverage, dec!(10));
    assert_eq!(seed.qty.get(), dec!(0.167));
    let fixed = BlendPolicy {
        apply_leverage_override_to_sizing: true,
        ..BlendPolicy::default()
    };
    let t = size(&b, dec!(60000), &i, &a, &fixed);
    assert_eq!(t.sizing_leverage, dec!(5));
    assert_eq!(t.qty.get(), dec!(0.083));
    // Zero means "off", as in an imported configuration.
    let off = AccountSizing {
        leverage_override: Some(dec!(0)),
        ..a
    };
    assert_eq!(size(&b, dec!(60000), &i, &off, &fixed).leverage, dec!(10));
}

#[test]
fn venue_and_blend_caps_bound_leverage() {
    let mut b = blend_of("BTCUSDT", dec!(0.10), dec!(0), dec!(50));
    let mut i = linear("BTCUSDT", dec!(0.001));
    i.max_leverage = dec!(20.5);
    let t = size(
        &b,
        dec!(60000),
        &i,
        &account(dec!(10000)),
        &BlendPolicy::default(),
    );
    assert_eq!(t.leverage, dec!(20));
    assert_eq!(t.sizing_leverage, dec!(20));
    b.leverage_cap = Some(dec!(8));
    let a = AccountSizing {
        value: dec!(10000),
        leverage_override: Some(dec!(15)),
    };
    assert_eq!(
        size(&b, dec!(60000), &i, &a, &BlendPolicy::default()).leverage,
        dec!(8)
    );
}

#[test]
fn notional_cap_floors_toward_zero() {
    let mut b = blend_of("BTCUSDT", dec!(-0.10), dec!(0), dec!(10));
    b.max_notional = Some(dec!(5000));
    let t = size(
        &b,
        dec!(60000),
        &linear("BTCUSDT", dec!(0.001)),
        &account(dec!(10000)),
        &BlendPolicy::default(),
    );
    // 5000 / 60000 = 0.08333 → −0.083 (toward zero, never past the cap).
    assert_eq!(t.qty.get(), dec!(-0.083));
    assert!(t.notional <= dec!(5000));
    assert_eq!(t.limited_by, Some(Limit::NotionalCap));
    // A cut target carries the cut, not the formula: the cap holds through the hysteresis.
    assert_eq!(t.unrounded_qty, dec!(-0.083));
}

#[test]
fn gross_budget_scales_every_symbol_and_floors() {
    let btc = blend_of("BTCUSDT", dec!(0.5), dec!(0), dec!(2));
    let eth = blend_of("ETHUSDT", dec!(-0.5), dec!(0), dec!(2));
    let ib = linear("BTCUSDT", dec!(0.001));
    let ie = linear("ETHUSDT", dec!(0.01));
    let inputs = [
        SizeInput {
            blend: &btc,
            price: p(dec!(60000)),
            instrument: &ib,
        },
        SizeInput {
            blend: &eth,
            price: p(dec!(3000)),
            instrument: &ie,
        },
    ];
    let policy = BlendPolicy {
        gross_exposure_budget: Some(dec!(1)),
        ..BlendPolicy::default()
    };
    // Unscaled: 10,000 USDT each = 20,000 against a budget of 10,000.
    let t = account_targets(&inputs, &account(dec!(10000)), &policy).unwrap();
    let total: Decimal = t.iter().map(|t| t.notional).sum();
    assert!(total <= dec!(10000), "{total}");
    assert_eq!(t[0].qty.get(), dec!(0.083));
    assert_eq!(t[1].qty.get(), dec!(-1.66));
    assert!(t.iter().all(|t| t.limited_by == Some(Limit::GrossBudget)));
    assert!(t.iter().all(|t| t.unrounded_qty == t.qty.get()));
    // A budget that fits changes nothing.
    let roomy = BlendPolicy {
        gross_exposure_budget: Some(dec!(3)),
        ..BlendPolicy::default()
    };
    let t = account_targets(&inputs, &account(dec!(10000)), &roomy).unwrap();
    assert_eq!(t[0].qty.get(), dec!(0.167));
    assert_eq!(t[0].limited_by, None);
    // A zero budget flattens everything.
    let zero = BlendPolicy {
        gross_exposure_budget: Some(dec!(0)),
        ..BlendPolicy::default()
    };
    let t = account_targets(&inputs, &account(dec!(10000)), &zero).unwrap();
    assert!(t.iter().all(|t| t.qty.is_zero()));
}

#[test]
fn bad_inputs_are_errors() {
    let b = blend_of("BTCUSDT", dec!(0.1), dec!(0), dec!(10));
    let i = linear("BTCUSDT", dec!(0.001));
    let input = SizeInput {
        blend: &b,
        price: p(dec!(60000)),
        instrument: &i,
    };
    assert!(matches!(
        size_target(&input, &account(dec!(0)), &BlendPolicy::default()),
        Err(CoreError::NonPositiveAccountValue(_))
    ));
    let mut bad = i.clone();
    bad.contract_size = dec!(0);
    let input = SizeInput {
        blend: &b,
        price: p(dec!(60000)),
        instrument: &bad,
    };
    assert!(matches!(
        size_target(&input, &account(dec!(1)), &BlendPolicy::default()),
        Err(CoreError::BadInstrument { .. })
    ));
    let eth = linear("ETHUSDT", dec!(0.001));
    let input = SizeInput {
        blend: &b,
        price: p(dec!(60000)),
        instrument: &eth,
    };
    assert!(matches!(
        size_target(&input, &account(dec!(1)), &BlendPolicy::default()),
        Err(CoreError::Mismatch { .. })
    ));
    let huge = AccountSizing {
        value: Decimal::MAX,
        leverage_override: None,
    };
    let input = SizeInput {
        blend: &b,
        price: p(dec!(0.0000001)),
        instrument: &i,
    };
    assert!(matches!(
        size_target(&input, &huge, &BlendPolicy::default()),
        Err(CoreError::Overflow(_))
    ));
}

#[test]
fn budget_is_all_or_nothing_on_inconsistent_targets() {
    // A target whose stored notional understates its size (not something size_target makes):
    // scaling cannot bring it under the budget within the guard, so the call fails and leaves
    // every target as it was.
    let b = blend_of("BTCUSDT", dec!(0), dec!(100), dec!(1));
    let i = linear("BTCUSDT", dec!(1));
    let mut t = size(&b, dec!(1), &i, &account(dec!(10)), &BlendPolicy::default());
    assert_eq!(t.venue_qty, dec!(100));
    t.notional = dec!(11);
    let mut targets = vec![t.clone(), t.clone()];
    let before = targets.clone();
    assert!(matches!(
        apply_gross_budget(&mut targets, dec!(10), dec!(1)),
        Err(CoreError::Overflow(_))
    ));
    assert_eq!(targets, before);
    assert!(apply_gross_budget(&mut targets, dec!(10), dec!(-1)).is_err());
}
