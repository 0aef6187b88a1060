//! The private stream: dropped by the venue, it reconnects (with a fresh token where the venue
//! hands one per connection) and keeps delivering fills and positions in base units; switched
//! off, fills are confirmed over REST instead.
//!
//! Hyperliquid's stream (`userFills`, `orderUpdates`) pushes no positions and feeds its own
//! book of fills rather than the shared order tracker these scenarios read, so its reconnect,
//! snapshot and REST fallback are checked in `hyperliquid_stream.rs` instead.

use std::time::Duration;

use rust_decimal_macros::dec;
use tradeengine_model::{OrderState, Side};

use crate::adapter::{Adapter, setup};
use crate::sim::{config, market, start, sym};
use crate::venues::Row;

async fn the_stream_reconnects_and_keeps_delivering(row: &Row) {
    let (sim, venue) = setup(row).await;
    assert_eq!(venue.stream_connects(), 1);
    sim.faults().drop_streams();
    // Wait (bounded) for the adapter to notice and connect again.
    for _ in 0..100 {
        if venue.stream_connects() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(venue.wait_stream_ready(Duration::from_secs(3)).await);
    assert!(
        venue.stream_connects() >= 2,
        "connects = {}",
        venue.stream_connects()
    );
    if let Some(path) = row.profile().stream_token {
        assert!(sim.counters().get("POST", path) >= 2, "a fresh token");
    }
    let filled = venue
        .place_order(&market("c-ws-1", "ETHUSDT", Side::Buy, dec!(0.1), false))
        .await
        .unwrap();
    assert_eq!(filled.state, OrderState::Filled);
    let tracker = venue.tracker().unwrap();
    let pushed = tracker
        .wait_for("c-ws-1", Duration::from_secs(2), |s| {
            s.state == OrderState::Filled
        })
        .await
        .expect("the push arrived on the new connection");
    assert_eq!(pushed.filled_qty, dec!(0.1), "in base units");
    // The streamed position is in base units too.
    for _ in 0..40 {
        if tracker.position(&sym("ETHUSDT")).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        tracker.position(&sym("ETHUSDT")).map(|p| p.size.get()),
        Some(dec!(0.1))
    );
}

cells!(the_stream_reconnects_and_keeps_delivering: bybit, binance, blofin, kucoin, mexc);

async fn without_the_stream_fills_are_confirmed_over_rest(row: &Row) {
    let sim = start(row.id, tradeengine_venue_sim::SimOptions::new(row.id)).await;
    let mut cfg = config(&sim);
    cfg.stream = tradeengine_venues::StreamSetting::Off;
    let venue = Adapter::connect(row.id, cfg).await.unwrap();
    let s = venue
        .place_order(&market("c-rest-1", "BTCUSDT", Side::Buy, dec!(0.01), false))
        .await
        .unwrap();
    assert_eq!((s.state, s.filled_qty), (OrderState::Filled, dec!(0.01)));
    assert_eq!(venue.stream_connects(), 0);
    for (method, path, n) in row.rest_confirm.unwrap() {
        assert_eq!(sim.counters().get(method, path), *n, "{method} {path}");
    }
    assert_eq!(sim.counters().stream_connections(), 0);
}

cells!(without_the_stream_fills_are_confirmed_over_rest: bybit, binance, blofin, kucoin, mexc);
