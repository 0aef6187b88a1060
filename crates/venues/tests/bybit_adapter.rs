//! What only Bybit has, against the Bybit simulator: the account-wide margin mode sent once
//! (its "not modified" answer, 110026, is success) and the order limit the venue reports in its
//! headers adopted. Everything every venue does (reads, orders, refusals, settings, the stream,
//! faults, candles) is the conformance suite (`tests/conformance/`, row `bybit`).
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{MarginMode, Side};
use tradeengine_venue_sim::{SimOptions, VenueId};
use tradeengine_venues::connect::connect_bybit;
use tradeengine_venues::{Venue, VenueErrorKind};

async fn setup() -> (
    tradeengine_venue_sim::SimHandle,
    tradeengine_venues::bybit::BybitVenue,
) {
    let sim = start(VenueId::Bybit, SimOptions::new(VenueId::Bybit)).await;
    let venue = connect_bybit(config(&sim)).await.unwrap();
    assert!(
        venue.wait_stream_ready(Duration::from_secs(3)).await,
        "private stream not ready"
    );
    (sim, venue)
}

#[tokio::test]
async fn leverage_and_margin_mode_not_modified_is_success() {
    let (sim, venue) = setup().await;
    venue.set_leverage(&sym("BTCUSDT"), dec!(5)).await.unwrap();
    venue.set_leverage(&sym("BTCUSDT"), dec!(5)).await.unwrap();
    assert_eq!(sim.leverage("BTCUSDT"), dec!(5));
    let e = venue
        .set_leverage(&sym("BTCUSDT"), dec!(500))
        .await
        .unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Rejected);
    venue
        .set_margin_mode(&sym("BTCUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    // The margin mode is account-wide on Bybit: the second symbol's setting is not sent again.
    let margin_requests = sim
        .requests()
        .matching(|r| r.path == "/v5/account/set-margin-mode")
        .len();
    assert_eq!(margin_requests, 1);
    venue
        .place_order(&market("t-lev-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    let p = venue.positions().await.unwrap();
    assert_eq!(p[0].leverage, dec!(5));
    assert_eq!(p[0].margin_mode, MarginMode::Isolated);
}

#[tokio::test]
async fn the_venues_reported_order_limit_is_adopted() {
    let mut options = SimOptions::new(VenueId::Bybit);
    options.order_rate_limit = 200;
    let sim = start(VenueId::Bybit, options).await;
    let venue = connect_bybit(config(&sim)).await.unwrap();
    assert_eq!(venue.http().limits.amount("order"), Some(10));
    venue
        .place_order(&market("t-rl-1", "BTCUSDT", Side::Buy, dec!(0.001), false))
        .await
        .unwrap();
    assert_eq!(venue.http().limits.amount("order"), Some(200));
}
