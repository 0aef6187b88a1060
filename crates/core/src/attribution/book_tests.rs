use std::collections::BTreeMap;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_model::{ClientOrderId, Price, SourceId};

use super::*;
use crate::attribution::{GroupBy, Ledger};

fn src(s: &str) -> SourceId {
    SourceId::new(s).unwrap()
}

fn id(s: &str) -> ClientOrderId {
    ClientOrderId::new(s).unwrap()
}

fn px(p: Decimal) -> Price {
    Price::new(p).unwrap()
}

fn rebalance(
    desired: &[(&str, Decimal)],
    target: Decimal,
    reference: Decimal,
    orders: &[&str],
) -> Event {
    Event::Rebalance {
        desired: desired
            .iter()
            .map(|(s, d)| (src(s), *d))
            .collect::<BTreeMap<_, _>>(),
        target,
        reference: px(reference),
        orders: orders.iter().map(|o| id(o)).collect(),
    }
}

fn fill(order: Option<&str>, qty: Decimal, price: Decimal, fee: Decimal) -> Event {
    Event::Fill {
        client_order_id: order.map(id),
        qty,
        price: px(price),
        fee,
    }
}

fn of<'a>(book: &'a SymbolBook, s: &str) -> &'a BucketBook {
    book.bucket(&Bucket::Source(src(s))).unwrap()
}

fn assert_identity(book: &SymbolBook) {
    assert_eq!(book.identity_gap().unwrap(), BucketBook::default());
}

#[test]
fn an_order_both_sources_caused_is_shared_with_its_fee_and_slippage() {
    let mut book = SymbolBook::new();
    book.apply(&rebalance(
        &[("a", dec!(3)), ("b", dec!(1))],
        dec!(4),
        dec!(100),
        &["o1"],
    ))
    .unwrap();
    book.apply(&fill(Some("o1"), dec!(4), dec!(101), dec!(0.4)))
        .unwrap();
    let a = of(&book, "a");
    assert_eq!(
        (a.qty, a.trade_cash, a.fees, a.slippage),
        (dec!(3), dec!(-303), dec!(0.3), dec!(3))
    );
    let b = of(&book, "b");
    assert_eq!(
        (b.qty, b.trade_cash, b.fees, b.slippage),
        (dec!(1), dec!(-101), dec!(0.1), dec!(1))
    );
    assert!(
        book.bucket(&Bucket::Unattributed)
            .is_none_or(|u| u.qty.is_zero())
    );
    assert_identity(&book);
    let marked = book.mark(px(dec!(110))).unwrap();
    assert_eq!(marked.buckets[0].1.pnl, dec!(26.7));
    assert_eq!(marked.buckets[1].1.pnl, dec!(8.9));
    assert_eq!(marked.account.pnl, dec!(35.6));
    assert_eq!(marked.rounding, Decimal::ZERO);
}

#[test]
fn opposite_changes_net_inside_the_book_and_only_the_rest_trades() {
    let mut book = SymbolBook::new();
    book.apply(&rebalance(
        &[("a", dec!(1)), ("b", dec!(1))],
        dec!(2),
        dec!(100),
        &["o1"],
    ))
    .unwrap();
    book.apply(&fill(Some("o1"), dec!(2), dec!(100), dec!(0.2)))
        .unwrap();
    // a wants 3 (+2), b wants 0 (−1): b's unit crosses to a at the reference 120, a buys one
    // more on the venue.
    book.apply(&rebalance(
        &[("a", dec!(3)), ("b", dec!(0))],
        dec!(3),
        dec!(120),
        &["o2"],
    ))
    .unwrap();
    let b = of(&book, "b");
    assert_eq!((b.qty, b.realised), (Decimal::ZERO, dec!(20)));
    // The last fill cost 0.1 % of notional: crossing a unit at 120 saved each side 0.12.
    assert_eq!(b.netting_saving, dec!(0.12));
    book.apply(&fill(Some("o2"), dec!(1), dec!(121), dec!(0.121)))
        .unwrap();
    let a = of(&book, "a");
    assert_eq!(a.qty, dec!(3));
    assert_eq!(a.trade_cash, dec!(-100) - dec!(120) - dec!(121));
    assert_eq!(a.fees, dec!(0.1) + dec!(0.121));
    assert_eq!(a.slippage, dec!(1));
    assert_eq!(a.netting_saving, dec!(0.12));
    assert_identity(&book);
}

#[test]
fn outside_fills_and_drift_are_unattributed() {
    let mut book = SymbolBook::new();
    book.apply(&Event::Drift {
        qty: dec!(-2),
        price: px(dec!(50)),
    })
    .unwrap();
    book.apply(&fill(None, dec!(1), dec!(55), dec!(0.05)))
        .unwrap();
    book.apply(&fill(Some("unknown"), dec!(1), dec!(60), dec!(0.06)))
        .unwrap();
    let u = book.bucket(&Bucket::Unattributed).unwrap();
    assert_eq!(
        (u.qty, u.trade_cash, u.fees),
        (Decimal::ZERO, dec!(-15), dec!(0.11))
    );
    assert_eq!(book.buckets().count(), 1);
    assert_identity(&book);
}

#[test]
fn a_source_adopts_an_outside_position_at_the_reference_without_trading() {
    let mut book = SymbolBook::new();
    book.apply(&Event::Drift {
        qty: dec!(2),
        price: px(dec!(50)),
    })
    .unwrap();
    book.apply(&rebalance(&[("a", dec!(2))], dec!(2), dec!(70), &[]))
        .unwrap();
    assert_eq!(of(&book, "a").qty, dec!(2));
    assert_eq!(of(&book, "a").trade_cash, dec!(-140));
    let u = book.bucket(&Bucket::Unattributed).unwrap();
    assert_eq!((u.qty, u.realised), (Decimal::ZERO, dec!(40)));
    assert_identity(&book);
}

#[test]
fn a_fill_against_the_plan_goes_to_unattributed() {
    let mut book = SymbolBook::new();
    book.apply(&rebalance(&[("a", dec!(1))], dec!(1), dec!(10), &["o1"]))
        .unwrap();
    book.apply(&fill(Some("o1"), dec!(-1), dec!(10), Decimal::ZERO))
        .unwrap();
    assert!(book.bucket(&Bucket::Source(src("a"))).is_none());
    assert_eq!(book.bucket(&Bucket::Unattributed).unwrap().qty, dec!(-1));
}

#[test]
fn funding_is_shared_by_signed_exposure() {
    let mut book = SymbolBook::new();
    book.apply(&rebalance(
        &[("a", dec!(3)), ("b", dec!(-1))],
        dec!(2),
        dec!(10),
        &["o1"],
    ))
    .unwrap();
    book.apply(&fill(Some("o1"), dec!(2), dec!(10), Decimal::ZERO))
        .unwrap();
    assert_eq!(
        (of(&book, "a").qty, of(&book, "b").qty),
        (dec!(3), dec!(-1))
    );
    book.apply(&Event::Funding { amount: dec!(-1) }).unwrap();
    assert_eq!(of(&book, "a").funding, dec!(-1.5));
    assert_eq!(of(&book, "b").funding, dec!(0.5));
    assert_identity(&book);
}

#[test]
fn a_three_way_split_gives_its_remainder_to_unattributed() {
    let mut book = SymbolBook::new();
    book.apply(&rebalance(
        &[("a", dec!(1)), ("b", dec!(1)), ("c", dec!(1))],
        dec!(3),
        dec!(7),
        &["o1"],
    ))
    .unwrap();
    book.apply(&fill(Some("o1"), dec!(1), dec!(7), dec!(0.01)))
        .unwrap();
    assert_eq!(of(&book, "a").qty, dec!(0.333333333333));
    assert_eq!(of(&book, "a").fees, dec!(0.003333333333));
    assert_eq!(
        book.bucket(&Bucket::Unattributed).unwrap().qty,
        dec!(0.000000000001)
    );
    assert_identity(&book);
    let marked = book.mark(px(dec!(9))).unwrap();
    let total: Decimal = marked.buckets.iter().map(|(_, l)| l.pnl).sum();
    assert_eq!(total, marked.account.pnl);
}

#[test]
fn a_failed_event_leaves_the_book_as_it_was() {
    let mut book = SymbolBook::new();
    book.apply(&rebalance(&[("a", dec!(1))], dec!(1), dec!(10), &["o1"]))
        .unwrap();
    let before = book.clone();
    let huge = Decimal::MAX;
    assert!(
        book.apply(&fill(Some("o1"), huge, dec!(10), Decimal::ZERO))
            .is_err()
    );
    assert_eq!(book, before);
}

#[test]
fn a_line_over_several_symbols_has_no_quantity() {
    let acct = tradeengine_model::AccountName::new("main").unwrap();
    let (btc, eth) = (
        tradeengine_model::Symbol::new("BTCUSDT").unwrap(),
        tradeengine_model::Symbol::new("ETHUSDT").unwrap(),
    );
    let mut ledger = Ledger::new();
    // Source a holds 2 BTC and 30 ETH; source b only BTC.
    for (symbol, desired, target, price) in [
        (
            &btc,
            vec![("a", dec!(2)), ("b", dec!(1))],
            dec!(3),
            dec!(60000),
        ),
        (&eth, vec![("a", dec!(30))], dec!(30), dec!(3000)),
    ] {
        ledger
            .apply(&acct, symbol, &rebalance(&desired, target, price, &["o"]))
            .unwrap();
        ledger
            .apply(&acct, symbol, &fill(Some("o"), target, price, dec!(0)))
            .unwrap();
    }
    let marks: BTreeMap<_, _> = [
        (btc.clone(), px(dec!(60000))),
        (eth.clone(), px(dec!(3000))),
    ]
    .into_iter()
    .collect();
    let (lines, total) = ledger.report(Some(&acct), &marks, GroupBy::Source).unwrap();
    let qty = |name: &str| lines.iter().find(|l| l.name == name).unwrap().qty;
    // 2 BTC + 30 ETH is no quantity of anything; b's 1 BTC is.
    assert_eq!((qty("a"), qty("b")), (None, Some(dec!(1))));
    assert_eq!(total.qty, None);
    let (by_symbol, _) = ledger.report(Some(&acct), &marks, GroupBy::Symbol).unwrap();
    let q: Vec<_> = by_symbol.iter().map(|l| (l.name.as_str(), l.qty)).collect();
    assert_eq!(q, [("BTCUSDT", Some(dec!(3))), ("ETHUSDT", Some(dec!(30)))]);
    // One symbol only: the total is that symbol's position.
    let mut one = Ledger::new();
    one.apply(
        &acct,
        &btc,
        &rebalance(&[("a", dec!(2))], dec!(2), dec!(60000), &["o"]),
    )
    .unwrap();
    one.apply(&acct, &btc, &fill(Some("o"), dec!(2), dec!(60000), dec!(0)))
        .unwrap();
    let (_, total) = one.report(Some(&acct), &marks, GroupBy::Source).unwrap();
    assert_eq!(total.qty, Some(dec!(2)));
}
