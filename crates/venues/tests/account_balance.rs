//! Free margin from every adapter's account read (sizing caps opening targets by it): each
//! simulator reports it in its venue's own field, and the adapter returns it beside the account
//! value — all of it before a position, and less the position's initial margin after one.
#![allow(clippy::unwrap_used)]

mod sim;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sim::*;
use tradeengine_model::Side;
use tradeengine_venue_sim::{SimOptions, VenueId};

#[tokio::test]
async fn every_adapter_reports_free_margin_less_the_initial_margin_in_use() {
    for venue in [
        VenueId::Bybit,
        VenueId::Binance,
        VenueId::Blofin,
        VenueId::Kucoin,
        VenueId::Mexc,
    ] {
        let sim = start(venue, SimOptions::new(venue)).await;
        let adapter = tradeengine_venues::connect(venue, config(&sim))
            .await
            .unwrap();
        let before = adapter.account_balance().await.unwrap();
        assert_eq!(before.value, dec!(100000), "{venue:?}");
        assert_eq!(before.available_margin, Some(dec!(100000)), "{venue:?}");
        // 0.5 BTC at 60,000 and leverage 1: 30,000 of initial margin.
        adapter
            .place_order(&market("ab-1", "BTCUSDT", Side::Buy, dec!(0.5), false))
            .await
            .unwrap();
        let after = adapter.account_balance().await.unwrap();
        let free = after.available_margin.unwrap();
        let expected = sim.equity() - dec!(30000);
        assert!(
            (free - expected).abs() < dec!(0.01),
            "{venue:?}: free {free}, expected {expected}"
        );
        assert_eq!(
            adapter.account_value().await.unwrap(),
            after.value,
            "{venue:?}"
        );
        assert!(after.value > free + dec!(29000), "{venue:?}");
        assert!(free > Decimal::ZERO, "{venue:?}");
    }
}
