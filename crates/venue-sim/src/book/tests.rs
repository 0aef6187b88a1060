//! The simulated account's accounting and rules.

use rust_decimal_macros::dec;

use super::*;
use crate::options::SimOptions;
use tradeengine_model::VenueId;

fn exchange() -> Exchange {
    let mut o = SimOptions::new(VenueId::Bybit);
    o.taker_fee_rate = Decimal::ZERO;
    Exchange::new(&o, broadcast::channel(16).0)
}

fn order(id: &str, side: Side, qty: Decimal, reduce_only: bool) -> NewOrder {
    NewOrder {
        symbol: "BTCUSDT".into(),
        side,
        order_type: OrderType::Market,
        qty,
        price: None,
        client_id: id.into(),
        reduce_only,
    }
}

#[test]
fn average_entry_realised_pnl_and_flip() {
    let mut ex = exchange();
    ex.place(order("a", Side::Buy, dec!(0.1), false), 0)
        .unwrap_or_else(|e| panic!("{e:?}"));
    ex.set_price("BTCUSDT", dec!(62000), 0);
    ex.place(order("b", Side::Buy, dec!(0.1), false), 0)
        .unwrap_or_else(|e| panic!("{e:?}"));
    // (0.1·60 000 + 0.1·62 000) / 0.2 = 61 000.
    assert_eq!(ex.position("BTCUSDT").entry, dec!(61000));
    ex.set_price("BTCUSDT", dec!(63000), 0);
    // Sell 0.3: closes 0.2 realising 0.2·(63 000 − 61 000) = 400, opens 0.1 short at 63 000.
    ex.place(order("c", Side::Sell, dec!(0.3), false), 0)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(ex.wallet(), dec!(100400));
    assert_eq!(
        ex.position("BTCUSDT"),
        SimPosition {
            size: dec!(-0.1),
            entry: dec!(63000)
        }
    );
    assert_eq!(ex.equity(), dec!(100400));
}

#[test]
fn reduce_only_is_cut_to_the_position_and_exempt_from_min_notional() {
    let mut ex = exchange();
    assert!(matches!(
        ex.place(order("r0", Side::Sell, dec!(0.001), true), 0),
        Err(Reject::ReduceOnlyRefused(_))
    ));
    ex.place(order("o", Side::Buy, dec!(0.002), false), 0)
        .unwrap_or_else(|e| panic!("{e:?}"));
    ex.set_price("BTCUSDT", dec!(1000), 0);
    // 0.001 × 1 000 = 1 USDT < 5: refused to open, allowed to close.
    assert!(matches!(
        ex.place(order("n", Side::Buy, dec!(0.001), false), 0),
        Err(Reject::NotionalBelowMin { .. })
    ));
    let closed = ex
        .place(order("r1", Side::Sell, dec!(0.005), true), 0)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(closed.qty, dec!(0.002));
    assert_eq!(ex.position("BTCUSDT").size, dec!(0));
}

#[test]
fn client_ids_are_unique_for_ever_and_margin_is_checked() {
    let mut ex = exchange();
    ex.place(order("x", Side::Buy, dec!(0.01), false), 0)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(matches!(
        ex.place(order("x", Side::Buy, dec!(0.01), false), 0),
        Err(Reject::DuplicateClientId(_))
    ));
    assert_eq!(ex.submissions()["x"], 2);
    // 2 BTC at 60 000 and leverage 1 needs 120 000 > 100 000.
    assert!(matches!(
        ex.place(order("y", Side::Buy, dec!(2), false), 0),
        Err(Reject::InsufficientMargin(_))
    ));
    ex.set_leverage("BTCUSDT", dec!(2))
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        ex.set_leverage("BTCUSDT", dec!(2)),
        Err(Reject::NotModified)
    );
    ex.place(order("z", Side::Buy, dec!(1.5), false), 0)
        .unwrap_or_else(|e| panic!("{e:?}"));
}

#[test]
fn an_injected_reject_refuses_one_order_then_clears() {
    let mut ex = exchange();
    ex.reject_next = true;
    assert!(matches!(
        ex.place(order("j1", Side::Buy, dec!(0.01), false), 0),
        Err(Reject::InsufficientMargin(_))
    ));
    assert!(!ex.reject_next, "used once");
    assert_eq!(ex.position("BTCUSDT").size, dec!(0));
    assert!(ex.orders().is_empty(), "a refused order is not kept");
    assert_eq!(ex.submissions()["j1"], 1, "but its submission is counted");
    ex.place(order("j2", Side::Buy, dec!(0.01), false), 0)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(ex.position("BTCUSDT").size, dec!(0.01));
}

#[test]
fn an_injected_limit_fill_fills_one_far_order_at_its_price_then_clears() {
    let mut ex = exchange();
    ex.fill_limit_next = true;
    let far = |id: &str| NewOrder {
        order_type: OrderType::Limit,
        price: Some(dec!(50000)),
        ..order(id, Side::Buy, dec!(0.01), false)
    };
    let o = ex.place(far("f1"), 0).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(o.status, SimStatus::Filled);
    assert_eq!(o.avg_price, Some(dec!(50000)));
    assert_eq!(ex.position("BTCUSDT").size, dec!(0.01));
    assert!(!ex.fill_limit_next, "used once");
    let o = ex.place(far("f2"), 0).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(o.status, SimStatus::New, "the next one rests");
}
