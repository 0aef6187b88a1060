//! `Store::settle_order`: an order's final state and its fill in one transaction, once.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_model::{Fill, OrderState};
use tradeengine_store::{AuditKind, OrderUpdate, Store, StoreError};

use crate::fixtures::{account, at, coid, fill, plan};
use crate::harness::{Backend, Raw};

/// Leg 0 of [`plan`] (sell 0.010) done: filled whole at 60 000.
fn filled(ms: i64) -> OrderUpdate {
    OrderUpdate {
        state: OrderState::Filled,
        venue_order_id: Some("v-1".into()),
        filled_qty: dec!(0.010),
        avg_fill_price: Some(dec!(60000)),
        fee: dec!(-0.0012),
        error: None,
        at: at(ms),
    }
}

fn its_fill(ms: i64) -> Fill {
    fill("p1-0", dec!(0.010), dec!(60000), ms)
}

/// A plan for `acct` with leg 0 sent.
async fn sent(s: &dyn Store, acct: &str) {
    s.record_plan(&plan("p1", acct, 1)).await.unwrap();
    s.update_order(&coid("p1-0"), &OrderUpdate::new(OrderState::Sent, at(2)))
        .await
        .unwrap();
}

async fn kinds(s: &dyn Store) -> Vec<AuditKind> {
    let events = s.audit_events(0, 1000).await.unwrap();
    events.into_iter().map(|e| e.kind).collect()
}

/// Nothing of a refused settlement is stored: leg 0 is still `Sent`, there is no fill.
async fn assert_untouched(b: &Backend, events_before: usize) {
    let s = b.store.as_ref();
    let order = s.order(&coid("p1-0")).await.unwrap().unwrap();
    assert_eq!(order.state, OrderState::Sent);
    assert_eq!(order.filled_qty, Decimal::ZERO);
    assert_eq!(b.raw.count("fills").await, 0);
    assert_eq!(kinds(s).await.len(), events_before);
    assert!(s.verify_audit().await.unwrap().is_ok());
}

pub async fn settlement_stores_the_final_state_and_the_fill_once(b: &Backend) {
    let s = b.store.as_ref();
    let acct = account("acct");
    sent(s, "acct").await;
    let before = kinds(s).await.len();

    let order = s
        .settle_order(&acct, &coid("p1-0"), &filled(7), Some(&its_fill(7)))
        .await
        .unwrap();
    assert_eq!(order.state, OrderState::Filled);
    assert_eq!(order.filled_qty, dec!(0.010));
    assert_eq!(order.avg_fill_price, Some(dec!(60000)));
    assert_eq!(s.order(&coid("p1-0")).await.unwrap(), Some(order.clone()));
    assert_eq!(s.fills(Some(&acct), 10).await.unwrap(), vec![its_fill(7)]);
    let k = kinds(s).await;
    assert_eq!(
        k[before..],
        [AuditKind::OrderStateChanged, AuditKind::Fill],
        "{k:?}"
    );

    // Settled again (a retry): nothing new, not even an event.
    let again = s
        .settle_order(&acct, &coid("p1-0"), &filled(8), Some(&its_fill(7)))
        .await
        .unwrap();
    assert_eq!(again, order);
    // The same execution described with another time (a recovery pass rebuilding it from the
    // order row) is still the order's one fill.
    s.settle_order(&acct, &coid("p1-0"), &filled(9), Some(&its_fill(9)))
        .await
        .unwrap();
    assert_eq!(b.raw.count("fills").await, 1);
    assert_eq!(kinds(s).await.len(), before + 2);

    // A final state without a fill (a cancel with nothing filled) is an ordinary update.
    let cancelled = s
        .settle_order(
            &acct,
            &coid("p1-1"),
            &OrderUpdate {
                state: OrderState::Cancelled,
                venue_order_id: None,
                filled_qty: Decimal::ZERO,
                avg_fill_price: None,
                fee: Decimal::ZERO,
                error: Some("not sent".into()),
                at: at(10),
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(cancelled.state, OrderState::Cancelled);
    assert_eq!(b.raw.count("fills").await, 1);
    assert!(s.verify_audit().await.unwrap().is_ok());
}

/// The fill's insert fails inside the transaction (a trigger refuses it, standing in for a
/// crash or a full disk between the two writes): the order's final state must not be kept
/// either, which is what two separate calls could not promise.
pub async fn a_settlement_failing_half_way_writes_nothing(b: &Backend) {
    let s = b.store.as_ref();
    let acct = account("acct");
    sent(s, "acct").await;
    let before = kinds(s).await.len();
    match &b.raw {
        Raw::Sqlite(_) => {
            b.raw
                .exec(
                    "CREATE TRIGGER refuse_fills BEFORE INSERT ON fills \
                     BEGIN SELECT RAISE(ABORT, 'fills refused by the test'); END",
                )
                .await;
        }
        Raw::Postgres(_) => {
            b.raw
                .exec(
                    "CREATE FUNCTION refuse_fills() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION 'fills refused by the test'; END $$",
                )
                .await;
            b.raw
                .exec(
                    "CREATE TRIGGER refuse_fills BEFORE INSERT ON fills \
                     FOR EACH ROW EXECUTE FUNCTION refuse_fills()",
                )
                .await;
        }
    }
    let result = s
        .settle_order(&acct, &coid("p1-0"), &filled(7), Some(&its_fill(7)))
        .await;
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    assert_untouched(b, before).await;
}

pub async fn a_fill_that_is_not_the_orders_writes_nothing(b: &Backend) {
    let s = b.store.as_ref();
    let acct = account("acct");
    sent(s, "acct").await;
    let before = kinds(s).await.len();
    let id = coid("p1-0");

    let mut other_order = its_fill(7);
    other_order.client_order_id = coid("p1-1");
    let mut short = its_fill(7);
    short.qty = dec!(0.004);
    let mut wrong_side = its_fill(7);
    wrong_side.side = tradeengine_model::Side::Buy;
    let partial = OrderUpdate {
        state: OrderState::PartiallyFilled,
        filled_qty: dec!(0.004),
        ..filled(7)
    };
    let mut partial_fill = its_fill(7);
    partial_fill.qty = dec!(0.004);
    let mut zero = its_fill(7);
    zero.qty = Decimal::ZERO;
    for (update, f, what) in [
        (filled(7), &other_order, "another order's fill"),
        (filled(7), &short, "a fill short of the filled quantity"),
        (filled(7), &wrong_side, "a fill on the other side"),
        (partial, &partial_fill, "a fill before the order is final"),
        (filled(7), &zero, "an empty fill"),
    ] {
        let result = s.settle_order(&acct, &id, &update, Some(f)).await;
        assert!(
            matches!(result, Err(StoreError::Invalid { .. })),
            "{what}: {result:?}"
        );
        assert_untouched(b, before).await;
    }
    let result = s
        .settle_order(&account("other"), &id, &filled(7), Some(&its_fill(7)))
        .await;
    assert!(
        matches!(result, Err(StoreError::Invalid { .. })),
        "another account: {result:?}"
    );
    assert_untouched(b, before).await;
    let result = s.settle_order(&acct, &coid("nope"), &filled(7), None).await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
}

/// What the previous version could leave behind (the order final, its fill never written):
/// settling with the order's stored state adds the fill and nothing else.
pub async fn an_old_final_order_without_its_fill_gets_it(b: &Backend) {
    let s = b.store.as_ref();
    let acct = account("acct");
    sent(s, "acct").await;
    let f = filled(7);
    s.update_order(
        &coid("p1-0"),
        &OrderUpdate {
            venue_order_id: f.venue_order_id.clone(),
            filled_qty: f.filled_qty,
            avg_fill_price: f.avg_fill_price,
            fee: f.fee,
            ..OrderUpdate::new(f.state, f.at)
        },
    )
    .await
    .unwrap();
    let before = kinds(s).await.len();
    assert_eq!(b.raw.count("fills").await, 0);
    s.settle_order(&acct, &coid("p1-0"), &filled(7), Some(&its_fill(7)))
        .await
        .unwrap();
    assert_eq!(s.fills(Some(&acct), 10).await.unwrap(), vec![its_fill(7)]);
    assert_eq!(kinds(s).await[before..], [AuditKind::Fill]);
    assert!(s.verify_audit().await.unwrap().is_ok());
}
