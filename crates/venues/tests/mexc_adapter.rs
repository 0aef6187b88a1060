//! The MEXC adapter against the MEXC simulator: reads in contracts, side codes, orders,
//! settings, refusals (including the restricted order endpoint) and the private stream. Faults
//! are in `mexc_faults.rs`.
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
use tradeengine_venues::{AdapterConfig, Credentials, Venue, VenueErrorKind};

const SUBMIT: &str = "/api/v1/private/order/submit";

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
async fn reads_account_contracts_and_prices() {
    let (sim, venue) = setup().await;
    assert_eq!(venue.account_value().await.unwrap(), dec!(100000));
    assert!(venue.positions().await.unwrap().is_empty());
    let inst = venue
        .instruments(&[sym("BTCUSDT"), sym("ETHUSDT")])
        .await
        .unwrap();
    // Contracts: BTC_USDT is 0.0001 BTC per contract, steps and minimums in contracts.
    assert_eq!(inst[0].venue_symbol, "BTC_USDT");
    assert_eq!(inst[0].contract_size, dec!(0.0001));
    assert_eq!((inst[0].qty_step, inst[0].min_qty), (dec!(1), dec!(1)));
    assert_eq!(inst[0].tick_size, dec!(0.1));
    assert_eq!(inst[0].min_notional, dec!(0));
    assert_eq!(inst[1].contract_size, dec!(0.01));
    let err = venue.instruments(&[sym("NOPEUSDT")]).await.unwrap_err();
    assert_eq!(err.kind, VenueErrorKind::Rejected);
    let prices = venue
        .prices(&[sym("BTCUSDT"), sym("ETHUSDT"), sym("SOLUSDT")])
        .await
        .unwrap();
    assert_eq!(prices[&sym("ETHUSDT")].get(), dec!(3000));
    assert_eq!(prices.len(), 3);
    assert_eq!(sim.counters().get("GET", "/api/v1/contract/ticker"), 1);
    // One detail request (its budget is 1 per 5 s): cached after.
    assert_eq!(sim.counters().get("GET", "/api/v1/contract/detail"), 1);
    venue.instruments(&[sym("BTCUSDT")]).await.unwrap();
    assert_eq!(sim.counters().get("GET", "/api/v1/contract/detail"), 1);
}

#[tokio::test]
async fn market_orders_go_in_contracts_with_the_right_side_codes() {
    let (sim, venue) = setup().await;
    // 0.0125 BTC = 125 contracts, opened long (side 1).
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
    assert_eq!(buy.filled_qty, dec!(0.0125));
    assert!(!buy.reduce_only);
    assert_eq!(buy.avg_fill_price.map(|p| p.get()), Some(dec!(60000)));
    // Fee 0.0125 × 60 000 × 0.00055 = 0.4125 USDT.
    assert_eq!(buy.fee, dec!(0.4125));
    // The order id is above 2^53 and arrives exactly.
    let first_id: u64 = buy.venue_order_id.as_deref().unwrap().parse().unwrap();
    assert!(first_id > ORDER_ID_BASE);
    // The fill came on the stream: one submit, no query.
    assert_eq!(
        sim.counters()
            .get("GET", "/api/v1/private/order/external/BTC_USDT/m-buy-1"),
        0
    );
    assert_eq!(sim.position("BTCUSDT"), dec!(0.0125));
    let positions = venue.positions().await.unwrap();
    assert_eq!(positions[0].size.get(), dec!(0.0125));
    assert_eq!(positions[0].entry_price.map(|p| p.get()), Some(dec!(60000)));
    assert_eq!(positions[0].margin_mode, MarginMode::Cross);

    // Reduce with a close-long (4), then flip: close the rest (4), open short (3).
    let reduce = venue
        .place_order(&market(
            "m-red-1",
            "BTCUSDT",
            Side::Sell,
            dec!(0.0025),
            true,
        ))
        .await
        .unwrap();
    assert!(reduce.reduce_only && reduce.side == Side::Sell);
    assert_eq!(sim.position("BTCUSDT"), dec!(0.01));
    venue
        .place_order(&market("m-cls-1", "BTCUSDT", Side::Sell, dec!(0.01), true))
        .await
        .unwrap();
    let short = venue
        .place_order(&market("m-opn-1", "BTCUSDT", Side::Sell, dec!(0.02), false))
        .await
        .unwrap();
    assert!(!short.reduce_only);
    assert_eq!(sim.position("BTCUSDT"), dec!(-0.02));
    // Close the short with side 2 (buy, reduce-only).
    venue
        .place_order(&market("m-cls-2", "BTCUSDT", Side::Buy, dec!(0.02), true))
        .await
        .unwrap();
    assert_eq!(sim.position("BTCUSDT"), dec!(0));
    let orders = sim.orders();
    let seen: Vec<(Side, bool)> = orders.iter().map(|o| (o.side, o.reduce_only)).collect();
    assert_eq!(
        seen,
        vec![
            (Side::Buy, false),  // 1 open long
            (Side::Sell, true),  // 4 close long
            (Side::Sell, true),  // 4 close long
            (Side::Sell, false), // 3 open short
            (Side::Buy, true),   // 2 close short
        ]
    );
    let q = venue
        .order_by_client_id(&sym("BTCUSDT"), &id("m-opn-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((q.state, q.qty), (OrderState::Filled, dec!(0.02)));
    assert!(
        venue
            .order_by_client_id(&sym("BTCUSDT"), &id("never-sent"))
            .await
            .unwrap()
            .is_none()
    );
    assert_no_double_orders(&sim);
}

#[tokio::test]
async fn a_repeated_external_oid_returns_the_first_order() {
    let (sim, venue) = setup().await;
    let order = market("m-dup-1", "ETHUSDT", Side::Buy, dec!(0.5), false);
    let first = venue.place_order(&order).await.unwrap();
    let again = venue.place_order(&order).await.unwrap();
    assert_eq!(first.venue_order_id, again.venue_order_id);
    assert_eq!(sim.position("ETHUSDT"), dec!(0.5));
    assert_eq!(sim.client_id_submissions()["m-dup-1"], 2);
    assert_eq!(sim.orders().len(), 1);
}

#[tokio::test]
async fn refusals_carry_the_venue_code() {
    let (sim, venue) = setup().await;
    // A close with nothing to close: 2009, "reconcile as flat".
    let e = venue
        .place_order(&market("m-ro-1", "BTCUSDT", Side::Sell, dec!(0.01), true))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Rejected, Some("2009"))
    );
    // Insufficient balance at leverage 1: 2 BTC × 60 000 > 100 000.
    let e = venue
        .place_order(&market("m-im-1", "BTCUSDT", Side::Buy, dec!(2), false))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("2005"));
    // Half a contract is refused before it leaves the process.
    let before = sim.counters().get("POST", SUBMIT);
    let e = venue
        .place_order(&market(
            "m-step-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.00015),
            false,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("bad_qty"));
    assert_eq!(sim.counters().get("POST", SUBMIT), before);
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
async fn limit_orders_rest_fill_and_cancel() {
    let (sim, venue) = setup().await;
    let resting = venue
        .place_order(&limit(
            "m-lim-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.01),
            dec!(59000),
        ))
        .await
        .unwrap();
    assert_eq!(resting.state, OrderState::Acknowledged);
    assert_eq!(
        venue
            .open_orders(Some(&sym("BTCUSDT")))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(venue.open_orders(None).await.unwrap().len(), 1);
    let cancelled = venue
        .cancel_order(&sym("BTCUSDT"), &id("m-lim-1"))
        .await
        .unwrap();
    assert_eq!(cancelled.state, OrderState::Cancelled);
    // Cancelling again reports what it became.
    let again = venue
        .cancel_order(&sym("BTCUSDT"), &id("m-lim-1"))
        .await
        .unwrap();
    assert_eq!(again.state, OrderState::Cancelled);
    assert!(venue.open_orders(None).await.unwrap().is_empty());

    venue
        .place_order(&limit(
            "m-lim-2",
            "BTCUSDT",
            Side::Buy,
            dec!(0.01),
            dec!(59000),
        ))
        .await
        .unwrap();
    sim.set_price("BTCUSDT", dec!(58900));
    let filled = venue
        .tracker()
        .wait_for("m-lim-2", Duration::from_secs(2), |s| {
            s.state == OrderState::Filled
        })
        .await
        .unwrap();
    assert_eq!(filled.avg_fill_price.map(|p| p.get()), Some(dec!(59000)));
    assert_eq!(filled.filled_qty, dec!(0.01));
    assert_eq!(sim.position("BTCUSDT"), dec!(0.01));
    let e = venue
        .cancel_order(&sym("BTCUSDT"), &id("never-placed"))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("order_not_found"));
}

#[tokio::test]
async fn wrong_keys_and_hedge_mode_are_refused_at_connect() {
    let sim = start(VenueId::Mexc, SimOptions::new(VenueId::Mexc)).await;
    let mut bad = config(&sim);
    bad.credentials = Some(Credentials::new(&sim.options().api_key, "not-the-secret"));
    let e = connect_mexc(bad).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Auth, Some("602"))
    );
    assert!(!e.to_string().contains("not-the-secret"));
    let mut unknown = config(&sim);
    unknown.credentials = Some(Credentials::new("someone-else", "x"));
    let e = connect_mexc(unknown).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Auth, Some("401"))
    );

    sim.set_hedge_mode(true);
    let e = connect_mexc(config(&sim)).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("hedge_mode"));
    assert!(e.message.contains("one-way"), "{}", e.message);
}

#[tokio::test]
async fn public_data_needs_no_keys_and_trading_does() {
    let sim = start(VenueId::Mexc, SimOptions::new(VenueId::Mexc)).await;
    let venue = connect_mexc(AdapterConfig::new(sim.base_url(), None))
        .await
        .unwrap();
    assert_eq!(
        venue.prices(&[sym("BTCUSDT")]).await.unwrap()[&sym("BTCUSDT")].get(),
        dec!(60000)
    );
    assert_eq!(
        venue.instruments(&[sym("SOLUSDT")]).await.unwrap()[0].contract_size,
        dec!(1)
    );
    let e = venue.account_value().await.unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Auth);
    let feed = tradeengine_venues::connect::public_price_feed_every(
        VenueId::Mexc,
        &sim.base_url(),
        &[sym("BTCUSDT")],
        Duration::from_millis(100),
    )
    .await
    .unwrap();
    assert_eq!(
        feed.price(&sym("BTCUSDT"), chrono::Utc::now())
            .map(|p| p.get()),
        Some(dec!(60000))
    );
}

#[tokio::test]
async fn the_stream_reconnects_and_keeps_delivering() {
    let (sim, venue) = setup().await;
    assert_eq!(venue.stream_connects(), 1);
    sim.faults().drop_streams();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    assert!(venue.stream_connects() >= 2);
    let filled = venue
        .place_order(&market("m-ws-1", "BTCUSDT", Side::Buy, dec!(0.001), false))
        .await
        .unwrap();
    assert_eq!(filled.state, OrderState::Filled);
    assert!(venue.tracker().get("m-ws-1").is_some());
    // The streamed position is in base units too.
    let p = venue.tracker().position(&sym("BTCUSDT")).unwrap();
    assert_eq!(p.size.get(), dec!(0.001));
}
