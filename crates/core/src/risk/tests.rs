//! Each rule refuses what it must and nothing else; reducing legs always pass; the portfolio
//! state only rises, and the incremental tracker agrees with the history.

use chrono::{TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_model::{Symbol, Timestamp};

use super::portfolio::{evaluate_history, period_starts};
use super::*;

fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

fn t0() -> Timestamp {
    // A Wednesday.
    Utc.with_ymd_and_hms(2025, 6, 4, 12, 0, 0).unwrap()
}

fn leg<'a>(symbol: &'a Symbol, delta: Decimal, price: Decimal) -> LegIntent<'a> {
    LegIntent {
        symbol,
        delta,
        leverage: dec!(2),
        price,
        mark: Some(price),
        is_limit: false,
    }
}

/// Equity 10 000; long 1 BTC at 60 000 (6× equity) and flat elsewhere.
fn book() -> ExposureBook {
    ExposureBook::new(dec!(10000), [(sym("BTCUSDT"), dec!(1), dec!(60000))])
}

fn refused(r: Result<(), RiskRefusal>) -> RiskRule {
    r.expect_err("expected a refusal").rule
}

#[test]
fn reducing_predicate() {
    assert!(is_reducing(dec!(1), dec!(-0.5)));
    assert!(is_reducing(dec!(1), dec!(-1)));
    assert!(is_reducing(dec!(-2), dec!(1)));
    assert!(
        !is_reducing(dec!(1), dec!(-1.5)),
        "crossing zero opens the other side"
    );
    assert!(!is_reducing(dec!(1), dec!(0.5)));
    assert!(!is_reducing(dec!(0), dec!(-1)));
    assert!(!is_reducing(dec!(1), dec!(0)));
}

#[test]
fn reducing_targets_never_add() {
    assert_eq!(reducing_target(dec!(2), dec!(1)), dec!(1));
    assert_eq!(reducing_target(dec!(2), dec!(3)), dec!(2));
    assert_eq!(reducing_target(dec!(2), dec!(-1)), Decimal::ZERO);
    assert_eq!(reducing_target(dec!(-2), dec!(-1)), dec!(-1));
    assert_eq!(reducing_target(dec!(0), dec!(1)), Decimal::ZERO);
    assert_eq!(reducing_target(dec!(2), dec!(0)), Decimal::ZERO);
}

// One sequence: each pre-trade rule in turn on the same book, long because each rule is a step.
#[test]
fn each_pretrade_rule_refuses_by_name() {
    let b = book();
    let eth = sym("ETHUSDT");
    let open = leg(&eth, dec!(1), dec!(3000));
    let none = PreTradeLimits::default();
    assert_eq!(b.check(&open, &none, PortfolioState::Active), Ok(()));

    let l = PreTradeLimits {
        max_leverage: Some(dec!(1)),
        ..none
    };
    assert_eq!(
        refused(b.check(&open, &l, PortfolioState::Active)),
        RiskRule::MaxLeverage
    );
    let l = PreTradeLimits {
        max_leverage: Some(dec!(2)),
        ..none
    };
    assert_eq!(
        b.check(&open, &l, PortfolioState::Active),
        Ok(()),
        "equal to the limit passes"
    );

    let l = PreTradeLimits {
        max_order_notional: Some(dec!(2999)),
        ..none
    };
    assert_eq!(
        refused(b.check(&open, &l, PortfolioState::Active)),
        RiskRule::MaxOrderNotional
    );

    let l = PreTradeLimits {
        price_band: Some(dec!(0.05)),
        ..none
    };
    let far = LegIntent {
        mark: Some(dec!(2800)),
        ..open
    };
    assert_eq!(
        refused(b.check(&far, &l, PortfolioState::Active)),
        RiskRule::PriceBand
    );
    let near = LegIntent {
        mark: Some(dec!(2900)),
        ..open
    };
    assert_eq!(b.check(&near, &l, PortfolioState::Active), Ok(()));
    let blind = LegIntent { mark: None, ..open };
    assert_eq!(
        refused(b.check(&blind, &l, PortfolioState::Active)),
        RiskRule::PriceBand
    );

    // Adding 0.1 BTC to 1 BTC: 1.1 × 60 000 = 66 000 after the order.
    let btc = sym("BTCUSDT");
    let add = leg(&btc, dec!(0.1), dec!(60000));
    let l = PreTradeLimits {
        max_position_notional: Some(dec!(65000)),
        ..none
    };
    assert_eq!(
        refused(b.check(&add, &l, PortfolioState::Active)),
        RiskRule::MaxPositionNotional
    );
    let l = PreTradeLimits {
        max_position_notional: Some(dec!(66000)),
        ..none
    };
    assert_eq!(b.check(&add, &l, PortfolioState::Active), Ok(()));

    // Gross: 60 000 + 3 000 = 63 000 = 6.3 × equity.
    let l = PreTradeLimits {
        max_gross_exposure: Some(dec!(6.2)),
        ..none
    };
    assert_eq!(
        refused(b.check(&open, &l, PortfolioState::Active)),
        RiskRule::MaxGrossExposure
    );
    let l = PreTradeLimits {
        max_gross_exposure: Some(dec!(6.3)),
        ..none
    };
    assert_eq!(b.check(&open, &l, PortfolioState::Active), Ok(()));

    let l = PreTradeLimits {
        max_open_positions: Some(1),
        ..none
    };
    assert_eq!(
        refused(b.check(&open, &l, PortfolioState::Active)),
        RiskRule::MaxOpenPositions
    );
    assert_eq!(
        b.check(&add, &l, PortfolioState::Active),
        Ok(()),
        "adding is not opening"
    );

    assert_eq!(
        refused(b.check(&open, &none, PortfolioState::Reducing)),
        RiskRule::PortfolioReducing
    );
    assert_eq!(
        refused(b.check(&open, &none, PortfolioState::Halted)),
        RiskRule::PortfolioHalted
    );
}

#[test]
fn a_flip_open_is_not_reducing_and_a_reducing_limit_order_still_meets_the_band() {
    let b = book();
    let btc = sym("BTCUSDT");
    let flip = leg(&btc, dec!(-1.5), dec!(60000));
    assert_eq!(
        refused(b.check(&flip, &PreTradeLimits::default(), PortfolioState::Halted)),
        RiskRule::PortfolioHalted
    );
    let l = PreTradeLimits {
        price_band: Some(dec!(0.01)),
        ..PreTradeLimits::default()
    };
    let fat_finger = LegIntent {
        is_limit: true,
        price: dec!(6000),
        ..leg(&btc, dec!(-1), dec!(60000))
    };
    assert_eq!(
        refused(b.check(&fat_finger, &l, PortfolioState::Halted)),
        RiskRule::PriceBand
    );
}

#[test]
fn admitted_legs_are_booked_so_the_next_leg_sees_them() {
    let mut b = ExposureBook::new(dec!(10000), []);
    let mut w = OrderRateWindow::new();
    let (a, c) = (sym("AUSDT"), sym("CUSDT"));
    let l = PreTradeLimits {
        max_gross_exposure: Some(dec!(1)),
        max_open_positions: Some(2),
        ..PreTradeLimits::default()
    };
    admit_leg(
        &mut b,
        &mut w,
        &leg(&a, dec!(60), dec!(100)),
        &l,
        PortfolioState::Active,
        t0(),
    )
    .unwrap();
    // 6 000 booked: another 5 000 would make 11 000 > 10 000.
    let r = admit_leg(
        &mut b,
        &mut w,
        &leg(&c, dec!(50), dec!(100)),
        &l,
        PortfolioState::Active,
        t0(),
    );
    assert_eq!(refused(r), RiskRule::MaxGrossExposure);
    assert_eq!(b.open_positions(), 1, "a refused leg is not booked");
    assert_eq!(w.count(t0()), 1, "nor counted");
    admit_leg(
        &mut b,
        &mut w,
        &leg(&c, dec!(40), dec!(100)),
        &l,
        PortfolioState::Active,
        t0(),
    )
    .unwrap();
    assert_eq!(b.gross_notional(), Some(dec!(10000)));
    // Closing A frees room.
    admit_leg(
        &mut b,
        &mut w,
        &leg(&a, dec!(-60), dec!(100)),
        &l,
        PortfolioState::Active,
        t0(),
    )
    .unwrap();
    assert_eq!(b.position(&a), Decimal::ZERO);
    assert_eq!(b.open_positions(), 1);
}

#[test]
fn order_rate_window_slides() {
    let mut w = OrderRateWindow::new();
    let max = Some(2);
    w.admit(max, false, t0()).unwrap();
    w.admit(max, false, t0() + TimeDelta::seconds(30)).unwrap();
    let r = w.admit(max, false, t0() + TimeDelta::seconds(59));
    assert_eq!(refused(r), RiskRule::MaxOrdersPerMinute);
    // A reducing order is never refused, but it counts.
    w.admit(max, true, t0() + TimeDelta::seconds(59)).unwrap();
    assert_eq!(w.count(t0() + TimeDelta::seconds(59)), 3);
    // At +60 s the first order has left the window; the other two still count.
    assert_eq!(
        refused(w.admit(max, false, t0() + TimeDelta::seconds(60))),
        RiskRule::MaxOrdersPerMinute
    );
    w.admit(max, false, t0() + TimeDelta::seconds(120)).unwrap();
    // A clock step back cannot empty the window.
    assert_eq!(
        refused(w.admit(Some(1), false, t0())),
        RiskRule::MaxOrdersPerMinute
    );
}

fn limits() -> LossLimits {
    LossLimits {
        daily: Some(dec!(0.04)),
        weekly: Some(dec!(0.10)),
        monthly: Some(dec!(0.20)),
        max_drawdown: Some(dec!(0.25)),
        reduce_at: dec!(0.75),
    }
}

#[test]
fn period_starts_are_utc_day_monday_and_first_of_month() {
    let (d, w, m) = period_starts(t0());
    assert_eq!(d, Utc.with_ymd_and_hms(2025, 6, 4, 0, 0, 0).unwrap());
    assert_eq!(w, Utc.with_ymd_and_hms(2025, 6, 2, 0, 0, 0).unwrap());
    assert_eq!(m, Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap());
}

#[test]
fn daily_loss_reduces_then_halts_and_only_a_reset_clears_it() {
    let l = limits();
    let mut t = PortfolioTracker::new(None);
    assert_eq!(t.observe(t0(), dec!(10000), &l), None);
    // −2.9 %: under 75 % of 4 %.
    assert_eq!(
        t.observe(t0() + TimeDelta::minutes(1), dec!(9710), &l),
        None
    );
    let e = t
        .observe(t0() + TimeDelta::minutes(2), dec!(9700), &l)
        .unwrap();
    assert_eq!(
        (e.from, e.to, e.rule),
        (
            PortfolioState::Active,
            PortfolioState::Reducing,
            RiskRule::DailyLossLimit
        )
    );
    // Recovery does not end REDUCING.
    assert_eq!(
        t.observe(t0() + TimeDelta::minutes(3), dec!(10000), &l),
        None
    );
    assert_eq!(t.state, PortfolioState::Reducing);
    let e = t
        .observe(t0() + TimeDelta::minutes(4), dec!(9600), &l)
        .unwrap();
    assert_eq!(e.to, PortfolioState::Halted);
    // A new day does not un-halt.
    assert_eq!(t.observe(t0() + TimeDelta::days(1), dec!(9600), &l), None);
    assert_eq!(t.state, PortfolioState::Halted);
    // The reset re-bases: the same equity is now the start of everything.
    let reset_at = t0() + TimeDelta::days(1) + TimeDelta::minutes(1);
    t.reset(reset_at);
    assert_eq!(t.state, PortfolioState::Active);
    assert_eq!(t.observe(reset_at, dec!(9600), &l), None);
    assert_eq!(t.high_water, Some(dec!(9600)));
}

#[test]
fn weekly_monthly_and_drawdown_limits_trip_across_days() {
    let l = LossLimits {
        daily: None,
        ..limits()
    };
    let mut t = PortfolioTracker::new(None);
    // Monday 2 June → a 2 % loss each day: weekly 10 % is reached on the Friday.
    let monday = Utc.with_ymd_and_hms(2025, 6, 2, 0, 30, 0).unwrap();
    let mut equity = dec!(10000);
    t.observe(monday, equity, &l);
    let mut trips = Vec::new();
    for day in 1..5 {
        equity -= dec!(260);
        if let Some(e) = t.observe(monday + TimeDelta::days(day), equity, &l) {
            trips.push((day, e.to, e.rule));
        }
    }
    assert_eq!(
        trips,
        vec![
            (3, PortfolioState::Reducing, RiskRule::WeeklyLossLimit),
            (4, PortfolioState::Halted, RiskRule::WeeklyLossLimit)
        ]
    );
    // Drawdown alone: from a high-water mark of 20 000 to 15 000 is 25 %.
    let l = LossLimits {
        max_drawdown: Some(dec!(0.25)),
        ..LossLimits::default()
    };
    let mut t = PortfolioTracker::new(None);
    t.observe(t0(), dec!(10000), &l);
    t.observe(t0() + TimeDelta::days(40), dec!(20000), &l);
    let e = t
        .observe(t0() + TimeDelta::days(80), dec!(15000), &l)
        .unwrap();
    assert_eq!(
        (e.to, e.rule),
        (PortfolioState::Halted, RiskRule::MaxDrawdown)
    );
    // Monthly alone.
    let l = LossLimits {
        monthly: Some(dec!(0.2)),
        ..LossLimits::default()
    };
    let mut t = PortfolioTracker::new(None);
    t.observe(
        Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap(),
        dec!(100),
        &l,
    );
    let e = t
        .observe(
            Utc.with_ymd_and_hms(2025, 6, 30, 0, 0, 0).unwrap(),
            dec!(84),
            &l,
        )
        .unwrap();
    assert_eq!(
        (e.to, e.rule),
        (PortfolioState::Reducing, RiskRule::MonthlyLossLimit)
    );
    // The next month starts from 84.
    assert_eq!(
        t.observe(
            Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap(),
            dec!(84),
            &l
        ),
        None
    );
    assert_eq!(t.figures.monthly, Some(Decimal::ZERO));
}

#[test]
fn readings_before_the_baseline_or_out_of_order_are_ignored() {
    let l = limits();
    let mut t = PortfolioTracker::new(Some(t0()));
    assert_eq!(t.observe(t0() - TimeDelta::seconds(1), dec!(1), &l), None);
    assert_eq!(t.last_equity, None);
    t.observe(t0() + TimeDelta::seconds(10), dec!(100), &l);
    assert_eq!(t.observe(t0() + TimeDelta::seconds(5), dec!(1), &l), None);
    assert_eq!(t.state, PortfolioState::Active);
}

fn arb_points() -> impl Strategy<Value = Vec<(Timestamp, Decimal)>> {
    // Up to 60 readings, 0–30 h apart, equity 0–20 000 in cents.
    prop::collection::vec((0i64..30 * 3600, 0i64..2_000_000), 1..60).prop_map(|steps| {
        let mut at = t0();
        steps
            .into_iter()
            .map(|(gap, cents)| {
                at += TimeDelta::seconds(gap);
                (at, Decimal::new(cents, 2))
            })
            .collect()
    })
}

fn arb_limits() -> impl Strategy<Value = LossLimits> {
    let frac = || prop::option::of((1i64..60).prop_map(|p| Decimal::new(p, 2)));
    (frac(), frac(), frac(), frac(), 1i64..=100).prop_map(|(d, w, m, dd, r)| LossLimits {
        daily: d,
        weekly: w,
        monthly: m,
        max_drawdown: dd,
        reduce_at: Decimal::new(r, 2),
    })
}

fn arb_limits_pretrade() -> impl Strategy<Value = PreTradeLimits> {
    let dec = || prop::option::of((0i64..100_000).prop_map(|v| Decimal::new(v, 2)));
    (
        dec(),
        dec(),
        dec(),
        dec(),
        dec(),
        prop::option::of(0u32..5),
        prop::option::of(0u32..5),
    )
        .prop_map(
            |(lev, pos, gross, order, band, open, rate)| PreTradeLimits {
                max_leverage: lev,
                max_position_notional: pos,
                max_gross_exposure: gross,
                max_order_notional: order,
                price_band: band,
                max_open_positions: open,
                max_orders_per_minute: rate,
            },
        )
}

fn arb_state() -> impl Strategy<Value = PortfolioState> {
    prop_oneof![
        Just(PortfolioState::Active),
        Just(PortfolioState::Reducing),
        Just(PortfolioState::Halted)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever the limits, the state and the book, a market leg toward zero is admitted.
    #[test]
    fn a_reducing_leg_is_never_refused(
        limits in arb_limits_pretrade(),
        state in arb_state(),
        pos in (1i64..1_000_000).prop_map(|v| Decimal::new(v, 3)),
        short in any::<bool>(),
        frac in 1i64..=100,
        price in (1i64..10_000_000).prop_map(|v| Decimal::new(v, 2)),
        mark_off in 0i64..1000,
        others in prop::collection::vec((1i64..1_000_000, 1i64..1_000_000), 0..5),
        equity in (0i64..1_000_000).prop_map(|v| Decimal::new(v, 0)),
        prior in 0usize..10,
    ) {
        let btc = sym("BTCUSDT");
        let before = if short { -pos } else { pos };
        let mut held = vec![(btc.clone(), before, price)];
        for (i, (q, p)) in others.iter().enumerate() {
            held.push((sym(&format!("S{i}USDT")), Decimal::new(*q, 3), Decimal::new(*p, 2)));
        }
        let mut book = ExposureBook::new(equity, held);
        let mut window = OrderRateWindow::new();
        for _ in 0..prior {
            let _ = window.admit(None, false, t0());
        }
        let delta = -before * Decimal::new(frac, 2);
        let leg = LegIntent {
            symbol: &btc,
            delta,
            leverage: dec!(125),
            price,
            mark: Some(price + Decimal::new(mark_off, 0)),
            is_limit: false,
        };
        prop_assume!(is_reducing(before, delta));
        prop_assert_eq!(admit_leg(&mut book, &mut window, &leg, &limits, state, t0()), Ok(()));
    }

    /// Moving from `current` to a REDUCING target is a reducing leg, or no leg at all.
    #[test]
    fn a_reducing_target_only_reduces(c in -1000i64..1000, t in -1000i64..1000) {
        let (c, t) = (Decimal::from(c), Decimal::from(t));
        let r = reducing_target(c, t);
        let delta = r - c;
        prop_assert!(delta.is_zero() || is_reducing(c, delta), "{c} → {r}");
    }

    /// The state never falls without a reset, and a HALTED tracker stays HALTED.
    #[test]
    fn the_state_never_falls_without_a_reset(points in arb_points(), limits in arb_limits()) {
        let mut t = PortfolioTracker::new(None);
        let mut previous = PortfolioState::Active;
        for (at, equity) in &points {
            t.observe(*at, *equity, &limits);
            prop_assert!(t.state >= previous);
            if previous == PortfolioState::Halted {
                prop_assert_eq!(t.state, PortfolioState::Halted);
            }
            previous = t.state;
        }
    }

    /// One reading at a time gives the state the whole history defines.
    #[test]
    fn the_tracker_agrees_with_the_history(points in arb_points(), limits in arb_limits(), cut in 0usize..60) {
        let baseline = points.get(cut).map(|p| p.0);
        let mut t = PortfolioTracker::new(baseline);
        for (at, equity) in &points {
            t.observe(*at, *equity, &limits);
        }
        prop_assert_eq!(t.state, evaluate_history(&points, baseline, &limits));
    }
}
