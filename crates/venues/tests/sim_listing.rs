//! Every simulator lists as many instruments as it is started with, in its venue's listing
//! shape: the adapter, which reads that shape strictly, finds each one with its rules and price.
#![allow(clippy::unwrap_used)]

mod sim;

use sim::*;
use tradeengine_model::Symbol;
use tradeengine_venue_sim::{SimOptions, VenueId};
use tradeengine_venues::connect::connect;

/// More than one page of most venues' default page size, fewer than Bybit's 1000 per page.
const SYNTHETIC: usize = 150;

#[tokio::test]
async fn each_simulator_lists_every_instrument_it_was_given() {
    for venue in VenueId::ALL {
        let options = SimOptions::new(venue).with_synthetic(SYNTHETIC);
        let listed: Vec<Symbol> = options.instruments.iter().map(|i| sym(&i.symbol)).collect();
        let sim = start(venue, options).await;
        let adapter = connect(venue, config(&sim)).await.unwrap();
        let instruments = adapter.instruments(&listed).await.unwrap();
        assert_eq!(instruments.len(), listed.len(), "{venue:?}");
        let last = sym(&format!("S{SYNTHETIC:03}USDT"));
        let found = instruments.iter().find(|i| i.symbol == last);
        assert!(found.is_some(), "{venue:?}: {last} not listed");
        let prices = adapter.prices(&listed).await.unwrap();
        assert_eq!(prices.len(), listed.len(), "{venue:?}");
        sim.shutdown();
    }
}
