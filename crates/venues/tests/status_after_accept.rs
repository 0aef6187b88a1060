//! `Fault::StatusAfterAccept` on every simulator: the venue takes the order (it fills) and the
//! client gets a 5xx. The adapter reports a retryable error, yet the order exists at the venue
//! under its client id — which is why a 5xx on order entry must be settled by client id before
//! the order is booked as rejected.
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{OrderState, Side};
use tradeengine_venue_sim::{Fault, SimHandle, SimOptions, VenueId};
use tradeengine_venues::connect::{
    connect_binance, connect_blofin, connect_bybit, connect_kucoin, connect_mexc,
};
use tradeengine_venues::{Venue, VenueErrorKind};

/// Places one market BUY answered with `code` after the venue acted, and checks what each
/// side saw.
async fn acted_then_5xx<V: Venue>(sim: &SimHandle, venue: &V, path: &str, code: u16) {
    sim.faults().inject(path, 1, Fault::StatusAfterAccept(code));
    let order = market(
        &format!("saa{code}"),
        "BTCUSDT",
        Side::Buy,
        dec!(0.01),
        false,
    );
    let e = venue.place_order(&order).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.clone()),
        (VenueErrorKind::Retryable, Some(format!("http_{code}"))),
        "{:?}",
        sim.venue()
    );
    assert_eq!(sim.faults().pending(), 0);
    // The venue acted: the order is there, filled, and the position moved.
    assert_eq!(sim.position("BTCUSDT"), dec!(0.01), "{:?}", sim.venue());
    let settled = venue
        .order_by_client_id(&order.symbol, &order.client_order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(settled.state, OrderState::Filled, "{:?}", sim.venue());
    assert_eq!(
        sim.client_id_submissions()
            .get(order.client_order_id.as_str())
            .copied(),
        Some(1)
    );
    assert_no_double_orders(sim);
}

async fn sim_of(venue: VenueId) -> SimHandle {
    start(venue, SimOptions::new(venue)).await
}

#[tokio::test]
async fn bybit_acts_then_answers_503() {
    let sim = sim_of(VenueId::Bybit).await;
    let venue = connect_bybit(config(&sim)).await.unwrap();
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    acted_then_5xx(&sim, &venue, "/v5/order/create", 503).await;
}

#[tokio::test]
async fn binance_acts_then_answers_502() {
    let sim = sim_of(VenueId::Binance).await;
    let venue = connect_binance(config(&sim)).await.unwrap();
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    acted_then_5xx(&sim, &venue, "/fapi/v1/order", 502).await;
}

#[tokio::test]
async fn blofin_acts_then_answers_504() {
    let sim = sim_of(VenueId::Blofin).await;
    let venue = connect_blofin(config(&sim)).await.unwrap();
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    acted_then_5xx(&sim, &venue, "/api/v1/trade/order", 504).await;
}

#[tokio::test]
async fn kucoin_acts_then_answers_500() {
    let sim = sim_of(VenueId::Kucoin).await;
    let venue = connect_kucoin(config(&sim)).await.unwrap();
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    acted_then_5xx(&sim, &venue, "/api/v1/orders", 500).await;
}

#[tokio::test]
async fn mexc_acts_then_answers_503() {
    let sim = sim_of(VenueId::Mexc).await;
    let venue = connect_mexc(config(&sim)).await.unwrap();
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    acted_then_5xx(&sim, &venue, "/api/v1/private/order/submit", 503).await;
}
