//! The order state machine and fill keys, without a database.

use rust_decimal_macros::dec;
use tradeengine_model::{AccountName, OrderKind, PlanId, Price, Side, Symbol};

use super::*;

fn t(ms: i64) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn order(state: OrderState, filled: Decimal) -> Option<StoredOrder> {
    Some(StoredOrder {
        client_order_id: ClientOrderId::new("c1").ok()?,
        plan_id: PlanId::new("p1").ok()?,
        leg: 0,
        account: AccountName::new("a").ok()?,
        symbol: Symbol::new("BTCUSDT").ok()?,
        side: Side::Buy,
        qty: dec!(1),
        kind: OrderKind::Market,
        reduce_only: false,
        state,
        venue_order_id: Some("v1".into()),
        filled_qty: filled,
        avg_fill_price: Some(dec!(10)),
        fee: dec!(0),
        error: Some("old".into()),
        created_at: t(0),
        updated_at: t(0),
    })
}

fn report(state: OrderState, filled: Decimal) -> OrderReport<'static> {
    OrderReport {
        state,
        venue_order_id: None,
        filled_qty: filled,
        avg_fill_price: None,
        fee: dec!(0.1),
        error: None,
        at: t(5),
    }
}

#[test]
fn report_keeps_ids_and_prices_it_leaves_out_and_replaces_the_error() {
    let Some(cur) = order(OrderState::Sent, dec!(0)) else {
        panic!("fixture")
    };
    let next = apply_report(&cur, &report(OrderState::PartiallyFilled, dec!(0.5)));
    let next = next.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(next.venue_order_id.as_deref(), Some("v1"));
    assert_eq!(next.avg_fill_price, Some(dec!(10)));
    assert_eq!(next.error, None);
    assert_eq!(next.updated_at, t(5));
    assert_eq!(next.created_at, t(0));
}

#[test]
fn every_forbidden_transition_is_refused() {
    let all = [
        OrderState::Intended,
        OrderState::Sent,
        OrderState::Acknowledged,
        OrderState::PartiallyFilled,
        OrderState::Filled,
        OrderState::Rejected,
        OrderState::Cancelled,
        OrderState::Unknown,
    ];
    for from in all {
        for to in all {
            let Some(cur) = order(from, dec!(0)) else {
                panic!("fixture")
            };
            let res = apply_report(&cur, &report(to, dec!(0)));
            assert_eq!(res.is_ok(), from.can_become(to), "{from:?} → {to:?}");
        }
    }
}

#[test]
fn filled_quantity_is_cumulative_and_bounded() {
    let Some(cur) = order(OrderState::PartiallyFilled, dec!(0.4)) else {
        panic!("fixture")
    };
    let pf = OrderState::PartiallyFilled;
    assert!(apply_report(&cur, &report(pf, dec!(0.4))).is_ok());
    assert!(apply_report(&cur, &report(pf, dec!(1))).is_ok());
    assert!(apply_report(&cur, &report(pf, dec!(0.3))).is_err());
    assert!(apply_report(&cur, &report(pf, dec!(1.0001))).is_err());
    assert!(apply_report(&cur, &report(pf, dec!(-1))).is_err());
    let mut bad_price = report(pf, dec!(0.5));
    bad_price.avg_fill_price = Some(dec!(-3));
    assert!(apply_report(&cur, &bad_price).is_err());
}

#[test]
fn fill_key_ignores_decimal_scale_but_not_value() {
    let fill = |qty, px| {
        Fill {
            client_order_id: ClientOrderId::new("c1").ok()?,
            venue_order_id: None,
            symbol: Symbol::new("BTCUSDT").ok()?,
            side: Side::Buy,
            qty,
            price: Price::new(px).ok()?,
            fee: dec!(0),
            filled_at: t(1_234),
        }
        .into()
    };
    let key = |f: Option<Fill>| f.map(|f| fill_key(&f));
    assert_eq!(
        key(fill(dec!(0.50), dec!(100.0))),
        Some("c1|0.5|100|1234".into())
    );
    assert_eq!(
        key(fill(dec!(0.5), dec!(100))),
        key(fill(dec!(0.500), dec!(100.00)))
    );
    assert_ne!(
        key(fill(dec!(0.5), dec!(100))),
        key(fill(dec!(0.5), dec!(100.01)))
    );
}
