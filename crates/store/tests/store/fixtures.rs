//! Model values for the suite, at whole-millisecond times (the store keeps milliseconds).

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_model::{
    AccountName, ClientOrderId, Fill, Intent, OrderKind, OrderLeg, Plan, PlanId, PlanStep, Price,
    Quantity, Side, Signal, SignalId, Sleeve, SleeveOrigin, SleeveState, SourceId, Symbol,
    TargetIntent, Timestamp,
};

/// 2023-11-14T22:13:20Z plus `ms` milliseconds.
pub fn at(ms: i64) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap()
}

pub fn account(name: &str) -> AccountName {
    AccountName::new(name).unwrap()
}

pub fn symbol(name: &str) -> Symbol {
    Symbol::new(name).unwrap()
}

pub fn price(p: Decimal) -> Price {
    Price::new(p).unwrap()
}

pub fn coid(id: &str) -> ClientOrderId {
    ClientOrderId::new(id).unwrap()
}

pub fn signal(id: &str, source: &str, key: &str, ms: i64) -> Signal {
    Signal {
        id: SignalId::new(id).unwrap(),
        source: SourceId::new(source).unwrap(),
        symbol: symbol("BTCUSDT"),
        intent: Intent::Target(TargetIntent {
            depth: dec!(0.50),
            leverage: Some(dec!(2)),
            reference_price: Some(price(dec!(60000.10))),
        }),
        emitted_at: Some(at(ms - 5)),
        received_at: at(ms),
        idempotency_key: key.to_string(),
        raw: serde_json::json!({ "ticker": "BTCUSDT", "size": "0.50", "n": ms }),
    }
}

pub fn sleeve_for(signal: &Signal) -> Sleeve {
    Sleeve {
        source: signal.source.clone(),
        symbol: signal.symbol.clone(),
        state: SleeveState::Open,
        exposure: SleeveOrigin::Depth(dec!(0.50)),
        leverage: Some(dec!(2)),
        entry_price: Some(price(dec!(60000.10))),
        stop_loss: None,
        take_profit: Some(price(dec!(66000))),
        opened_at: Some(signal.received_at),
        closed_at: None,
        updated_at: signal.received_at,
        last_signal: Some(signal.id.clone()),
    }
}

pub fn leg(n: u16, id: &str, side: Side, qty: Decimal, kind: OrderKind) -> OrderLeg {
    OrderLeg {
        leg: n,
        client_order_id: coid(id),
        side,
        qty,
        venue_qty: qty,
        reduce_only: n == 0 && side == Side::Sell,
        kind,
    }
}

/// A flip from long 0.010 to short 0.005: close (reduce-only), then open a limit order.
pub fn plan(id: &str, acct: &str, ms: i64) -> Plan {
    Plan {
        id: PlanId::new(id).unwrap(),
        account: account(acct),
        symbol: symbol("BTCUSDT"),
        created_at: at(ms),
        current: Quantity::new(dec!(0.010)),
        target: Quantity::new(dec!(-0.005)),
        steps: vec![
            PlanStep::SetLeverage { leverage: dec!(3) },
            PlanStep::Order(leg(
                0,
                &format!("{id}-0"),
                Side::Sell,
                dec!(0.010),
                OrderKind::Market,
            )),
            PlanStep::Order(leg(
                1,
                &format!("{id}-1"),
                Side::Sell,
                dec!(0.005),
                OrderKind::Limit {
                    price: price(dec!(59990.50)),
                },
            )),
        ],
        skipped: None,
    }
}

pub fn fill(order: &str, qty: Decimal, px: Decimal, ms: i64) -> Fill {
    Fill {
        client_order_id: coid(order),
        venue_order_id: Some("v-1".into()),
        symbol: symbol("BTCUSDT"),
        side: Side::Sell,
        qty,
        price: price(px),
        fee: dec!(-0.0012),
        filled_at: at(ms),
    }
}
