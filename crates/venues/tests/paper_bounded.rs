//! The paper account stays bounded however long it trades, writes the size of each change, and
//! replays its journal to exactly the state it had in memory.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_model::{ManualClock, Side};
use tradeengine_venues::Venue;
use tradeengine_venues::paper::venue::COMPACT_EVERY;
use tradeengine_venues::paper::{JsonFileStore, PaperConfig, PaperVenue};

fn small_windows() -> PaperConfig {
    PaperConfig {
        recent_orders: 3,
        recent_fills: 2,
        ..plain_config()
    }
}

fn side(i: usize) -> Side {
    if i.is_multiple_of(2) {
        Side::Buy
    } else {
        Side::Sell
    }
}

#[tokio::test]
async fn finished_orders_and_fills_beyond_the_windows_are_forgotten_on_disk_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paper.json");
    let feed = Arc::new(SetFeed::default());
    feed.set("BTCUSDT", dec!(60000));
    let clock = Arc::new(ManualClock::new(t0()));
    let open = || {
        PaperVenue::open(
            small_windows(),
            feed.clone(),
            clock.clone(),
            Box::new(JsonFileStore::open(&path).unwrap()),
        )
        .unwrap()
    };
    let venue = open();
    let btc = sym("BTCUSDT");
    // A resting order stays whatever the window: only finished orders are forgotten.
    venue
        .place_order(&limit(
            "rest",
            "BTCUSDT",
            Side::Buy,
            dec!(0.001),
            dec!(50000),
        ))
        .await
        .unwrap();
    for i in 0..10 {
        let id = format!("m{i}");
        venue
            .place_order(&market(&id, "BTCUSDT", side(i), dec!(0.001)))
            .await
            .unwrap();
    }
    let state = venue.snapshot();
    assert_eq!(state.orders.len(), 4, "3 finished + 1 open");
    assert_eq!(state.fills.len(), 2);
    assert_eq!(venue.fills().unwrap()[1].client_order_id, cid("m9"));
    for (id, known) in [("m6", false), ("m7", true), ("m9", true), ("rest", true)] {
        let q = venue.order_by_client_id(&btc, &cid(id)).await.unwrap();
        assert_eq!(q.is_some(), known, "{id}");
    }
    // A retry inside the window is idempotent; the counters never restart.
    let again = venue
        .place_order(&market("m9", "BTCUSDT", side(9), dec!(0.001)))
        .await
        .unwrap();
    assert_eq!(again.venue_order_id.as_deref(), Some("paper-11"));
    drop(venue);

    let venue = open();
    assert_eq!(
        venue.snapshot(),
        state,
        "the journal replays to the state in memory"
    );
    assert_eq!(venue.open_orders(None).await.unwrap().len(), 1);
    assert_eq!(
        std::fs::metadata(dir.path().join("paper.json.journal"))
            .unwrap()
            .len(),
        0,
        "opening folds the journal into the snapshot"
    );
}

#[tokio::test]
async fn each_write_costs_the_change_not_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paper.json");
    let r = rig(plain_config());
    r.feed.set("BTCUSDT", dec!(60000));
    let venue = PaperVenue::open(
        plain_config(),
        r.feed.clone(),
        r.clock.clone(),
        Box::new(JsonFileStore::open(&path).unwrap()),
    )
    .unwrap();
    let journal = dir.path().join("paper.json.journal");
    let len = || std::fs::metadata(&journal).unwrap().len();
    let mut sizes = Vec::new();
    for i in 0..200 {
        let before = len();
        venue
            .place_order(&market(
                &format!("w{i:03}"),
                "BTCUSDT",
                side(i),
                dec!(0.001),
            ))
            .await
            .unwrap();
        sizes.push(len() - before);
    }
    // Every record holds one order, one fill and one position: under 2 KiB, and the 200th
    // costs what the first did (ids and numbers differ by a few bytes).
    assert!(sizes.iter().all(|s| *s > 0 && *s < 2048), "{sizes:?}");
    assert!(
        sizes[199].abs_diff(sizes[1]) < 64,
        "{} vs {}",
        sizes[199],
        sizes[1]
    );
}

#[tokio::test]
async fn the_journal_is_compacted_every_so_many_records() {
    let r = rig(small_windows());
    r.feed.set("BTCUSDT", dec!(60000));
    assert_eq!(r.store.compaction_count(), 1, "at open");
    for i in 0..COMPACT_EVERY + 5 {
        r.venue
            .place_order(&market(&format!("c{i}"), "BTCUSDT", side(i), dec!(0.001)))
            .await
            .unwrap();
    }
    assert_eq!(r.store.compaction_count(), 2);
    assert_eq!(r.store.saved().unwrap(), r.venue.snapshot());
}

/// One step of a random session.
#[derive(Debug, Clone)]
enum Step {
    Market(usize, bool, u32),
    Limit(usize, bool, u32, u32),
    Cancel(usize),
    Price(u32),
    Leverage(u32),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0usize..40, any::<bool>(), 1u32..30).prop_map(|(i, b, q)| Step::Market(i, b, q)),
        2 => (0usize..40, any::<bool>(), 1u32..30, 55_000u32..65_000)
            .prop_map(|(i, b, q, p)| Step::Limit(i, b, q, p)),
        1 => (0usize..40).prop_map(Step::Cancel),
        2 => (55_000u32..65_000).prop_map(Step::Price),
        1 => (1u32..5).prop_map(Step::Leverage),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever is accepted, refused or swept, the store's replay of the journal equals the
    /// venue's state after every call: the journal never misses or invents a change.
    #[test]
    fn the_replayed_journal_always_equals_the_live_state(
        steps in proptest::collection::vec(step(), 1..60)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let r = rig(PaperConfig {
                starting_balance: dec!(2000),
                recent_orders: 5,
                recent_fills: 4,
                ..plain_config()
            });
            r.feed.set("BTCUSDT", dec!(60000));
            let btc = sym("BTCUSDT");
            for s in steps {
                let sd = |buy: bool| if buy { Side::Buy } else { Side::Sell };
                let qty = |q: u32| Decimal::new(i64::from(q), 3);
                // Refusals are part of the test: they must leave no trace.
                let _ = match s {
                    Step::Market(i, b, q) => r
                        .venue
                        .place_order(&market(&format!("o{i}"), "BTCUSDT", sd(b), qty(q)))
                        .await
                        .map(|_| ()),
                    Step::Limit(i, b, q, p) => r
                        .venue
                        .place_order(&limit(&format!("o{i}"), "BTCUSDT", sd(b), qty(q), Decimal::from(p)))
                        .await
                        .map(|_| ()),
                    Step::Cancel(i) => r.venue.cancel_order(&btc, &cid(&format!("o{i}"))).await.map(|_| ()),
                    Step::Price(p) => {
                        r.feed.set("BTCUSDT", Decimal::from(p));
                        r.venue.tick().map(|_| ())
                    }
                    Step::Leverage(l) => r.venue.set_leverage(&btc, Decimal::from(l)).await,
                };
                let live = r.venue.snapshot();
                prop_assert_eq!(r.store.saved().unwrap(), live.clone());
                let finished = live.orders.values().filter(|o| o.status.state.is_terminal()).count();
                prop_assert!(finished <= 5 && live.fills.len() <= 4);
            }
            Ok(())
        })?;
    }
}
