//! The ledger's worked examples, written through a [`Txn`] as the venue writes fills (kept
//! apart from `ledger` so the accounting does not depend on the transaction that uses it).

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_model::{ClientOrderId, Fill, Price, Side, Symbol};

use super::PaperState;
use super::ledger::position_after;
use super::txn::Txn;

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn px(v: Decimal) -> Price {
    Price::new(v).unwrap()
}

fn fill(qty: Decimal, price: Decimal, fee: Decimal) -> Fill {
    Fill {
        client_order_id: ClientOrderId::new("t").unwrap(),
        venue_order_id: None,
        symbol: btc(),
        side: Side::for_delta(qty).unwrap(),
        qty: qty.abs(),
        price: px(price),
        fee,
        filled_at: Utc.timestamp_opt(0, 0).single().unwrap(),
    }
}

/// Applies a fill to the state and returns what it realised.
fn trade(s: &mut PaperState, qty: Decimal, price: Decimal) -> Decimal {
    let pos = s.position_or_flat(&btc(), dec!(10));
    let change = position_after(&pos, qty, px(price)).unwrap();
    let realised = change.realised;
    let mut t = Txn::begin(s);
    t.record_fill(change, fill(qty, price, dec!(0))).unwrap();
    t.keep();
    realised
}

fn size_entry(s: &PaperState) -> (Decimal, Option<Decimal>) {
    let p = &s.positions[&btc()];
    (p.size.get(), p.entry_price.map(Price::get))
}

#[test]
fn worked_example_add_reduce_flip_close() {
    let mut s = PaperState::new(dec!(10000));
    // Buy 0.010 at 60,000, then 0.030 at 62,000:
    // E = (0.010·60,000 + 0.030·62,000) / 0.040 = 2,460 / 0.040 = 61,500.
    assert_eq!(trade(&mut s, dec!(0.010), dec!(60000)), dec!(0));
    assert_eq!(trade(&mut s, dec!(0.030), dec!(62000)), dec!(0));
    assert_eq!(size_entry(&s), (dec!(0.040), Some(dec!(61500))));
    // Sell 0.015 at 63,000: realised 0.015·(63,000 − 61,500) = 22.5; entry unchanged.
    assert_eq!(trade(&mut s, dec!(-0.015), dec!(63000)), dec!(22.5));
    assert_eq!(size_entry(&s), (dec!(0.025), Some(dec!(61500))));
    // Sell 0.040 at 61,000: closes 0.025 for 0.025·(61,000 − 61,500) = −12.5, then opens
    // a 0.015 short at 61,000.
    assert_eq!(trade(&mut s, dec!(-0.040), dec!(61000)), dec!(-12.5));
    assert_eq!(size_entry(&s), (dec!(-0.015), Some(dec!(61000))));
    // Buy 0.005 at 60,000 against the short: 0.005·(60,000 − 61,000)·(−1) = +5.
    assert_eq!(trade(&mut s, dec!(0.005), dec!(60000)), dec!(5));
    // Buy 0.010 at 62,000 closes it: 0.010·(62,000 − 61,000)·(−1) = −10; flat.
    assert_eq!(trade(&mut s, dec!(0.010), dec!(62000)), dec!(-10));
    assert_eq!(size_entry(&s), (dec!(0), None));
    // 22.5 − 12.5 + 5 − 10 = 5, and no fees were charged here.
    assert_eq!(s.realised_pnl, dec!(5));
    assert_eq!(s.realised_by_symbol[&btc()], dec!(5));
    assert_eq!(s.balance, dec!(10005));
    assert_eq!(s.fills.len(), 6);
}

#[test]
fn average_entry_keeps_full_precision() {
    let mut s = PaperState::new(dec!(10000));
    trade(&mut s, dec!(0.001), dec!(60000.1));
    trade(&mut s, dec!(0.002), dec!(60000.2));
    // (60.0001 + 120.0004) / 0.003 = 60,000.1666…, not rounded to the 0.1 tick.
    let e = s.positions[&btc()].entry_price.unwrap().get();
    assert_eq!(e.round_dp(6), dec!(60000.166667));
}

#[test]
fn fees_come_off_the_balance() {
    let mut s = PaperState::new(dec!(1000));
    let pos = s.position_or_flat(&btc(), dec!(1));
    let change = position_after(&pos, dec!(0.01), px(dec!(60000))).unwrap();
    // Fee = 0.01 · 60,000 · 0.00055 = 0.33.
    let mut t = Txn::begin(&mut s);
    t.record_fill(change, fill(dec!(0.01), dec!(60000), dec!(0.33)))
        .unwrap();
    t.keep();
    assert_eq!(s.balance, dec!(999.67));
    assert_eq!(s.fees_paid, dec!(0.33));
}

#[test]
fn equity_and_initial_margin() {
    let mut s = PaperState::new(dec!(1000));
    trade(&mut s, dec!(0.1), dec!(60000));
    let marks = BTreeMap::from([(btc(), px(dec!(61000)))]);
    // U = (61,000 − 60,000)·0.1 = 100; IM = 0.1·61,000 / 10 = 610.
    let m = s.margin_figures(&marks).unwrap();
    assert_eq!(m.equity, dec!(1100));
    assert_eq!(m.initial_margin, dec!(610));
    // The same at leverage 5 instead: IM 1,220.
    let mut at5 = s.positions[&btc()].clone();
    at5.leverage = dec!(5);
    let m5 = s.margin_if(&marks, Some(&at5), dec!(0)).unwrap();
    assert_eq!(m5.initial_margin, dec!(1220));
    let pnl = s.pnl(&marks).unwrap();
    assert_eq!((pnl.unrealised_pnl, pnl.equity), (dec!(100), dec!(1100)));
    // A missing mark is not silently zero.
    assert_eq!(s.unrealised_pnl(&BTreeMap::new()), None);
}
