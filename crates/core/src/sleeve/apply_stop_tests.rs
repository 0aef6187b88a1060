//! Protective levels: default stop-loss and take-profit, their mirror on shorts,
//! signal levels that win over defaults, levels on the wrong side, and default distances
//! (ATR-based) over fractions for orders and targets.

use super::*;

#[test]
fn spot_long_only_defaults_protect_and_sell_closes_the_long() {
    let rules = SleeveRules::spot_long_only();
    let s = open_long(&rules, dec!(1));
    assert_eq!(s.stop_loss, Some(p(dec!(98.00))));
    assert_eq!(s.take_profit, Some(p(dec!(103.00))));
    // A partial sell closes the whole long under the spot long-only rules.
    let (c, change) = applied(run(
        &s,
        order(OrderAction::Sell, Some(OrderSize::Base(dec!(0.1)))),
        &rules,
        t0(),
    ));
    assert_eq!(change, SleeveChange::Closed { excess: None });
    assert!(c.exposure.is_flat());
    // Long only: a sell from flat is refused.
    let sell = order(OrderAction::Sell, Some(OrderSize::Base(dec!(1))));
    assert_eq!(
        refused(run(&flat(), sell, &rules, t0())),
        Refusal::ShortNotAllowed
    );
}

#[test]
fn short_protective_levels_mirror_and_signal_levels_win() {
    let rules = SleeveRules {
        default_stop_loss: Some(dec!(0.02)),
        default_take_profit: Some(dec!(0.03)),
        ..SleeveRules::default()
    };
    let (s, _) = applied(run(
        &flat(),
        order(OrderAction::Sell, Some(OrderSize::Base(dec!(1)))),
        &rules,
        t0(),
    ));
    assert_eq!(s.stop_loss, Some(p(dec!(102))));
    assert_eq!(s.take_profit, Some(p(dec!(97))));

    let mut o = order(OrderAction::Buy, Some(OrderSize::Base(dec!(1))));
    o.stop_loss = Some(ProtectiveLevel::Price(p(dec!(90))));
    o.take_profit = Some(ProtectiveLevel::Fraction(dec!(0.1)));
    let (s, _) = applied(run(&flat(), o, &rules, t0()));
    assert_eq!(s.stop_loss, Some(p(dec!(90))));
    assert_eq!(s.take_profit, Some(p(dec!(110.0))));
}

#[test]
fn protective_levels_on_the_wrong_side_are_refused() {
    let rules = SleeveRules::default();
    let mut o = order(OrderAction::Buy, Some(OrderSize::Base(dec!(1))));
    o.stop_loss = Some(ProtectiveLevel::Price(p(dec!(101))));
    assert!(matches!(
        refused(run(&flat(), o.clone(), &rules, t0())),
        Refusal::ProtectiveLevelWrongSide {
            level: "stop_loss",
            ..
        }
    ));
    o.stop_loss = Some(ProtectiveLevel::Fraction(dec!(1.5)));
    assert!(matches!(
        refused(run(&flat(), o.clone(), &rules, t0())),
        Refusal::BadProtectiveFraction {
            level: "stop_loss",
            ..
        }
    ));
    // A fractional level needs an entry price.
    o.stop_loss = Some(ProtectiveLevel::Fraction(dec!(0.02)));
    o.reference_price = None;
    assert_eq!(refused(run(&flat(), o, &rules, t0())), Refusal::NoPrice);
}

#[test]
fn default_distances_win_over_fractions_for_orders() {
    let rules = SleeveRules {
        default_stop_loss: Some(dec!(0.02)),
        default_take_profit: Some(dec!(0.03)),
        default_stop_distance: Some(dec!(1.5)),
        default_take_distance: Some(dec!(3.25)),
        ..SleeveRules::default()
    };
    let (s, _) = applied(run(
        &flat(),
        order(OrderAction::Buy, Some(OrderSize::Base(dec!(1)))),
        &rules,
        t0(),
    ));
    assert_eq!(
        (s.stop_loss, s.take_profit),
        (Some(p(dec!(98.5))), Some(p(dec!(103.25))))
    );
    let (s, _) = applied(run(
        &flat(),
        order(OrderAction::Sell, Some(OrderSize::Base(dec!(1)))),
        &rules,
        t0(),
    ));
    assert_eq!(
        (s.stop_loss, s.take_profit),
        (Some(p(dec!(101.5))), Some(p(dec!(96.75))))
    );
    // A short's take-profit distance beyond the entry itself is no price: refused.
    let far = SleeveRules {
        default_take_distance: Some(dec!(100)),
        ..rules.clone()
    };
    assert!(matches!(
        refused(run(
            &flat(),
            order(OrderAction::Sell, Some(OrderSize::Base(dec!(1)))),
            &far,
            t0()
        )),
        Refusal::ProtectiveLevelWrongSide {
            level: "take_profit",
            ..
        }
    ));
    let bad = SleeveRules {
        default_stop_distance: Some(dec!(0)),
        ..SleeveRules::default()
    };
    assert!(bad.validate().is_err());
}

#[test]
fn targets_take_default_levels_when_they_open_or_flip_and_keep_them_otherwise() {
    let target = |depth: Decimal| {
        signal(Intent::Target(TargetIntent {
            depth,
            leverage: None,
            reference_price: None,
        }))
    };
    let fixed = SleeveRules {
        default_stop_loss: Some(dec!(0.02)),
        default_take_profit: Some(dec!(0.04)),
        ..SleeveRules::default()
    };
    let mark = Some(p(dec!(200)));
    let (long, _) = applied(apply_signal(&flat(), &target(dec!(0.5)), mark, &fixed, t0()).unwrap());
    assert_eq!(
        (long.stop_loss, long.take_profit),
        (Some(p(dec!(196.00))), Some(p(dec!(208.00))))
    );
    // Same side at a new mark: the levels stay where they were set.
    let (more, _) =
        applied(apply_signal(&long, &target(dec!(0.8)), Some(p(dec!(250))), &fixed, t0()).unwrap());
    assert_eq!(more.stop_loss, long.stop_loss);
    // A flip takes fresh levels on the other side, here from ATR-style distances.
    let atr = SleeveRules {
        default_stop_distance: Some(dec!(5)),
        default_take_distance: Some(dec!(10)),
        ..fixed.clone()
    };
    let (short, _) =
        applied(apply_signal(&more, &target(dec!(-0.5)), Some(p(dec!(250))), &atr, t0()).unwrap());
    assert_eq!(
        (short.stop_loss, short.take_profit),
        (Some(p(dec!(255))), Some(p(dec!(240))))
    );
    let (flat_again, _) =
        applied(apply_signal(&short, &target(dec!(0)), mark, &atr, t0()).unwrap());
    assert_eq!((flat_again.stop_loss, flat_again.take_profit), (None, None));
    // Without rules' defaults a target has no levels, as before.
    let (bare, _) = applied(
        apply_signal(
            &flat(),
            &target(dec!(0.5)),
            mark,
            &SleeveRules::default(),
            t0(),
        )
        .unwrap(),
    );
    assert_eq!((bare.stop_loss, bare.take_profit), (None, None));
    // With defaults but no price at all, the target is refused rather than left unprotected.
    assert_eq!(
        refused(apply_signal(&flat(), &target(dec!(0.5)), None, &fixed, t0()).unwrap()),
        Refusal::NoPrice
    );
}
