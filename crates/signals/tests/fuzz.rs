//! Both parsers (and the ranking behind the PTN one) never panic on arbitrary input.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::Value;
use tradeengine_model::SourceId;
use tradeengine_signals::SymbolMap;
use tradeengine_signals::sn8::{
    Scoring, Sn8Config, Sn8Payload, Sn8Source, Universe, parse_eliminations, parse_positions,
    parse_statistics, rank,
};
use tradeengine_signals::tradingview::{TvConfig, parse};

const KEYS: &[&str] = &[
    "secret",
    "passphrase",
    "symbol",
    "ticker",
    "direction",
    "action",
    "size",
    "leverage",
    "price",
    "timenow",
    "time",
    "max_lag",
    "signal_seq",
    "event_id",
    "strategy",
    "position_size",
    "market_position",
    "order_type",
    "trade_pair",
    "trade_pair_id",
    "positions",
    "orders",
    "processed_ms",
    "open_ms",
    "close_ms",
    "net_leverage",
    "return_at_close",
    "current_return",
    "thirty_day_returns",
    "all_time_returns",
    "is_closed_position",
    "position_type",
    "src",
    "data",
    "hotkey",
    "weight",
    "value",
    "rank",
    "challengeperiod",
    "status",
    "eliminations",
    "BTCUSD",
    "hk",
];

const WORDS: &[&str] = &[
    "long",
    "short",
    "flat",
    "LONG",
    "SHORT",
    "FLAT",
    "Exit @ 1",
    "1/2",
    "-3/0",
    "300/100",
    "50%",
    "NaN",
    "1e400",
    "BTCUSDT",
    "BTCUSD",
    "ETHUSD",
    "s3cret",
    "success",
    "testing",
    "{{ticker}}",
    "2025-06-04T17:32:00Z",
    "9999999999999999999999",
    "-0",
    "enter_long",
    "",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        (-2.0f64..2.0).prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

fn tv_cfgs() -> Vec<TvConfig> {
    let mut open = TvConfig::new(SourceId::new("tv").unwrap(), None);
    open.allow_unauthenticated = true;
    open.position_scale = Some(Decimal::new(3, 0));
    open.ttl_secs = None;
    let closed = TvConfig::new(
        SourceId::new("tv").unwrap(),
        Some(SecretString::from("s3cret")),
    );
    vec![open, closed]
}

fn mapping() -> SymbolMap {
    SymbolMap::new([
        ("BTCUSDT", "BTCUSDT"),
        ("BTCUSD", "BTCUSDT"),
        ("ETHUSD", "ETHUSDT"),
    ])
    .unwrap()
}

fn check_ptn(bytes: &[u8]) {
    let _ = parse_statistics(bytes);
    let _ = parse_eliminations(bytes);
    if let Ok(doc) = parse_positions(bytes) {
        let universe = Universe::from_mapping(&mapping());
        for scoring in [Scoring::Seed, Scoring::Ptn] {
            let mut cfg = Sn8Config::new(SourceId::new("sn8").unwrap());
            cfg.scoring = scoring;
            cfg.seed.min_trades = 0;
            cfg.seed.min_profitable_rate = 0.0;
            cfg.seed.min_total_return = f64::NEG_INFINITY;
            cfg.seed.min_thirty_day_return = None;
            cfg.seed.min_all_time_return = None;
            cfg.seed.max_trade_age_days = 1e9;
            cfg.guard.min_miners = 0;
            let stats = parse_statistics(bytes).unwrap_or_default();
            let elims = parse_eliminations(bytes).unwrap_or_default();
            let inputs = tradeengine_signals::sn8::PtnInputs {
                statistics: &stats,
                eliminations: &elims,
            };
            if let Ok(r) = rank(&doc, Some(inputs), &cfg, &universe, common::NOW_MS) {
                for a in &r.assets {
                    assert!(a.depth.abs() <= Decimal::ONE);
                }
            }
            let now = Utc.timestamp_millis_opt(common::NOW_MS).unwrap();
            let mut src = Sn8Source::new(cfg, &mapping(), now);
            let payload = Sn8Payload {
                positions: doc.clone(),
                statistics: Some(stats),
                eliminations: Some(elims),
                trade_pairs: None,
            };
            let _ = src.on_payload(&payload, now);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn tradingview_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let now = Utc.timestamp_millis_opt(common::NOW_MS).unwrap();
        for cfg in tv_cfgs() {
            let _ = parse(&bytes, Some("text/plain"), &cfg, &mapping(), now);
        }
    }

    #[test]
    fn tradingview_never_panics_on_json(v in json()) {
        let now = Utc.timestamp_millis_opt(common::NOW_MS).unwrap();
        let body = v.to_string();
        for cfg in tv_cfgs() {
            if let Ok(a) = parse(body.as_bytes(), None, &cfg, &mapping(), now) {
                prop_assert!(a.depth().abs() <= cfg.max_depth);
                prop_assert!(!a.signal.raw.to_string().contains("\"secret\""));
            }
        }
    }

    #[test]
    fn ptn_never_panics_on_bytes(mut bytes in prop::collection::vec(any::<u8>(), 0..512), gz in any::<bool>()) {
        if gz && bytes.len() >= 2 {
            bytes[0] = 0x1f;
            bytes[1] = 0x8b;
        }
        check_ptn(&bytes);
    }

    #[test]
    fn ptn_never_panics_on_json(v in json()) {
        check_ptn(v.to_string().as_bytes());
    }

    #[test]
    fn ptn_never_panics_on_ptn_shaped_numbers(
        lev in prop::collection::vec(prop_oneof![any::<f64>(), -1e6f64..1e6, -1.0f64..1.0], 1..6),
        price in prop_oneof![any::<f64>(), 0.0f64..1e9],
        ms in any::<i64>(),
        ret in any::<f64>(),
    ) {
        let orders: Vec<Value> = lev.iter().enumerate().map(|(i, l)| {
            serde_json::json!({"order_type": if *l >= 0.0 { "LONG" } else { "SHORT" },
                "leverage": serde_json::Number::from_f64(*l).map(Value::Number),
                "price": serde_json::Number::from_f64(price).map(Value::Number),
                "processed_ms": ms.wrapping_add(i as i64)})
        }).collect();
        let body = serde_json::json!({
            "hk": {"thirty_day_returns": serde_json::Number::from_f64(ret).map(Value::Number),
                   "positions": [{"trade_pair": ["BTCUSD"], "open_ms": ms, "close_ms": 0,
                                  "current_return": serde_json::Number::from_f64(ret).map(Value::Number),
                                  "orders": orders}]},
            "data": [{"hotkey": "hk", "challengeperiod": {"status": "success"}}]
        });
        check_ptn(body.to_string().as_bytes());
    }
}
