//! Hyperliquid's documented example replies (`crates/venues/testdata/hyperliquid/`, see its
//! README) read with the adapter's models, and the simulator's answers to the same requests
//! read with the same models: the adapter reads what the exchange documents, and the
//! simulator answers in that shape.
#![allow(clippy::unwrap_used)]

mod sim;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sim::*;
use tradeengine_venue_sim::{SimOptions, VenueId};
use tradeengine_venues::hyperliquid::models::{
    ClearinghouseState, FrontendOrder, Meta, OrderOutcome, OrderStatusReply, UserRole,
};

fn recorded(name: &str) -> Value {
    let path = format!("{}/testdata/hyperliquid/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn read<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn outcome(envelope: &Value) -> OrderOutcome {
    assert_eq!(envelope["status"], "ok", "{envelope}");
    read(envelope["response"]["data"]["statuses"][0].clone())
}

#[test]
fn documented_replies_read_into_the_models() {
    let meta: Meta = read(recorded("meta.json"));
    assert_eq!(meta.universe[0].name, "BTC");
    assert_eq!(meta.universe[0].sz_decimals, 5);
    assert!(meta.universe[3].is_delisted);
    let state: ClearinghouseState = read(recorded("clearinghouseState.json"));
    assert_eq!(state.margin_summary.account_value, "13109.482328");
    let p = &state.asset_positions[0].position;
    assert_eq!((p.coin.as_str(), p.szi.as_str()), ("ETH", "0.0335"));
    assert_eq!(
        (p.leverage.r#type.as_str(), p.leverage.value),
        ("isolated", 20)
    );
    let status: OrderStatusReply = read(recorded("orderStatus.json"));
    let o = status.order.unwrap();
    assert_eq!(
        (o.status.as_str(), o.order.orig_sz.as_str()),
        ("filled", "0.0076")
    );
    assert!(
        matches!(outcome(&recorded("order-resting.json")), OrderOutcome::Resting(r) if r.oid == 77738308)
    );
    assert!(
        matches!(outcome(&recorded("order-filled.json")), OrderOutcome::Filled(f) if f.total_sz == "0.02" && f.avg_px == "1891.4")
    );
    assert!(
        matches!(outcome(&recorded("order-error.json")), OrderOutcome::Error(e) if e.contains("minimum value"))
    );
    assert_eq!(
        recorded("cancel.json")["response"]["data"]["statuses"][0],
        "success"
    );
}

async fn info(base: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/info"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_simulator_answers_in_the_documented_shapes() {
    let hl = VenueId::Hyperliquid;
    let sim = start(hl, SimOptions::new(hl)).await;
    let base = sim.base_url();
    let user = sim.options().api_key.clone();
    let meta: Meta = read(info(&base, json!({"type": "meta"})).await);
    assert_eq!(meta.universe.len(), 3);
    let state: ClearinghouseState =
        read(info(&base, json!({"type": "clearinghouseState", "user": user})).await);
    assert_eq!(state.margin_summary.account_value, "100000");
    let unknown: OrderStatusReply = read(
        info(
            &base,
            json!({"type": "orderStatus", "user": user, "oid": "0x00000000000000000000000000000001"}),
        )
        .await,
    );
    assert_eq!(unknown.status, "unknownOid");
    let open: Vec<FrontendOrder> =
        read(info(&base, json!({"type": "frontendOpenOrders", "user": user})).await);
    assert!(open.is_empty());
    let role: UserRole = read(info(&base, json!({"type": "userRole", "user": user})).await);
    assert_eq!(role.role, "user");
}

#[test]
fn the_other_documented_replies_read_into_the_models_too() {
    use tradeengine_venues::hyperliquid::models::{AssetCtx, UserFill, UserRateLimit};
    let (meta, ctxs): (Meta, Vec<AssetCtx>) = read(recorded("metaAndAssetCtxs.json"));
    assert_eq!(meta.universe.len(), ctxs.len());
    assert_eq!(ctxs[0].mark_px.as_deref(), Some("14.3161"));
    let open: Vec<FrontendOrder> = read(recorded("frontendOpenOrders.json"));
    assert_eq!((open[0].oid, open[0].orig_sz.as_str()), (91490942, "5.0"));
    assert!(open[0].cloid.is_none());
    let fills: Vec<UserFill> = read(recorded("userFills.json"));
    assert_eq!((fills[0].oid, fills[0].fee.as_str()), (90542681, "0.01"));
    let limit: UserRateLimit = read(recorded("userRateLimit.json"));
    assert_eq!(
        (limit.n_requests_used, limit.n_requests_cap),
        (2890, 2864574)
    );
    let role: UserRole = read(recorded("userRole-agent.json"));
    assert_eq!(role.role, "agent");
    assert!(role.data.and_then(|d| d.user).is_some());
    assert!(
        recorded("cancel-error.json")["response"]["data"]["statuses"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("never placed"))
    );
}

#[test]
fn the_documented_stream_pushes_fold_into_a_filled_status() {
    use std::sync::Arc;
    use tradeengine_model::OrderState;
    use tradeengine_venues::hyperliquid::stream_book::{StreamBook, tracker_key};
    use tradeengine_venues::tracker::OrderTracker;
    let tracker = Arc::new(OrderTracker::new());
    let book = StreamBook::new(tracker.clone());
    let orders = recorded("ws-orderUpdates.json");
    let fills = recorded("ws-userFills.json");
    assert!(book.order_updates(orders["data"].clone()).is_empty());
    assert!(book.user_fills(fills["data"].clone()).is_empty());
    let cloid = orders["data"][0]["order"]["cloid"].as_str().unwrap();
    let s = tracker.get(&tracker_key(cloid)).unwrap();
    assert_eq!(s.state, OrderState::Filled);
    assert_eq!(s.filled_qty.to_string(), "0.0076");
    assert_eq!(s.fee.to_string(), "0.008252");
    assert_eq!(s.symbol.as_str(), "ETHUSDT");
}

/// The keys of a JSON object, sorted.
fn keys_of(v: &Value) -> std::collections::BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

/// Asserts that the simulator's object has the documented keys, no more and no fewer, except
/// the keys named in `optional` (documented as optional, or shown by another example on the
/// same page).
fn same_keys(what: &str, sim: &Value, doc: &Value, optional: &[&str]) {
    let strip = |v: &Value| {
        keys_of(v)
            .into_iter()
            .filter(|k| !optional.contains(&k.as_str()))
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(strip(sim), strip(doc), "{what}: {sim} vs {doc}");
}

#[tokio::test]
async fn the_simulators_info_replies_have_the_documented_keys() {
    use rust_decimal::Decimal;
    use tradeengine_model::{MarginMode, Side};
    use tradeengine_venues::Venue;
    use tradeengine_venues::hyperliquid::connect_hyperliquid;
    let hl = VenueId::Hyperliquid;
    let sim = start(hl, SimOptions::new(hl)).await;
    let base = sim.base_url();
    let user = sim.options().api_key.clone();
    // An isolated position and a resting order, so every row exists.
    let mut cfg = config(&sim);
    cfg.stream = tradeengine_venues::StreamSetting::Off;
    let venue = connect_hyperliquid(cfg).await.unwrap();
    venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    venue
        .place_order(&market(
            "te-keys-0",
            "ETHUSDT",
            Side::Buy,
            Decimal::ONE,
            false,
        ))
        .await
        .unwrap();
    let resting = limit(
        "te-keys-1",
        "ETHUSDT",
        Side::Buy,
        Decimal::ONE,
        Decimal::from(2000),
    );
    venue.place_order(&resting).await.unwrap();

    let meta = info(&base, json!({"type": "meta"})).await;
    let doc = recorded("meta.json");
    same_keys("meta", &meta, &doc, &[]);
    // `marginTableId`: in the live reply and the page's HIP-3 example; the others optional.
    let row_optional = ["marginTableId", "onlyIsolated", "isDelisted", "marginMode"];
    same_keys(
        "meta.universe[0]",
        &meta["universe"][0],
        &doc["universe"][0],
        &row_optional,
    );
    same_keys(
        "marginTables[0][1]",
        &meta["marginTables"][0][1],
        &doc["marginTables"][0][1],
        &[],
    );
    // Every asset's margin table is listed.
    let listed: Vec<&Value> = meta["marginTables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t[0])
        .collect();
    for a in meta["universe"].as_array().unwrap() {
        assert!(listed.contains(&&a["marginTableId"]), "{a}");
    }

    let both = info(&base, json!({"type": "metaAndAssetCtxs"})).await;
    let doc = recorded("metaAndAssetCtxs.json");
    same_keys("metaAndAssetCtxs[0]", &both[0], &doc[0], &[]);
    same_keys("metaAndAssetCtxs[1][0]", &both[1][0], &doc[1][0], &[]);

    let state = info(&base, json!({"type": "clearinghouseState", "user": user})).await;
    let doc = recorded("clearinghouseState.json");
    same_keys("clearinghouseState", &state, &doc, &[]);
    let (p, dp) = (&state["assetPositions"][0], &doc["assetPositions"][0]);
    same_keys("assetPositions[0]", p, dp, &[]);
    same_keys("position", &p["position"], &dp["position"], &[]);
    same_keys(
        "leverage (isolated)",
        &p["position"]["leverage"],
        &dp["position"]["leverage"],
        &[],
    );

    let status = info(
        &base,
        json!({"type": "orderStatus", "user": user, "oid": tradeengine_venues::hyperliquid::venue::cloid_of(&resting.client_order_id)}),
    )
    .await;
    let doc = recorded("orderStatus.json");
    same_keys("orderStatus.order", &status["order"], &doc["order"], &[]);
    same_keys(
        "orderStatus.order.order",
        &status["order"]["order"],
        &doc["order"]["order"],
        &[],
    );

    let open = info(&base, json!({"type": "frontendOpenOrders", "user": user})).await;
    let doc = recorded("frontendOpenOrders.json");
    // The page's example lacks `children`, `tif` and `cloid`, which `orderStatus`'s order of
    // the same shape shows.
    same_keys(
        "frontendOpenOrders[0]",
        &open[0],
        &doc[0],
        &["children", "tif", "cloid"],
    );

    let fills = info(&base, json!({"type": "userFills", "user": user})).await;
    let doc = recorded("userFills.json");
    same_keys(
        "userFills[0]",
        &fills[0],
        &doc[0],
        &["builderFee", "liquidation"],
    );

    let limit = info(&base, json!({"type": "userRateLimit", "user": user})).await;
    same_keys(
        "userRateLimit",
        &limit,
        &recorded("userRateLimit.json"),
        &[],
    );
}
