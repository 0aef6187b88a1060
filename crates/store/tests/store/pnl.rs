//! P&L attribution's table: events kept in order with their JSON intact, read per account and
//! paged by seq; fills read in the order they were stored, per account or all.

use rust_decimal_macros::dec;
use tradeengine_store::{MarkReading, PnlEventRecord};

use crate::fixtures::{account, at, coid, fill, plan, symbol};
use crate::harness::Backend;

pub async fn pnl_events_and_fills_are_read_in_order(b: &Backend) {
    let s = b.store.as_ref();
    let event = |acct: &str, n: i64| PnlEventRecord {
        seq: 0,
        account: account(acct),
        symbol: symbol("BTCUSDT"),
        at: at(n),
        event: serde_json::json!({"event": "rebalance", "target": format!("0.{n}"), "n": n}),
    };
    for (acct, n) in [("a", 1), ("b", 2), ("a", 3), ("a", 4)] {
        s.record_pnl_event(&event(acct, n)).await.unwrap();
    }
    let of_a = s.pnl_events(Some(&account("a")), 0, 10).await.unwrap();
    let ns: Vec<i64> = of_a
        .iter()
        .map(|e| e.event["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [1, 3, 4]);
    assert_eq!(of_a[0].event, event("a", 1).event);
    assert_eq!(of_a[0].at, at(1));
    // Paged by seq: after the first, at most one.
    let next = s
        .pnl_events(Some(&account("a")), of_a[0].seq, 1)
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].event["n"], 3);
    assert_eq!(s.pnl_events(None, 0, 10).await.unwrap().len(), 4);
    assert!(s.pnl_events(None, 0, -1).await.is_err());

    // Fills: stored order, not fill time.
    let late = fill("p1-0", dec!(1), dec!(100), 50);
    let early = fill("p2-0", dec!(2), dec!(101), 10);
    s.record_fill(&account("a"), &late).await.unwrap();
    s.record_fill(&account("b"), &fill("p3-0", dec!(3), dec!(102), 20))
        .await
        .unwrap();
    s.record_fill(&account("a"), &early).await.unwrap();
    let of_a = s.fills_in_order(Some(&account("a")), 0, 10).await.unwrap();
    assert_eq!(
        of_a.iter().map(|f| f.fill.clone()).collect::<Vec<_>>(),
        vec![late, early]
    );
    assert!(of_a.iter().all(|f| f.account == account("a")));
    assert!(of_a[0].seq < of_a[1].seq);
    let after = s.fills_in_order(None, of_a[0].seq, 10).await.unwrap();
    assert_eq!(after.len(), 2);
}

pub async fn mark_readings_keep_their_prices_exactly_in_order(b: &Backend) {
    let s = b.store.as_ref();
    let price = |x: rust_decimal::Decimal| tradeengine_model::Price::new(x).unwrap();
    let reading = |acct: &str, n: i64, btc: rust_decimal::Decimal| MarkReading {
        seq: 0,
        account: account(acct),
        at: at(n),
        prices: [
            (symbol("BTCUSDT"), price(btc)),
            (symbol("ETHUSDT"), price(dec!(3000.10))),
        ]
        .into(),
    };
    // Scale is kept: 100.50 stays 100.50, not 100.5 (a replay compares to the last decimal).
    let first = reading("a", 1, dec!(100.50));
    s.record_marks(&first).await.unwrap();
    s.record_marks(&reading("b", 2, dec!(101))).await.unwrap();
    s.record_marks(&reading("a", 3, dec!(99.9))).await.unwrap();
    let of_a = s.marks(Some(&account("a")), 0, 10).await.unwrap();
    assert_eq!(of_a.len(), 2);
    assert_eq!(of_a[0].prices, first.prices);
    assert_eq!(
        of_a[0].prices[&symbol("BTCUSDT")].get().to_string(),
        "100.50"
    );
    assert_eq!(of_a[0].at, at(1));
    assert_eq!(of_a[1].at, at(3));
    let next = s.marks(None, of_a[0].seq, 1).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].account, account("b"));
    assert!(s.marks(None, 0, -1).await.is_err());
}

pub async fn a_plan_and_its_attribution_are_stored_together_or_not_at_all(b: &Backend) {
    let s = b.store.as_ref();
    let event = |n: i64| PnlEventRecord {
        seq: 0,
        account: account("acct"),
        symbol: symbol("BTCUSDT"),
        at: at(n),
        event: serde_json::json!({"event": "rebalance", "n": n}),
    };
    s.record_plan_attributed(&plan("p1", "acct", 1), &event(1))
        .await
        .unwrap();
    assert!(s.order(&coid("p1-0")).await.unwrap().is_some());
    let stored = s.pnl_events(Some(&account("acct")), 0, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event, event(1).event);
    // The plan is refused (its id is taken): its attribution is not stored either.
    assert!(
        s.record_plan_attributed(&plan("p1", "acct", 2), &event(2))
            .await
            .is_err()
    );
    assert_eq!(s.pnl_events(None, 0, 10).await.unwrap().len(), 1);
}
