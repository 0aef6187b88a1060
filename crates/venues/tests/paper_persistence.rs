//! The paper account survives restarts and failed saves (`kill -9`: paper_kill9.rs).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use rust_decimal_macros::dec;
use tradeengine_model::{ManualClock, OrderState, Side};
use tradeengine_venues::paper::{
    MemoryStore, PaperConfig, PaperError, PaperStoreError, PaperVenue,
};
use tradeengine_venues::{Venue, VenueErrorKind};

#[tokio::test]
async fn a_reopened_venue_continues_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paper.json");
    let clock = Arc::new(ManualClock::new(t0()));
    let btc = sym("BTCUSDT");

    let venue = open_on_file(&path, clock.clone()).unwrap();
    venue.set_leverage(&btc, dec!(3)).await.unwrap();
    let filled = venue
        .place_order(&market("p1", "BTCUSDT", Side::Buy, dec!(0.050)))
        .await
        .unwrap();
    // 48,602.4 × 1.0002 = 48,612.1204800 → 48,612.2.
    assert_eq!(filled.avg_fill_price.map(|p| p.get()), Some(dec!(48612.2)));
    let resting = venue
        .place_order(&limit(
            "p2",
            "BTCUSDT",
            Side::Sell,
            dec!(0.020),
            dec!(49500),
        ))
        .await
        .unwrap();
    assert_eq!(resting.state, OrderState::Acknowledged);
    let positions = venue.positions().await.unwrap();
    let value = venue.account_value().await.unwrap();
    let pnl = venue.pnl().unwrap();
    let fills = venue.fills().unwrap();
    drop(venue);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the state file is private");
    }

    let venue = open_on_file(&path, clock.clone()).unwrap();
    let q = venue.order_by_client_id(&btc, &cid("p1")).await.unwrap();
    assert_eq!(q, Some(filled.clone()));
    assert_eq!(venue.positions().await.unwrap(), positions);
    assert_eq!(positions[0].leverage, dec!(3));
    assert_eq!(venue.account_value().await.unwrap(), value);
    assert_eq!(venue.pnl().unwrap(), pnl);
    assert_eq!(venue.fills().unwrap(), fills);
    assert_eq!(venue.open_orders(None).await.unwrap(), vec![resting]);
    // A retry after the restart is still idempotent.
    let again = venue
        .place_order(&market("p1", "BTCUSDT", Side::Buy, dec!(0.050)))
        .await
        .unwrap();
    assert_eq!(again, filled);
    assert_eq!(venue.fills().unwrap().len(), 1);
    // Venue order ids keep counting instead of restarting at 1.
    let s = venue
        .place_order(&market("p3", "BTCUSDT", Side::Buy, dec!(0.001)))
        .await
        .unwrap();
    assert_eq!(s.venue_order_id.as_deref(), Some("paper-3"));
}

#[tokio::test]
async fn a_second_venue_on_the_same_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paper.json");
    let clock = Arc::new(ManualClock::new(t0()));
    let _first = open_on_file(&path, clock.clone()).unwrap();
    let err = open_on_file(&path, clock).unwrap_err();
    assert!(
        matches!(err, PaperError::Store(PaperStoreError::Locked { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn the_state_is_saved_before_the_call_returns_and_a_failed_save_changes_nothing() {
    let r = rig(plain_config());
    let btc = sym("BTCUSDT");
    r.feed.set("BTCUSDT", dec!(60000));
    let saves = r.store.save_count();
    let s = r
        .venue
        .place_order(&market("s1", "BTCUSDT", Side::Buy, dec!(0.010)))
        .await
        .unwrap();
    assert_eq!(r.store.save_count(), saves + 1);
    let on_disk = r.store.saved().unwrap();
    assert_eq!(on_disk.orders[&cid("s1")].status, s);
    assert_eq!(on_disk, r.venue.snapshot());
    // Reads save nothing.
    r.venue.positions().await.unwrap();
    r.venue.account_value().await.unwrap();
    assert_eq!(r.store.save_count(), saves + 1);

    r.store.fail_saves(true);
    let before = r.venue.snapshot();
    let e = r
        .venue
        .place_order(&market("s2", "BTCUSDT", Side::Buy, dec!(0.010)))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (VenueErrorKind::Ambiguous, Some("state_save_failed"))
    );
    assert_eq!(
        r.venue.snapshot(),
        before,
        "memory keeps the last saved state"
    );
    // Settling the ambiguity by client id: the venue does not have it, so a resend is safe.
    assert_eq!(
        r.venue.order_by_client_id(&btc, &cid("s2")).await.unwrap(),
        None
    );
    r.store.fail_saves(false);
    let s2 = r
        .venue
        .place_order(&market("s2", "BTCUSDT", Side::Buy, dec!(0.010)))
        .await
        .unwrap();
    assert_eq!(s2.state, OrderState::Filled);
    assert_eq!(
        r.venue.positions().await.unwrap()[0].size.get(),
        dec!(0.020)
    );
}

#[tokio::test]
async fn a_state_the_configuration_cannot_continue_is_refused() {
    let store = MemoryStore::new();
    let feed = Arc::new(SetFeed::default());
    feed.set("SOLUSDT", dec!(150));
    let clock = Arc::new(ManualClock::new(t0()));
    let venue = PaperVenue::open(
        PaperConfig::default(),
        feed.clone(),
        clock.clone(),
        Box::new(store.clone()),
    )
    .unwrap();
    venue
        .place_order(&market("sol", "SOLUSDT", Side::Buy, dec!(1.0)))
        .await
        .unwrap();
    drop(venue);
    let mut config = PaperConfig::default();
    config
        .instruments
        .retain(|i| i.symbol.as_str() != "SOLUSDT");
    let err = PaperVenue::open(config, feed, clock, Box::new(store)).unwrap_err();
    assert!(
        err.to_string()
            .contains("SOLUSDT, which the configuration has no instrument for"),
        "{err}"
    );
}
