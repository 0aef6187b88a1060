//! Bounded fuzz smoke for every venue reply parser (what CI runs; `fuzz/` holds the cargo-fuzz
//! targets for nightly): random bytes and random JSON built from the replies' own field names go
//! through each Bybit and Binance reply model and its conversion. Nothing may panic, and every
//! refusal is a `VenueError` naming its venue with a non-empty message.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::Value;
use tradeengine_model::MarginMode;
use tradeengine_venues::VenueError;
use tradeengine_venues::{binance, bybit};

const KEYS: &[&str] = &[
    "list",
    "nextPageCursor",
    "symbol",
    "contractType",
    "status",
    "settleCoin",
    "leverageFilter",
    "maxLeverage",
    "priceFilter",
    "tickSize",
    "lotSizeFilter",
    "qtyStep",
    "minOrderQty",
    "maxMktOrderQty",
    "minNotionalValue",
    "lastPrice",
    "markPrice",
    "accountType",
    "totalEquity",
    "coin",
    "equity",
    "walletBalance",
    "unrealisedPnl",
    "marginMode",
    "positionIdx",
    "side",
    "size",
    "avgPrice",
    "entryPrice",
    "leverage",
    "orderId",
    "orderLinkId",
    "orderType",
    "qty",
    "orderStatus",
    "cumExecQty",
    "cumExecFee",
    "reduceOnly",
    "updatedTime",
    "permissions",
    "Wallet",
    "rateLimits",
    "symbols",
    "marginAsset",
    "filters",
    "filterType",
    "minQty",
    "maxQty",
    "stepSize",
    "notional",
    "assets",
    "asset",
    "unrealizedProfit",
    "marginBalance",
    "positionSide",
    "positionAmt",
    "marginType",
    "clientOrderId",
    "origQty",
    "executedQty",
    "updateTime",
    "enableWithdrawals",
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
            Just("LinearPerpetual".to_string()),
            Just("PERPETUAL".to_string()),
            Just("Trading".to_string()),
            Just("USDT".to_string()),
            Just("Buy".to_string()),
            Just("SELL".to_string()),
            Just("Filled".to_string()),
            Just("PARTIALLY_FILLED".to_string()),
            Just("LOT_SIZE".to_string()),
            Just("PRICE_FILTER".to_string()),
            Just("Withdraw".to_string()),
            Just("0".to_string()),
            Just("-0.001".to_string()),
            Just("1e400".to_string()),
            Just("79228162514264337593543950336".to_string()),
            Just(String::new()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(KEYS).prop_map(str::to_string),
                inner,
                0..12
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn clear(e: &VenueError, venue: &str) {
    assert_eq!(e.venue, venue, "{e}");
    assert!(!e.message.trim().is_empty(), "{e:?}");
}

/// Every Bybit `result` shape the adapter reads, and its conversion.
fn bybit_replies(body: &[u8]) {
    use bybit::models::*;
    if let Ok(page) = serde_json::from_slice::<Page<InstrumentRow>>(body) {
        for row in &page.list {
            if let Err(e) = row.to_instrument() {
                clear(&e, "bybit");
            }
        }
    }
    if let Ok(page) = serde_json::from_slice::<Page<PositionRow>>(body) {
        for row in &page.list {
            for mode in [MarginMode::Cross, MarginMode::Isolated] {
                if let Err(e) = row.to_position(mode) {
                    clear(&e, "bybit");
                }
            }
        }
    }
    if let Ok(page) = serde_json::from_slice::<Page<OrderRow>>(body) {
        for row in &page.list {
            if let Err(e) = row.to_status() {
                clear(&e, "bybit");
            }
        }
    }
    let _ = serde_json::from_slice::<Page<TickerRow>>(body);
    let _ = serde_json::from_slice::<Page<WalletAccount>>(body);
    if let Ok(info) = serde_json::from_slice::<AccountInfo>(body) {
        let _ = info.margin_mode();
    }
    if let Ok(v) = serde_json::from_slice::<Value>(body)
        && let Err(e) = bybit::permissions::parse_withdrawal_permission(&v)
    {
        clear(&e, "bybit");
    }
}

/// Every Binance reply shape the adapter reads, and its conversion.
fn binance_replies(body: &[u8]) {
    use binance::models::*;
    if let Ok(info) = serde_json::from_slice::<ExchangeInfo>(body) {
        for s in &info.symbols {
            if let Err(e) = s.to_instrument(Decimal::from(125)) {
                clear(&e, "binance");
            }
        }
    }
    let configs = serde_json::from_slice::<Vec<SymbolConfig>>(body).unwrap_or_default();
    for c in &configs {
        let _ = (c.margin_mode(), c.leverage());
    }
    if let Ok(rows) = serde_json::from_slice::<Vec<PositionRisk>>(body) {
        for r in &rows {
            for config in [None, configs.first()] {
                if let Err(e) = r.to_position(config) {
                    clear(&e, "binance");
                }
            }
        }
    }
    if let Ok(order) = serde_json::from_slice::<OrderObj>(body)
        && let Err(e) = order.to_status(Decimal::ZERO)
    {
        clear(&e, "binance");
    }
    let _ = serde_json::from_slice::<Account>(body);
    if let Ok(v) = serde_json::from_slice::<Value>(body)
        && let Err(e) = binance::permissions::parse_withdrawal_permission(&v)
    {
        clear(&e, "binance");
    }
}

fn all(body: &[u8]) {
    bybit_replies(body);
    binance_replies(body);
}

proptest! {
    #[test]
    fn random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        all(&body);
    }

    #[test]
    fn random_reply_shaped_json_never_panics(v in json_value()) {
        all(v.to_string().as_bytes());
        // The same value as a one-row page and as a list, the shapes the adapters unwrap.
        all(serde_json::json!({"list": [v.clone()]}).to_string().as_bytes());
        all(serde_json::json!({"symbols": [v.clone()]}).to_string().as_bytes());
        all(Value::Array(vec![v]).to_string().as_bytes());
    }
}

#[test]
fn a_known_good_reply_still_converts() {
    // Guards the harness itself: valid replies must reach the conversions.
    let row = serde_json::json!({"list": [{"symbol": "BTCUSDT", "contractType": "LinearPerpetual",
        "status": "Trading", "settleCoin": "USDT", "leverageFilter": {"maxLeverage": "100"},
        "priceFilter": {"tickSize": "0.1"}, "lotSizeFilter": {"qtyStep": "0.001",
        "minOrderQty": "0.001", "maxMktOrderQty": "100", "minNotionalValue": "5"}}],
        "nextPageCursor": ""});
    let page: bybit::models::Page<bybit::models::InstrumentRow> =
        serde_json::from_value(row).unwrap();
    let inst = page.list[0].to_instrument().unwrap();
    assert!(inst.is_some());
}
