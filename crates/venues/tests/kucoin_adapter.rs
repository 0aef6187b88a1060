//! What only KuCoin Futures has, against the KuCoin simulator: `XBTUSDTM` names and lots of
//! `multiplier`, the request pool size it reports, cross leverage changed on an open position,
//! and per-symbol margin mode with isolated leverage riding on the order. Everything every venue
//! does is the conformance suite (`tests/conformance/`, row `kucoin`).
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{MarginMode, OrderState, Side};
use tradeengine_venue_sim::{SimHandle, SimOptions, VenueId};
use tradeengine_venues::connect::connect_kucoin;
use tradeengine_venues::kucoin::KucoinVenue;
use tradeengine_venues::{Venue, VenueErrorKind};

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
async fn orders_go_in_lots_of_the_multiplier_and_the_pool_size_is_adopted() {
    let (sim, venue) = setup().await;
    let inst = venue
        .instruments(&[sym("BTCUSDT"), sym("SOLUSDT")])
        .await
        .unwrap();
    assert_eq!(
        (
            inst[0].venue_symbol.as_str(),
            inst[0].qty_step,
            inst[0].contract_size
        ),
        ("XBTUSDTM", dec!(1), dec!(0.001))
    );
    assert_eq!(
        (inst[1].venue_symbol.as_str(), inst[1].contract_size),
        ("SOLUSDTM", dec!(0.1))
    );
    // The pool size KuCoin reports is adopted.
    assert_eq!(venue.http().limits.amount("pool"), Some(2000));
    // 0.012 BTC = 12 lots of 0.001.
    let buy = venue
        .place_order(&market("t-buy-1", "BTCUSDT", Side::Buy, dec!(0.012), false))
        .await
        .unwrap();
    assert_eq!(
        (buy.state, buy.filled_qty),
        (OrderState::Filled, dec!(0.012))
    );
    assert_eq!(sim.position("BTCUSDT"), dec!(0.012));
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
