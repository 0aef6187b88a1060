//! The KuCoin Futures adapter under every simulator fault: each error is classified so the caller can
//! do the safe thing, and the venue never holds two orders for one client id.
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{OrderState, Side};
use tradeengine_venue_sim::{Fault, SimHandle, SimOptions, VenueId};
use tradeengine_venues::connect::connect_kucoin;
use tradeengine_venues::kucoin::KucoinVenue;
use tradeengine_venues::{Venue, VenueErrorKind};

const ORDER: &str = "/api/v1/orders";

async fn setup() -> (SimHandle, KucoinVenue) {
    let sim = start(VenueId::Kucoin, SimOptions::new(VenueId::Kucoin)).await;
    let venue = connect_kucoin(config(&sim)).await.unwrap();
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    (sim, venue)
}

#[tokio::test]
async fn a_5xx_is_retryable_and_the_retry_lands_once() {
    let (sim, venue) = setup().await;
    sim.faults().inject(ORDER, 1, Fault::Status(503));
    let order = market("f-5xx-1", "BTCUSDT", Side::Buy, dec!(0.01), false);
    let e = venue.place_order(&order).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Retryable, Some("http_503"))
    );
    assert_eq!(sim.position("BTCUSDT"), dec!(0));
    assert_eq!(
        venue.place_order(&order).await.unwrap().state,
        OrderState::Filled
    );
    assert_eq!(sim.position("BTCUSDT"), dec!(0.01));
    sim.faults()
        .inject("/api/v1/positions", 1, Fault::Status(502));
    assert_eq!(
        venue.positions().await.unwrap_err().kind,
        VenueErrorKind::Retryable
    );
    assert_eq!(venue.positions().await.unwrap().len(), 1);
    assert_no_double_orders(&sim);
}

#[tokio::test]
async fn a_429000_pauses_the_client_until_the_pool_resets() {
    let (sim, venue) = setup().await;
    sim.faults().inject(
        ORDER,
        1,
        Fault::RateLimit {
            retry_after: Duration::from_millis(400),
        },
    );
    let order = market("f-rl-1", "BTCUSDT", Side::Buy, dec!(0.01), false);
    let e = venue.place_order(&order).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::RateLimited, Some("429000"))
    );
    // The wait is KuCoin's gw-ratelimit-reset.
    assert_eq!(e.retry_after, Some(Duration::from_millis(400)));
    assert!(venue.http().limits.paused_for().is_some());
    assert_eq!(
        venue.place_order(&order).await.unwrap().state,
        OrderState::Filled
    );
    assert_no_double_orders(&sim);
}

#[tokio::test]
async fn a_timeout_after_acceptance_is_ambiguous_and_settled_by_client_id() {
    let (sim, venue) = setup().await;
    sim.faults().inject(
        ORDER,
        1,
        Fault::TimeoutAfterAccept {
            hold: Duration::from_secs(2),
        },
    );
    let order = market("f-to-1", "ETHUSDT", Side::Buy, dec!(1), false);
    let e = venue.place_order(&order).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Ambiguous, Some("timeout"))
    );
    let settled = venue
        .order_by_client_id(&order.symbol, &order.client_order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (settled.state, settled.filled_qty),
        (OrderState::Filled, dec!(1))
    );
    // Re-sending the same id is looked up first and answered with the order.
    assert_eq!(
        venue.place_order(&order).await.unwrap().venue_order_id,
        settled.venue_order_id
    );
    assert_eq!(sim.position("ETHUSDT"), dec!(1));
    assert_no_double_orders(&sim);
}

#[tokio::test]
async fn dropped_connections_are_ambiguous_for_writes() {
    let (sim, venue) = setup().await;
    sim.faults().inject(ORDER, 1, Fault::DropAfterAccept);
    let accepted = market("f-drop-1", "BTCUSDT", Side::Buy, dec!(0.01), false);
    let e = venue.place_order(&accepted).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Ambiguous, Some("connection_dropped"))
    );
    let s = venue
        .order_by_client_id(&accepted.symbol, &accepted.client_order_id)
        .await
        .unwrap();
    assert_eq!(s.map(|s| s.state), Some(OrderState::Filled));

    sim.faults().inject(ORDER, 1, Fault::DropBeforeAccept);
    let lost = market("f-drop-2", "BTCUSDT", Side::Buy, dec!(0.01), false);
    let e = venue.place_order(&lost).await.unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Ambiguous);
    assert!(
        venue
            .order_by_client_id(&lost.symbol, &lost.client_order_id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(sim.position("BTCUSDT"), dec!(0.01));
    assert_no_double_orders(&sim);
}

#[tokio::test]
async fn a_partial_fill_reports_what_filled_in_base_units() {
    let (sim, venue) = setup().await;
    sim.faults().partial_fill_next(dec!(0.5));
    let s = venue
        .place_order(&market(
            "f-part-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.011),
            false,
        ))
        .await
        .unwrap();
    assert_eq!(s.state, OrderState::Cancelled);
    // 11 lots, half rounded down: 5 lots = 0.005 BTC.
    assert_eq!(s.filled_qty, dec!(0.005));
    assert_eq!(sim.position("BTCUSDT"), dec!(0.005));
}

#[tokio::test]
async fn clock_skew_beyond_5_s_is_resynced() {
    let (sim, venue) = setup().await;
    let syncs = sim.counters().get("GET", "/api/v1/timestamp");
    for skew in [30_000, -30_000] {
        sim.faults().set_clock_skew_ms(skew);
        // Refused with 400002 (on HTTP 401), resynced, re-sent.
        assert_eq!(venue.account_value().await.unwrap(), dec!(100000));
        let offset = venue.http().clock.offset_ms();
        assert!(
            (offset - skew).abs() < 1_000,
            "offset {offset} for skew {skew}"
        );
    }
    assert_eq!(sim.counters().get("GET", "/api/v1/timestamp"), syncs + 2);
}

#[tokio::test]
async fn latency_beyond_the_timeout_is_a_retryable_read() {
    let (sim, venue) = setup().await;
    sim.faults().inject(
        "/api/v1/positions",
        1,
        Fault::Delay(Duration::from_millis(1500)),
    );
    let e = venue.positions().await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Retryable, Some("timeout"))
    );
    assert!(venue.positions().await.unwrap().is_empty());
}

#[tokio::test]
async fn without_the_stream_fills_are_confirmed_over_rest() {
    let sim = start(VenueId::Kucoin, SimOptions::new(VenueId::Kucoin)).await;
    let mut cfg = config(&sim);
    cfg.stream = tradeengine_venues::StreamSetting::Off;
    let venue = connect_kucoin(cfg).await.unwrap();
    let s = venue
        .place_order(&market("f-rest-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    assert_eq!((s.state, s.filled_qty), (OrderState::Filled, dec!(0.01)));
    assert_eq!(sim.counters().get("GET", "/api/v1/orders/byClientOid"), 1);
}
