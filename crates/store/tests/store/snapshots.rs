use rust_decimal_macros::dec;
use tradeengine_model::{MarginMode, Position, Quantity};
use tradeengine_store::{AuditKind, CycleEnd, EquitySnapshot, StoreError, TargetRecord};

use crate::fixtures::{account, at, price, symbol};
use crate::harness::Backend;

fn target(acct: &str, sym: &str, depth: rust_decimal::Decimal, ms: i64) -> TargetRecord {
    TargetRecord {
        account: account(acct),
        symbol: symbol(sym),
        depth,
        leverage: dec!(2.0),
        quantity: dec!(0.0150),
        decided_at: at(ms),
    }
}

pub async fn latest_target_per_symbol(b: &Backend) {
    let s = b.store.as_ref();
    let old_btc = target("acct", "BTCUSDT", dec!(0.5), 1);
    let eth = target("acct", "ETHUSDT", dec!(-0.25), 2);
    let new_btc = target("acct", "BTCUSDT", dec!(0.75), 3);
    let other = target("other", "BTCUSDT", dec!(1), 4);
    for t in [&old_btc, &eth, &new_btc, &other] {
        s.record_target(t).await.unwrap();
    }
    assert_eq!(
        s.targets(&account("acct")).await.unwrap(),
        vec![new_btc.clone(), eth]
    );
    assert_eq!(s.targets(&account("other")).await.unwrap(), vec![other]);
    assert!(s.targets(&account("none")).await.unwrap().is_empty());
    // History is kept, and each change is an event.
    assert_eq!(b.raw.count("targets").await, 4);
    let events = s.audit_events(0, 10).await.unwrap();
    assert_eq!(events.len(), 4);
    assert!(events.iter().all(|e| e.kind == AuditKind::TargetChanged));
    assert_eq!(events[2].payload["depth"], "0.75");
}

fn position(sym: &str, size: rust_decimal::Decimal) -> Position {
    Position {
        symbol: symbol(sym),
        size: Quantity::new(size),
        entry_price: Some(price(dec!(100.25))),
        leverage: dec!(5),
        margin_mode: MarginMode::Isolated,
    }
}

pub async fn positions_replace_the_previous_snapshot(b: &Backend) {
    let s = b.store.as_ref();
    let a = account("acct");
    let first = vec![
        position("BTCUSDT", dec!(0.010)),
        position("ETHUSDT", dec!(-1.5)),
    ];
    s.record_positions(&a, &first, at(1)).await.unwrap();
    s.record_positions(&account("zzz"), &[position("BTCUSDT", dec!(2))], at(1))
        .await
        .unwrap();

    let mut flat = Position::flat(symbol("BTCUSDT"));
    flat.leverage = dec!(3);
    s.record_positions(&a, std::slice::from_ref(&flat), at(2))
        .await
        .unwrap();
    assert_eq!(
        s.positions(Some(&a)).await.unwrap(),
        vec![(a.clone(), flat.clone())]
    );
    assert_eq!(
        s.positions(None).await.unwrap(),
        vec![
            (a.clone(), flat),
            (account("zzz"), position("BTCUSDT", dec!(2)))
        ]
    );

    let err = s
        .record_positions(
            &a,
            &[position("BTCUSDT", dec!(1)), position("BTCUSDT", dec!(2))],
            at(3),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid { ref reason, .. } if reason.contains("twice")),
        "{err}"
    );
    assert_eq!(s.positions(Some(&a)).await.unwrap().len(), 1);

    // An empty read means the account is flat everywhere.
    s.record_positions(&a, &[], at(4)).await.unwrap();
    assert!(s.positions(Some(&a)).await.unwrap().is_empty());

    let events = s.audit_events(0, 10).await.unwrap();
    assert_eq!(events.len(), 4);
    assert!(events.iter().all(|e| e.kind == AuditKind::Reconciled));
    assert_eq!(events[0].payload["positions"][1]["size"], "-1.5");
}

pub async fn equity_since_a_time(b: &Backend) {
    let s = b.store.as_ref();
    let point = |acct: &str, v, ms| EquitySnapshot {
        account: account(acct),
        value: v,
        unrealised_pnl: dec!(-1.25),
        at: at(ms),
    };
    for p in [
        point("acct", dec!(1000.00), 1),
        point("acct", dec!(1010.50), 3),
        point("other", dec!(5), 2),
        point("acct", dec!(990), 2),
    ] {
        s.record_equity(&p).await.unwrap();
    }
    assert_eq!(
        s.equity(&account("acct"), at(2)).await.unwrap(),
        vec![point("acct", dec!(990), 2), point("acct", dec!(1010.50), 3)]
    );
    assert_eq!(s.equity(&account("acct"), at(0)).await.unwrap().len(), 3);
    assert_eq!(
        s.equity(&account("acct"), at(1)).await.unwrap()[0]
            .value
            .to_string(),
        "1000.00"
    );
    // Measurements, not decisions: no audit events.
    assert!(s.audit_events(0, 10).await.unwrap().is_empty());
}

/// A cycle's closing write is one transaction: targets, the snapshot and the equity point
/// together, the targets' events before the snapshot's; and nothing of it when one part is
/// refused.
pub async fn a_cycle_end_is_written_whole_or_not_at_all(b: &Backend) {
    let s = b.store.as_ref();
    let a = account("acct");
    let targets = [
        target("acct", "BTCUSDT", dec!(0.5), 5),
        target("acct", "ETHUSDT", dec!(-0.25), 5),
    ];
    let positions = [position("BTCUSDT", dec!(0.010))];
    let equity = EquitySnapshot {
        account: a.clone(),
        value: dec!(1000.00),
        unrealised_pnl: dec!(1.5),
        at: at(5),
    };
    let reading = tradeengine_store::MarkReading {
        seq: 0,
        account: a.clone(),
        at: at(5),
        prices: [(symbol("BTCUSDT"), price(dec!(100.25)))].into(),
    };
    let seen = [tradeengine_store::SeenSignal {
        source: tradeengine_model::SourceId::new("tv").unwrap(),
        symbol: symbol("BTCUSDT"),
        signal: tradeengine_model::SignalId::new("tv-7").unwrap(),
    }];
    let fill_prices = [tradeengine_store::FillPrice {
        symbol: symbol("BTCUSDT"),
        price: price(dec!(100.5)),
    }];
    s.record_cycle_end(&CycleEnd {
        account: &a,
        targets: &targets,
        positions: Some(&positions),
        equity: &equity,
        marks: Some(&reading),
        seen: &seen,
        fill_prices: &fill_prices,
    })
    .await
    .unwrap();
    let marks = s.marks(Some(&a), 0, 10).await.unwrap();
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0].prices, reading.prices);
    // The signals the cycle blended come back with its reading; a reading stored on its own
    // has none recorded (NULL), which is not "none seen" (an empty list).
    let with = s.marks_with_signals(Some(&a), 0, 10).await.unwrap();
    assert_eq!(with[0].seen.as_deref(), Some(&seen[..]));
    assert_eq!(with[0].fill_prices, fill_prices);
    assert_eq!(
        s.targets(&a).await.unwrap(),
        vec![targets[0].clone(), targets[1].clone()]
    );
    assert_eq!(
        s.positions(Some(&a)).await.unwrap(),
        vec![(a.clone(), positions[0].clone())]
    );
    assert_eq!(s.equity(&a, at(0)).await.unwrap(), vec![equity.clone()]);
    let kinds: Vec<AuditKind> = s
        .audit_events(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            AuditKind::TargetChanged,
            AuditKind::TargetChanged,
            AuditKind::Reconciled
        ]
    );

    // A snapshot listing a symbol twice is refused: the targets and the equity point of the
    // same cycle are not written either.
    let later = EquitySnapshot {
        at: at(6),
        ..equity.clone()
    };
    let err = s
        .record_cycle_end(&CycleEnd {
            account: &a,
            targets: &[target("acct", "BTCUSDT", dec!(0.75), 6)],
            positions: Some(&[position("BTCUSDT", dec!(1)), position("BTCUSDT", dec!(2))]),
            equity: &later,
            marks: Some(&reading),
            seen: &[],
            fill_prices: &[],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    assert_eq!(s.targets(&a).await.unwrap()[0].depth, dec!(0.5));
    assert_eq!(s.equity(&a, at(0)).await.unwrap().len(), 1);
    assert_eq!(s.audit_events(0, 10).await.unwrap().len(), 3);

    assert_eq!(
        s.marks(Some(&a), 0, 10).await.unwrap().len(),
        1,
        "the refused cycle stored no marks"
    );

    // Without a fresh read, only targets and equity.
    s.record_cycle_end(&CycleEnd {
        account: &a,
        targets: &[],
        positions: None,
        equity: &later,
        marks: None,
        seen: &[],
        fill_prices: &[],
    })
    .await
    .unwrap();
    assert_eq!(s.equity(&a, at(0)).await.unwrap().len(), 2);
    assert_eq!(s.audit_events(0, 10).await.unwrap().len(), 3);
    assert_eq!(s.positions(Some(&a)).await.unwrap().len(), 1);
}

pub async fn state_blobs(b: &Backend) {
    let s = b.store.as_ref();
    assert_eq!(s.get_state("paper/balances").await.unwrap(), None);
    let v1 = serde_json::json!({ "USDT": "10000.00", "nested": { "b": 1, "a": [1, 2] } });
    s.put_state("paper/balances", &v1).await.unwrap();
    assert_eq!(s.get_state("paper/balances").await.unwrap(), Some(v1));
    let v2 = serde_json::json!({ "USDT": "9990.10" });
    s.put_state("paper/balances", &v2).await.unwrap();
    assert_eq!(s.get_state("paper/balances").await.unwrap(), Some(v2));
    assert!(matches!(
        s.put_state("", &serde_json::json!(1)).await,
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(b.raw.count("state").await, 1);
}

/// `put_state` is group-committed: many callers at once, several on one key, each returns only
/// once its value is committed, and each key ends with a value one of its callers wrote (the
/// last one queued; here every caller of a key writes the same round's value, so it is known).
pub async fn concurrent_state_writes_are_group_committed(b: &Backend) {
    let s = b.store.clone();
    for round in 0..3 {
        let writes: Vec<_> = (0..40)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    s.put_state(
                        &format!("k{}", i % 8),
                        &serde_json::json!({ "round": round }),
                    )
                    .await
                })
            })
            .collect();
        for w in writes {
            w.await.unwrap().unwrap();
        }
        for k in 0..8 {
            assert_eq!(
                s.get_state(&format!("k{k}")).await.unwrap(),
                Some(serde_json::json!({ "round": round }))
            );
        }
    }
    assert_eq!(b.raw.count("state").await, 8);
}
