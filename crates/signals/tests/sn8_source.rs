//! The SN8 source state machine: guard, change-only emission, staleness (flat or hold).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::Ordering;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use rust_decimal_macros::dec;
use serde_json::json;
use tradeengine_model::{Intent, SourceId, Timestamp};
use tradeengine_signals::SymbolMap;
use tradeengine_signals::sn8::{
    OnStale, Scoring, Sn8Config, Sn8Error, Sn8Event, Sn8Payload, Sn8Source, parse_positions,
    parse_statistics,
};

fn t0() -> Timestamp {
    Utc.timestamp_millis_opt(NOW_MS).unwrap()
}

fn mapping() -> SymbolMap {
    SymbolMap::new([("BTCUSD", "BTCUSDT"), ("ETHUSD", "ETHUSDT")]).unwrap()
}

fn cfg(on_stale: OnStale) -> Sn8Config {
    let mut c = Sn8Config::new(SourceId::new("sn8").unwrap());
    c.scoring = Scoring::Ptn;
    c.guard.min_miners = 1;
    c.ttl_secs = 60;
    c.on_stale = on_stale;
    c
}

/// `n` miners, the first long BTC at `lev`; the validator ranks them in order.
fn payload(n: usize, lev: f64) -> Sn8Payload {
    let mut miners = serde_json::Map::new();
    let mut data = Vec::new();
    for i in 0..n {
        let hk = format!("hk{i:03}");
        let ps = if i == 0 {
            vec![open("BTCUSD", NOW_MS, &[("LONG", lev, 100.0)], 1.0)]
        } else {
            vec![closed("ETHUSD", NOW_MS - DAY_MS, 1, 1.01)]
        };
        miners.insert(hk.clone(), miner(1.1, ps));
        data.push(
            json!({"hotkey": hk, "challengeperiod": {"status": "success"},
                         "weight": {"value": 1.0 - i as f64 / 1000.0, "rank": i + 1}}),
        );
    }
    Sn8Payload {
        positions: parse_positions(serde_json::Value::Object(miners).to_string().as_bytes())
            .unwrap(),
        statistics: Some(parse_statistics(json!({"data": data}).to_string().as_bytes()).unwrap()),
        eliminations: None,
        trade_pairs: None,
    }
}

fn depth_of(u: &tradeengine_signals::sn8::Sn8Update, sym: &str) -> Option<rust_decimal::Decimal> {
    u.signals
        .iter()
        .find(|s| s.symbol.as_str() == sym)
        .map(|s| match &s.intent {
            Intent::Target(t) => t.depth,
            Intent::Order(_) => unreachable!(),
        })
}

#[test]
fn first_ranking_emits_every_asset_then_only_changes() {
    let mut src = Sn8Source::new(cfg(OnStale::Flat), &mapping(), t0());
    let u = src.on_payload(&payload(1, 0.4), t0());
    assert!(matches!(u.event, Sn8Event::Ranked(_)));
    assert_eq!(u.signals.len(), 2);
    assert_eq!(depth_of(&u, "BTCUSDT"), Some(dec!(0.4)));
    assert_eq!(depth_of(&u, "ETHUSDT"), Some(dec!(0)));
    let s = &u.signals[0];
    assert_eq!(s.source.as_str(), "sn8");
    assert!(s.idempotency_key.starts_with("sn8:sn8:"));
    assert_eq!(s.raw["reason"], "ranking");

    let same = src.on_payload(&payload(1, 0.4), t0() + Duration::seconds(15));
    assert!(same.signals.is_empty());
    let moved = src.on_payload(&payload(1, 0.2), t0() + Duration::seconds(30));
    assert_eq!(moved.signals.len(), 1);
    assert_eq!(depth_of(&moved, "BTCUSDT"), Some(dec!(0.2)));
    assert!(src.last_ranking().is_some());
}

#[test]
fn stale_source_goes_flat_once_and_recovers() {
    let mut src = Sn8Source::new(cfg(OnStale::Flat), &mapping(), t0());
    src.on_payload(&payload(1, 0.4), t0());
    let err = Sn8Error::Timeout {
        url: "http://127.0.0.1/miner-positions".into(),
    };
    let u = src.on_fetch_error(&err, t0() + Duration::seconds(30));
    assert!(!u.stale && u.signals.is_empty());
    let u = src.on_fetch_error(&err, t0() + Duration::seconds(61));
    assert!(u.stale);
    // BTC goes flat; ETH was already 0 and is not re-sent.
    assert_eq!(u.signals.len(), 1);
    assert_eq!(depth_of(&u, "BTCUSDT"), Some(dec!(0)));
    assert_eq!(u.signals[0].raw["reason"], "stale_flat");
    let m = src.metrics();
    assert!(m.stale.load(Ordering::Relaxed));
    assert_eq!(m.stale_transitions.load(Ordering::Relaxed), 1);
    assert_eq!(m.fetch_failed.load(Ordering::Relaxed), 2);
    // Staying stale emits nothing more.
    assert!(src.tick(t0() + Duration::seconds(300)).signals.is_empty());
    // Fresh again: the ranking's BTC depth differs from the flat 0, so it is re-sent.
    let u = src.on_payload(&payload(1, 0.4), t0() + Duration::seconds(400));
    assert!(!u.stale);
    assert_eq!(depth_of(&u, "BTCUSDT"), Some(dec!(0.4)));
    assert!(!m.stale.load(Ordering::Relaxed));
}

#[test]
fn stale_source_can_hold() {
    let mut src = Sn8Source::new(cfg(OnStale::Hold), &mapping(), t0());
    src.on_payload(&payload(1, 0.4), t0());
    let u = src.tick(t0() + Duration::seconds(120));
    assert!(u.stale);
    assert!(u.signals.is_empty());
}

#[test]
fn never_fetched_source_becomes_stale_from_its_start() {
    let mut src = Sn8Source::new(cfg(OnStale::Flat), &mapping(), t0());
    let u = src.tick(t0() + Duration::seconds(61));
    assert!(u.stale);
    // Nothing was emitted before: every asset is made explicitly flat.
    assert_eq!(u.signals.len(), 2);
}

#[test]
fn guard_rejections_do_not_refresh_and_a_real_change_gets_through() {
    let mut c = cfg(OnStale::Flat);
    c.guard.min_miners = 10;
    c.ttl_secs = 3600;
    let mut src = Sn8Source::new(c, &mapping(), t0());
    assert!(matches!(
        src.on_payload(&payload(40, 0.4), t0()).event,
        Sn8Event::Ranked(_)
    ));
    // The population halves: refused twice, accepted on the third consistent fetch.
    for k in 1..=2 {
        let u = src.on_payload(&payload(20, 0.1), t0() + Duration::seconds(15 * k));
        assert!(
            matches!(u.event, Sn8Event::GuardRejected { count: 20, .. }),
            "{:?}",
            u.event
        );
        assert!(u.signals.is_empty());
    }
    let u = src.on_payload(&payload(20, 0.1), t0() + Duration::seconds(45));
    assert!(matches!(u.event, Sn8Event::Ranked(_)));
    assert_eq!(src.metrics().guard_rejected.load(Ordering::Relaxed), 2);
}

#[test]
fn ptn_scoring_without_statistics_is_a_rank_failure() {
    let mut src = Sn8Source::new(cfg(OnStale::Flat), &mapping(), t0());
    let mut p = payload(1, 0.4);
    p.statistics = None;
    let u = src.on_payload(&p, t0());
    assert!(matches!(u.event, Sn8Event::RankFailed(_)));
    assert_eq!(src.metrics().rank_failed.load(Ordering::Relaxed), 1);
}
