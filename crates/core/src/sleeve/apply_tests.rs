//! Unit tests of the sleeve state machine (kept apart so `apply.rs` stays readable).

use chrono::{TimeDelta, TimeZone};
use rust_decimal_macros::dec;
use tradeengine_model::SignalId;

use super::*;

fn t0() -> Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

fn p(v: Decimal) -> Price {
    Price::new(v).unwrap()
}

fn flat() -> Sleeve {
    Sleeve::flat(
        tradeengine_model::SourceId::new("ta").unwrap(),
        tradeengine_model::Symbol::new("BTCUSDT").unwrap(),
        t0(),
    )
}

fn signal(intent: Intent) -> Signal {
    Signal {
        id: SignalId::new("sig-1").unwrap(),
        source: tradeengine_model::SourceId::new("ta").unwrap(),
        symbol: tradeengine_model::Symbol::new("BTCUSDT").unwrap(),
        intent,
        emitted_at: None,
        received_at: t0(),
        idempotency_key: "k".into(),
        raw: serde_json::Value::Null,
    }
}

fn order(action: OrderAction, size: Option<OrderSize>) -> OrderIntent {
    OrderIntent {
        action,
        size,
        confidence: Some(dec!(0.8)),
        stop_loss: None,
        take_profit: None,
        leverage: None,
        reference_price: Some(p(dec!(100))),
    }
}

fn run(s: &Sleeve, o: OrderIntent, rules: &SleeveRules, now: Timestamp) -> SleeveDecision {
    apply_signal(s, &signal(Intent::Order(o)), None, rules, now).unwrap()
}

fn applied(d: SleeveDecision) -> (Sleeve, SleeveChange) {
    match d {
        SleeveDecision::Applied { sleeve, change } => (sleeve, change),
        SleeveDecision::Refused(r) => panic!("refused: {r}"),
    }
}

fn refused(d: SleeveDecision) -> Refusal {
    match d {
        SleeveDecision::Refused(r) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn open_long(rules: &SleeveRules, qty: Decimal) -> Sleeve {
    applied(run(
        &flat(),
        order(OrderAction::Buy, Some(OrderSize::Base(qty))),
        rules,
        t0(),
    ))
    .0
}

#[test]
fn sanity_bounds_have_the_documented_values() {
    assert_eq!(MAX_BASE, dec!(1000000000000000000));
    assert_eq!(MAX_DEPTH, dec!(1000));
}

#[test]
fn target_intent_sets_depth_and_zero_goes_flat() {
    let t = TargetIntent {
        depth: dec!(-0.25),
        leverage: Some(dec!(3)),
        reference_price: None,
    };
    let (s, change) = applied(
        apply_signal(
            &flat(),
            &signal(Intent::Target(t)),
            None,
            &SleeveRules::default(),
            t0(),
        )
        .unwrap(),
    );
    assert_eq!(s.state, SleeveState::Open);
    assert_eq!(s.exposure, SleeveOrigin::Depth(dec!(-0.25)));
    assert_eq!(s.leverage, Some(dec!(3)));
    assert_eq!(s.opened_at, Some(t0()));
    assert_eq!(s.last_signal.as_ref().map(|i| i.as_str()), Some("sig-1"));
    assert_eq!(
        change,
        SleeveChange::TargetSet {
            from: SleeveOrigin::Depth(dec!(0)),
            to: SleeveOrigin::Depth(dec!(-0.25))
        }
    );
    let later = t0() + TimeDelta::minutes(5);
    let zero = TargetIntent {
        depth: dec!(0),
        leverage: None,
        reference_price: None,
    };
    let (s2, _) = applied(
        apply_signal(
            &s,
            &signal(Intent::Target(zero)),
            None,
            &SleeveRules::default(),
            later,
        )
        .unwrap(),
    );
    // Target sleeves never cool: a new target may reopen at once.
    assert_eq!(s2.state, SleeveState::Flat);
    assert_eq!(s2.closed_at, Some(later));
    assert_eq!(s2.opened_at, None);
}

#[test]
fn target_intent_refuses_absurd_depth_and_bad_leverage() {
    let huge = TargetIntent {
        depth: dec!(5000),
        leverage: None,
        reference_price: None,
    };
    let d = apply_signal(
        &flat(),
        &signal(Intent::Target(huge)),
        None,
        &SleeveRules::default(),
        t0(),
    );
    assert_eq!(
        refused(d.unwrap()),
        Refusal::SizeOutOfRange { size: dec!(5000) }
    );
    let neg = TargetIntent {
        depth: dec!(0.5),
        leverage: Some(dec!(-2)),
        reference_price: None,
    };
    let d = apply_signal(
        &flat(),
        &signal(Intent::Target(neg)),
        None,
        &SleeveRules::default(),
        t0(),
    );
    assert_eq!(
        refused(d.unwrap()),
        Refusal::BadLeverage { leverage: dec!(-2) }
    );
}

#[test]
fn order_sizes_land_in_their_units() {
    let rules = SleeveRules::default();
    let s = open_long(&rules, dec!(0.5));
    assert_eq!(s.exposure, SleeveOrigin::Base(dec!(0.5)));
    assert_eq!(s.entry_price, Some(p(dec!(100))));
    assert_eq!(s.state, SleeveState::Open);

    // 250 USDT at the reference price 100 = 2.5 base units, short.
    let (q, _) = applied(run(
        &flat(),
        order(OrderAction::Sell, Some(OrderSize::Quote(dec!(250)))),
        &rules,
        t0(),
    ));
    assert_eq!(q.exposure, SleeveOrigin::Base(dec!(-2.5)));

    let (f, change) = applied(run(
        &flat(),
        order(
            OrderAction::Buy,
            Some(OrderSize::AccountFraction(dec!(0.05))),
        ),
        &rules,
        t0(),
    ));
    assert_eq!(f.exposure, SleeveOrigin::Depth(dec!(0.05)));
    assert_eq!(change, SleeveChange::Opened);
}

#[test]
fn quote_size_uses_the_mark_when_the_signal_has_no_price() {
    let rules = SleeveRules::default();
    let mut o = order(OrderAction::Buy, Some(OrderSize::Quote(dec!(300))));
    o.reference_price = None;
    assert_eq!(
        refused(run(&flat(), o.clone(), &rules, t0())),
        Refusal::NoPrice
    );
    let d = apply_signal(
        &flat(),
        &signal(Intent::Order(o)),
        Some(p(dec!(60))),
        &rules,
        t0(),
    )
    .unwrap();
    assert_eq!(applied(d).0.exposure, SleeveOrigin::Base(dec!(5)));
}

#[test]
fn confidence_rules() {
    let rules = SleeveRules::default();
    let mut o = order(OrderAction::Buy, Some(OrderSize::Base(dec!(1))));
    o.confidence = Some(dec!(0.59));
    assert_eq!(
        refused(run(&flat(), o.clone(), &rules, t0())),
        Refusal::LowConfidence {
            confidence: dec!(0.59),
            min: dec!(0.6)
        }
    );
    o.confidence = Some(dec!(0.6));
    assert!(matches!(
        run(&flat(), o.clone(), &rules, t0()),
        SleeveDecision::Applied { .. }
    ));
    o.confidence = Some(dec!(1.2));
    assert_eq!(
        refused(run(&flat(), o.clone(), &rules, t0())),
        Refusal::InvalidConfidence {
            confidence: dec!(1.2)
        }
    );
    o.confidence = None;
    assert!(matches!(
        run(&flat(), o.clone(), &rules, t0()),
        SleeveDecision::Applied { .. }
    ));
    let strict = SleeveRules {
        require_confidence: true,
        ..SleeveRules::default()
    };
    assert_eq!(
        refused(run(&flat(), o, &strict, t0())),
        Refusal::MissingConfidence
    );
}

#[test]
fn low_confidence_never_blocks_a_reduction() {
    let rules = SleeveRules::default();
    let s = open_long(&rules, dec!(1));
    let mut o = order(OrderAction::Sell, Some(OrderSize::Base(dec!(0.4))));
    o.confidence = Some(dec!(0.1));
    let (s2, change) = applied(run(&s, o, &rules, t0()));
    assert_eq!(change, SleeveChange::Reduced);
    assert_eq!(s2.exposure, SleeveOrigin::Base(dec!(0.6)));
    assert_eq!(s2.state, SleeveState::Open);
}

#[test]
fn one_open_sleeve_unless_adding_is_allowed() {
    let rules = SleeveRules::default();
    let s = open_long(&rules, dec!(1));
    let again = order(OrderAction::Buy, Some(OrderSize::Base(dec!(1))));
    assert_eq!(
        refused(run(&s, again.clone(), &rules, t0())),
        Refusal::AlreadyOpen
    );

    let adding = SleeveRules {
        allow_add: true,
        ..SleeveRules::default()
    };
    let s = open_long(&adding, dec!(1));
    let mut more = again;
    more.reference_price = Some(p(dec!(130)));
    let (s2, change) = applied(run(&s, more, &adding, t0()));
    assert_eq!(change, SleeveChange::Added);
    assert_eq!(s2.exposure, SleeveOrigin::Base(dec!(2)));
    // (1 × 100 + 1 × 130) / 2 = 115
    assert_eq!(s2.entry_price, Some(p(dec!(115))));
}

#[test]
fn opposite_order_closes_cools_and_reopens_after_cooling() {
    let rules = SleeveRules::default();
    let s = open_long(&rules, dec!(1));
    let closed_at = t0() + TimeDelta::minutes(10);
    let (c, change) = applied(run(
        &s,
        order(OrderAction::Sell, Some(OrderSize::Base(dec!(1.5)))),
        &rules,
        closed_at,
    ));
    assert_eq!(
        change,
        SleeveChange::Closed {
            excess: Some(dec!(0.5))
        }
    );
    assert_eq!(c.state, SleeveState::Cooling);
    assert_eq!(c.exposure, SleeveOrigin::Base(dec!(0)));
    assert_eq!(c.closed_at, Some(closed_at));
    assert_eq!(c.stop_loss, None);

    let buy = order(OrderAction::Buy, Some(OrderSize::Base(dec!(1))));
    let until = closed_at + TimeDelta::minutes(60);
    let almost = until - TimeDelta::seconds(1);
    assert_eq!(
        refused(run(&c, buy.clone(), &rules, almost)),
        Refusal::Cooling { until }
    );
    // A sell during cooling is an open too (no flip), and is refused the same way.
    let sell = order(OrderAction::Sell, Some(OrderSize::Base(dec!(1))));
    assert_eq!(
        refused(run(&c, sell, &rules, almost)),
        Refusal::Cooling { until }
    );
    let (re, change) = applied(run(&c, buy, &rules, until));
    assert_eq!(change, SleeveChange::Opened);
    assert_eq!(re.state, SleeveState::Open);
}

#[test]
fn close_hold_and_opposite_without_size() {
    let rules = SleeveRules::default();
    let s = open_long(&rules, dec!(1));
    let later = t0() + TimeDelta::seconds(30);
    let (h, change) = applied(run(&s, order(OrderAction::Hold, None), &rules, later));
    assert_eq!(change, SleeveChange::Unchanged);
    assert_eq!(h.updated_at, later);
    assert_eq!(h.exposure, s.exposure);

    let (c, change) = applied(run(&s, order(OrderAction::Close, None), &rules, later));
    assert_eq!(change, SleeveChange::Closed { excess: None });
    assert_eq!(c.state, SleeveState::Cooling);

    let (c2, change) = applied(run(&c, order(OrderAction::Close, None), &rules, later));
    assert_eq!(change, SleeveChange::Unchanged);
    assert_eq!(c2.closed_at, c.closed_at);

    let (c3, change) = applied(run(&s, order(OrderAction::Sell, None), &rules, later));
    assert_eq!(change, SleeveChange::Closed { excess: None });
    assert_eq!(c3.state, SleeveState::Cooling);
}

#[test]
fn zero_cooling_closes_to_flat() {
    let rules = SleeveRules {
        cooling: TimeDelta::zero(),
        ..SleeveRules::default()
    };
    let s = open_long(&rules, dec!(1));
    let (c, _) = applied(run(&s, order(OrderAction::Close, None), &rules, t0()));
    assert_eq!(c.state, SleeveState::Flat);
    assert!(matches!(
        run(
            &c,
            order(OrderAction::Buy, Some(OrderSize::Base(dec!(1)))),
            &rules,
            t0()
        ),
        SleeveDecision::Applied { .. }
    ));
}

#[test]
fn units_do_not_mix_and_sizes_must_be_positive() {
    let rules = SleeveRules {
        allow_add: true,
        ..SleeveRules::default()
    };
    let s = open_long(&rules, dec!(1));
    let frac = order(
        OrderAction::Buy,
        Some(OrderSize::AccountFraction(dec!(0.1))),
    );
    assert_eq!(refused(run(&s, frac, &rules, t0())), Refusal::UnitMismatch);
    let frac_sell = order(
        OrderAction::Sell,
        Some(OrderSize::AccountFraction(dec!(0.1))),
    );
    assert_eq!(
        refused(run(&s, frac_sell, &rules, t0())),
        Refusal::UnitMismatch
    );
    let zero = order(OrderAction::Buy, Some(OrderSize::Base(dec!(0))));
    assert_eq!(
        refused(run(&flat(), zero, &rules, t0())),
        Refusal::NonPositiveSize { size: dec!(0) }
    );
    let missing = order(OrderAction::Buy, None);
    assert_eq!(
        refused(run(&flat(), missing, &rules, t0())),
        Refusal::MissingSize
    );
    let huge = order(OrderAction::Buy, Some(OrderSize::Base(dec!(1e19))));
    assert!(matches!(
        refused(run(&flat(), huge, &rules, t0())),
        Refusal::SizeOutOfRange { .. }
    ));
}

#[test]
fn a_signal_for_another_sleeve_is_an_error() {
    let mut other = flat();
    other.source = tradeengine_model::SourceId::new("tv").unwrap();
    let sig = signal(Intent::Order(order(OrderAction::Hold, None)));
    assert!(matches!(
        apply_signal(&other, &sig, None, &SleeveRules::default(), t0()),
        Err(CoreError::Mismatch {
            what: "signal source",
            ..
        })
    ));
}

#[test]
fn cooling_that_overflows_time_cools_forever() {
    let rules = SleeveRules {
        cooling: TimeDelta::MAX,
        ..SleeveRules::default()
    };
    let s = open_long(&rules, dec!(1));
    let (c, _) = applied(run(&s, order(OrderAction::Close, None), &rules, t0()));
    assert!(is_cooling(&c, &rules, t0() + TimeDelta::days(36500)).is_some());
}

#[path = "apply_stop_tests.rs"]
mod stops;

/// Default levels anchor at the mark, where the position opens, not at a sender's price that
/// is off the market: a short alert priced 57,500 with the mark at 60,000 and a 2 % default
/// stop gets its stop at 61,200 (above the market), not 58,650 (already breached below it).
#[test]
fn default_levels_and_entry_anchor_at_the_mark_when_there_is_one() {
    let rules = SleeveRules {
        default_stop_loss: Some(dec!(0.02)),
        default_take_profit: Some(dec!(0.03)),
        ..SleeveRules::default()
    };
    let target = |reference: Option<Decimal>| {
        signal(Intent::Target(TargetIntent {
            depth: dec!(-0.1),
            leverage: None,
            reference_price: reference.map(p),
        }))
    };
    let mark = Some(p(dec!(60000)));
    let (s, _) =
        applied(apply_signal(&flat(), &target(Some(dec!(57500))), mark, &rules, t0()).unwrap());
    assert_eq!(s.stop_loss, Some(p(dec!(61200))));
    assert_eq!(s.take_profit, Some(p(dec!(58200))));
    assert_eq!(s.entry_price, mark);
    // With no mark yet, the sender's price is all there is.
    let (s, _) =
        applied(apply_signal(&flat(), &target(Some(dec!(57500))), None, &rules, t0()).unwrap());
    assert_eq!(s.stop_loss, Some(p(dec!(58650))));
    assert_eq!(s.entry_price, Some(p(dec!(57500))));
    // An order intent's quote size converts at the mark too: 6,000 USDT is 0.1 BTC at 60,000.
    let mut o = order(OrderAction::Buy, Some(OrderSize::Quote(dec!(6000))));
    o.reference_price = Some(p(dec!(50000)));
    let (s, _) =
        applied(apply_signal(&flat(), &signal(Intent::Order(o)), mark, &rules, t0()).unwrap());
    assert_eq!(s.exposure, SleeveOrigin::Base(dec!(0.1)));
}
