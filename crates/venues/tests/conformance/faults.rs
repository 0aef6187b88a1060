//! The adapter under every simulator fault: each error is classified so the caller can do the
//! safe thing, an ambiguous outcome is settled by client id, and the venue never holds two
//! orders for one client id. 5xx and 429 with back-off, a timeout or a dropped connection after
//! the venue accepted, a connection dropped before, a partial fill, clock skew, a slow read.
//!
//! Hyperliquid: the simulator does not partially fill (its `/exchange` places every order as
//! an IOC or GTC limit, and the simulated partial fill applies to market orders only), so the
//! partial-fill cell waits on the simulator. It signs a nonce rather than a timestamp inside a
//! receive window, so clock skew is no fault there (its nonce window is `the_exchange_refuses_a_replayed_nonce_and_an_unknown_signer`
//! in `hyperliquid_adapter.rs`).

use std::time::{Duration, Instant};

use rust_decimal_macros::dec;
use tradeengine_model::{OrderState, Side};
use tradeengine_venue_sim::Fault;
use tradeengine_venues::VenueErrorKind;

use crate::adapter::setup;
use crate::sim::{assert_no_double_orders, market};
use crate::venues::{ClockSync, Row};

async fn a_5xx_is_retryable_and_the_retry_lands_once(row: &Row) {
    let (sim, venue) = setup(row).await;
    sim.faults()
        .inject(row.profile().order_fault, 1, Fault::Status(503));
    let order = market("c-5xx-1", "BTCUSDT", Side::Buy, dec!(0.01), false);
    let e = venue.place_order(&order).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Retryable, Some("http_503"))
    );
    assert_eq!(sim.position("BTCUSDT"), dec!(0));
    let s = venue.place_order(&order).await.unwrap();
    assert_eq!(s.state, OrderState::Filled);
    assert_eq!(sim.position("BTCUSDT"), dec!(0.01));
    // Reads are retryable too.
    sim.faults()
        .inject(row.profile().positions, 1, Fault::Status(502));
    assert_eq!(
        venue.positions().await.unwrap_err().kind,
        VenueErrorKind::Retryable
    );
    assert_eq!(venue.positions().await.unwrap().len(), 1);
    assert_no_double_orders(&sim);
}

cells!(a_5xx_is_retryable_and_the_retry_lands_once: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn a_rate_limit_pauses_the_client_then_the_order_lands_once(row: &Row) {
    let (sim, venue) = setup(row).await;
    sim.faults().inject(
        row.profile().order_fault,
        1,
        Fault::RateLimit {
            retry_after: Duration::from_secs(1),
        },
    );
    let order = market("c-rl-1", "BTCUSDT", Side::Buy, dec!(0.01), false);
    let e = venue.place_order(&order).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::RateLimited, Some(row.rate_limited)),
        "{e}"
    );
    // Each venue says when in its own way (Retry-After seconds, a reset time, none at all:
    // then a second); all of them come to about the second the simulator asked for.
    let wait = e.retry_after.unwrap();
    assert!(
        wait > Duration::from_millis(700) && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    assert!(venue.limits().paused_for().is_some());
    // The next request waits out the pause instead of hammering the venue, then lands once.
    let t0 = Instant::now();
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

cells!(a_rate_limit_pauses_the_client_then_the_order_lands_once: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn a_timeout_after_acceptance_is_ambiguous_and_settled_by_client_id(row: &Row) {
    let (sim, venue) = setup(row).await;
    sim.faults().inject(
        row.profile().order_fault,
        1,
        Fault::TimeoutAfterAccept {
            hold: Duration::from_secs(2),
        },
    );
    let order = market("c-to-1", "ETHUSDT", Side::Buy, dec!(1), false);
    let e = venue.place_order(&order).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Ambiguous, Some("timeout"))
    );
    assert!(e.may_have_acted());
    let settled = venue
        .order_by_client_id(&order.symbol, &order.client_order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (settled.state, settled.filled_qty),
        (OrderState::Filled, dec!(1))
    );
    // Re-sending the same id (what a careless caller might do) cannot double it: refused as a
    // duplicate, or looked up first, and answered with the order.
    assert_eq!(
        venue.place_order(&order).await.unwrap().venue_order_id,
        settled.venue_order_id
    );
    assert_eq!(sim.position("ETHUSDT"), dec!(1));
    assert_eq!(sim.orders().len(), 1);
    assert_no_double_orders(&sim);
}

cells!(a_timeout_after_acceptance_is_ambiguous_and_settled_by_client_id: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn dropped_connections_are_ambiguous_for_writes(row: &Row) {
    let (sim, venue) = setup(row).await;
    sim.faults()
        .inject(row.profile().order_fault, 1, Fault::DropAfterAccept);
    let accepted = market("c-drop-1", "BTCUSDT", Side::Buy, dec!(0.01), false);
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

    sim.faults()
        .inject(row.profile().order_fault, 1, Fault::DropBeforeAccept);
    let lost = market("c-drop-2", "BTCUSDT", Side::Buy, dec!(0.01), false);
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

cells!(dropped_connections_are_ambiguous_for_writes: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn a_partial_fill_reports_what_filled_in_base_units(row: &Row) {
    let (sim, venue) = setup(row).await;
    let (ordered, filled) = row.partial;
    sim.faults().partial_fill_next(dec!(0.5));
    let s = venue
        .place_order(&market("c-part-1", "BTCUSDT", Side::Buy, ordered, false))
        .await
        .unwrap();
    // The rest of a market order is cancelled, not left working.
    assert_eq!((s.state, s.filled_qty), (OrderState::Cancelled, filled));
    assert_eq!(sim.position("BTCUSDT"), filled);
}

cells!(a_partial_fill_reports_what_filled_in_base_units: bybit, binance, blofin, kucoin, mexc);

async fn clock_skew_is_measured_and_corrected(row: &Row) {
    let clock = row.clock.as_ref().unwrap();
    let (sim, venue) = setup(row).await;
    let profile = row.profile();
    let path = match clock.sync {
        ClockSync::Endpoint => profile.time.unwrap(),
        ClockSync::FromReply => profile.balance,
    };
    let count = |sim: &tradeengine_venue_sim::SimHandle| sim.counters().get("GET", path);
    let before = count(&sim);
    for skew in [clock.skew_ms, -clock.skew_ms] {
        sim.faults().set_clock_skew_ms(skew);
        // The first signed request is refused, the adapter learns the venue's time and re-sends.
        assert_eq!(venue.account_value().await.unwrap(), dec!(100000));
        let offset = venue.clock_offset_ms();
        assert!(
            (offset - skew).abs() < clock.tolerance_ms,
            "offset {offset} for skew {skew}"
        );
    }
    let per_correction = match clock.sync {
        // One time read each.
        ClockSync::Endpoint => 1,
        // No time endpoint: the refused read and its re-send.
        ClockSync::FromReply => 2,
    };
    assert_eq!(count(&sim), before + 2 * per_correction);
}

cells!(clock_skew_is_measured_and_corrected: bybit, binance, blofin, kucoin, mexc);

async fn latency_beyond_the_timeout_is_a_retryable_read(row: &Row) {
    let (sim, venue) = setup(row).await;
    sim.faults().inject(
        row.profile().positions,
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

cells!(latency_beyond_the_timeout_is_a_retryable_read: bybit, binance, blofin, kucoin, mexc, hyperliquid);
