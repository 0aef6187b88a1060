//! What only MEXC has, against the MEXC simulator: order ids above 2^53, the restricted order
//! endpoint, leverage travelling with the opening order and changed by position id, a fresh
//! positions read sparing a query per symbol, its 20-per-2-s order window, and a batch endpoint
//! refused as a whole falling back to single orders. Everything every
//! venue does is the conformance suite (`tests/conformance/`, row `mexc`).
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{MarginMode, OrderState, Side};
use tradeengine_venue_sim::mexc::ORDER_ID_BASE;
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId};
use tradeengine_venues::connect::connect_mexc;
use tradeengine_venues::mexc::MexcVenue;
use tradeengine_venues::{Venue, VenueErrorKind};

async fn setup_with(options: SimOptions) -> (SimHandle, MexcVenue) {
    let sim = start(VenueId::Mexc, options).await;
    let venue = connect_mexc(config(&sim)).await.unwrap();
    assert!(
        venue.wait_stream_ready(Duration::from_secs(3)).await,
        "private stream not ready"
    );
    (sim, venue)
}

async fn setup() -> (SimHandle, MexcVenue) {
    setup_with(SimOptions::new(VenueId::Mexc)).await
}

#[tokio::test]
async fn order_ids_above_2_pow_53_arrive_exactly() {
    let (_sim, venue) = setup().await;
    let buy = venue
        .place_order(&market(
            "m-buy-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.0125),
            false,
        ))
        .await
        .unwrap();
    assert_eq!(buy.state, OrderState::Filled);
    let first_id: u64 = buy.venue_order_id.as_deref().unwrap().parse().unwrap();
    assert!(first_id > ORDER_ID_BASE);
}

#[tokio::test]
async fn a_restricted_order_endpoint_is_a_clear_unsupported_error() {
    let mut options = SimOptions::new(VenueId::Mexc);
    options.order_entry_restricted = true;
    let (sim, venue) = setup_with(options).await;
    // Reads keep working.
    assert_eq!(venue.account_value().await.unwrap(), dec!(100000));
    let e = venue
        .place_order(&market("m-rs-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Unsupported, Some("1002"))
    );
    assert!(!e.is_retryable() && !e.is_ambiguous());
    assert!(
        e.message.contains("refuses API order entry"),
        "{}",
        e.message
    );
    assert!(sim.orders().is_empty());
}

/// MEXC's batch endpoint is "not available for all users": refused as a whole, the orders go
/// one by one at once, each exactly once, and batching stays off for the connection.
#[tokio::test]
async fn a_refused_batch_endpoint_falls_back_to_single_orders() {
    let (sim, venue) = setup().await;
    const BATCH: &str = "/api/v1/private/order/submit_batch";
    const SINGLE: &str = "/api/v1/private/order/submit";
    // The whole request refused for want of the permission (MEXC's 70x codes), as the
    // venue answers an account the endpoint was not opened for.
    sim.faults().inject(
        BATCH,
        1,
        tradeengine_venue_sim::Fault::Body(
            r#"{"success":false,"code":704,"message":"No permission for this endpoint"}"#.into(),
        ),
    );
    assert_eq!(venue.batch_limit(), 50);
    let orders = [
        market("m-fb-1", "BTCUSDT", Side::Buy, dec!(0.01), false),
        market("m-fb-2", "ETHUSDT", Side::Sell, dec!(0.1), false),
        market("m-fb-3", "SOLUSDT", Side::Buy, dec!(1), false),
    ];
    let results = venue.place_orders(&orders).await;
    assert_eq!(results.len(), 3);
    for r in &results {
        assert_eq!(r.as_ref().unwrap().state, OrderState::Filled, "{results:?}");
    }
    assert_eq!(sim.counters().get("POST", BATCH), 1);
    assert_eq!(sim.counters().get("POST", SINGLE), 3);
    assert_eq!(sim.orders().len(), 3, "each order once");
    assert_eq!(venue.batch_limit(), 1, "batching stays off");
    let more = venue
        .place_orders(&[market("m-fb-4", "BTCUSDT", Side::Sell, dec!(0.01), true)])
        .await;
    assert_eq!(more[0].as_ref().unwrap().state, OrderState::Filled);
    assert_eq!(sim.counters().get("POST", BATCH), 1, "not tried again");
    assert_eq!(sim.counters().get("POST", SINGLE), 4);
}

#[tokio::test]
async fn leverage_travels_with_the_opening_order_and_changes_open_positions() {
    let (sim, venue) = setup().await;
    // Flat: nothing to change at the venue yet; the next opening order carries it.
    venue.set_leverage(&sym("ETHUSDT"), dec!(5)).await.unwrap();
    assert_eq!(
        sim.counters()
            .get("POST", "/api/v1/private/position/change_leverage"),
        0
    );
    venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    venue
        .place_order(&market("m-lev-1", "ETHUSDT", Side::Buy, dec!(1), false))
        .await
        .unwrap();
    assert_eq!(sim.leverage("ETHUSDT"), dec!(5));
    let p = venue.positions().await.unwrap();
    assert_eq!(
        (p[0].leverage, p[0].margin_mode),
        (dec!(5), MarginMode::Isolated)
    );
    // Open: changed by positionId, and only when it differs (no "not modified" code).
    venue.set_leverage(&sym("ETHUSDT"), dec!(5)).await.unwrap();
    venue.set_leverage(&sym("ETHUSDT"), dec!(8)).await.unwrap();
    assert_eq!(
        sim.counters()
            .get("POST", "/api/v1/private/position/change_leverage"),
        1
    );
    assert_eq!(sim.leverage("ETHUSDT"), dec!(8));
    // Adding to it sends the same leverage, so the venue accepts it.
    venue
        .place_order(&market("m-lev-2", "ETHUSDT", Side::Buy, dec!(1), false))
        .await
        .unwrap();
    assert_eq!(sim.position("ETHUSDT"), dec!(2));
    // An open position's margin mode is fixed; fractions and excess leverage are refused.
    let e = venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Cross)
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("position_open"));
    for bad in [dec!(2.5), dec!(0), dec!(500)] {
        let e = venue.set_leverage(&sym("ETHUSDT"), bad).await.unwrap_err();
        assert_eq!(e.code.as_deref(), Some("bad_leverage"), "{bad}");
    }
    // A restarted adapter (nothing set in this process) adds to the isolated 8× position with
    // the mode and leverage it read from the venue, which the venue requires.
    let restarted = connect_mexc(config(&sim)).await.unwrap();
    restarted.positions().await.unwrap();
    restarted
        .place_order(&market("m-lev-3", "ETHUSDT", Side::Buy, dec!(1), false))
        .await
        .unwrap();
    assert_eq!(sim.position("ETHUSDT"), dec!(3));
}

#[tokio::test]
async fn a_fresh_positions_read_spares_a_query_per_symbol() {
    let (sim, venue) = setup().await;
    let positions = "/api/v1/private/position/open_positions";
    // The engine's cycle: read positions, then set leverage on each symbol it will trade.
    venue.positions().await.unwrap();
    for s in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
        venue.set_leverage(&sym(s), dec!(3)).await.unwrap();
    }
    assert_eq!(sim.counters().get("GET", positions), 1);
    // After an order in a symbol the read no longer speaks for it: asked again.
    venue
        .place_order(&market("m-snap-1", "SOLUSDT", Side::Buy, dec!(2), false))
        .await
        .unwrap();
    assert_eq!(sim.leverage("SOLUSDT"), dec!(3));
    venue.set_leverage(&sym("SOLUSDT"), dec!(4)).await.unwrap();
    assert_eq!(sim.counters().get("GET", positions), 2);
    assert_eq!(sim.leverage("SOLUSDT"), dec!(4));
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
