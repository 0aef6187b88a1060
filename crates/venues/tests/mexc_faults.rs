//! The MEXC adapter under every simulator fault: each error is classified so the caller can do
//! the safe thing, and the venue never holds two orders for one `externalOid`.
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{OrderState, Side};
use tradeengine_venue_sim::{Fault, SimHandle, SimOptions, VenueId};
use tradeengine_venues::connect::connect_mexc;
use tradeengine_venues::mexc::MexcVenue;
use tradeengine_venues::{Venue, VenueErrorKind};

const SUBMIT: &str = "/api/v1/private/order/submit";
const POSITIONS: &str = "/api/v1/private/position/open_positions";

async fn setup() -> (SimHandle, MexcVenue) {
    let sim = start(VenueId::Mexc, SimOptions::new(VenueId::Mexc)).await;
    let venue = connect_mexc(config(&sim)).await.unwrap();
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    (sim, venue)
}

#[tokio::test]
async fn a_5xx_is_retryable_and_the_retry_lands_once() {
    let (sim, venue) = setup().await;
    sim.faults().inject(SUBMIT, 1, Fault::Status(503));
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
    sim.faults().inject(POSITIONS, 1, Fault::Status(502));
    assert_eq!(
        venue.positions().await.unwrap_err().kind,
        VenueErrorKind::Retryable
    );
    assert_eq!(venue.positions().await.unwrap().len(), 1);
    assert_no_double_orders(&sim);
}

#[tokio::test]
async fn a_rate_limit_pauses_the_client() {
    let (sim, venue) = setup().await;
    sim.faults().inject(
        SUBMIT,
        1,
        Fault::RateLimit {
            retry_after: Duration::from_millis(400),
        },
    );
    let order = market("f-rl-1", "BTCUSDT", Side::Buy, dec!(0.01), false);
    let e = venue.place_order(&order).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::RateLimited, Some("510"))
    );
    // MEXC gives no reset time: the client waits a second before the next request.
    assert_eq!(e.retry_after, Some(Duration::from_secs(1)));
    assert!(venue.http().limits.paused_for().is_some());
    let t0 = std::time::Instant::now();
    assert_eq!(
        venue.place_order(&order).await.unwrap().state,
        OrderState::Filled
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(500),
        "{:?}",
        t0.elapsed()
    );
    assert_no_double_orders(&sim);
}

#[tokio::test]
async fn a_burst_of_orders_stays_inside_the_venue_limit() {
    // 25 orders at once: MEXC allows 20 submissions per 2 s; the adapter paces them so the
    // simulator (which enforces the window) never answers 510.
    let (sim, venue) = setup().await;
    let orders = (0..25).map(|i| {
        let o = market(
            &format!("f-burst-{i}"),
            "SOLUSDT",
            Side::Buy,
            dec!(1),
            false,
        );
        let v = &venue;
        async move { v.place_order(&o).await }
    });
    let results = futures::future::join_all(orders).await;
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(sim.position("SOLUSDT"), dec!(25));
}

#[tokio::test]
async fn a_timeout_after_acceptance_is_ambiguous_and_settled_by_external_oid() {
    let (sim, venue) = setup().await;
    sim.faults().inject(
        SUBMIT,
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
    sim.faults().inject(SUBMIT, 1, Fault::DropAfterAccept);
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

    sim.faults().inject(SUBMIT, 1, Fault::DropBeforeAccept);
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
    // 0.0111 BTC = 111 contracts; half fills on the contract grid: 55 contracts.
    sim.faults().partial_fill_next(dec!(0.5));
    let s = venue
        .place_order(&market(
            "f-part-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.0111),
            false,
        ))
        .await
        .unwrap();
    assert_eq!(s.state, OrderState::Cancelled);
    assert_eq!(s.filled_qty, dec!(0.0055));
    assert_eq!(sim.position("BTCUSDT"), dec!(0.0055));
}

#[tokio::test]
async fn clock_skew_is_measured_and_corrected() {
    let (sim, venue) = setup().await;
    let syncs = sim.counters().get("GET", "/api/v1/contract/ping");
    for skew in [30_000, -30_000] {
        sim.faults().set_clock_skew_ms(skew);
        // Refused with 513, resynced, re-sent.
        assert_eq!(venue.account_value().await.unwrap(), dec!(100000));
        let offset = venue.http().clock.offset_ms();
        assert!(
            (offset - skew).abs() < 1_000,
            "offset {offset} for skew {skew}"
        );
    }
    assert_eq!(
        sim.counters().get("GET", "/api/v1/contract/ping"),
        syncs + 2
    );
}

#[tokio::test]
async fn latency_beyond_the_timeout_is_a_retryable_read() {
    let (sim, venue) = setup().await;
    sim.faults()
        .inject(POSITIONS, 1, Fault::Delay(Duration::from_millis(1500)));
    let e = venue.positions().await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Retryable, Some("timeout"))
    );
    assert!(venue.positions().await.unwrap().is_empty());
}

#[tokio::test]
async fn without_the_stream_fills_are_confirmed_over_rest() {
    let sim = start(VenueId::Mexc, SimOptions::new(VenueId::Mexc)).await;
    let mut cfg = config(&sim);
    cfg.stream = tradeengine_venues::StreamSetting::Off;
    let venue = connect_mexc(cfg).await.unwrap();
    let s = venue
        .place_order(&market("f-rest-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    assert_eq!(s.state, OrderState::Filled);
    assert_eq!(
        sim.counters()
            .get("GET", "/api/v1/private/order/external/BTC_USDT/f-rest-1"),
        1
    );
}
