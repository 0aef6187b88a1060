//! The Binance adapter under every simulator fault: each error is classified so the caller can
//! do the safe thing, and the venue never holds two orders for one client id.
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{OrderState, Side};
use tradeengine_venue_sim::{Fault, SimHandle, SimOptions, VenueId};
use tradeengine_venues::binance::BinanceVenue;
use tradeengine_venues::connect::connect_binance;
use tradeengine_venues::{Venue, VenueErrorKind};

const ORDER: &str = "/fapi/v1/order";

async fn setup() -> (SimHandle, BinanceVenue) {
    let sim = start(VenueId::Binance, SimOptions::new(VenueId::Binance)).await;
    let venue = connect_binance(config(&sim)).await.unwrap();
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    (sim, venue)
}

#[tokio::test]
async fn a_5xx_is_retryable_and_the_retry_lands_once() {
    let (sim, venue) = setup().await;
    sim.faults().inject(ORDER, 1, Fault::Status(503));
    let order = market("bf-5xx-1", "BTCUSDT", Side::Buy, dec!(0.01), false);
    let e = venue.place_order(&order).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Retryable, Some("http_503"))
    );
    assert_eq!(
        venue.place_order(&order).await.unwrap().state,
        OrderState::Filled
    );
    assert_eq!(sim.position("BTCUSDT"), dec!(0.01));
    sim.faults()
        .inject("/fapi/v3/account", 1, Fault::Status(500));
    assert_eq!(
        venue.account_value().await.unwrap_err().kind,
        VenueErrorKind::Retryable
    );
    assert_no_double_orders(&sim);
}

#[tokio::test]
async fn a_429_pauses_the_client_for_retry_after() {
    let (sim, venue) = setup().await;
    sim.faults().inject(
        ORDER,
        1,
        Fault::RateLimit {
            retry_after: Duration::from_secs(1),
        },
    );
    let order = market("bf-rl-1", "BTCUSDT", Side::Buy, dec!(0.01), false);
    let e = venue.place_order(&order).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref(), e.retry_after),
        (
            VenueErrorKind::RateLimited,
            Some("http_429"),
            Some(Duration::from_secs(1))
        )
    );
    let t0 = std::time::Instant::now();
    assert_eq!(
        venue.place_order(&order).await.unwrap().state,
        OrderState::Filled
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(800),
        "{:?}",
        t0.elapsed()
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
    let order = market("bf-to-1", "ETHUSDT", Side::Buy, dec!(1), false);
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
    assert_eq!(settled.state, OrderState::Filled);
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
    let accepted = market("bf-drop-1", "BTCUSDT", Side::Buy, dec!(0.01), false);
    let e = venue.place_order(&accepted).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Ambiguous, Some("connection_dropped"))
    );
    assert_eq!(
        venue
            .order_by_client_id(&accepted.symbol, &accepted.client_order_id)
            .await
            .unwrap()
            .map(|s| s.state),
        Some(OrderState::Filled)
    );
    sim.faults().inject(ORDER, 1, Fault::DropBeforeAccept);
    let lost = market("bf-drop-2", "BTCUSDT", Side::Buy, dec!(0.01), false);
    assert_eq!(
        venue.place_order(&lost).await.unwrap_err().kind,
        VenueErrorKind::Ambiguous
    );
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
async fn a_partial_fill_reports_what_filled() {
    let (sim, venue) = setup().await;
    sim.faults().partial_fill_next(dec!(0.5));
    let s = venue
        .place_order(&market(
            "bf-part-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.01),
            false,
        ))
        .await
        .unwrap();
    assert_eq!(
        (s.state, s.filled_qty),
        (OrderState::Cancelled, dec!(0.005))
    );
    assert_eq!(sim.position("BTCUSDT"), dec!(0.005));
}

#[tokio::test]
async fn clock_skew_is_measured_and_corrected() {
    let (sim, venue) = setup().await;
    let syncs = sim.counters().get("GET", "/fapi/v1/time");
    for skew in [30_000, -30_000] {
        sim.faults().set_clock_skew_ms(skew);
        assert_eq!(venue.account_value().await.unwrap(), dec!(100000));
        let offset = venue.http().clock.offset_ms();
        assert!(
            (offset - skew).abs() < 1_000,
            "offset {offset} for skew {skew}"
        );
    }
    assert_eq!(sim.counters().get("GET", "/fapi/v1/time"), syncs + 2);
}

#[tokio::test]
async fn latency_beyond_the_timeout_is_a_retryable_read() {
    let (sim, venue) = setup().await;
    sim.faults().inject(
        "/fapi/v3/positionRisk",
        1,
        Fault::Delay(Duration::from_millis(1500)),
    );
    assert_eq!(
        venue.positions().await.unwrap_err().kind,
        VenueErrorKind::Retryable
    );
    assert!(venue.positions().await.unwrap().is_empty());
}
