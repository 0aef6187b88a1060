//! The simulators send the exchanges' documented shapes: every order and position row a
//! simulator renders has exactly the keys of the exchange's own example of that reply, as
//! recorded in `crates/venues/testdata/<venue>/` (where the strict models read them too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::Value;
use tokio::sync::broadcast;
use tradeengine_model::Side;
use tradeengine_venue_sim::book::{NewOrder, OrderType};
use tradeengine_venue_sim::{Exchange, SimOptions, SimOrder, SimVenue};

fn recorded(venue: &str, file: &str, pointer: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../venues/testdata")
        .join(venue)
        .join(file);
    let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v.pointer(pointer)
        .cloned()
        .unwrap_or_else(|| panic!("{}: nothing at {pointer}", path.display()))
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

/// The sim's row has the recorded row's keys, no more and no fewer.
fn same_keys(what: &str, sim: &Value, venue: &str, file: &str, pointer: &str) {
    same_keys_but(what, sim, venue, file, pointer, &[]);
}

/// As [`same_keys`], allowing the sim the extra keys `also` (documented for a sibling reply the
/// sim renders with the same function).
fn same_keys_but(what: &str, sim: &Value, venue: &str, file: &str, pointer: &str, also: &[&str]) {
    let want = keys(&recorded(venue, file, pointer));
    let got = keys(sim);
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got
        .difference(&want)
        .filter(|k| !also.contains(&k.as_str()))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what} vs {venue}/{file}{pointer}: missing {missing:?}, not documented {extra:?}"
    );
}

/// An exchange of `venue` with one filled market buy of `qty` on `symbol`.
fn filled(venue: SimVenue, symbol: &str, qty: Decimal) -> (Exchange, SimOrder) {
    let mut ex = Exchange::new(&SimOptions::new(venue), broadcast::channel(16).0);
    let o = ex
        .place(
            NewOrder {
                symbol: symbol.into(),
                side: Side::Buy,
                order_type: OrderType::Market,
                qty,
                price: None,
                client_id: "te1-0".into(),
                reduce_only: false,
            },
            1_700_000_000_000,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    (ex, o)
}

#[test]
fn bybit_rows_have_the_documented_keys() {
    use tradeengine_venue_sim::bybit::render;
    let (ex, o) = filled(SimVenue::Bybit, "BTCUSDT", dec!(0.01));
    same_keys(
        "order",
        &render::order(&o),
        "bybit",
        "order-realtime.json",
        "/result/list/0",
    );
    same_keys(
        "order push",
        &render::order_push(&o),
        "bybit",
        "ws-order.json",
        "/data/0",
    );
    same_keys(
        "position",
        &render::position(&ex, "BTCUSDT", 0, 1),
        "bybit",
        "position-list.json",
        "/result/list/0",
    );
    same_keys(
        "position push",
        &render::position_push(&ex, "BTCUSDT", 0, 1),
        "bybit",
        "ws-position.json",
        "/data/0",
    );
}

#[test]
fn binance_rows_have_the_documented_keys() {
    use tradeengine_venue_sim::binance::render;
    let (ex, o) = filled(SimVenue::Binance, "BTCUSDT", dec!(0.01));
    // The new-order reply (`POST /fapi/v1/order`) documents `cumQty` too.
    same_keys_but(
        "order",
        &render::order(&o),
        "binance",
        "order.json",
        "",
        &["cumQty"],
    );
    let update = render::order_update(&o, true, dec!(0.0005), 1);
    same_keys(
        "ORDER_TRADE_UPDATE",
        &update,
        "binance",
        "ws-ORDER_TRADE_UPDATE.json",
        "",
    );
    same_keys(
        "ORDER_TRADE_UPDATE.o",
        &update["o"],
        "binance",
        "ws-ORDER_TRADE_UPDATE.json",
        "/o",
    );
    same_keys(
        "positionRisk",
        &render::position_risk(&ex, "BTCUSDT", "BOTH", 1),
        "binance",
        "positionRisk.json",
        "/0",
    );
    let account = render::account_update(&ex, "BTCUSDT", 1);
    same_keys(
        "ACCOUNT_UPDATE.a.P",
        &account["a"]["P"][0],
        "binance",
        "ws-ACCOUNT_UPDATE.json",
        "/a/P/0",
    );
}

#[test]
fn blofin_rows_have_the_documented_keys() {
    use tradeengine_venue_sim::blofin::render;
    let (ex, o) = filled(SimVenue::Blofin, "BTCUSDT", dec!(0.01));
    same_keys(
        "order",
        &render::order(&ex, &o),
        "blofin",
        "orders-pending.json",
        "/data/0",
    );
    same_keys(
        "order push",
        &render::order_push(&ex, &o),
        "blofin",
        "ws-orders.json",
        "/data/0",
    );
    same_keys(
        "position",
        &render::position(&ex, "BTCUSDT", 1),
        "blofin",
        "positions.json",
        "/data/0",
    );
    same_keys(
        "position push",
        &render::position_push(&ex, "BTCUSDT", 1),
        "blofin",
        "ws-positions.json",
        "/data/0",
    );
}

#[test]
fn kucoin_rows_have_the_documented_keys() {
    use tradeengine_venue_sim::kucoin::render;
    let (ex, o) = filled(SimVenue::Kucoin, "BTCUSDT", dec!(0.01));
    same_keys(
        "order",
        &render::order(&ex, &o),
        "kucoin",
        "order-byClientOid.json",
        "/data",
    );
    same_keys(
        "position",
        &render::position(&ex, "BTCUSDT"),
        "kucoin",
        "positions.json",
        "/data/0",
    );
}

#[test]
fn mexc_rows_have_the_documented_keys() {
    use tradeengine_venue_sim::mexc::render;
    let (ex, o) = filled(SimVenue::Mexc, "BTCUSDT", dec!(0.01));
    same_keys(
        "order",
        &render::order(&ex, &o),
        "mexc",
        "order-external.json",
        "/data",
    );
    same_keys(
        "open order",
        &render::open_order(&ex, &o),
        "mexc",
        "open-orders.json",
        "/data/0",
    );
    same_keys(
        "position",
        &render::position(&ex, "BTCUSDT", 1),
        "mexc",
        "open-positions.json",
        "/data/0",
    );
    let i = ex.instrument("BTCUSDT").expect("BTCUSDT listed");
    same_keys(
        "contract detail",
        &render::detail(i, true),
        "mexc",
        "contract-detail.json",
        "/data/0",
    );
}
