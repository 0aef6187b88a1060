//! The Binance USDⓈ-M adapter against the Binance simulator: reads, orders, settings, refusals
//! and the user-data stream. Faults are in `binance_faults.rs`.
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{MarginMode, OrderState, Side};
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId};
use tradeengine_venues::binance::BinanceVenue;
use tradeengine_venues::connect::connect_binance;
use tradeengine_venues::{AdapterConfig, Credentials, Venue, VenueErrorKind};

async fn setup() -> (SimHandle, BinanceVenue) {
    let sim = start(VenueId::Binance, SimOptions::new(VenueId::Binance)).await;
    let venue = connect_binance(config(&sim)).await.unwrap();
    assert!(
        venue.wait_stream_ready(Duration::from_secs(3)).await,
        "user-data stream not ready"
    );
    (sim, venue)
}

#[tokio::test]
async fn reads_account_instruments_and_prices() {
    let (sim, venue) = setup().await;
    assert_eq!(venue.account_value().await.unwrap(), dec!(100000));
    assert!(venue.positions().await.unwrap().is_empty());
    let inst = venue
        .instruments(&[sym("BTCUSDT"), sym("SOLUSDT")])
        .await
        .unwrap();
    assert_eq!(
        (inst[0].qty_step, inst[0].min_notional, inst[0].max_leverage),
        (dec!(0.001), dec!(100), dec!(125))
    );
    assert_eq!(inst[1].qty_step, dec!(1));
    assert_eq!(
        venue
            .instruments(&[sym("NOPEUSDT")])
            .await
            .unwrap_err()
            .kind,
        VenueErrorKind::Rejected
    );
    let prices = venue
        .prices(&[sym("BTCUSDT"), sym("ETHUSDT")])
        .await
        .unwrap();
    assert_eq!(prices[&sym("BTCUSDT")].get(), dec!(60000));
    assert_eq!(sim.counters().get("GET", "/fapi/v1/premiumIndex"), 1);
    let before = sim.counters().get("GET", "/fapi/v1/exchangeInfo");
    venue.instruments(&[sym("ETHUSDT")]).await.unwrap();
    assert_eq!(
        sim.counters().get("GET", "/fapi/v1/exchangeInfo"),
        before,
        "cached"
    );
}

#[tokio::test]
async fn market_orders_fill_and_move_the_position() {
    let (sim, venue) = setup().await;
    let buy = venue
        .place_order(&market("b-buy-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    assert_eq!(buy.state, OrderState::Filled);
    assert_eq!(buy.avg_fill_price.map(|p| p.get()), Some(dec!(60000)));
    // The commission came from the stream: 0.01 × 60 000 × 0.00055.
    assert_eq!(buy.fee, dec!(0.33));
    assert_eq!(
        sim.counters().get("GET", "/fapi/v1/order"),
        0,
        "RESULT answers the fill; no query"
    );
    let p = venue.positions().await.unwrap();
    assert_eq!(
        (p[0].size.get(), p[0].leverage, p[0].margin_mode),
        (dec!(0.01), dec!(1), MarginMode::Cross)
    );
    assert_eq!(venue.account_value().await.unwrap(), dec!(99999.67));
    sim.set_price("BTCUSDT", dec!(59000));
    assert_eq!(venue.account_value().await.unwrap(), dec!(99989.67));

    let close = venue
        .place_order(&market(
            "b-close-1",
            "BTCUSDT",
            Side::Sell,
            dec!(0.01),
            true,
        ))
        .await
        .unwrap();
    assert_eq!(close.state, OrderState::Filled);
    let open = venue
        .place_order(&market(
            "b-open-1",
            "BTCUSDT",
            Side::Sell,
            dec!(0.02),
            false,
        ))
        .await
        .unwrap();
    assert_eq!(open.state, OrderState::Filled);
    assert_eq!(sim.position("BTCUSDT"), dec!(-0.02));
    let q = venue
        .order_by_client_id(&sym("BTCUSDT"), &id("b-open-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((q.state, q.filled_qty), (OrderState::Filled, dec!(0.02)));
    assert!(
        venue
            .order_by_client_id(&sym("BTCUSDT"), &id("never-sent"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        venue
            .tracker()
            .position(&sym("BTCUSDT"))
            .is_some_and(|p| p.size.get() == dec!(-0.02))
    );
    assert_no_double_orders(&sim);
}

#[tokio::test]
async fn a_repeated_client_id_returns_the_first_order() {
    let (sim, venue) = setup().await;
    let order = market("b-dup-1", "ETHUSDT", Side::Buy, dec!(0.5), false);
    let first = venue.place_order(&order).await.unwrap();
    let again = venue.place_order(&order).await.unwrap();
    assert_eq!(first.venue_order_id, again.venue_order_id);
    assert_eq!(sim.position("ETHUSDT"), dec!(0.5));
    assert_eq!(sim.client_id_submissions()["b-dup-1"], 2);
    assert_eq!(sim.orders().len(), 1);
}

#[tokio::test]
async fn refusals_carry_the_venue_code() {
    let (sim, venue) = setup().await;
    let e = venue
        .place_order(&market("b-ro-1", "BTCUSDT", Side::Sell, dec!(0.01), true))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Rejected, Some("-2022"))
    );
    // BTC minimum notional is 100 USDT: 0.001 × 60 000 = 60.
    let e = venue
        .place_order(&market("b-mn-1", "BTCUSDT", Side::Buy, dec!(0.001), false))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("-4164"));
    assert!(e.message.contains("minimum notional"), "{}", e.message);
    let e = venue
        .place_order(&market("b-im-1", "BTCUSDT", Side::Buy, dec!(2), false))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("-2019"));
    let before = sim.counters().get("POST", "/fapi/v1/order");
    let e = venue
        .place_order(&market("b-step-1", "SOLUSDT", Side::Buy, dec!(1.5), false))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("bad_qty"));
    assert_eq!(sim.counters().get("POST", "/fapi/v1/order"), before);
}

#[tokio::test]
async fn a_close_below_min_notional_goes_through_reduce_only() {
    let (sim, venue) = setup().await;
    venue
        .place_order(&market("b-c-1", "BTCUSDT", Side::Buy, dec!(0.002), false))
        .await
        .unwrap();
    sim.set_price("BTCUSDT", dec!(40000));
    // 0.002 × 40 000 = 80 USDT < 100: still closable.
    let close = venue
        .place_order(&market("b-c-2", "BTCUSDT", Side::Sell, dec!(0.002), true))
        .await
        .unwrap();
    assert_eq!(close.state, OrderState::Filled);
    assert_eq!(sim.position("BTCUSDT"), dec!(0));
}

#[tokio::test]
async fn leverage_and_margin_type() {
    let (sim, venue) = setup().await;
    venue.set_leverage(&sym("BTCUSDT"), dec!(5)).await.unwrap();
    venue.set_leverage(&sym("BTCUSDT"), dec!(5)).await.unwrap();
    assert_eq!(sim.leverage("BTCUSDT"), dec!(5));
    assert_eq!(
        venue
            .set_leverage(&sym("BTCUSDT"), dec!(2.5))
            .await
            .unwrap_err()
            .code
            .as_deref(),
        Some("bad_leverage")
    );
    assert_eq!(
        venue
            .set_leverage(&sym("BTCUSDT"), dec!(500))
            .await
            .unwrap_err()
            .code
            .as_deref(),
        Some("-4028")
    );
    venue
        .set_margin_mode(&sym("BTCUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    venue
        .set_margin_mode(&sym("BTCUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    venue
        .place_order(&market("b-lev-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    let p = venue.positions().await.unwrap();
    assert_eq!(
        (p[0].leverage, p[0].margin_mode),
        (dec!(5), MarginMode::Isolated)
    );
    // Per symbol, and refused with a position open.
    let e = venue
        .set_margin_mode(&sym("BTCUSDT"), MarginMode::Cross)
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("-4048"));
    venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
}

#[tokio::test]
async fn limit_orders_rest_fill_and_cancel() {
    let (sim, venue) = setup().await;
    let resting = venue
        .place_order(&limit(
            "b-lim-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.01),
            dec!(59000),
        ))
        .await
        .unwrap();
    assert_eq!(resting.state, OrderState::Acknowledged);
    assert_eq!(venue.open_orders(None).await.unwrap().len(), 1);
    assert_eq!(
        venue
            .cancel_order(&sym("BTCUSDT"), &id("b-lim-1"))
            .await
            .unwrap()
            .state,
        OrderState::Cancelled
    );
    assert_eq!(
        venue
            .cancel_order(&sym("BTCUSDT"), &id("b-lim-1"))
            .await
            .unwrap()
            .state,
        OrderState::Cancelled
    );
    assert!(
        venue
            .open_orders(Some(&sym("BTCUSDT")))
            .await
            .unwrap()
            .is_empty()
    );

    venue
        .place_order(&limit(
            "b-lim-2",
            "BTCUSDT",
            Side::Buy,
            dec!(0.01),
            dec!(59000),
        ))
        .await
        .unwrap();
    sim.set_price("BTCUSDT", dec!(58950));
    let filled = venue
        .tracker()
        .wait_for("b-lim-2", Duration::from_secs(2), |s| {
            s.state == OrderState::Filled
        })
        .await
        .unwrap();
    assert_eq!(filled.avg_fill_price.map(|p| p.get()), Some(dec!(59000)));
    assert_eq!(
        venue
            .cancel_order(&sym("BTCUSDT"), &id("nope"))
            .await
            .unwrap_err()
            .code
            .as_deref(),
        Some("-2011")
    );
}

#[tokio::test]
async fn wrong_keys_and_hedge_mode_are_refused_at_connect() {
    let sim = start(VenueId::Binance, SimOptions::new(VenueId::Binance)).await;
    let mut bad = config(&sim);
    bad.credentials = Some(Credentials::new(&sim.options().api_key, "not-the-secret"));
    let e = connect_binance(bad).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Auth, Some("-1022"))
    );
    assert!(!e.to_string().contains("not-the-secret"));
    let mut other = config(&sim);
    other.credentials = Some(Credentials::new("someone-else", "x"));
    assert_eq!(
        connect_binance(other).await.unwrap_err().code.as_deref(),
        Some("-2015")
    );
    sim.set_hedge_mode(true);
    let e = connect_binance(config(&sim)).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("hedge_mode"));
}

#[tokio::test]
async fn public_data_needs_no_keys() {
    let sim = start(VenueId::Binance, SimOptions::new(VenueId::Binance)).await;
    let venue = connect_binance(AdapterConfig::new(sim.base_url(), None))
        .await
        .unwrap();
    assert_eq!(
        venue.prices(&[sym("SOLUSDT")]).await.unwrap()[&sym("SOLUSDT")].get(),
        dec!(150)
    );
    let i = venue.instruments(&[sym("BTCUSDT")]).await.unwrap();
    assert_eq!(
        i[0].max_leverage,
        dec!(20),
        "without keys the brackets are unknown: a low cap"
    );
    assert_eq!(
        venue.positions().await.unwrap_err().kind,
        VenueErrorKind::Auth
    );
    let feed = tradeengine_venues::public_price_feed(
        tradeengine_venues::VenueId::Binance,
        &sim.base_url(),
        &[sym("ETHUSDT")],
    )
    .await
    .unwrap();
    assert_eq!(
        feed.price(&sym("ETHUSDT"), chrono::Utc::now())
            .map(|p| p.get()),
        Some(dec!(3000))
    );
}

#[tokio::test]
async fn the_stream_reconnects_and_keeps_delivering() {
    let (sim, venue) = setup().await;
    sim.faults().drop_streams();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    assert!(venue.stream_connects() >= 2);
    venue
        .place_order(&market("b-ws-1", "ETHUSDT", Side::Buy, dec!(0.1), false))
        .await
        .unwrap();
    let pushed = venue
        .tracker()
        .wait_for("b-ws-1", Duration::from_secs(2), |s| {
            s.state == OrderState::Filled
        })
        .await;
    assert!(pushed.is_some(), "the push arrived on the new connection");
}
