//! The KuCoin Futures adapter against the KuCoin simulator: reads, lot sizing, `XBTUSDTM`
//! names, orders, per-order leverage and per-symbol margin mode, refusals and the private
//! stream. Faults are in `kucoin_faults.rs`.
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{MarginMode, OrderState, Side};
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId};
use tradeengine_venues::connect::connect_kucoin;
use tradeengine_venues::kucoin::KucoinVenue;
use tradeengine_venues::{AdapterConfig, Credentials, Venue, VenueErrorKind};

async fn setup() -> (SimHandle, KucoinVenue) {
    let sim = start(VenueId::Kucoin, SimOptions::new(VenueId::Kucoin)).await;
    let venue = connect_kucoin(config(&sim)).await.unwrap();
    assert!(
        venue.wait_stream_ready(Duration::from_secs(3)).await,
        "private stream not ready"
    );
    (sim, venue)
}

#[tokio::test]
async fn reads_account_contracts_with_multipliers_and_prices() {
    let (_sim, venue) = setup().await;
    assert_eq!(venue.account_value().await.unwrap(), dec!(100000));
    assert!(venue.positions().await.unwrap().is_empty());
    let inst = venue
        .instruments(&[sym("BTCUSDT"), sym("SOLUSDT")])
        .await
        .unwrap();
    assert_eq!(inst[0].venue_symbol, "XBTUSDTM");
    assert_eq!(
        (inst[0].qty_step, inst[0].contract_size),
        (dec!(1), dec!(0.001))
    );
    assert_eq!(inst[1].venue_symbol, "SOLUSDTM");
    assert_eq!(inst[1].contract_size, dec!(0.1));
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
    assert_eq!(prices.len(), 2);
    // The pool size KuCoin reports is adopted.
    assert_eq!(venue.http().limits.amount("pool"), Some(2000));
}

#[tokio::test]
async fn orders_are_sent_in_lots_and_reported_in_base_units() {
    let (sim, venue) = setup().await;
    // 0.012 BTC = 12 lots of 0.001.
    let buy = venue
        .place_order(&market("t-buy-1", "BTCUSDT", Side::Buy, dec!(0.012), false))
        .await
        .unwrap();
    assert_eq!(buy.state, OrderState::Filled);
    assert_eq!(buy.filled_qty, dec!(0.012));
    assert_eq!(buy.avg_fill_price.map(|p| p.get()), Some(dec!(60000)));
    assert_eq!(sim.counters().get("GET", "/api/v1/orders/byClientOid"), 0);
    assert_eq!(sim.position("BTCUSDT"), dec!(0.012));
    let p = venue.positions().await.unwrap();
    assert_eq!(p[0].size.get(), dec!(0.012));
    // A reduce-only close, then an open the other way.
    let close = venue
        .place_order(&market(
            "t-close-1",
            "BTCUSDT",
            Side::Sell,
            dec!(0.012),
            true,
        ))
        .await
        .unwrap();
    assert_eq!(close.state, OrderState::Filled);
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
    let q = venue
        .order_by_client_id(&sym("BTCUSDT"), &id("t-open-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((q.state, q.qty), (OrderState::Filled, dec!(0.02)));
    assert_eq!(q.avg_fill_price.map(|p| p.get()), Some(dec!(60000)));
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
async fn a_repeated_client_id_is_looked_up_not_placed_again() {
    let (sim, venue) = setup().await;
    let order = market("t-dup-1", "ETHUSDT", Side::Buy, dec!(0.5), false);
    let first = venue.place_order(&order).await.unwrap();
    let again = venue.place_order(&order).await.unwrap();
    assert_eq!(first.venue_order_id, again.venue_order_id);
    assert_eq!(sim.position("ETHUSDT"), dec!(0.5));
    // KuCoin documents no duplicate-id refusal: the second attempt never reached it.
    assert_eq!(sim.client_id_submissions()["t-dup-1"], 1);
}

#[tokio::test]
async fn refusals_carry_the_venue_code() {
    let (sim, venue) = setup().await;
    let e = venue
        .place_order(&market("t-ro-1", "BTCUSDT", Side::Sell, dec!(0.01), true))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Rejected, Some("300009"))
    );
    let e = venue
        .place_order(&market("t-im-1", "BTCUSDT", Side::Buy, dec!(2), false))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("300003"));
    // 0.0015 BTC = 1.5 lots: refused before leaving the process.
    let before = sim.counters().get("POST", "/api/v1/orders");
    let e = venue
        .place_order(&market(
            "t-step-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.0015),
            false,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("bad_qty"));
    assert_eq!(sim.counters().get("POST", "/api/v1/orders"), before);
}

#[tokio::test]
async fn cross_leverage_changes_on_an_open_position() {
    let (sim, venue) = setup().await;
    venue.set_leverage(&sym("BTCUSDT"), dec!(5)).await.unwrap();
    // Not modified is `true` on KuCoin: success.
    venue.set_leverage(&sym("BTCUSDT"), dec!(5)).await.unwrap();
    assert_eq!(sim.leverage("BTCUSDT"), dec!(5));
    venue
        .place_order(&market("t-lev-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    // The open position's leverage changes without a close.
    venue.set_leverage(&sym("BTCUSDT"), dec!(3)).await.unwrap();
    assert_eq!(sim.leverage("BTCUSDT"), dec!(3));
    assert_eq!(sim.position("BTCUSDT"), dec!(0.01));
    assert_eq!(sim.orders().len(), 1);
    let p = venue.positions().await.unwrap();
    assert_eq!(
        (p[0].leverage, p[0].margin_mode),
        (dec!(3), MarginMode::Cross)
    );
    let e = venue
        .set_leverage(&sym("BTCUSDT"), dec!(500))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("bad_leverage"));
}

#[tokio::test]
async fn margin_mode_is_per_symbol_and_isolated_leverage_rides_on_the_order() {
    let (sim, venue) = setup().await;
    venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    // Same mode again: compared first, nothing sent.
    venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    assert_eq!(
        sim.counters()
            .get("POST", "/api/v2/position/changeMarginMode"),
        1
    );
    // Isolated has no leverage setter: recorded, then sent with the order.
    venue.set_leverage(&sym("ETHUSDT"), dec!(4)).await.unwrap();
    assert_eq!(
        sim.counters()
            .get("POST", "/api/v2/changeCrossUserLeverage"),
        0
    );
    venue
        .place_order(&market("t-iso-1", "ETHUSDT", Side::Buy, dec!(1), false))
        .await
        .unwrap();
    assert_eq!(sim.leverage("ETHUSDT"), dec!(4));
    let p = venue.positions().await.unwrap();
    assert_eq!(
        (p[0].leverage, p[0].margin_mode),
        (dec!(4), MarginMode::Isolated)
    );
    // BTC stays cross: the mode is per symbol.
    venue
        .place_order(&market(
            "t-cross-1",
            "BTCUSDT",
            Side::Buy,
            dec!(0.001),
            false,
        ))
        .await
        .unwrap();
    let modes: Vec<MarginMode> = venue
        .positions()
        .await
        .unwrap()
        .iter()
        .map(|p| p.margin_mode)
        .collect();
    assert!(modes.contains(&MarginMode::Cross) && modes.contains(&MarginMode::Isolated));
    // With a position open, the mode change is refused.
    let e = venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Cross)
        .await
        .unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Rejected);
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
    assert_eq!((open.len(), open[0].qty), (1, dec!(0.01)));
    let cancelled = venue
        .cancel_order(&sym("BTCUSDT"), &id("t-lim-1"))
        .await
        .unwrap();
    assert_eq!(cancelled.state, OrderState::Cancelled);
    // Cancelling again (100004) reports what it became.
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
    assert_eq!(e.code.as_deref(), Some("100004"));
}

#[tokio::test]
async fn wrong_secret_or_passphrase_is_refused_at_connect() {
    let sim = start(VenueId::Kucoin, SimOptions::new(VenueId::Kucoin)).await;
    let o = sim.options().clone();
    let mut bad = config(&sim);
    bad.credentials =
        Some(Credentials::new(&o.api_key, "not-the-secret").with_passphrase(&o.passphrase));
    let e = connect_kucoin(bad).await.unwrap_err();
    // The passphrase is signed with the secret, so a wrong secret fails there first.
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Auth, Some("400004"))
    );
    assert!(!e.to_string().contains("not-the-secret"));
    let mut wrong_pass = config(&sim);
    wrong_pass.credentials =
        Some(Credentials::new(&o.api_key, &o.api_secret).with_passphrase("nope"));
    assert_eq!(
        connect_kucoin(wrong_pass)
            .await
            .unwrap_err()
            .code
            .as_deref(),
        Some("400004")
    );
    let mut unknown = config(&sim);
    unknown.credentials = Some(Credentials::new("someone-else", "x").with_passphrase("p"));
    assert_eq!(
        connect_kucoin(unknown).await.unwrap_err().code.as_deref(),
        Some("400003")
    );
}

#[tokio::test]
async fn public_data_needs_no_keys_and_trading_does() {
    let sim = start(VenueId::Kucoin, SimOptions::new(VenueId::Kucoin)).await;
    let venue = connect_kucoin(AdapterConfig::new(sim.base_url(), None))
        .await
        .unwrap();
    assert_eq!(
        venue.prices(&[sym("ETHUSDT")]).await.unwrap()[&sym("ETHUSDT")].get(),
        dec!(3000)
    );
    assert_eq!(
        venue.account_value().await.unwrap_err().kind,
        VenueErrorKind::Auth
    );
}

#[tokio::test]
async fn the_stream_reconnects_with_a_fresh_token_and_keeps_delivering() {
    let (sim, venue) = setup().await;
    assert_eq!(venue.stream_connects(), 1);
    sim.faults().drop_streams();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    assert!(venue.stream_connects() >= 2);
    assert!(sim.counters().get("POST", "/api/v1/bullet-private") >= 2);
    let filled = venue
        .place_order(&market("t-ws-1", "SOLUSDT", Side::Buy, dec!(1.5), false))
        .await
        .unwrap();
    assert_eq!(filled.state, OrderState::Filled);
    let pushed = venue.tracker().get("t-ws-1").unwrap();
    assert_eq!(pushed.filled_qty, dec!(1.5), "15 lots of 0.1 SOL");
    assert_eq!(pushed.avg_fill_price.map(|p| p.get()), Some(dec!(150)));
}
