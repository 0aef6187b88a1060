//! The fold of `orderUpdates` and `userFills` into complete statuses.

use rust_decimal_macros::dec;
use serde_json::json;

use super::*;

const CLOID: &str = "0x0000000000000000000000000000abcd";
const KEY: &str = "0000000000000000000000000000abcd";
const USER: &str = "0x00000000000000000000000000000000000000aa";

fn book() -> (StreamBook, Arc<OrderTracker>) {
    let tracker = Arc::new(OrderTracker::new());
    (StreamBook::new(tracker.clone()), tracker)
}

/// One `orderUpdates` row in the documented `WsOrder` shape.
fn update(status: &str, orig: &str, left: &str, cloid: Option<&str>) -> Value {
    let mut order = json!({
        "coin": "ETH", "side": "B", "limitPx": "3150.0", "sz": left, "oid": 77,
        "timestamp": 1_700_000_000_000_i64, "origSz": orig,
    });
    if let Some(c) = cloid {
        order["cloid"] = json!(c);
    }
    json!([{"order": order, "status": status, "statusTimestamp": 1_700_000_000_500_i64}])
}

/// One `userFills` push in the documented `WsUserFills` shape.
fn fills(snapshot: bool, rows: &[(u64, &str, &str, &str)]) -> Value {
    let fills: Vec<Value> = rows
        .iter()
        .map(|(tid, sz, px, fee)| {
            json!({
                "coin": "ETH", "px": px, "sz": sz, "side": "B", "time": 1_700_000_000_400_i64,
                "startPosition": "0.0", "dir": "Open Long", "closedPnl": "0.0",
                "hash": "0x00", "oid": 77, "crossed": true, "fee": fee, "tid": tid,
                "feeToken": "USDC",
            })
        })
        .collect();
    json!({"isSnapshot": snapshot, "user": USER, "fills": fills})
}

#[test]
fn a_filled_order_waits_for_its_fills_before_it_shows_filled() {
    let (book, tracker) = book();
    assert!(
        book.order_updates(update("open", "1.0", "1.0", Some(CLOID)))
            .is_empty()
    );
    assert_eq!(
        tracker.get(KEY).map(|s| s.state),
        Some(OrderState::Acknowledged)
    );
    // The exchange says filled before the fills came: not yet filled here.
    assert!(
        book.order_updates(update("filled", "1.0", "0.0", Some(CLOID)))
            .is_empty()
    );
    let s = tracker.get(KEY).unwrap_or_else(|| panic!("no status"));
    assert_eq!((s.state, s.filled_qty), (OrderState::Acknowledged, dec!(0)));
    // The first of two fills: partly filled, priced and charged.
    assert!(
        book.user_fills(fills(false, &[(1, "0.4", "3000", "0.6")]))
            .is_empty()
    );
    let s = tracker.get(KEY).unwrap_or_else(|| panic!("no status"));
    assert_eq!(
        (s.state, s.filled_qty, s.fee),
        (OrderState::PartiallyFilled, dec!(0.4), dec!(0.6))
    );
    assert!(
        book.user_fills(fills(false, &[(2, "0.6", "3010", "0.9")]))
            .is_empty()
    );
    let s = tracker.get(KEY).unwrap_or_else(|| panic!("no status"));
    assert_eq!(s.state, OrderState::Filled);
    assert_eq!(s.filled_qty, dec!(1.0));
    assert_eq!(s.fee, dec!(1.5));
    assert_eq!(s.avg_fill_price.map(|p| p.get()), Some(dec!(3006)));
    assert_eq!(s.venue_order_id.as_deref(), Some("77"));
    assert_eq!(s.symbol.as_str(), "ETHUSDT");
}

#[test]
fn fills_that_come_first_are_published_with_the_update() {
    let (book, tracker) = book();
    assert!(
        book.user_fills(fills(false, &[(5, "1.0", "3000", "1.2")]))
            .is_empty()
    );
    assert!(
        tracker.get(KEY).is_none(),
        "no cloid known yet: nothing to publish"
    );
    assert!(
        book.order_updates(update("filled", "1.0", "0.0", Some(CLOID)))
            .is_empty()
    );
    let s = tracker.get(KEY).unwrap_or_else(|| panic!("no status"));
    assert_eq!(
        (s.state, s.filled_qty, s.fee),
        (OrderState::Filled, dec!(1.0), dec!(1.2))
    );
}

#[test]
fn a_snapshot_repeating_fills_counts_each_once_and_brings_the_missed_ones() {
    let (book, tracker) = book();
    book.order_updates(update("open", "1.0", "1.0", Some(CLOID)));
    book.user_fills(fills(true, &[]));
    book.user_fills(fills(false, &[(1, "0.4", "3000", "0.6")]));
    // Reconnected: the snapshot repeats tid 1 and carries tid 2, missed while down.
    let errors = book.user_fills(fills(
        true,
        &[(1, "0.4", "3000", "0.6"), (2, "0.6", "3000", "0.9")],
    ));
    assert!(errors.is_empty(), "{errors:?}");
    let s = tracker.get(KEY).unwrap_or_else(|| panic!("no status"));
    assert_eq!(s.filled_qty, dec!(1.0));
    assert_eq!(s.fee, dec!(1.5));
    // The update saying filled was missed too; the fills show it all executed, but the state
    // stays what the last update said until the exchange says more (REST settles it).
    assert_eq!(s.state, OrderState::PartiallyFilled);
}

#[test]
fn a_cancel_after_a_partial_fill_shows_once_the_fill_is_in() {
    let (book, tracker) = book();
    book.order_updates(update("canceled", "1.0", "0.7", Some(CLOID)));
    let s = tracker.get(KEY).unwrap_or_else(|| panic!("no status"));
    assert_eq!(
        s.state,
        OrderState::Acknowledged,
        "0.3 executed, no fill yet"
    );
    book.user_fills(fills(false, &[(9, "0.3", "3000", "0.2")]));
    let s = tracker.get(KEY).unwrap_or_else(|| panic!("no status"));
    assert_eq!((s.state, s.filled_qty), (OrderState::Cancelled, dec!(0.3)));
}

#[test]
fn orders_without_cloid_are_skipped_and_bad_rows_reported_alone() {
    let (book, tracker) = book();
    assert!(
        book.order_updates(update("open", "1.0", "1.0", None))
            .is_empty()
    );
    assert_eq!(tracker.events(), 0);
    let mut rows = update("open", "1.0", "1.0", Some(CLOID));
    if let Some(list) = rows.as_array_mut() {
        list.insert(0, json!({"order": {"coin": "ETH"}, "status": "open"}));
    }
    let errors = book.order_updates(rows);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].message.contains(ORDER_UPDATES),
        "{}",
        errors[0].message
    );
    assert_eq!(
        tracker.get(KEY).map(|s| s.state),
        Some(OrderState::Acknowledged)
    );
    let errors = book.user_fills(json!({"user": USER}));
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("fills"), "{}", errors[0].message);
}

#[test]
fn a_rejected_order_is_rejected() {
    let (book, tracker) = book();
    book.order_updates(update("rejected", "1.0", "1.0", Some(CLOID)));
    assert_eq!(
        tracker.get(KEY).map(|s| s.state),
        Some(OrderState::Rejected)
    );
}

#[test]
fn tracker_keys_are_the_cloid_digits_in_lower_case() {
    assert_eq!(tracker_key("0x0000000000000000000000000000ABCD"), KEY);
    assert_eq!(tracker_key(KEY), KEY);
}

#[test]
fn only_the_newest_orders_are_remembered() {
    let (book, tracker) = book();
    let cloid = |n: usize| format!("0x{n:032x}");
    let update = |n: usize| {
        json!([{"order": {"coin": "ETH", "side": "B", "limitPx": "3000", "sz": "1", "oid": n,
            "timestamp": 1, "origSz": "1", "cloid": cloid(n)}, "status": "open",
            "statusTimestamp": 1}])
    };
    for n in 0..=CAPACITY {
        assert!(book.order_updates(update(n)).is_empty());
    }
    // Order 0 is forgotten, by the book and the tracker alike: its fill publishes nothing.
    let fill = json!({"user": USER, "fills": [{"coin": "ETH", "px": "3000", "sz": "1",
        "time": 2, "oid": 0, "fee": "1", "tid": 1}]});
    assert!(book.user_fills(fill).is_empty());
    assert!(tracker.get(&tracker_key(&cloid(0))).is_none());
    // The newest is still known, and its fill fills it.
    let last = CAPACITY as u64;
    let fill = json!({"user": USER, "fills": [{"coin": "ETH", "px": "3000", "sz": "1",
        "time": 2, "oid": last, "fee": "1", "tid": 2}]});
    assert!(book.user_fills(fill).is_empty());
    let s = tracker.get(&tracker_key(&cloid(CAPACITY)));
    assert_eq!(s.map(|s| s.filled_qty), Some(dec!(1)));
}
