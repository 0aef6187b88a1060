#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Replay: two sources' recorded signals on the recorded candles in `examples/data`, through
//! the core and the paper venue with a manual clock. The same inputs give the same orders,
//! fills and books; the sources plus unattributed equal the account's P&L from its fills, and
//! that equals what the paper venue's own ledger says the account made.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use rust_decimal::Decimal;
use tradeengine_core::attribution::GroupBy;
use tradeengine_core::blend::{BlendPolicy, SymbolConfig};
use tradeengine_engine::replay::{ReplaySetup, replay};
use tradeengine_model::{
    AccountName, Intent, MarginMode, Signal, SignalId, SourceId, Symbol, TargetIntent, Timestamp,
};
use tradeengine_venues::feed::{KlineSeries, RecordedFeed, ReplayOptions};
use tradeengine_venues::paper::PaperConfig;

const CANDLES: &str = include_str!("../../../examples/data/candles-1m.csv");

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn feed() -> (Arc<RecordedFeed>, Vec<Timestamp>) {
    let series = KlineSeries::parse("candles-1m.csv", CANDLES).unwrap();
    let (first, end, step) = (
        series.first_open_ms(),
        series.end_ms(),
        series.interval_ms(),
    );
    let mut feed = RecordedFeed::new();
    feed.insert(
        btc(),
        series,
        ReplayOptions {
            rescale: Decimal::from(30_000_000),
            tick: Some(Decimal::new(1, 1)),
            ..ReplayOptions::default()
        },
    )
    .unwrap();
    let times = (first..end)
        .step_by(usize::try_from(step).unwrap())
        .map(|ms| Utc.timestamp_millis_opt(ms).unwrap())
        .collect();
    (Arc::new(feed), times)
}

fn signal(n: usize, source: &str, depth: i64, at: Timestamp) -> Signal {
    let key = format!("{source}-{n}");
    Signal {
        id: SignalId::new(&key).unwrap(),
        source: SourceId::new(source).unwrap(),
        symbol: btc(),
        intent: Intent::Target(TargetIntent {
            depth: Decimal::new(depth, 2),
            leverage: None,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: at,
        idempotency_key: key,
        raw: serde_json::json!({}),
    }
}

/// `fast` flips every 90 minutes, `slow` every 5 hours, from the series' start.
fn signals(start: Timestamp) -> Vec<Signal> {
    let mut out = Vec::new();
    for n in 0..16 {
        let depth = if n % 2 == 0 { 50 } else { -50 };
        out.push(signal(
            n,
            "fast",
            depth,
            start + TimeDelta::minutes(90 * n as i64),
        ));
    }
    for n in 0..5 {
        let depth = if n % 2 == 0 { -40 } else { 60 };
        out.push(signal(
            n,
            "slow",
            depth,
            start + TimeDelta::minutes(300 * n as i64),
        ));
    }
    out
}

fn setup(fast: Decimal, slow: Decimal) -> ReplaySetup {
    let weights: BTreeMap<SourceId, Decimal> = [
        (SourceId::new("fast").unwrap(), fast),
        (SourceId::new("slow").unwrap(), slow),
    ]
    .into();
    ReplaySetup {
        account: AccountName::new("replay").unwrap(),
        symbols: vec![SymbolConfig::new(btc(), Decimal::from(3), weights)],
        policy: BlendPolicy::default(),
        rules: BTreeMap::new(),
        paper: PaperConfig::default(),
        drift_band: Decimal::new(1, 2),
        min_notional: Decimal::from(5),
        margin_mode: MarginMode::Cross,
        leverage_override: None,
        margin_buffer: Decimal::new(5, 2),
    }
}

#[tokio::test]
async fn a_replay_is_deterministic_and_its_books_add_up_to_the_paper_account() {
    let (feed, times) = feed();
    let signals = signals(times[0]);
    let setup = setup(Decimal::new(6, 1), Decimal::new(4, 1));
    let a = replay(&setup, &signals, feed.clone(), &times)
        .await
        .unwrap();
    let b = replay(&setup, &signals, feed.clone(), &times)
        .await
        .unwrap();
    assert!(a.fills.len() > 10, "{} fills", a.fills.len());
    assert_eq!(a.orders, b.orders);
    assert_eq!(a.fills, b.fills);
    assert_eq!(a.ledger, b.ledger);
    assert_eq!(a.equity, b.equity);

    let (lines, total) = a.ledger.report(None, &a.marks, GroupBy::Source).unwrap();
    let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["fast", "slow", "unattributed"]);
    let sum: Decimal = lines.iter().map(|l| l.pnl).sum();
    assert_eq!(sum, total.pnl);
    // The paper venue's own accounting agrees. Its equity carries its average entry as a
    // 28-digit quotient, so it can differ in the 27th decimal place; the books are exact sums
    // of the fills.
    let (_, last_equity) = *a.equity.last().unwrap();
    let paper = last_equity - PaperConfig::default().starting_balance;
    assert_eq!(total.pnl, paper.round_dp(20), "paper says {paper}");
    // Both sources traded, and netting saved something: they disagree half the time.
    assert!(lines[0].turnover > Decimal::ZERO && lines[1].turnover > Decimal::ZERO);
    assert!(lines.iter().map(|l| l.netting_saving).sum::<Decimal>() > Decimal::ZERO);
}

#[tokio::test]
async fn other_weights_give_other_books() {
    let (feed, times) = feed();
    let signals = signals(times[0]);
    let a = replay(
        &setup(Decimal::new(6, 1), Decimal::new(4, 1)),
        &signals,
        feed.clone(),
        &times,
    )
    .await
    .unwrap();
    let only_slow = replay(&setup(Decimal::ZERO, Decimal::ONE), &signals, feed, &times)
        .await
        .unwrap();
    let (lines, _) = only_slow
        .ledger
        .report(None, &only_slow.marks, GroupBy::Source)
        .unwrap();
    let fast = lines.iter().find(|l| l.name == "fast");
    assert!(fast.is_none_or(|l| l.turnover.is_zero()), "{lines:?}");
    assert_ne!(a.fills, only_slow.fills);
}

/// A stored session's fill prices: an order fills at the market price the reading recorded for
/// the live fill in its place (a live paper order fills when it reaches the venue, and the
/// price can have moved since the cycle's reading), else at the reading.
#[tokio::test]
async fn an_order_fills_at_the_price_recorded_for_its_live_fill() {
    use tradeengine_engine::replay::{StepFeed, StoredSession, replay_recorded};
    use tradeengine_store::{FillPrice, SeenSignal};
    let t = |s: i64| Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap();
    let price = |p: i64| tradeengine_model::Price::new(Decimal::from(p)).unwrap();
    let mut feed = StepFeed::default();
    feed.push(&btc(), t(0), price(60_000)).unwrap();
    feed.push(&btc(), t(60), price(60_000)).unwrap();
    let s = signal(1, "fast", 50, t(0));
    let seen = vec![SeenSignal {
        source: s.source.clone(),
        symbol: btc(),
        signal: s.id.clone(),
    }];
    let session = |fills: Vec<FillPrice>| StoredSession {
        signals: vec![s.clone()],
        feed: feed.clone(),
        times: vec![t(0), t(60)],
        seen: vec![Some(seen.clone()), Some(Vec::new())],
        fill_prices: vec![fills, Vec::new()],
    };
    let setup = setup(Decimal::ONE, Decimal::ZERO);
    let at_reading = replay_recorded(&setup, &session(Vec::new())).await.unwrap();
    let moved = replay_recorded(
        &setup,
        &session(vec![FillPrice {
            symbol: btc(),
            price: price(60_120),
        }]),
    )
    .await
    .unwrap();
    // The same order (sized at the reading), filled 120 higher plus the same slippage.
    assert_eq!(at_reading.orders, moved.orders);
    assert_eq!((at_reading.fills.len(), moved.fills.len()), (1, 1));
    let (a, b) = (at_reading.fills[0].price.get(), moved.fills[0].price.get());
    assert!(
        a >= Decimal::from(60_000) && a < Decimal::from(60_100),
        "{a}"
    );
    assert!(
        b - a > Decimal::from(119) && b - a < Decimal::from(121),
        "{a} → {b}"
    );
    // The next cycle fills nothing and prices at its reading again.
    assert_eq!(at_reading.marks[&btc()].get(), Decimal::from(60_000));
    assert_eq!(moved.marks[&btc()].get(), Decimal::from(60_000));
}
