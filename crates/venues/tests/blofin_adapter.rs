//! The BloFin adapter against the BloFin simulator: reads, contract sizing, orders, settings,
//! refusals (HTTP 200 with a code at the top level and per item) and the private stream.
//! Faults are in `blofin_faults.rs`.
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{MarginMode, OrderState, Side};
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId};
use tradeengine_venues::blofin::BlofinVenue;
use tradeengine_venues::connect::connect_blofin;
use tradeengine_venues::{AdapterConfig, Credentials, Venue, VenueErrorKind};

async fn setup() -> (SimHandle, BlofinVenue) {
    let sim = start(VenueId::Blofin, SimOptions::new(VenueId::Blofin)).await;
    let venue = connect_blofin(config(&sim)).await.unwrap();
    assert!(
        venue.wait_stream_ready(Duration::from_secs(3)).await,
        "private stream not ready"
    );
    (sim, venue)
}

#[tokio::test]
async fn reads_account_instruments_with_contract_values_and_prices() {
    let (sim, venue) = setup().await;
    assert_eq!(venue.account_value().await.unwrap(), dec!(100000));
    assert!(venue.positions().await.unwrap().is_empty());
    let inst = venue
        .instruments(&[sym("BTCUSDT"), sym("ETHUSDT")])
        .await
        .unwrap();
    // BTC-USDT: lots of 0.1 contract, each contract 0.001 BTC.
    assert_eq!(inst[0].venue_symbol, "BTC-USDT");
    assert_eq!(inst[0].contract_size, dec!(0.001));
    assert_eq!((inst[0].qty_step, inst[0].min_qty), (dec!(0.1), dec!(0.1)));
    assert_eq!(inst[0].max_market_qty, Some(dec!(100000)));
    assert_eq!(inst[1].contract_size, dec!(0.01));
    let err = venue.instruments(&[sym("NOPEUSDT")]).await.unwrap_err();
    assert_eq!(err.kind, VenueErrorKind::Rejected);
    let prices = venue
        .prices(&[sym("BTCUSDT"), sym("ETHUSDT"), sym("SOLUSDT")])
        .await
        .unwrap();
    assert_eq!(prices[&sym("ETHUSDT")].get(), dec!(3000));
    assert_eq!(prices.len(), 3);
    // All three prices came from one request.
    assert_eq!(sim.counters().get("GET", "/api/v1/market/tickers"), 2); // + the clock read
    let before = sim.counters().get("GET", "/api/v1/market/instruments");
    venue.instruments(&[sym("BTCUSDT")]).await.unwrap();
    assert_eq!(
        sim.counters().get("GET", "/api/v1/market/instruments"),
        before
    );
}

#[tokio::test]
async fn orders_are_sent_in_contracts_and_reported_in_base_units() {
    let (sim, venue) = setup().await;
    // 0.0123 BTC = 12.3 contracts of 0.001.
    let buy = venue
        .place_order(&market(
            "t-buy-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.0123),
            false,
        ))
        .await
        .unwrap();
    assert_eq!(buy.state, OrderState::Filled);
    assert_eq!(buy.filled_qty, dec!(0.0123));
    assert_eq!(buy.client_order_id.as_str(), "t-buy-1");
    assert_eq!(buy.avg_fill_price.map(|p| p.get()), Some(dec!(60000)));
    // The fill came on the stream: no status query.
    assert_eq!(sim.counters().get("GET", "/api/v1/trade/order-detail"), 0);
    assert_eq!(sim.position("BTCUSDT"), dec!(0.0123));
    // On the wire the id has no dash (BloFin takes letters, digits and underscores).
    assert_eq!(sim.orders()[0].client_id, "t_buy_1");
    let positions = venue.positions().await.unwrap();
    assert_eq!(positions.len(), 1);
    assert_eq!(positions[0].size.get(), dec!(0.0123));
    assert_eq!(positions[0].entry_price.map(|p| p.get()), Some(dec!(60000)));

    // Flip to short: a reduce-only close of the whole position, then an open.
    let close = venue
        .place_order(&market(
            "t-close-1",
            "BTCUSDT",
            Side::Sell,
            dec!(0.0123),
            true,
        ))
        .await
        .unwrap();
    assert_eq!(close.state, OrderState::Filled);
    assert!(close.reduce_only);
    assert!(sim.orders()[1].reduce_only);
    venue
        .place_order(&market(
            "t-open-1",
            "BTCUSDT",
            Side::Sell,
            dec!(0.02),
            false,
        ))
        .await
        .unwrap();
    assert_eq!(sim.position("BTCUSDT"), dec!(-0.02));
    let p = venue.positions().await.unwrap();
    assert_eq!(p[0].size.get(), dec!(-0.02));
    let q = venue
        .order_by_client_id(&sym("BTCUSDT"), &id("t-open-1"))
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
async fn a_repeated_client_id_returns_the_first_order() {
    let (sim, venue) = setup().await;
    let order = market("t-dup-1", "ETHUSDT", Side::Buy, dec!(0.5), false);
    let first = venue.place_order(&order).await.unwrap();
    let again = venue.place_order(&order).await.unwrap();
    assert_eq!(first.venue_order_id, again.venue_order_id);
    assert_eq!(sim.position("ETHUSDT"), dec!(0.5));
    assert_eq!(sim.client_id_submissions()["t_dup_1"], 2);
    assert_eq!(sim.orders().len(), 1);
}

#[tokio::test]
async fn refusals_carry_the_item_code() {
    let (sim, venue) = setup().await;
    // Reduce-only with nothing to reduce: top-level "1", item 102022.
    let e = venue
        .place_order(&market("t-ro-1", "BTCUSDT", Side::Sell, dec!(0.01), true))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Rejected, Some("102022"))
    );
    assert!(e.message.contains("reduce-only"), "{}", e.message);
    // Insufficient margin at leverage 1.
    let e = venue
        .place_order(&market("t-im-1", "BTCUSDT", Side::Buy, dec!(2), false))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("103003"));
    // 0.00015 BTC = 0.15 contracts: off the 0.1 lot, refused before leaving the process.
    let before = sim.counters().get("POST", "/api/v1/trade/order");
    let e = venue
        .place_order(&market(
            "t-step-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.00015),
            false,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("bad_qty"));
    // An id BloFin could not carry unambiguously.
    let e = venue
        .place_order(&market("t_under", "BTCUSDT", Side::Buy, dec!(0.001), false))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("bad_client_id"));
    assert_eq!(sim.counters().get("POST", "/api/v1/trade/order"), before);
    assert_eq!(sim.orders().len(), 0);
}

#[tokio::test]
async fn leverage_changes_on_an_open_position_and_margin_mode_is_account_wide() {
    let (sim, venue) = setup().await;
    venue.set_leverage(&sym("BTCUSDT"), dec!(5)).await.unwrap();
    venue.set_leverage(&sym("BTCUSDT"), dec!(5)).await.unwrap();
    assert_eq!(sim.leverage("BTCUSDT"), dec!(5));
    let e = venue
        .set_leverage(&sym("BTCUSDT"), dec!(500))
        .await
        .unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Rejected);
    // Same mode: compared first, nothing sent.
    venue
        .set_margin_mode(&sym("BTCUSDT"), MarginMode::Cross)
        .await
        .unwrap();
    assert_eq!(
        sim.counters()
            .get("POST", "/api/v1/account/set-margin-mode"),
        0
    );
    venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    venue
        .place_order(&market("t-lev-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    let p = venue.positions().await.unwrap();
    assert_eq!(
        (p[0].leverage, p[0].margin_mode),
        (dec!(5), MarginMode::Isolated)
    );
    // With the position open, leverage still changes (BloFin allows it)…
    venue.set_leverage(&sym("BTCUSDT"), dec!(3)).await.unwrap();
    assert_eq!(sim.leverage("BTCUSDT"), dec!(3));
    assert_eq!(sim.position("BTCUSDT"), dec!(0.01));
    // …but the account-wide margin mode does not.
    let e = venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Cross)
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("110019"));
}

#[tokio::test]
async fn limit_orders_rest_fill_and_cancel() {
    let (sim, venue) = setup().await;
    let resting = venue
        .place_order(&limit(
            "t-lim-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.01),
            dec!(59000),
        ))
        .await
        .unwrap();
    assert_eq!(resting.state, OrderState::Acknowledged);
    let open = venue.open_orders(Some(&sym("BTCUSDT"))).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].qty, dec!(0.01));
    let cancelled = venue
        .cancel_order(&sym("BTCUSDT"), &id("t-lim-1"))
        .await
        .unwrap();
    assert_eq!(cancelled.state, OrderState::Cancelled);
    // Cancelling again (102068) reports what it became rather than failing.
    let again = venue
        .cancel_order(&sym("BTCUSDT"), &id("t-lim-1"))
        .await
        .unwrap();
    assert_eq!(again.state, OrderState::Cancelled);
    assert!(venue.open_orders(None).await.unwrap().is_empty());

    venue
        .place_order(&limit(
            "t-lim-2",
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
        .wait_for("t-lim-2", Duration::from_secs(2), |s| {
            s.state == OrderState::Filled
        })
        .await
        .unwrap();
    assert_eq!(filled.avg_fill_price.map(|p| p.get()), Some(dec!(59000)));
    assert_eq!(filled.filled_qty, dec!(0.01));
    let e = venue
        .cancel_order(&sym("BTCUSDT"), &id("never-placed"))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("102068"));
}

#[tokio::test]
async fn wrong_keys_passphrase_and_hedge_mode_are_refused_at_connect() {
    let sim = start(VenueId::Blofin, SimOptions::new(VenueId::Blofin)).await;
    let o = sim.options().clone();
    let mut bad = config(&sim);
    bad.credentials =
        Some(Credentials::new(&o.api_key, "not-the-secret").with_passphrase(&o.passphrase));
    let e = connect_blofin(bad).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Auth, Some("152409"))
    );
    assert!(!e.to_string().contains("not-the-secret"));
    let mut wrong_pass = config(&sim);
    wrong_pass.credentials =
        Some(Credentials::new(&o.api_key, &o.api_secret).with_passphrase("nope"));
    assert_eq!(
        connect_blofin(wrong_pass)
            .await
            .unwrap_err()
            .code
            .as_deref(),
        Some("152408")
    );
    let mut none = config(&sim);
    none.credentials = Some(Credentials::new(&o.api_key, &o.api_secret));
    assert_eq!(
        connect_blofin(none).await.unwrap_err().code.as_deref(),
        Some("no_passphrase")
    );
    sim.set_hedge_mode(true);
    let e = connect_blofin(config(&sim)).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("hedge_mode"));
    assert!(e.message.contains("one-way"), "{}", e.message);
}

#[tokio::test]
async fn public_data_needs_no_keys_and_trading_does() {
    let sim = start(VenueId::Blofin, SimOptions::new(VenueId::Blofin)).await;
    let venue = connect_blofin(AdapterConfig::new(sim.base_url(), None))
        .await
        .unwrap();
    assert_eq!(
        venue.prices(&[sym("BTCUSDT")]).await.unwrap()[&sym("BTCUSDT")].get(),
        dec!(60000)
    );
    let e = venue.account_value().await.unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Auth);
    let feed = tradeengine_venues::connect::public_price_feed_every(
        VenueId::Blofin,
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
        .place_order(&market("t-ws-1", "ETHUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    assert_eq!(filled.state, OrderState::Filled);
    let pushed = venue.tracker().get("t-ws-1").unwrap();
    assert_eq!(pushed.filled_qty, dec!(0.01), "converted from 1 contract");
    assert_eq!(
        venue
            .tracker()
            .position(&sym("ETHUSDT"))
            .map(|p| p.size.get()),
        Some(dec!(0.01))
    );
}
