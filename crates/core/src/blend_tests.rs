//! Unit tests of the blend (the weighted formula and the cap and staleness switches).

use chrono::TimeZone;
use rust_decimal_macros::dec;

use super::*;

fn t0() -> Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn src(s: &str) -> SourceId {
    SourceId::new(s).unwrap()
}

fn sym() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn sleeve(source: &str, exposure: SleeveOrigin, leverage: Option<Decimal>) -> Sleeve {
    let mut s = Sleeve::flat(src(source), sym(), t0());
    s.state = SleeveState::Open;
    s.exposure = exposure;
    s.leverage = leverage;
    s
}

fn config(weights: &[(&str, Decimal)], leverage: Decimal) -> SymbolConfig {
    SymbolConfig::new(
        sym(),
        leverage,
        weights.iter().map(|(s, w)| (src(s), *w)).collect(),
    )
}

fn seed_pair() -> (SymbolConfig, Vec<Sleeve>) {
    (
        config(&[("tradingview", dec!(0.3)), ("sn8", dec!(0.2))], dec!(3)),
        vec![
            sleeve(
                "tradingview",
                SleeveOrigin::Depth(dec!(0.5)),
                Some(dec!(10)),
            ),
            sleeve("sn8", SleeveOrigin::Depth(dec!(-0.25)), None),
        ],
    )
}

#[test]
fn seed_worked_example_tv_and_sn8() {
    let (cfg, sleeves) = seed_pair();
    let b = blend(&cfg, &sleeves, &BlendPolicy::default(), t0()).unwrap();
    assert_eq!(b.depth, dec!(0.10));
    assert_eq!(b.raw_leverage, dec!(10));
    assert_eq!(b.leverage, dec!(10));
    assert_eq!(b.base, dec!(0));
    // Contributions in source-id order, each w × d.
    let names: Vec<_> = b.contributions.iter().map(|c| c.source.as_str()).collect();
    assert_eq!(names, ["sn8", "tradingview"]);
    assert_eq!(
        b.contributions[0].contribution,
        SleeveOrigin::Depth(dec!(-0.05))
    );
    assert_eq!(
        b.contributions[1].contribution,
        SleeveOrigin::Depth(dec!(0.15))
    );
}

#[test]
fn config_leverage_when_no_source_gives_one() {
    let cfg = config(&[("sn8", dec!(0.5))], dec!(5));
    let b = blend(
        &cfg,
        &[sleeve("sn8", SleeveOrigin::Depth(dec!(0.1)), None)],
        &BlendPolicy::default(),
        t0(),
    )
    .unwrap();
    assert_eq!(b.depth, dec!(0.05));
    assert_eq!(b.leverage, dec!(5));
}

#[test]
fn leverage_is_a_depth_weighted_average_rounded_half_even() {
    // |d|·w: a = 0.1, b = 0.1 → L = (2 + 3) / 2 = 2.5 → 2 (half-even).
    let cfg = config(&[("a", dec!(0.5)), ("b", dec!(0.5))], dec!(1));
    let sl = [
        sleeve("a", SleeveOrigin::Depth(dec!(0.2)), Some(dec!(2))),
        sleeve("b", SleeveOrigin::Depth(dec!(-0.2)), Some(dec!(3))),
    ];
    let b = blend(&cfg, &sl, &BlendPolicy::default(), t0()).unwrap();
    assert_eq!(b.raw_leverage, dec!(2.5));
    assert_eq!(b.leverage, dec!(2));
    assert_eq!(integer_leverage(dec!(3.5)), dec!(4));
    assert_eq!(integer_leverage(dec!(0.4)), dec!(1));
}

#[test]
fn caps_clamp_depth_and_leverage() {
    let cfg = SymbolConfig {
        depth_cap: Some(dec!(0.5)),
        ..config(&[("tv", dec!(1))], dec!(3))
    };
    let sl = [sleeve("tv", SleeveOrigin::Depth(dec!(-3)), Some(dec!(100)))];
    let policy = BlendPolicy {
        depth_cap: Some(dec!(0.8)),
        leverage_cap: Some(dec!(20.7)),
        ..BlendPolicy::default()
    };
    let b = blend(&cfg, &sl, &policy, t0()).unwrap();
    assert_eq!(b.raw_depth, dec!(-3));
    assert_eq!(b.depth, dec!(-0.5));
    assert!(b.depth_capped);
    assert_eq!(b.leverage, dec!(20));
    assert!(b.leverage_capped);
    // Without the switches the plain formula's unbounded values come through.
    let b = blend(&cfg_without_caps(), &sl, &BlendPolicy::default(), t0()).unwrap();
    assert_eq!(b.depth, dec!(-3));
    assert_eq!(b.leverage, dec!(100));
}

fn cfg_without_caps() -> SymbolConfig {
    config(&[("tv", dec!(1))], dec!(3))
}

#[test]
fn stale_sleeves_count_as_flat_or_hold() {
    let (cfg, mut sleeves) = seed_pair();
    sleeves[1].updated_at = t0() - TimeDelta::minutes(20);
    let mut policy = BlendPolicy::default();
    policy.staleness.insert(
        src("sn8"),
        SourceStaleness {
            ttl: Some(TimeDelta::minutes(15)),
            on_stale: OnStale::Flat,
        },
    );
    let b = blend(&cfg, &sleeves, &policy, t0()).unwrap();
    assert_eq!(b.depth, dec!(0.15));
    assert!(b.contributions[0].stale);
    assert_eq!(
        b.contributions[0].contribution,
        SleeveOrigin::Depth(dec!(0))
    );

    policy.staleness.get_mut(&src("sn8")).unwrap().on_stale = OnStale::Hold;
    let b = blend(&cfg, &sleeves, &policy, t0()).unwrap();
    assert_eq!(b.depth, dec!(0.10));
    assert!(b.contributions[0].stale);

    // Exactly at the TTL the sleeve is still fresh.
    sleeves[1].updated_at = t0() - TimeDelta::minutes(15);
    policy.staleness.get_mut(&src("sn8")).unwrap().on_stale = OnStale::Flat;
    let b = blend(&cfg, &sleeves, &policy, t0()).unwrap();
    assert!(!b.contributions[0].stale);
    assert_eq!(b.depth, dec!(0.10));
}

#[test]
fn base_sleeves_add_base_units_and_lend_leverage_only_alone() {
    let cfg = config(&[("ta", dec!(0.5)), ("tv", dec!(0.5))], dec!(3));
    let sl = [
        sleeve("ta", SleeveOrigin::Base(dec!(-0.4)), Some(dec!(7))),
        sleeve("tv", SleeveOrigin::Depth(dec!(0.2)), Some(dec!(5))),
    ];
    let b = blend(&cfg, &sl, &BlendPolicy::default(), t0()).unwrap();
    assert_eq!(b.base, dec!(-0.2));
    assert_eq!(b.depth, dec!(0.1));
    assert_eq!(b.leverage, dec!(5));
    let b = blend(&cfg, &sl[..1], &BlendPolicy::default(), t0()).unwrap();
    assert_eq!(b.leverage, dec!(7));
}

#[test]
fn closed_unweighted_and_unknown_sources_do_not_count() {
    let cfg = config(
        &[("a", dec!(0.5)), ("b", dec!(0)), ("c", dec!(0.5))],
        dec!(2),
    );
    let mut cooling = sleeve("a", SleeveOrigin::Depth(dec!(0.4)), Some(dec!(9)));
    cooling.state = SleeveState::Cooling;
    let sl = [
        cooling,
        sleeve("b", SleeveOrigin::Depth(dec!(1)), Some(dec!(9))),
        sleeve("zzz", SleeveOrigin::Depth(dec!(1)), Some(dec!(9))),
    ];
    let b = blend(&cfg, &sl, &BlendPolicy::default(), t0()).unwrap();
    assert_eq!(b.depth, dec!(0));
    assert_eq!(b.leverage, dec!(2));
    assert_eq!(b.contributions.len(), 3);
    assert_eq!(b.contributions[2].exposure, None);
}

#[test]
fn bad_config_and_inputs_are_errors() {
    let over = config(&[("a", dec!(0.7)), ("b", dec!(0.4))], dec!(2));
    assert!(matches!(
        blend(&over, &[], &BlendPolicy::default(), t0()),
        Err(CoreError::BadInput {
            field: "sum of weights",
            ..
        })
    ));
    let low_lev = config(&[("a", dec!(0.5))], dec!(0.5));
    assert!(blend(&low_lev, &[], &BlendPolicy::default(), t0()).is_err());
    let cfg = config(&[("a", dec!(0.5))], dec!(2));
    let dup = [
        sleeve("a", SleeveOrigin::Depth(dec!(0.1)), None),
        sleeve("a", SleeveOrigin::Depth(dec!(0.2)), None),
    ];
    assert!(matches!(
        blend(&cfg, &dup, &BlendPolicy::default(), t0()),
        Err(CoreError::DuplicateSleeve { .. })
    ));
    let mut other = sleeve("a", SleeveOrigin::Depth(dec!(0.1)), None);
    other.symbol = Symbol::new("ETHUSDT").unwrap();
    assert!(matches!(
        blend(&cfg, &[other], &BlendPolicy::default(), t0()),
        Err(CoreError::Mismatch { .. })
    ));
}
