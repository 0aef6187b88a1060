//! Paper venue orders: idempotent client ids, resting limit orders, cancels.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rust_decimal_macros::dec;
use tradeengine_model::{OrderState, Side};
use tradeengine_venues::Venue;

#[tokio::test]
async fn the_same_client_id_twice_fills_once() {
    let r = rig(plain_config());
    r.feed.set("BTCUSDT", dec!(60000));
    let order = market("plan7-leg0", "BTCUSDT", Side::Buy, dec!(0.010));
    let first = r.venue.place_order(&order).await.unwrap();
    // The price moved; a retry must not fill again, nor at the new price.
    r.feed.set("BTCUSDT", dec!(61000));
    r.clock.advance(chrono::TimeDelta::seconds(5));
    let again = r.venue.place_order(&order).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(r.venue.fills().unwrap().len(), 1);
    assert_eq!(
        r.venue.positions().await.unwrap()[0].size.get(),
        dec!(0.010)
    );
    // The same id for a different order is a bug, not a retry.
    let other = market("plan7-leg0", "BTCUSDT", Side::Sell, dec!(0.010));
    let e = r.venue.place_order(&other).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("duplicate_client_order_id"));
    assert!(e.message.contains("buy 0.010 BTCUSDT filled"), "{e}");
    // Query by client id returns it; under another symbol it is unknown.
    let q = r
        .venue
        .order_by_client_id(&sym("BTCUSDT"), &cid("plan7-leg0"))
        .await;
    assert_eq!(q.unwrap(), Some(first));
    let q = r
        .venue
        .order_by_client_id(&sym("ETHUSDT"), &cid("plan7-leg0"))
        .await;
    assert_eq!(q.unwrap(), None);
}

#[tokio::test]
async fn limit_orders_rest_until_the_price_crosses() {
    let r = rig(plain_config()); // maker 0.02 %
    let btc = sym("BTCUSDT");
    r.feed.set("BTCUSDT", dec!(60000));
    let buy = limit("l1", "BTCUSDT", Side::Buy, dec!(0.010), dec!(59000));
    let s = r.venue.place_order(&buy).await.unwrap();
    assert_eq!((s.state, s.filled_qty), (OrderState::Acknowledged, dec!(0)));
    assert_eq!(
        r.venue.open_orders(Some(&btc)).await.unwrap(),
        vec![s.clone()]
    );
    assert!(
        r.venue
            .open_orders(Some(&sym("ETHUSDT")))
            .await
            .unwrap()
            .is_empty()
    );
    // Not crossed yet.
    r.feed.set("BTCUSDT", dec!(59000.1));
    assert_eq!(r.venue.tick().unwrap(), 0);
    // Gaps through the limit: fills at the limit price with the maker fee
    // 0.010 × 59,000 × 0.0002 = 0.118.
    r.feed.set("BTCUSDT", dec!(58500));
    r.clock.advance(chrono::TimeDelta::seconds(1));
    assert!(r.venue.open_orders(None).await.unwrap().is_empty());
    let done = r
        .venue
        .order_by_client_id(&btc, &cid("l1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.state, OrderState::Filled);
    assert_eq!(done.avg_fill_price.map(|p| p.get()), Some(dec!(59000)));
    assert_eq!(done.fee, dec!(0.118));
    assert_eq!(done.updated_at, t0() + chrono::TimeDelta::seconds(1));
    let p = &r.venue.positions().await.unwrap()[0];
    assert_eq!(
        (p.size.get(), p.entry_price.map(|e| e.get())),
        (dec!(0.010), Some(dec!(59000)))
    );
    // Placing it again is still idempotent and reports the fill.
    assert_eq!(r.venue.place_order(&buy).await.unwrap(), done);
}

#[tokio::test]
async fn a_marketable_limit_fills_as_taker_but_never_beyond_its_limit() {
    let r = rig(tradeengine_venues::paper::PaperConfig {
        slippage_bps: dec!(10),
        ..plain_config()
    });
    r.feed.set("BTCUSDT", dec!(60000));
    // Taker price 60,000 × 1.001 = 60,060 is under the 60,100 limit: fills at 60,060.
    let s = r
        .venue
        .place_order(&limit("x1", "BTCUSDT", Side::Buy, dec!(0.010), dec!(60100)))
        .await
        .unwrap();
    assert_eq!(s.avg_fill_price.map(|p| p.get()), Some(dec!(60060)));
    // Limit 60,030 at the same mark: capped at the limit. Taker fee 0.010 × 60,030 × 0.0005.
    let s = r
        .venue
        .place_order(&limit("x2", "BTCUSDT", Side::Buy, dec!(0.010), dec!(60030)))
        .await
        .unwrap();
    assert_eq!(s.avg_fill_price.map(|p| p.get()), Some(dec!(60030)));
    assert_eq!(s.fee, dec!(0.30015));
    // Sell side: taker 59,940, limit 59,950 → 59,950.
    let s = r
        .venue
        .place_order(&limit(
            "x3",
            "BTCUSDT",
            Side::Sell,
            dec!(0.010),
            dec!(59950),
        ))
        .await
        .unwrap();
    assert_eq!(s.avg_fill_price.map(|p| p.get()), Some(dec!(59950)));
    // Off-tick limit prices are refused.
    let bad = limit("x4", "BTCUSDT", Side::Sell, dec!(0.010), dec!(59950.05));
    assert_eq!(code(r.venue.place_order(&bad).await), "bad_price");
}

#[tokio::test]
async fn cancel_is_idempotent_and_unknown_ids_are_named() {
    let r = rig(plain_config());
    let btc = sym("BTCUSDT");
    r.feed.set("BTCUSDT", dec!(60000));
    r.venue
        .place_order(&limit(
            "c1",
            "BTCUSDT",
            Side::Sell,
            dec!(0.010),
            dec!(65000),
        ))
        .await
        .unwrap();
    let c = r.venue.cancel_order(&btc, &cid("c1")).await.unwrap();
    assert_eq!(c.state, OrderState::Cancelled);
    assert_eq!(r.venue.cancel_order(&btc, &cid("c1")).await.unwrap(), c);
    // A cancelled order does not fill when the price gets there.
    r.feed.set("BTCUSDT", dec!(66000));
    assert_eq!(r.venue.tick().unwrap(), 0);
    assert!(r.venue.positions().await.unwrap().is_empty());
    let e = r.venue.cancel_order(&btc, &cid("nope")).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("order_not_found"));
    assert!(e.message.contains("nope"), "{e}");
}

#[tokio::test]
async fn a_resting_reduce_only_order_is_cancelled_once_it_would_grow_the_position() {
    let r = rig(plain_config());
    let btc = sym("BTCUSDT");
    r.feed.set("BTCUSDT", dec!(60000));
    r.venue
        .place_order(&market("o1", "BTCUSDT", Side::Buy, dec!(0.010)))
        .await
        .unwrap();
    let tp = reduce_only(limit("tp", "BTCUSDT", Side::Sell, dec!(0.010), dec!(62000)));
    r.venue.place_order(&tp).await.unwrap();
    // The position is closed by hand first, so the take-profit would open a short.
    r.venue
        .place_order(&market("o2", "BTCUSDT", Side::Sell, dec!(0.010)))
        .await
        .unwrap();
    r.feed.set("BTCUSDT", dec!(62500));
    assert_eq!(r.venue.tick().unwrap(), 1);
    let s = r
        .venue
        .order_by_client_id(&btc, &cid("tp"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.state, OrderState::Cancelled);
    let note = r.venue.snapshot().orders[&cid("tp")].note.clone().unwrap();
    assert!(note.contains("no position"), "{note}");
    assert!(r.venue.positions().await.unwrap().is_empty());
}

#[tokio::test]
async fn resting_orders_that_could_never_fit_the_margin_are_refused_up_front() {
    let r = rig(tradeengine_venues::paper::PaperConfig {
        starting_balance: dec!(100),
        ..plain_config()
    });
    r.feed.set("BTCUSDT", dec!(60000));
    // 0.010 at 59,000 = 590 USDT margin at 1× > 100.
    let big = limit("big", "BTCUSDT", Side::Buy, dec!(0.010), dec!(59000));
    assert_eq!(code(r.venue.place_order(&big).await), "insufficient_margin");
    assert!(r.venue.open_orders(None).await.unwrap().is_empty());
}
