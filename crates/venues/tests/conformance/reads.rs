//! Reads: account value, positions, instruments (each venue's units and rounding checked
//! against the simulator's own rules), prices in one request, instruments cached; and public
//! data without keys while trading needs them.
//!
//! Hyperliquid answers every read on `/info`, so its request counts are not comparable: its
//! cells check the values, and the counts are skipped (`prices_read`/`instruments_read` None);
//! it lists no tick (`tick_listed`).

use std::time::Duration;

use rust_decimal_macros::dec;
use tradeengine_venue_sim::SimOptions;
use tradeengine_venues::{AdapterConfig, VenueErrorKind};

use crate::adapter::{Adapter, setup};
use crate::sim::{start, sym};
use crate::venues::Row;

async fn reads_account_instruments_and_prices(row: &Row) {
    let (sim, venue) = setup(row).await;
    assert_eq!(venue.account_value().await.unwrap(), dec!(100000));
    assert!(venue.positions().await.unwrap().is_empty());
    let symbols = [sym("BTCUSDT"), sym("ETHUSDT"), sym("SOLUSDT")];
    let inst = venue.instruments(&symbols).await.unwrap();
    assert_eq!(inst.len(), 3);
    let (venue_symbol, contract_size, min_notional) = row.btc;
    assert_eq!(inst[0].venue_symbol, venue_symbol);
    assert_eq!(inst[0].contract_size, contract_size);
    assert_eq!(inst[0].min_notional, min_notional);
    // Rounding: each venue's step, in its own units, is the simulator's base-unit step.
    for (i, s) in inst.iter().zip(&symbols) {
        let rules = sim
            .options()
            .instruments
            .iter()
            .find(|r| r.symbol == s.as_str())
            .unwrap();
        assert_eq!(i.symbol, *s);
        assert_eq!(i.qty_step * i.contract_size, rules.qty_step, "{s} step");
        assert_eq!(i.min_qty * i.contract_size, rules.min_qty, "{s} minimum");
        if row.tick_listed {
            assert_eq!(i.tick_size, rules.tick_size, "{s} tick");
        }
    }
    let err = venue.instruments(&[sym("NOPEUSDT")]).await.unwrap_err();
    assert_eq!(err.kind, VenueErrorKind::Rejected);
    let before = row.prices_read.map(|path| sim.counters().get("GET", path));
    let prices = venue.prices(&symbols).await.unwrap();
    assert_eq!(prices.len(), 3);
    assert_eq!(prices[&sym("BTCUSDT")].get(), dec!(60000));
    assert_eq!(prices[&sym("ETHUSDT")].get(), dec!(3000));
    if let (Some(path), Some(before)) = (row.prices_read, before) {
        assert_eq!(
            sim.counters().get("GET", path),
            before + 1,
            "all prices in one request"
        );
    }
    if let Some(path) = row.instruments_read {
        let before = sim.counters().get("GET", path);
        venue.instruments(&[sym("BTCUSDT")]).await.unwrap();
        assert_eq!(sim.counters().get("GET", path), before, "cached");
    }
}

cells!(reads_account_instruments_and_prices: bybit, binance, blofin, kucoin, mexc, hyperliquid);

async fn public_data_needs_no_keys_and_trading_does(row: &Row) {
    let sim = start(row.id, SimOptions::new(row.id)).await;
    let venue = Adapter::connect(row.id, AdapterConfig::new(sim.base_url(), None))
        .await
        .unwrap();
    assert_eq!(
        venue.prices(&[sym("BTCUSDT")]).await.unwrap()[&sym("BTCUSDT")].get(),
        dec!(60000)
    );
    let eth = venue.instruments(&[sym("ETHUSDT")]).await.unwrap();
    assert_eq!(eth[0].symbol, sym("ETHUSDT"));
    let e = venue.account_value().await.unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Auth);
    let e = venue.positions().await.unwrap_err();
    assert_eq!(e.kind, VenueErrorKind::Auth);

    let feed = tradeengine_venues::connect::public_price_feed_every(
        row.id,
        &sim.base_url(),
        &[sym("BTCUSDT"), sym("SOLUSDT")],
        Duration::from_millis(100),
    )
    .await
    .unwrap();
    let now = chrono::Utc::now();
    assert_eq!(
        feed.price(&sym("BTCUSDT"), now).map(|p| p.get()),
        Some(dec!(60000))
    );
    sim.set_price("BTCUSDT", dec!(60500));
    // The feed polls every 100 ms: wait (bounded) for the new price.
    let mut seen = None;
    for _ in 0..40 {
        seen = feed.price(&sym("BTCUSDT"), now).map(|p| p.get());
        if seen == Some(dec!(60500)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, Some(dec!(60500)));
    assert_eq!(feed.price(&sym("ETHUSDT"), now), None, "not asked for");
}

cells!(public_data_needs_no_keys_and_trading_does: bybit, binance, blofin, kucoin, mexc, hyperliquid);
