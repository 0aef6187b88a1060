#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Live = replay: a paper session runs through the real engine (its workers, intake, store and
//! paper venue) on a manual clock and recorded prices, with two sources' signals on two
//! symbols; then `replay` reads that session's own signals and mark readings back from its
//! store and runs them with the account's configured settings. The orders, the fills and the
//! P&L by source and by symbol come out the same to the last decimal.
//!
//! Determinism of the live side: the clock only moves between steps, and each step waits until
//! the engine is quiet (its cycle done, and the follow-up cycle after any orders) before the
//! clock moves again; the drift-check timer is an hour of real time, so every cycle is one the
//! test asked for (a signal, or a nudge on steps without one, where only the price moved).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, TimeZone, Utc};
use rust_decimal::Decimal;
use tradeengine_core::attribution::GroupBy;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::replay::{ReplaySetup, replay, stored_session};
use tradeengine_engine::{RunningEngine, StartOptions, pnl};
use tradeengine_model::{
    AccountName, Intent, ManualClock, Signal, SignalId, SourceId, Symbol, TargetIntent, Timestamp,
};
use tradeengine_store::OrderFilter;

const CONFIG: &str = r#"
[engine]
drift_check_interval_secs = 3600
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "main"
venue = "paper"
min_order_notional = 5
[accounts.paper]
starting_balance = 10000
taker_fee = 0.00055
slippage_bps = 2
price_source = "csv:CANDLES"
[sources.tv]
type = "rest"
[sources.ops]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { tv = 0.6, ops = 0.4 }
[[symbols]]
symbol = "ETHUSDT"
leverage = 2
weights = { tv = 0.5, ops = 0.5 }
"#;

/// (step, source, symbol, depth in hundredths): one signal at most per step, so each cycle
/// sees every signal of its step (two signals a few ms apart could straddle a cycle).
const SCRIPT: &[(usize, &str, &str, i64)] = &[
    (1, "tv", "BTCUSDT", 50),
    (3, "ops", "BTCUSDT", 50),
    (5, "tv", "ETHUSDT", -40),
    (8, "ops", "ETHUSDT", 60),
    (12, "tv", "BTCUSDT", -80),
    (16, "ops", "BTCUSDT", 0),
    (20, "tv", "ETHUSDT", 30),
    (24, "ops", "BTCUSDT", -30),
    (27, "tv", "BTCUSDT", 0),
    (30, "ops", "ETHUSDT", -20),
];
const STEPS: usize = 34;

fn signal(n: usize, source: &str, symbol: &str, depth: i64, at: Timestamp) -> Signal {
    let key = format!("{source}-{n}");
    Signal {
        id: SignalId::new(&key).unwrap(),
        source: SourceId::new(source).unwrap(),
        symbol: Symbol::new(symbol).unwrap(),
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

/// What the account's view counts: cycles run and orders sent.
async fn counts(engine: &RunningEngine, account: &AccountName) -> (u64, u64) {
    let v = engine.state.account_view(account).await.unwrap_or_default();
    (v.cycles, v.orders_sent)
}

/// Waits until a cycle at `at` finished after `before` (the counts before the step), and then
/// until a cycle sends nothing (the follow-up after orders confirms them and must find the
/// target reached).
async fn quiet(engine: &RunningEngine, account: &AccountName, at: Timestamp, before: (u64, u64)) {
    let start = Instant::now();
    let (mut seen, mut sent) = before;
    loop {
        let v = engine.state.account_view(account).await.unwrap_or_default();
        assert!(v.last_error.is_none(), "cycle failed: {:?}", v.last_error);
        if v.cycles > seen && v.last_cycle_at == Some(at) {
            if v.orders_sent == sent {
                return;
            }
            (seen, sent) = (v.cycles, v.orders_sent);
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the engine did not settle at {at}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_paper_session_from_its_store_gives_its_orders_fills_and_pnl_by_source() {
    let dir = tempfile::tempdir().unwrap();
    let candles = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data/candles-1m.csv")
        .canonicalize()
        .unwrap();
    let text = CONFIG
        .replace("DATA", &dir.path().display().to_string())
        .replace("CANDLES", &candles.display().to_string());
    let config = load_str(&text, None, &[], &Overrides::default()).unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let engine = RunningEngine::start(
        config.clone(),
        store.clone(),
        StartOptions {
            clock: clock.clone(),
            live_confirmed: false,
            config_path: None,
            env_overrides: Default::default(),
        },
    )
    .await
    .unwrap();
    let main = AccountName::new("main").unwrap();
    quiet(&engine, &main, t0, (0, 0)).await;

    for step in 1..=STEPS {
        let at = t0 + TimeDelta::minutes(step as i64);
        let before = counts(&engine, &main).await;
        clock.set(at);
        match SCRIPT.iter().find(|(s, ..)| *s == step) {
            Some(&(_, source, symbol, depth)) => {
                engine
                    .intake
                    .submit(signal(step, source, symbol, depth, at))
                    .await
                    .unwrap();
            }
            // Only the price moved: a cycle as the drift check would run one.
            None => engine.state.notify_targets_changed(),
        }
        quiet(&engine, &main, at, before).await;
    }
    engine.shutdown().await;

    // The live session, from its store.
    let live_orders = {
        let mut o = store
            .orders(&OrderFilter {
                account: Some(main.clone()),
                limit: Some(10_000),
                ..OrderFilter::default()
            })
            .await
            .unwrap();
        o.reverse(); // newest first from the store
        o
    };
    let live_fills = store.fills_in_order(Some(&main), 0, 10_000).await.unwrap();
    let books = pnl::rebuild(&*store, Some(&main), None).await.unwrap();
    assert!(live_fills.len() >= 10, "{} fills", live_fills.len());

    // The replay of the same session, read back from the same store.
    let session = stored_session(&*store, &main).await.unwrap();
    assert_eq!(session.signals.len(), SCRIPT.len());
    let account = config.account("main").unwrap();
    let setup = ReplaySetup::from_config(&config, account).unwrap();
    let out = replay(
        &setup,
        &session.signals,
        Arc::new(session.feed.clone()),
        &session.times,
    )
    .await
    .unwrap();

    // Cycles where only the price moved were recorded too (the follow-ups at unchanged
    // prices were not), and the replay ran through them.
    assert!(
        session.times.len() > SCRIPT.len() + 1,
        "{} cycles",
        session.times.len()
    );
    assert!(session.times.len() <= STEPS + 1);
    // The same orders, in the same order (ids differ: plan ids are per process).
    let shape = |symbol: &Symbol, side, qty: Decimal, reduce_only| {
        (symbol.to_string(), side, qty.normalize(), reduce_only)
    };
    let live: Vec<_> = live_orders
        .iter()
        .map(|o| shape(&o.symbol, o.side, o.qty, o.reduce_only))
        .collect();
    let replayed: Vec<_> = out
        .orders
        .iter()
        .map(|o| shape(&o.symbol, o.side, o.qty, o.reduce_only))
        .collect();
    assert_eq!(replayed, live);

    // The same fills: time, symbol, side, quantity, price and fee, to the last decimal.
    let fill = |f: &tradeengine_model::Fill| {
        (
            f.filled_at,
            f.symbol.to_string(),
            f.side,
            f.qty.normalize(),
            f.price.get().normalize(),
            f.fee.normalize(),
        )
    };
    let live: Vec<_> = live_fills.iter().map(|f| fill(&f.fill)).collect();
    let replayed: Vec<_> = out.fills.iter().map(fill).collect();
    assert_eq!(replayed, live);

    // The same P&L by source and by symbol, at the same marks, every line and every figure.
    for by in [GroupBy::Source, GroupBy::Symbol] {
        let (live_lines, live_total) = books.ledger.report(Some(&main), &books.marks, by).unwrap();
        let (lines, total) = out.ledger.report(None, &books.marks, by).unwrap();
        assert_eq!(lines, live_lines, "{by:?}");
        assert_eq!(total, live_total, "{by:?}");
    }
    let (lines, total) = out
        .ledger
        .report(None, &books.marks, GroupBy::Source)
        .unwrap();
    let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["ops", "tv", "unattributed"]);
    assert!(lines[0].turnover > Decimal::ZERO && lines[1].turnover > Decimal::ZERO);
    assert_eq!(lines.iter().map(|l| l.pnl).sum::<Decimal>(), total.pnl);
}
