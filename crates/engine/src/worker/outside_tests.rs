use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tradeengine_model::{
    AccountName, ClientOrderId, OrderKind, OrderState, PlanId, Side, Symbol, Timestamp,
};
use tradeengine_store::StoredOrder;

use super::*;

fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

fn book(entries: &[(&str, Decimal)]) -> BTreeMap<Symbol, Decimal> {
    entries.iter().map(|(s, q)| (sym(s), *q)).collect()
}

fn reads(start: &[(&str, Decimal)]) -> Reads {
    Reads {
        plans_from: 10,
        start: book(start),
        planned: true,
        unsettled: BTreeSet::new(),
    }
}

fn fills(net: &[(&str, Decimal)]) -> OurFills {
    OurFills {
        net: book(net),
        working: BTreeSet::new(),
    }
}

fn ts(ms: i64) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(ms).unwrap()
}

fn no_tolerance(_: &Symbol) -> Decimal {
    Decimal::ZERO
}

fn order(plan: &str, symbol: &str, side: Side, filled: Decimal, state: OrderState) -> StoredOrder {
    StoredOrder {
        client_order_id: ClientOrderId::new(&format!("c-{plan}-{symbol}")).unwrap(),
        plan_id: PlanId::new(plan).unwrap(),
        leg: 0,
        account: AccountName::new("main").unwrap(),
        symbol: sym(symbol),
        side,
        qty: filled.max(dec!(1)),
        kind: OrderKind::Market,
        reduce_only: false,
        state,
        venue_order_id: None,
        filled_qty: filled,
        avg_fill_price: None,
        fee: Decimal::ZERO,
        error: None,
        created_at: ts(0),
        updated_at: ts(0),
    }
}

/// Plan ids `p<n>` have sequence n; anything else is another process's.
fn seq(id: &PlanId) -> Option<u64> {
    id.as_str().strip_prefix('p')?.parse().ok()
}

#[test]
fn our_own_fills_explain_the_new_read() {
    let prev = reads(&[("BTCUSDT", dec!(1))]);
    let now = book(&[("BTCUSDT", dec!(3)), ("ETHUSDT", dec!(-2))]);
    let ours = fills(&[("BTCUSDT", dec!(2)), ("ETHUSDT", dec!(-2))]);
    assert!(outside_moves(&prev, &now, &ours, &BTreeSet::new(), &no_tolerance).is_empty());
}

#[test]
fn a_manual_close_without_our_orders_is_an_uncontested_move() {
    let prev = reads(&[("BTCUSDT", dec!(1))]);
    let moves = outside_moves(
        &prev,
        &BTreeMap::new(),
        &OurFills::default(),
        &BTreeSet::new(),
        &no_tolerance,
    );
    assert_eq!(
        moves,
        vec![OutsideMove {
            symbol: sym("BTCUSDT"),
            expected: dec!(1),
            actual: dec!(0),
            contested: false,
            counts: false,
        }]
    );
}

/// Two engines buying the same target at once: each expects its own fill, the venue holds both.
#[test]
fn a_second_fill_on_top_of_ours_is_contested() {
    let prev = reads(&[]);
    let now = book(&[("BTCUSDT", dec!(2))]);
    let moves = outside_moves(
        &prev,
        &now,
        &fills(&[("BTCUSDT", dec!(1))]),
        &BTreeSet::new(),
        &no_tolerance,
    );
    assert_eq!(moves.len(), 1);
    assert!(moves[0].contested);
    assert_eq!((moves[0].expected, moves[0].actual), (dec!(1), dec!(2)));
}

#[test]
fn symbols_with_orders_still_working_are_not_judged() {
    let now = book(&[("BTCUSDT", dec!(5))]);
    let mut prev = reads(&[]);
    prev.unsettled.insert(sym("BTCUSDT"));
    assert!(
        outside_moves(
            &prev,
            &now,
            &OurFills::default(),
            &BTreeSet::new(),
            &no_tolerance
        )
        .is_empty()
    );
    let prev = reads(&[]);
    let unsettled_now: BTreeSet<Symbol> = [sym("BTCUSDT")].into();
    assert!(
        outside_moves(
            &prev,
            &now,
            &OurFills::default(),
            &unsettled_now,
            &no_tolerance
        )
        .is_empty()
    );
    let mut working = OurFills::default();
    working.working.insert(sym("BTCUSDT"));
    assert!(outside_moves(&prev, &now, &working, &BTreeSet::new(), &no_tolerance).is_empty());
    // The other symbols still are.
    let now = book(&[("BTCUSDT", dec!(5)), ("ETHUSDT", dec!(1))]);
    let moves = outside_moves(&prev, &now, &working, &BTreeSet::new(), &no_tolerance);
    assert_eq!(moves.len(), 1);
    assert_eq!(moves[0].symbol, sym("ETHUSDT"));
}

#[test]
fn a_difference_within_half_a_lot_is_rounding() {
    let prev = reads(&[("BTCUSDT", dec!(1))]);
    let now = book(&[("BTCUSDT", dec!(1.0004))]);
    let half = |_: &Symbol| dec!(0.0005);
    assert!(outside_moves(&prev, &now, &OurFills::default(), &BTreeSet::new(), &half).is_empty());
    let now = book(&[("BTCUSDT", dec!(1.001))]);
    assert_eq!(
        outside_moves(&prev, &now, &OurFills::default(), &BTreeSet::new(), &half).len(),
        1
    );
}

#[test]
fn our_fills_count_only_plans_since_the_read_and_flag_working_orders() {
    let orders = vec![
        order("p12", "BTCUSDT", Side::Buy, dec!(2), OrderState::Filled),
        order("p11", "BTCUSDT", Side::Sell, dec!(0.5), OrderState::Filled),
        order("p11", "ETHUSDT", Side::Buy, dec!(0), OrderState::Unknown),
        order("p10", "SOLUSDT", Side::Sell, dec!(3), OrderState::Cancelled),
        // Before the read: its fill is in the start read already.
        order("p9", "BTCUSDT", Side::Buy, dec!(7), OrderState::Filled),
    ];
    let got = our_fills(&orders, 100, 10, &seq).unwrap();
    assert_eq!(
        got.net,
        book(&[("BTCUSDT", dec!(1.5)), ("SOLUSDT", dec!(-3))])
    );
    assert_eq!(got.working, [sym("ETHUSDT")].into());
}

#[test]
fn a_read_as_long_as_its_limit_with_nothing_older_is_incomplete() {
    let orders = vec![
        order("p12", "BTCUSDT", Side::Buy, dec!(2), OrderState::Filled),
        order("p11", "BTCUSDT", Side::Buy, dec!(2), OrderState::Filled),
    ];
    assert_eq!(our_fills(&orders, 2, 10, &seq), None);
    assert!(our_fills(&orders, 3, 10, &seq).is_some());
    // Another process's order (a previous boot) counts as older.
    let mut with_old = orders.clone();
    with_old.push(order(
        "q1",
        "BTCUSDT",
        Side::Buy,
        dec!(1),
        OrderState::Filled,
    ));
    assert!(our_fills(&with_old, 3, 10, &seq).is_some());
}

fn moved(contested: bool) -> Vec<OutsideMove> {
    vec![OutsideMove {
        symbol: sym("BTCUSDT"),
        expected: dec!(1),
        actual: dec!(2),
        contested,
        counts: false,
    }]
}

fn minutes(m: i64) -> Timestamp {
    ts(m * 60_000)
}

/// Our fill in BTCUSDT since the last read.
fn traded() -> OurFills {
    fills(&[("BTCUSDT", dec!(1))])
}

#[test]
fn three_contested_cycles_are_a_fight() {
    let mut watch = OutsideWatch::default();
    assert_eq!(watch.judge(&mut moved(true), &traded(), minutes(0)), None);
    assert_eq!(watch.judge(&mut [], &OurFills::default(), minutes(1)), None);
    assert_eq!(watch.judge(&mut moved(true), &traded(), minutes(2)), None);
    let fight = watch
        .judge(&mut moved(true), &traded(), minutes(3))
        .expect("third counted cycle within 30 minutes");
    assert!(fight.contains("BTCUSDT expected 1 read 2"), "{fight}");
    assert!(fight.contains("kill --release"), "{fight}");
}

/// Two engines whose cycles are seconds apart: each re-reads right after its own fill, so it
/// sees the other's trade only in a later window in which it did not trade itself. The moves
/// are uncontested, but the symbol is one this engine keeps trading back.
#[test]
fn uncontested_moves_on_a_symbol_this_engine_trades_back_are_a_fight() {
    let mut watch = OutsideWatch::default();
    // Our fill (the cycle right after our order), no move.
    assert_eq!(watch.judge(&mut [], &traded(), minutes(0)), None);
    let mut first = moved(false);
    assert_eq!(
        watch.judge(&mut first, &OurFills::default(), minutes(1)),
        None
    );
    assert!(first[0].counts, "a symbol we traded a minute ago");
    assert_eq!(watch.judge(&mut [], &traded(), minutes(2)), None);
    assert_eq!(
        watch.judge(&mut moved(false), &OurFills::default(), minutes(3)),
        None
    );
    assert_eq!(watch.judge(&mut [], &traded(), minutes(4)), None);
    assert!(
        watch
            .judge(&mut moved(false), &OurFills::default(), minutes(5))
            .is_some()
    );
}

/// A position this engine does not trade (held, unconfigured, a manual side position) moving
/// never counts, however often.
#[test]
fn moves_in_symbols_this_engine_does_not_trade_never_fight() {
    let mut watch = OutsideWatch::default();
    for m in 0..30 {
        let mut moves = moved(false);
        assert_eq!(
            watch.judge(&mut moves, &OurFills::default(), minutes(m)),
            None
        );
        assert!(!moves[0].counts);
    }
}

#[test]
fn counted_moves_further_apart_than_the_window_never_fight() {
    let mut watch = OutsideWatch::default();
    for n in 0..10 {
        let at = minutes(n * 31);
        assert_eq!(watch.judge(&mut moved(true), &traded(), at), None);
    }
}

#[test]
fn a_release_starts_the_count_afresh() {
    let t = minutes(0);
    let mut watch = OutsideWatch::default();
    watch.judge(&mut moved(true), &traded(), minutes(1));
    watch.judge(&mut moved(true), &traded(), minutes(2));
    watch.kill_seen(true, t);
    watch.kill_seen(false, t);
    assert_eq!(
        watch.judge(&mut moved(true), &traded(), minutes(3)),
        None,
        "the count restarted at the release"
    );
    assert_eq!(watch.judge(&mut moved(true), &traded(), minutes(4)), None);
    assert!(
        watch
            .judge(&mut moved(true), &traded(), minutes(5))
            .is_some()
    );
}

#[test]
fn a_freeze_of_our_own_holds_until_the_switch_shows_or_a_few_seconds_pass() {
    let mut watch = OutsideWatch {
        freezing_since: Some(ts(0)),
        ..OutsideWatch::default()
    };
    watch.kill_seen(false, ts(1_000));
    assert!(watch.freezing(), "the watcher has not read the store yet");
    watch.kill_seen(true, ts(1_500));
    assert!(!watch.freezing(), "the shared switch holds the account now");
    watch.freezing_since = Some(ts(0));
    watch.kill_seen(false, ts(6_000));
    assert!(
        !watch.freezing(),
        "released before the watcher saw it: not held forever"
    );
}

#[test]
fn a_symbol_is_warned_about_once_per_ten_minutes() {
    let mut watch = OutsideWatch::default();
    let s = sym("BTCUSDT");
    assert!(watch.warn_now(&s, ts(0)));
    assert!(!watch.warn_now(&s, ts(599_999)));
    assert!(watch.warn_now(&sym("ETHUSDT"), ts(1)));
    assert!(watch.warn_now(&s, ts(600_000)));
}
