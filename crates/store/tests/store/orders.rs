use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_model::{ClientOrderId, OrderKind, OrderState, Side};
use tradeengine_store::{AuditKind, OrderFilter, OrderUpdate, Store, StoreError, StoredOrder};

use crate::fixtures::{account, at, coid, fill, plan, price, symbol};
use crate::harness::Backend;

/// A report with no venue details beyond the state.
async fn report(
    s: &dyn Store,
    id: &ClientOrderId,
    state: OrderState,
    filled: Decimal,
    ms: i64,
) -> Result<StoredOrder, StoreError> {
    s.update_order(
        id,
        &OrderUpdate {
            filled_qty: filled,
            ..OrderUpdate::new(state, at(ms))
        },
    )
    .await
}

pub async fn plan_stores_every_leg_as_intended(b: &Backend) {
    let s = b.store.as_ref();
    let p = plan("p1", "bybit-main", 100);
    s.record_plan(&p).await.unwrap();

    let leg0 = s.order(&coid("p1-0")).await.unwrap().unwrap();
    assert_eq!(
        leg0,
        StoredOrder {
            client_order_id: coid("p1-0"),
            plan_id: p.id.clone(),
            leg: 0,
            account: account("bybit-main"),
            symbol: symbol("BTCUSDT"),
            side: Side::Sell,
            qty: dec!(0.010),
            kind: OrderKind::Market,
            reduce_only: true,
            state: OrderState::Intended,
            venue_order_id: None,
            filled_qty: Decimal::ZERO,
            avg_fill_price: None,
            fee: Decimal::ZERO,
            error: None,
            created_at: at(100),
            updated_at: at(100),
        }
    );
    assert_eq!(leg0.qty.to_string(), "0.010");
    let leg1 = s.order(&coid("p1-1")).await.unwrap().unwrap();
    assert_eq!(
        leg1.kind,
        OrderKind::Limit {
            price: price(dec!(59990.50))
        }
    );
    assert!(!leg1.reduce_only);
    assert_eq!(s.order(&coid("nope")).await.unwrap(), None);

    let unsettled = s.unsettled_orders(&account("bybit-main")).await.unwrap();
    let ids: Vec<_> = unsettled
        .iter()
        .map(|o| o.client_order_id.as_str())
        .collect();
    assert_eq!(ids, ["p1-0", "p1-1"]);
    assert!(
        s.unsettled_orders(&account("other"))
            .await
            .unwrap()
            .is_empty()
    );

    let events = s.audit_events(0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, AuditKind::PlanCreated);
    assert_eq!(events[0].account.as_deref(), Some("bybit-main"));
    assert_eq!(events[0].payload["steps"].as_array().map(Vec::len), Some(3));
}

pub async fn duplicate_plan_or_order_id_writes_nothing(b: &Backend) {
    let s = b.store.as_ref();
    s.record_plan(&plan("p1", "acct", 1)).await.unwrap();

    let err = s.record_plan(&plan("p1", "acct", 2)).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref w) if w.contains("p1")),
        "{err}"
    );

    // A new plan whose second leg reuses a client order id: the whole plan is refused.
    let mut p2 = plan("p2", "acct", 3);
    if let tradeengine_model::PlanStep::Order(leg) = &mut p2.steps[2] {
        leg.client_order_id = coid("p1-0");
    }
    let err = s.record_plan(&p2).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref w) if w.contains("p1-0")),
        "{err}"
    );

    // A leg of zero size is refused before anything is written.
    let mut p3 = plan("p3", "acct", 4);
    if let tradeengine_model::PlanStep::Order(leg) = &mut p3.steps[1] {
        leg.qty = Decimal::ZERO;
    }
    assert!(matches!(
        s.record_plan(&p3).await,
        Err(StoreError::Invalid { .. })
    ));

    assert_eq!(b.raw.count("plans").await, 1);
    assert_eq!(b.raw.count("orders").await, 2);
    assert_eq!(b.raw.count("audit_events").await, 1);
    assert!(s.order(&coid("p2-0")).await.unwrap().is_none());
}

pub async fn order_walks_the_state_machine(b: &Backend) {
    let s = b.store.as_ref();
    s.record_plan(&plan("p1", "acct", 1)).await.unwrap();
    let id = coid("p1-0");

    report(s, &id, OrderState::Sent, dec!(0), 2).await.unwrap();
    let acked = s
        .update_order(
            &id,
            &OrderUpdate {
                venue_order_id: Some("venue-77".into()),
                ..OrderUpdate::new(OrderState::Acknowledged, at(3))
            },
        )
        .await
        .unwrap();
    assert_eq!(acked.venue_order_id.as_deref(), Some("venue-77"));

    let partial = s
        .update_order(
            &id,
            &OrderUpdate {
                filled_qty: dec!(0.004),
                avg_fill_price: Some(dec!(60001.5)),
                fee: dec!(0.0012),
                ..OrderUpdate::new(OrderState::PartiallyFilled, at(4))
            },
        )
        .await
        .unwrap();
    // Left out of the report: the stored venue id stays.
    assert_eq!(partial.venue_order_id.as_deref(), Some("venue-77"));

    let filled = s
        .update_order(
            &id,
            &OrderUpdate {
                filled_qty: dec!(0.010),
                avg_fill_price: Some(dec!(60002.25)),
                fee: dec!(0.0030),
                ..OrderUpdate::new(OrderState::Filled, at(5))
            },
        )
        .await
        .unwrap();
    assert_eq!(filled.state, OrderState::Filled);
    assert_eq!(filled.updated_at, at(5));
    assert_eq!(filled.created_at, at(1));
    assert_eq!(s.order(&id).await.unwrap(), Some(filled.clone()));
    assert_eq!(filled.fee.to_string(), "0.0030");

    let unsettled = s.unsettled_orders(&account("acct")).await.unwrap();
    let ids: Vec<_> = unsettled
        .iter()
        .map(|o| o.client_order_id.as_str())
        .collect();
    assert_eq!(ids, ["p1-1"]);

    // Sent → Unknown → Rejected (settled by a query).
    let other = coid("p1-1");
    report(s, &other, OrderState::Sent, dec!(0), 6)
        .await
        .unwrap();
    report(s, &other, OrderState::Unknown, dec!(0), 7)
        .await
        .unwrap();
    let rejected = s
        .update_order(
            &other,
            &OrderUpdate {
                error: Some("insufficient margin".into()),
                ..OrderUpdate::new(OrderState::Rejected, at(8))
            },
        )
        .await
        .unwrap();
    assert_eq!(rejected.error.as_deref(), Some("insufficient margin"));
    assert!(
        s.unsettled_orders(&account("acct"))
            .await
            .unwrap()
            .is_empty()
    );

    let events = s.audit_events(0, 100).await.unwrap();
    let changes: Vec<_> = events
        .iter()
        .filter(|e| e.kind == AuditKind::OrderStateChanged)
        .map(|e| {
            (
                e.payload["from"].as_str().unwrap().to_string(),
                e.payload["to"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        ("intended", "sent"),
        ("sent", "acknowledged"),
        ("acknowledged", "partially_filled"),
        ("partially_filled", "filled"),
        ("intended", "sent"),
        ("sent", "unknown"),
        ("unknown", "rejected"),
    ];
    assert_eq!(
        changes,
        expect
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    );
    assert!(s.verify_audit().await.unwrap().is_ok());
}

pub async fn illegal_transition_writes_nothing(b: &Backend) {
    let s = b.store.as_ref();
    s.record_plan(&plan("p1", "acct", 1)).await.unwrap();
    let id = coid("p1-0");

    let err = report(s, &id, OrderState::Filled, dec!(0.010), 2)
        .await
        .unwrap_err();
    match &err {
        StoreError::Order {
            client_order_id,
            reason,
        } => {
            assert_eq!(client_order_id, "p1-0");
            assert!(
                reason.contains("intended") && reason.contains("filled"),
                "{reason}"
            );
        }
        other => panic!("expected an order error, got {other}"),
    }

    report(s, &id, OrderState::Cancelled, dec!(0), 3)
        .await
        .unwrap();
    let before = s.order(&id).await.unwrap();
    let events = b.raw.count("audit_events").await;
    for next in [OrderState::Sent, OrderState::Intended, OrderState::Filled] {
        assert!(matches!(
            report(s, &id, next, dec!(0), 4).await,
            Err(StoreError::Order { .. })
        ));
    }
    assert_eq!(s.order(&id).await.unwrap(), before);
    assert_eq!(b.raw.count("audit_events").await, events);

    assert!(matches!(
        report(s, &coid("missing"), OrderState::Sent, dec!(0), 5).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn bad_reports_are_refused(b: &Backend) {
    let s = b.store.as_ref();
    s.record_plan(&plan("p1", "acct", 1)).await.unwrap();
    let id = coid("p1-0");
    report(s, &id, OrderState::Sent, dec!(0), 2).await.unwrap();
    report(s, &id, OrderState::PartiallyFilled, dec!(0.005), 3)
        .await
        .unwrap();

    for (filled, what) in [
        (dec!(-0.001), "negative"),
        (dec!(0.011), "exceeds"),
        (dec!(0.004), "go down"),
    ] {
        let err = report(s, &id, OrderState::PartiallyFilled, filled, 4)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Order { reason, .. } if reason.contains(what)),
            "{err}"
        );
    }
    let err = s
        .update_order(
            &id,
            &OrderUpdate {
                filled_qty: dec!(0.010),
                avg_fill_price: Some(dec!(0)),
                ..OrderUpdate::new(OrderState::Filled, at(5))
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Order { .. }), "{err}");
    assert_eq!(
        s.order(&id).await.unwrap().map(|o| (o.state, o.filled_qty)),
        Some((OrderState::PartiallyFilled, dec!(0.005)))
    );
}

pub async fn repeated_report_writes_nothing(b: &Backend) {
    let s = b.store.as_ref();
    s.record_plan(&plan("p1", "acct", 1)).await.unwrap();
    let id = coid("p1-0");
    let first = report(s, &id, OrderState::Sent, dec!(0), 2).await.unwrap();
    let events = b.raw.count("audit_events").await;
    // The same report polled again later: nothing moves, not even updated_at.
    let again = report(s, &id, OrderState::Sent, dec!(0), 9).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(again.updated_at, at(2));
    assert_eq!(b.raw.count("audit_events").await, events);
}

pub async fn orders_filter_and_page(b: &Backend) {
    let s = b.store.as_ref();
    s.record_plan(&plan("a1", "acct-a", 10)).await.unwrap();
    s.record_plan(&plan("b1", "acct-b", 20)).await.unwrap();
    s.record_plan(&plan("a2", "acct-a", 30)).await.unwrap();
    report(s, &coid("a1-0"), OrderState::Sent, dec!(0), 40)
        .await
        .unwrap();

    let ids = |v: Vec<StoredOrder>| {
        v.into_iter()
            .map(|o| o.client_order_id.to_string())
            .collect::<Vec<_>>()
    };
    let all = s.orders(&OrderFilter::default()).await.unwrap();
    assert_eq!(ids(all), ["a2-1", "a2-0", "b1-1", "b1-0", "a1-1", "a1-0"]);

    let of_a = OrderFilter {
        account: Some(account("acct-a")),
        ..OrderFilter::default()
    };
    assert_eq!(
        ids(s.orders(&of_a).await.unwrap()),
        ["a2-1", "a2-0", "a1-1", "a1-0"]
    );
    let sent = OrderFilter {
        state: Some(OrderState::Sent),
        ..OrderFilter::default()
    };
    assert_eq!(ids(s.orders(&sent).await.unwrap()), ["a1-0"]);
    let page = OrderFilter {
        account: Some(account("acct-a")),
        symbol: Some(symbol("BTCUSDT")),
        limit: Some(2),
        offset: Some(1),
        ..OrderFilter::default()
    };
    assert_eq!(ids(s.orders(&page).await.unwrap()), ["a2-0", "a1-1"]);
    let other_symbol = OrderFilter {
        symbol: Some(symbol("ETHUSDT")),
        ..OrderFilter::default()
    };
    assert!(s.orders(&other_symbol).await.unwrap().is_empty());
    let negative = OrderFilter {
        limit: Some(-5),
        ..OrderFilter::default()
    };
    assert!(matches!(
        s.orders(&negative).await,
        Err(StoreError::Invalid { .. })
    ));
}

pub async fn fills_are_idempotent(b: &Backend) {
    let s = b.store.as_ref();
    let acct = account("acct");
    let f1 = fill("p1-0", dec!(0.004), dec!(60001.50), 10);
    s.record_fill(&acct, &f1).await.unwrap();
    // The same execution reported again, with decimals written at another scale.
    let mut same = f1.clone();
    same.qty = dec!(0.0040);
    same.price = price(dec!(60001.5));
    s.record_fill(&acct, &same).await.unwrap();
    s.record_fill(&acct, &f1).await.unwrap();

    let f2 = fill("p1-0", dec!(0.006), dec!(60003), 20);
    s.record_fill(&acct, &f2).await.unwrap();
    let f3 = fill("q1-0", dec!(1), dec!(2), 15);
    s.record_fill(&account("other"), &f3).await.unwrap();

    assert_eq!(
        s.fills(Some(&acct), 10).await.unwrap(),
        vec![f2.clone(), f1.clone()]
    );
    assert_eq!(s.fills(Some(&acct), 1).await.unwrap(), vec![f2.clone()]);
    assert_eq!(s.fills(None, 10).await.unwrap(), vec![f2, f3, f1.clone()]);
    assert_eq!(
        s.fills(Some(&acct), 10).await.unwrap()[1]
            .price
            .get()
            .to_string(),
        "60001.50"
    );

    let events = s.audit_events(0, 100).await.unwrap();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e.kind == AuditKind::Fill));

    let zero = fill("p1-0", dec!(0), dec!(1), 30);
    assert!(matches!(
        s.record_fill(&acct, &zero).await,
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(b.raw.count("fills").await, 3);
}
