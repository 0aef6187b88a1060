//! The message parsers (canonical, strategy signal, amount signal) never panic on any bytes, and
//! whatever they accept is a well-formed signal of the context's source.
#![allow(clippy::unwrap_used)]

use chrono::{TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::Value;
use tradeengine_model::{Intent, SourceId};
use tradeengine_signals::SymbolMap;
use tradeengine_signals::amount_signal::parse_amount_signal;
use tradeengine_signals::canonical::parse_canonical;
use tradeengine_signals::message::MessageContext;
use tradeengine_signals::strategy_signal::{StrategySignalOptions, parse_strategy_signal};

const KEYS: &[&str] = &[
    "v",
    "id",
    "ts",
    "max_lag_s",
    "symbol",
    "mode",
    "target",
    "order",
    "stop_loss",
    "take_profits",
    "confidence",
    "price",
    "side",
    "exposure",
    "unit",
    "leverage",
    "action",
    "size",
    "type",
    "pct",
    "portion",
    "strategy_id",
    "signal_id",
    "quantity",
    "current_price",
    "source",
    "strategy",
    "position_size_pct",
    "stop_loss_pct",
    "take_profit",
    "meta",
    "simulate",
    "timestamp",
    "amount",
    "order_type",
    "strategy_mode",
    "quote_quantity",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        prop_oneof![
            Just("BTCUSDT".to_string()),
            Just("buy".to_string()),
            Just("sell".to_string()),
            Just("close".to_string()),
            Just("target".to_string()),
            Just("delta".to_string()),
            Just("long".to_string()),
            Just("open".to_string()),
            Just("1e400".to_string()),
            Just("-0".to_string()),
            Just("79228162514264337593543950336".to_string()),
            Just("2026-01-01T00:00:00Z".to_string()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(KEYS).prop_map(str::to_string),
                inner,
                0..10
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check_all(body: &[u8]) {
    let source = SourceId::new("fuzz").unwrap();
    let map = SymbolMap::new([("BTCUSDT", "BTCUSDT")]).unwrap();
    let mut ctx = MessageContext::new(
        &source,
        &map,
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    );
    ctx.max_age = Some(TimeDelta::seconds(300));
    let results = [
        parse_canonical(body, &ctx),
        parse_strategy_signal(body, &ctx, &StrategySignalOptions::default()),
        parse_amount_signal(body, &ctx),
    ];
    for s in results.into_iter().flatten() {
        assert_eq!(s.source, source);
        assert_eq!(s.symbol.as_str(), "BTCUSDT");
        assert!(!s.idempotency_key.is_empty());
        if let Intent::Target(t) = &s.intent {
            assert!(t.depth.abs() <= rust_decimal::Decimal::from(u64::MAX));
        }
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        check_all(&body);
    }

    #[test]
    fn random_json_objects_never_panic(v in json_value()) {
        check_all(v.to_string().as_bytes());
    }

    #[test]
    fn near_valid_messages_never_panic(
        conf in any::<f64>(), qty in any::<f64>(), pct in any::<f64>(), amount in ".{0,8}",
        action in 0i64..6,
    ) {
        let petrosa = serde_json::json!({"strategy_id":"s","symbol":"BTCUSDT","action":"buy",
            "confidence":conf,"price":qty,"quantity":qty,"current_price":qty,"source":"x",
            "strategy":"s","position_size_pct":pct,"stop_loss_pct":pct});
        check_all(petrosa.to_string().as_bytes());
        let s4 = serde_json::json!({"symbol":"BTCUSDT","amount":amount,"action":action,
            "take_profit":pct,"stop_loss":conf,"source":"t"});
        check_all(s4.to_string().as_bytes());
        let cn = serde_json::json!({"symbol":"BTCUSDT","order":{"action":"open","side":"buy",
            "size":qty,"unit":"quote"},"stop_loss":{"pct":pct},"confidence":conf});
        check_all(cn.to_string().as_bytes());
    }
}
