//! Input the parsers used to take leniently is refused, naming the field: a lenient reading
//! of a malformed signal would trade on a guess.
#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use tradeengine_model::{SourceId, Timestamp};
use tradeengine_signals::SymbolMap;
use tradeengine_signals::message::{MessageContext, MessageError};
use tradeengine_signals::strategy_signal::{StrategySignalOptions, strategy_signal};
use tradeengine_signals::tradingview::{TvConfig, TvError, parse};

const SECRET: &str = "test-secret-not-real";

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn tv(v: Value) -> Result<(), TvError> {
    let cfg = TvConfig::new(
        SourceId::new("tradingview").unwrap(),
        Some(SecretString::from(SECRET)),
    );
    let map = SymbolMap::new([("BTCUSDT", "BTCUSDT")]).unwrap();
    parse(
        v.to_string().as_bytes(),
        Some("application/json"),
        &cfg,
        &map,
        now(),
    )
    .map(|_| ())
}

#[test]
fn webhook_ids_and_limits_of_the_wrong_shape_are_refused() {
    let base =
        || json!({"secret": SECRET, "symbol": "BTCUSDT", "direction": "long", "size": "1/10"});
    for (field, value) in [
        ("event_id", json!({"id": 1})),
        ("event_id", json!(["a"])),
        ("signal_seq", json!({"n": 2})),
    ] {
        let mut v = base();
        v[field] = value;
        let e = tv(v).unwrap_err();
        assert_eq!(e.http_status(), 400, "{field}: {e}");
        assert!(e.to_string().contains(field), "{e}");
    }
    // max_lag is checked even when the alert carries no time of its own.
    for lag in [json!(-5), json!("-5"), json!("soon")] {
        let mut v = base();
        v["max_lag"] = lag.clone();
        let e = tv(v).unwrap_err();
        assert!(e.to_string().contains("max_lag"), "{lag}: {e}");
    }
    // What was fine stays fine.
    let mut v = base();
    v["event_id"] = json!(42);
    v["max_lag"] = json!(30);
    tv(v).unwrap();
    tv(base()).unwrap();
}

#[test]
fn webhook_symbols_with_junk_are_refused() {
    for raw in ["BTC\u{0}USDT", "BTC USDT", "BTC\u{202e}USDT"] {
        let v = json!({"secret": SECRET, "symbol": raw, "direction": "long", "size": "1/10"});
        let e = tv(v).unwrap_err();
        assert_eq!(e.http_status(), 422, "{raw:?}: {e}");
    }
    let v = json!({"secret": SECRET, "symbol": "BINANCE:BTCUSDT.P", "direction": "long", "size": "1/10"});
    tv(v).unwrap();
}

fn strategy_message(patch: &[(&str, Value)]) -> Result<(), MessageError> {
    let source = SourceId::new("petrosa").unwrap();
    let map = SymbolMap::new([("BTCUSDT", "BTCUSDT")]).unwrap();
    let ctx = MessageContext::new(&source, &map, now());
    let mut v = json!({"strategy_id": "s", "symbol": "BTCUSDT", "action": "buy",
        "confidence": 0.9, "price": 60000.0, "quantity": 0.001, "current_price": 60000.0,
        "source": "x", "strategy": "s", "timestamp": now().to_rfc3339()});
    for (k, val) in patch {
        v[*k] = val.clone();
    }
    let Value::Object(obj) = v else {
        unreachable!()
    };
    strategy_signal(&obj, &ctx, &StrategySignalOptions::default()).map(|_| ())
}

#[test]
fn trade_api_times_prices_and_symbols_are_checked() {
    strategy_message(&[]).unwrap();
    let refused = [
        ("timestamp", json!("9999-12-31T23:59:59Z")),
        ("timestamp", json!("yesterday")),
        ("timestamp", json!(1e20)),
        ("timestamp", json!({"t": 1})),
        (
            "timestamp",
            json!((now() + chrono::Duration::minutes(5)).to_rfc3339()),
        ),
        ("price", json!(-1)),
        ("price", json!(0)),
        ("current_price", json!(-60000.0)),
        ("symbol", json!("BTC\u{0}USDT")),
    ];
    for (field, value) in refused {
        let e = strategy_message(&[(field, value.clone())]).unwrap_err();
        assert_eq!(e.field(), Some(field), "{field} = {value}: {e}");
    }
    // A little clock skew, epoch seconds, and no timestamp at all are fine.
    strategy_message(&[(
        "timestamp",
        json!((now() + chrono::Duration::seconds(20)).to_rfc3339()),
    )])
    .unwrap();
    strategy_message(&[("timestamp", json!(now().timestamp()))]).unwrap();
    strategy_message(&[("timestamp", Value::Null)]).unwrap();
    strategy_message(&[("symbol", json!("BTC/USDT"))]).unwrap();
}
