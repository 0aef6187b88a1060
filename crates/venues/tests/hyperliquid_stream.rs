//! Hyperliquid's user streams (`orderUpdates`, `userFills`) against the simulator's `/ws`:
//! fills and cancels learnt from the pushes, the simulator's message shapes as documented, and
//! a dropped connection resumed with the `userFills` snapshot.
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use sim::*;
use tokio_tungstenite::tungstenite::Message;
use tradeengine_model::{OrderState, Side};
use tradeengine_venue_sim::{Fault, SimHandle, SimOptions, VenueId};
use tradeengine_venues::hyperliquid::stream_book::tracker_key;
use tradeengine_venues::hyperliquid::venue::cloid_of;
use tradeengine_venues::hyperliquid::{
    HyperliquidOptions, HyperliquidVenue, connect_hyperliquid_with,
};
use tradeengine_venues::{StreamSetting, Venue};

const HL: VenueId = VenueId::Hyperliquid;
const READY: Duration = Duration::from_secs(5);

fn quiet() -> HyperliquidOptions {
    HyperliquidOptions {
        dead_man_every: None,
        ..HyperliquidOptions::default()
    }
}

async fn setup(stream: StreamSetting) -> (SimHandle, HyperliquidVenue) {
    let sim = start(HL, SimOptions::new(HL)).await;
    let mut cfg = config(&sim);
    cfg.stream = stream;
    // Generous: a push that is late on a loaded machine must not send the test to REST.
    cfg.request_timeout = Duration::from_secs(5);
    let venue = connect_hyperliquid_with(cfg, quiet()).await.unwrap();
    (sim, venue)
}

/// `POST /info` requests so far (`userFills`, `orderStatus`, `metaAndAssetCtxs`, … alike).
fn infos(sim: &SimHandle) -> u64 {
    sim.counters().get("POST", "/info")
}

/// Places a market order after warming the universe cache; returns the status and how many
/// `/info` requests the order took: the mark (`metaAndAssetCtxs`), plus `userFills` for the
/// fee when the stream did not bring it.
async fn market_order(
    sim: &SimHandle,
    venue: &HyperliquidVenue,
    order: &tradeengine_model::OrderRequest,
) -> (tradeengine_model::OrderStatus, u64) {
    venue
        .instruments(std::slice::from_ref(&order.symbol))
        .await
        .unwrap();
    let before = infos(sim);
    let status = venue.place_order(order).await.unwrap();
    (status, infos(sim) - before)
}

#[tokio::test]
async fn a_market_fill_takes_its_fee_from_the_push_not_from_rest() {
    let (sim, venue) = setup(StreamSetting::Auto).await;
    assert!(venue.wait_stream_ready(READY).await, "stream never ready");
    let order = market("te-s-0", "ETHUSDT", Side::Buy, dec!(1), false);
    let (status, reads) = market_order(&sim, &venue, &order).await;
    assert_eq!(status.state, OrderState::Filled);
    // 3000 × 1 at the simulator's taker rate 0.055 %.
    assert_eq!(status.fee, dec!(1.65));
    assert_eq!(reads, 1, "the mark only: the fee came from the stream");
    assert_eq!(venue.health().stream_connects, Some(1));
    // The tracker holds the complete status under the order's cloid.
    let key = tracker_key(&cloid_of(&order.client_order_id));
    let pushed = venue.tracker().get(&key).unwrap();
    assert_eq!(
        (pushed.state, pushed.filled_qty, pushed.fee),
        (OrderState::Filled, dec!(1), dec!(1.65))
    );
    assert_eq!(pushed.avg_fill_price.map(|p| p.get()), Some(dec!(3000)));
}

#[tokio::test]
async fn without_the_stream_the_fee_is_read_back_over_rest() {
    let (sim, venue) = setup(StreamSetting::Off).await;
    assert!(!venue.wait_stream_ready(Duration::from_millis(200)).await);
    assert_eq!(venue.health().stream_connects, None);
    let order = market("te-s-1", "ETHUSDT", Side::Buy, dec!(1), false);
    let (status, reads) = market_order(&sim, &venue, &order).await;
    assert_eq!(status.fee, dec!(1.65));
    assert_eq!(reads, 2, "the mark, then userFills for the fee");
}

#[tokio::test]
async fn a_resting_order_filled_later_and_a_cancel_are_pushed() {
    let (sim, venue) = setup(StreamSetting::Auto).await;
    assert!(venue.wait_stream_ready(READY).await);
    let buy = limit("te-s-2", "ETHUSDT", Side::Buy, dec!(1), dec!(2900));
    let rest = limit("te-s-3", "ETHUSDT", Side::Buy, dec!(1), dec!(2800));
    assert_eq!(
        venue.place_order(&buy).await.unwrap().state,
        OrderState::Acknowledged
    );
    assert_eq!(
        venue.place_order(&rest).await.unwrap().state,
        OrderState::Acknowledged
    );
    // The price falls through the first order: the fill is pushed, with its price and fee.
    sim.set_price("ETHUSDT", dec!(2850));
    let key = tracker_key(&cloid_of(&buy.client_order_id));
    let filled = venue
        .tracker()
        .wait_for(&key, READY, |s| s.state == OrderState::Filled)
        .await
        .unwrap();
    assert_eq!(filled.filled_qty, dec!(1));
    assert_eq!(filled.avg_fill_price.map(|p| p.get()), Some(dec!(2900)));
    assert!(filled.fee > dec!(0));
    // The cancel's outcome comes from the push.
    let cancelled = venue
        .cancel_order(&rest.symbol, &rest.client_order_id)
        .await
        .unwrap();
    assert_eq!(cancelled.state, OrderState::Cancelled);
    assert_eq!(cancelled.client_order_id, rest.client_order_id);
    // REST agrees: the read-back is still the truth.
    let back = venue
        .order_by_client_id(&buy.symbol, &buy.client_order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((back.state, back.fee), (filled.state, filled.fee));
}

#[tokio::test]
async fn a_dropped_stream_reconnects_and_the_snapshot_brings_the_missed_fill() {
    let (sim, venue) = setup(StreamSetting::Auto).await;
    assert!(venue.wait_stream_ready(READY).await);
    let buy = limit("te-s-4", "SOLUSDT", Side::Buy, dec!(10), dec!(140));
    venue.place_order(&buy).await.unwrap();
    let key = tracker_key(&cloid_of(&buy.client_order_id));
    venue
        .tracker()
        .wait_for(&key, READY, |s| s.state == OrderState::Acknowledged)
        .await
        .unwrap();
    // Down, and kept down (the reconnects are refused) while the order fills: neither push
    // can reach the adapter.
    sim.faults().inject("/ws", u32::MAX, Fault::Status(503));
    sim.faults().drop_streams();
    let t0 = tokio::time::Instant::now();
    while venue.stream_ready() {
        assert!(t0.elapsed() < READY, "the stream never noticed the drop");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sim.set_price("SOLUSDT", dec!(139));
    // Back up: the snapshot carries the fill that was missed.
    sim.faults().clear();
    assert!(
        venue.wait_stream_ready(Duration::from_secs(10)).await,
        "never reconnected"
    );
    assert_eq!(venue.stream_connects(), 2);
    let seen = venue
        .tracker()
        .wait_for(&key, READY, |s| s.filled_qty == dec!(10))
        .await
        .unwrap();
    assert_eq!(seen.avg_fill_price.map(|p| p.get()), Some(dec!(140)));
    // The order's own "filled" update was missed: the stream does not invent it; REST says so.
    assert_eq!(seen.state, OrderState::PartiallyFilled);
    let back = venue
        .order_by_client_id(&buy.symbol, &buy.client_order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.state, OrderState::Filled);
}

/// A documented push (`crates/venues/testdata/hyperliquid/ws-*.json`).
fn recorded(name: &str) -> Value {
    let path = format!("{}/testdata/hyperliquid/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> std::collections::BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// A raw client of the simulator's `/ws`, to check the frames themselves.
async fn raw(
    sim: &SimHandle,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!("ws://{}/ws", sim.addr());
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws
}

async fn next_json<S>(ws: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = tokio::time::timeout(READY, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg
            && let Ok(v) = serde_json::from_str::<Value>(t.as_str())
        {
            return v;
        }
    }
}

#[tokio::test]
async fn the_simulator_speaks_the_documented_frames() {
    let (sim, venue) = setup(StreamSetting::Off).await;
    venue
        .place_order(&market("te-s-5", "BTCUSDT", Side::Sell, dec!(0.01), false))
        .await
        .unwrap();
    let user = sim.options().api_key.clone();
    let mut ws = raw(&sim).await;
    let sub = json!({"method": "subscribe", "subscription": {"type": "userFills", "user": user}});
    ws.send(Message::text(sub.to_string())).await.unwrap();
    let ack = next_json(&mut ws).await;
    assert_eq!(ack, json!({"channel": "subscriptionResponse", "data": sub}));
    // The snapshot: the fill made before subscribing, in the `WsFill` shape.
    let snap = next_json(&mut ws).await;
    assert_eq!(snap["channel"], "userFills");
    assert_eq!(snap["data"]["isSnapshot"], true);
    assert_eq!(snap["data"]["user"], user.to_lowercase().as_str());
    let fill = &snap["data"]["fills"][0];
    let documented = recorded("ws-userFills.json");
    assert_eq!(
        keys(&snap["data"]),
        keys(&documented["data"]),
        "WsUserFills"
    );
    assert_eq!(keys(fill), keys(&documented["data"]["fills"][0]), "WsFill");
    assert_eq!(
        (fill["coin"].as_str(), fill["side"].as_str()),
        (Some("BTC"), Some("A"))
    );
    // The same fill, same trade id, over REST.
    let rest = reqwest_fills(&sim, &user).await;
    assert_eq!(rest[0]["tid"], fill["tid"]);
    let orders =
        json!({"method": "subscribe", "subscription": {"type": "orderUpdates", "user": user}});
    ws.send(Message::text(orders.to_string())).await.unwrap();
    assert_eq!(next_json(&mut ws).await["channel"], "subscriptionResponse");
    // A resting order: its `WsOrder`.
    venue
        .place_order(&limit(
            "te-s-6",
            "BTCUSDT",
            Side::Buy,
            dec!(0.01),
            dec!(50000),
        ))
        .await
        .unwrap();
    let update = next_json(&mut ws).await;
    assert_eq!(update["channel"], "orderUpdates");
    let row = &update["data"][0];
    assert_eq!(row["status"], "open");
    let documented = recorded("ws-orderUpdates.json");
    assert_eq!(keys(row), keys(&documented["data"][0]), "WsOrder");
    assert_eq!(
        keys(&row["order"]),
        keys(&documented["data"][0]["order"]),
        "WsBasicOrder"
    );
    ws.send(Message::text(r#"{"method":"ping"}"#))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await, json!({"channel": "pong"}));
    let bad =
        json!({"method": "subscribe", "subscription": {"type": "userFills", "user": "nobody"}});
    ws.send(Message::text(bad.to_string())).await.unwrap();
    assert_eq!(next_json(&mut ws).await["channel"], "error");
}

/// `POST /info {"type": "userFills"}` over plain HTTP.
async fn reqwest_fills(sim: &SimHandle, user: &str) -> Vec<Value> {
    let body = json!({"type": "userFills", "user": user});
    reqwest::Client::new()
        .post(format!("{}/info", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json::<Vec<Value>>()
        .await
        .unwrap()
}

/// `tradeengine venue check` reports the user streams like any venue's private stream.
#[tokio::test]
async fn the_self_test_checks_the_user_streams() {
    use tradeengine_venues::selftest::{self, ConfiguredSymbol, Outcome, SelfTest};
    let sim = start(HL, SimOptions::new(HL)).await;
    for (stream, expected) in [
        (StreamSetting::Auto, Outcome::Pass),
        (StreamSetting::Off, Outcome::Warn),
    ] {
        let mut cfg = config(&sim);
        cfg.stream = stream;
        let test = SelfTest {
            venue: HL,
            config: cfg,
            symbols: vec![ConfiguredSymbol {
                symbol: sym("BTCUSDT"),
                leverage: Some(dec!(3)),
            }],
            stream_wait: READY,
            client_order_id: id("vc-hl-stream-1"),
        };
        let report = selftest::run(&test).await;
        let check = report.get("private_stream").unwrap();
        assert_eq!(check.outcome, expected, "{report:#?}");
    }
}
