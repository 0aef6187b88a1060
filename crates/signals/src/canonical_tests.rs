//! Tests of the canonical signal format ([`super`]).

use chrono::{TimeZone, Utc};
use rust_decimal_macros::dec;
use serde_json::json;
use tradeengine_model::SourceId;

use super::*;
use crate::SymbolMap;

fn parse(v: &Value) -> Result<Signal, MessageError> {
    let source = SourceId::new("api").unwrap();
    let map = SymbolMap::new([("BTCUSDT", "BTCUSDT"), ("ETHUSDT", "ETHUSDT")]).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 7, 14, 14, 35, 30).unwrap();
    parse_canonical(
        v.to_string().as_bytes(),
        &MessageContext::new(&source, &map, now),
    )
}

#[test]
fn a_target_becomes_a_signed_depth() {
    let s = parse(
        &json!({"v":1,"id":"k1","ts":"2026-07-14T14:35:06Z","max_lag_s":60,
        "symbol":"BTCUSDT","mode":"target",
        "target":{"side":"short","exposure":0.25,"unit":"equity_fraction","leverage":3},
        "tags":{"strategy":"x"}}),
    )
    .unwrap();
    assert_eq!(
        s.intent,
        Intent::Target(TargetIntent {
            depth: dec!(-0.25),
            leverage: Some(dec!(3)),
            reference_price: None
        })
    );
    assert_eq!(s.idempotency_key, "id:k1");
    let flat = parse(&json!({"symbol":"BTCUSDT","target":{"side":"flat"}})).unwrap();
    assert!(matches!(flat.intent, Intent::Target(t) if t.depth.is_zero() && t.leverage.is_none()));
}

#[test]
fn a_delta_becomes_an_order_with_levels() {
    let s = parse(
        &json!({"v":1,"symbol":"ETHUSDT","mode":"delta","confidence":0.8,
        "price":3000,"order":{"action":"open","side":"buy","size":100,"unit":"quote",
        "type":"market"},"stop_loss":{"pct":0.02},"take_profits":[{"price":3300}]}),
    )
    .unwrap();
    let Intent::Order(o) = s.intent else { panic!() };
    assert_eq!(o.action, OrderAction::Buy);
    assert_eq!(o.size, Some(OrderSize::Quote(dec!(100))));
    assert_eq!(o.confidence, Some(dec!(0.8)));
    assert_eq!(o.stop_loss, Some(ProtectiveLevel::Fraction(dec!(0.02))));
    assert_eq!(
        o.take_profit,
        Some(ProtectiveLevel::Price(Price::new(dec!(3300)).unwrap()))
    );
    assert_eq!(o.reference_price.map(Price::get), Some(dec!(3000)));
    let c = parse(&json!({"symbol":"ETHUSDT","order":{"action":"close"}})).unwrap();
    assert!(
        matches!(c.intent, Intent::Order(o) if o.action == OrderAction::Close && o.size.is_none())
    );
    let f =
        parse(&json!({"symbol":"ETHUSDT","order":{"action":"increase","side":"short","size":0.1}}))
            .unwrap();
    assert!(
        matches!(f.intent, Intent::Order(o) if o.action == OrderAction::Sell
        && o.size == Some(OrderSize::AccountFraction(dec!(0.1))))
    );
}

// One table of cases (body, field, kind), long because each refusal is one row.
#[test]
fn refusals_name_the_field() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"symbol":"BTCUSDT","target":{"side":"long","exposure":0.1},"colour":1}),
            "colour",
            "invalid",
        ),
        (
            json!({"symbol":"BTCUSDT","target":{"side":"long","exposure":0.1,"x":1}}),
            "target.x",
            "invalid",
        ),
        (
            json!({"v":2,"symbol":"BTCUSDT","target":{"side":"flat"}}),
            "v",
            "unsupported",
        ),
        (json!({"target":{"side":"flat"}}), "symbol", "missing"),
        (json!({"symbol":"BTCUSDT"}), "mode", "invalid"),
        (
            json!({"symbol":"BTCUSDT","mode":"target"}),
            "target",
            "missing",
        ),
        (
            json!({"symbol":"BTCUSDT","mode":"sideways","target":{}}),
            "mode",
            "invalid",
        ),
        (
            json!({"symbol":"BTCUSDT","target":{"side":"up","exposure":1}}),
            "target.side",
            "invalid",
        ),
        (
            json!({"symbol":"BTCUSDT","target":{"side":"long"}}),
            "target.exposure",
            "missing",
        ),
        (
            json!({"symbol":"BTCUSDT","target":{"side":"long","exposure":-1}}),
            "target.exposure",
            "invalid",
        ),
        (
            json!({"symbol":"BTCUSDT","target":{"side":"long","exposure":1,"unit":"contracts"}}),
            "target.unit",
            "unsupported",
        ),
        (
            json!({"symbol":"BTCUSDT","target":{"side":"long","exposure":1},"stop_loss":{"pct":0.1}}),
            "stop_loss",
            "unsupported",
        ),
        (
            json!({"symbol":"BTCUSDT","order":{"action":"reduce","side":"sell","size":1}}),
            "order.action",
            "unsupported",
        ),
        (
            json!({"symbol":"BTCUSDT","order":{"action":"reverse"}}),
            "order.action",
            "unsupported",
        ),
        (
            json!({"symbol":"BTCUSDT","order":{"action":"open","side":"buy"}}),
            "order.size",
            "missing",
        ),
        (
            json!({"symbol":"BTCUSDT","order":{"action":"open","side":"buy","size":1,"unit":"risk_pct"}}),
            "order.unit",
            "unsupported",
        ),
        (
            json!({"symbol":"BTCUSDT","order":{"action":"open","side":"buy","size":1,"type":"limit"}}),
            "order.type",
            "unsupported",
        ),
        (
            json!({"symbol":"BTCUSDT","order":{"action":"open","side":"buy","size":1},"take_profits":[{"pct":0.1},{"pct":0.2}]}),
            "take_profits",
            "unsupported",
        ),
        (
            json!({"symbol":"BTCUSDT","order":{"action":"open","side":"buy","size":1},"take_profits":[{"pct":0.1,"portion":0.5}]}),
            "take_profits[0].portion",
            "unsupported",
        ),
        (
            json!({"symbol":"BTCUSDT","order":{"action":"open","side":"buy","size":1},"stop_loss":{"pct":1.5}}),
            "stop_loss.pct",
            "invalid",
        ),
        (
            json!({"symbol":"BTCUSDT","target":{"side":"flat"},"ts":"2026-07-14T14:33:00Z","max_lag_s":60}),
            "timestamp",
            "stale",
        ),
        (
            json!({"symbol":"BTCUSDT","target":{"side":"flat"},"ts":"soon"}),
            "ts",
            "invalid",
        ),
        (
            json!({"symbol":"BTCUSDT","target":{"side":"flat"},"max_lag_s":60}),
            "max_lag_s",
            "invalid",
        ),
    ];
    for (v, field, kind) in cases {
        let e = parse(&v).unwrap_err();
        assert_eq!((e.field(), e.kind()), (Some(field), kind), "{v}: {e}");
    }
}

#[test]
fn format_detection() {
    assert!(looks_like_canonical(
        json!({"mode":"target"}).as_object().unwrap()
    ));
    assert!(!looks_like_canonical(
        json!({"strategy_id":"x"}).as_object().unwrap()
    ));
}
