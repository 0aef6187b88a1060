//! What only BloFin has, against the BloFin simulator: client ids carried without dashes (and
//! ids it could not carry unambiguously refused), contract sizes with fractional lots, and the
//! account-wide margin mode compared before anything is sent. Everything every venue does is the
//! conformance suite (`tests/conformance/`, row `blofin`).
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{MarginMode, OrderState, Side};
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId};
use tradeengine_venues::Venue;
use tradeengine_venues::blofin::BlofinVenue;
use tradeengine_venues::connect::connect_blofin;

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
async fn orders_go_in_fractional_contracts_under_ids_without_dashes() {
    let (sim, venue) = setup().await;
    let inst = venue.instruments(&[sym("BTCUSDT")]).await.unwrap();
    // BTC-USDT: lots of 0.1 contract, each contract 0.001 BTC.
    assert_eq!((inst[0].qty_step, inst[0].min_qty), (dec!(0.1), dec!(0.1)));
    assert_eq!(inst[0].max_market_qty, Some(dec!(100000)));
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
    assert_eq!(sim.position("BTCUSDT"), dec!(0.0123));
    // On the wire the id has no dash (BloFin takes letters, digits and underscores).
    assert_eq!(sim.orders()[0].client_id, "t_buy_1");
    // An id BloFin could not carry unambiguously is refused before it leaves the process.
    let before = sim.counters().get("POST", "/api/v1/trade/order");
    let e = venue
        .place_order(&market("t_under", "BTCUSDT", Side::Buy, dec!(0.001), false))
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("bad_client_id"));
    assert_eq!(sim.counters().get("POST", "/api/v1/trade/order"), before);
    assert_eq!(sim.orders().len(), 1);
}

#[tokio::test]
async fn the_account_wide_margin_mode_is_compared_before_it_is_sent() {
    let (sim, venue) = setup().await;
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
    // Set for one symbol, it is the account's: BTC trades isolated too.
    venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    venue
        .place_order(&market("t-lev-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    let p = venue.positions().await.unwrap();
    assert_eq!(p[0].margin_mode, MarginMode::Isolated);
    // With any position open, the account-wide mode does not change.
    let e = venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Cross)
        .await
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("110019"));
}
