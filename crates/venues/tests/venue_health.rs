//! Every live adapter reports its connection for the metrics: the private stream's connections
//! and the unspent share of each rate-limit budget, which falls as requests are sent.

#![allow(clippy::unwrap_used)]

mod sim;

use sim::*;
use tradeengine_venue_sim::{SimOptions, VenueId};
use tradeengine_venues::connect::connect;

#[tokio::test]
async fn each_adapter_reports_stream_connections_and_spent_rate_limit_budget() {
    for venue in [
        VenueId::Bybit,
        VenueId::Binance,
        VenueId::Blofin,
        VenueId::Kucoin,
        VenueId::Mexc,
    ] {
        let sim = start(venue, SimOptions::new(venue)).await;
        let adapter = connect(venue, config(&sim)).await.unwrap();
        for _ in 0..3 {
            adapter.positions().await.unwrap();
            adapter.account_value().await.unwrap();
        }
        let health = adapter.health();
        let connects = health.stream_connects;
        assert!(
            connects.is_some_and(|n| n >= 1),
            "{venue:?}: the private stream runs, so its connections are known: {connects:?}"
        );
        assert!(
            !health.rate_limit_headroom.is_empty(),
            "{venue:?}: the adapter's budgets are listed"
        );
        assert!(
            health
                .rate_limit_headroom
                .iter()
                .all(|(_, free)| (0.0..=1.0).contains(free)),
            "{venue:?}: {:?}",
            health.rate_limit_headroom
        );
        assert!(
            health
                .rate_limit_headroom
                .iter()
                .any(|(_, free)| *free < 1.0),
            "{venue:?}: six private reads spent some budget: {:?}",
            health.rate_limit_headroom
        );
    }
}
