//! Price feeds on the real recorded candles in `testdata/` and on the seeded walk.
#![allow(clippy::unwrap_used)]

use chrono::{TimeDelta, TimeZone, Utc};
use rust_decimal_macros::dec;
use tradeengine_model::{Price, Symbol, Timestamp};
use tradeengine_venues::PriceFeed;
use tradeengine_venues::feed::{
    KlineSeries, RandomWalkConfig, RandomWalkFeed, RecordedFeed, ReplayOptions,
};

/// Real 1-minute candles; see testdata/README.md for their origin.
const REAL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/candles-1m-real-head2000.csv"
);

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

#[test]
fn the_real_slice_loads_with_its_gaps() {
    let s = KlineSeries::from_path(REAL).unwrap();
    assert_eq!(s.len(), 1999);
    assert_eq!(s.interval_ms(), 60_000);
    assert_eq!(s.gap_count(), 171);
    assert_eq!(s.first_open_ms(), 1_509_836_520_000);
    // Line 7 is the 23:07 candle (close 0.00160345); the next one opens at 23:14. Every
    // instant of the 7-minute gap carries the 23:07 close.
    for t in [1_509_836_880_000, 1_509_837_000_000, 1_509_837_239_999] {
        assert_eq!(s.close_at_ms(t), Some(dec!(0.00160345)), "t = {t}");
    }
    assert_eq!(s.close_at_ms(1_509_837_240_000), Some(dec!(0.00161902)));
}

#[test]
fn the_binance_layout_in_microseconds_gives_the_same_series() {
    // Rewrite the real slice as a header-less 12-column Binance dump with µs times.
    let text = std::fs::read_to_string(REAL).unwrap();
    let mut binance = String::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let open: i64 = f[0].parse().unwrap();
        binance.push_str(&format!(
            "{}000,{},{},{},{},{},{}999,0,1,0,0,0\n",
            open,
            f[1],
            f[2],
            f[3],
            f[4],
            f[5],
            open + 59_999
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ALTBTC-1m.csv");
    std::fs::write(&path, binance).unwrap();
    let a = KlineSeries::from_path(REAL).unwrap();
    let b = KlineSeries::from_path(&path).unwrap();
    assert_eq!(b.interval_ms(), 60_000);
    assert_eq!(
        (b.len(), b.gap_count(), b.end_ms()),
        (a.len(), a.gap_count(), a.end_ms())
    );
    for t in (a.first_open_ms()..a.end_ms()).step_by(37_000) {
        assert_eq!(a.close_at_ms(t), b.close_at_ms(t), "t = {t}");
    }
}

#[test]
fn a_bad_line_in_a_file_names_the_file_and_line() {
    let mut text = std::fs::read_to_string(REAL).unwrap();
    text = text.replacen(
        "0.00161902,0.00161902,0.00161902,0.00161902",
        "0.00161902,x,0.00161902,0.00161902",
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.csv");
    std::fs::write(&path, text).unwrap();
    let err = KlineSeries::from_path(&path).unwrap_err().to_string();
    assert!(
        err.contains("broken.csv line 8: high \"x\" is not a decimal number"),
        "{err}"
    );
}

#[test]
fn replaying_the_real_slice_as_a_btc_like_price() {
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap();
    let feed = RecordedFeed::new()
        .with_csv(
            btc(),
            REAL,
            ReplayOptions {
                start_at: Some(start),
                looping: true,
                rescale: dec!(30000000),
                tick: Some(dec!(0.1)),
            },
        )
        .unwrap();
    // 0.00162008 × 3e7 = 48,602.4; 6 minutes in is the gap after 23:07: 0.00160345 × 3e7.
    assert_eq!(
        feed.price(&btc(), start).map(Price::get),
        Some(dec!(48602.4))
    );
    let in_gap = start + TimeDelta::minutes(8);
    assert_eq!(
        feed.price(&btc(), in_gap).map(Price::get),
        Some(dec!(48103.5))
    );
    // Loops: one full span later, the same price.
    let span = TimeDelta::milliseconds(
        feed.series(&btc())
            .map(|s| s.end_ms() - s.first_open_ms())
            .unwrap(),
    );
    assert_eq!(
        feed.price(&btc(), in_gap + span),
        feed.price(&btc(), in_gap)
    );
    assert_eq!(feed.price(&Symbol::new("ETHUSDT").unwrap(), start), None);
}

#[test]
fn the_random_walk_is_a_function_of_seed_symbol_and_time() {
    let origin = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap();
    let a = RandomWalkFeed::new(RandomWalkConfig::demo(42, origin)).unwrap();
    let b = RandomWalkFeed::new(RandomWalkConfig::demo(42, origin)).unwrap();
    let c = RandomWalkFeed::new(RandomWalkConfig::demo(43, origin)).unwrap();
    let times: Vec<Timestamp> = (0..3_000)
        .map(|s| origin + TimeDelta::seconds(s * 7))
        .collect();
    let eth = Symbol::new("ETHUSDT").unwrap();
    let series = |f: &RandomWalkFeed| -> Vec<Option<Price>> {
        times.iter().map(|t| f.price(&eth, *t)).collect()
    };
    // b is asked in reverse first: the answers must not depend on call order.
    for t in times.iter().rev() {
        assert!(b.price(&eth, *t).is_some());
    }
    assert_eq!(series(&a), series(&b));
    assert_ne!(series(&a), series(&c));
    assert!(series(&a).iter().all(Option::is_some));
    assert_eq!(a.symbols().len(), 3);
}
