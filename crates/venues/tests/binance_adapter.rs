//! What only Binance USDⓈ-M has, against the Binance simulator: leverage brackets (read with
//! keys, a low cap without) and whole-number leverage with its own refusal codes, and the
//! margin type per symbol. Everything every venue does is the conformance suite
//! (`tests/conformance/`, row `binance`).
#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::{MarginMode, Side};
use tradeengine_venue_sim::{SimOptions, VenueId};
use tradeengine_venues::connect::connect_binance;
use tradeengine_venues::{AdapterConfig, Venue};

#[tokio::test]
async fn leverage_brackets_whole_leverage_and_margin_type_per_symbol() {
    let sim = start(VenueId::Binance, SimOptions::new(VenueId::Binance)).await;
    let venue = connect_binance(config(&sim)).await.unwrap();
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    // The brackets the key can read cap leverage at the venue's own 125.
    let inst = venue.instruments(&[sym("BTCUSDT")]).await.unwrap();
    assert_eq!(inst[0].max_leverage, dec!(125));
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
        .place_order(&market("b-lev-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    // Per symbol: with BTC's position open, ETH's margin type still changes.
    venue
        .set_margin_mode(&sym("ETHUSDT"), MarginMode::Isolated)
        .await
        .unwrap();
    assert_eq!(
        venue
            .set_margin_mode(&sym("BTCUSDT"), MarginMode::Cross)
            .await
            .unwrap_err()
            .code
            .as_deref(),
        Some("-4048")
    );

    let public = connect_binance(AdapterConfig::new(sim.base_url(), None))
        .await
        .unwrap();
    let i = public.instruments(&[sym("BTCUSDT")]).await.unwrap();
    assert_eq!(
        i[0].max_leverage,
        dec!(20),
        "without keys the brackets are unknown: a low cap"
    );
}

/// Without the user stream (off, or down), a filled order's commission comes from its trades
/// (`GET /fapi/v1/userTrades`): it was reported as 0 and the books kept it.
#[tokio::test]
async fn without_the_stream_the_fee_comes_from_the_orders_trades() {
    let sim = start(VenueId::Binance, SimOptions::new(VenueId::Binance)).await;
    let venue = connect_binance(AdapterConfig {
        stream: tradeengine_venues::StreamSetting::Off,
        ..config(&sim)
    })
    .await
    .unwrap();
    let buy = venue
        .place_order(&market("b-fee-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    // 0.01 BTC at 60,000, taker 0.055 %.
    assert_eq!(buy.fee, dec!(0.33));
    assert_eq!(sim.counters().get("GET", "/fapi/v1/userTrades"), 1);
    let again = venue
        .order_by_client_id(&sym("BTCUSDT"), &buy.client_order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.fee, dec!(0.33));
}
