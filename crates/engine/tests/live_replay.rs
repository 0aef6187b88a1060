#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Live = replay: a paper session runs through the real engine (its workers, intake, store and
//! paper venue) on a manual clock and recorded prices, with two sources' signals on two
//! symbols; then `replay` reads that session's own signals and mark readings back from its
//! store and runs them with the account's configured settings. The orders, the fills and the
//! P&L by source and by symbol come out the same to the last decimal.
//!
//! Determinism of the live side in the first test: the clock only moves between steps, and each
//! step waits until the engine is quiet (its cycle done, and the follow-up cycle after any
//! orders) before the clock moves again; the drift-check timer is an hour of real time, so every
//! cycle is one the test asked for (a signal, or a nudge on steps without one, where only the
//! price moved).
//!
//! The second test stages nothing: each step's signals are submitted at once while the cycles
//! they wake run, so which cycle sees which signal is up to the scheduler, and two signals are
//! stamped as a real clock stamps them when the intake and the cycles interleave. Whatever the
//! interleaving, the replay must come out the same: each reading lists the signals its cycle
//! blended, and the replay applies exactly those.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, TimeZone, Utc};
use rust_decimal::Decimal;
use tradeengine_core::attribution::GroupBy;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::replay::{ReplaySetup, replay, replay_recorded, stored_session};
use tradeengine_engine::{RunningEngine, StartOptions, pnl};
use tradeengine_model::{
    AccountName, Intent, ManualClock, Side, Signal, SignalId, SourceId, Symbol, TargetIntent,
    Timestamp,
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

/// A clock that moves only when told to, and by a millisecond at every reading in between: no
/// two cycles share a time, as on a real clock (the books order plans and fills by time, and a
/// manual clock would give every cycle of a step the same one), yet where the time stands
/// depends on nothing but the readings.
#[derive(Debug)]
struct TickingClock(std::sync::Mutex<Timestamp>);

impl TickingClock {
    /// Moves to `at`, or stays when the readings are already past it.
    fn set(&self, at: Timestamp) {
        let mut t = self.0.lock().unwrap();
        *t = (*t).max(at);
    }
}

impl tradeengine_model::Clock for TickingClock {
    fn now(&self) -> Timestamp {
        let mut t = self.0.lock().unwrap();
        *t += TimeDelta::milliseconds(1);
        *t
    }
}

/// Cycles until the engine is quiet: all submissions were answered before this is called, so a
/// cycle that starts after the first notify completes has seen every signal; the second notify
/// makes sure one such cycle ran (one already running when the first came may not have).
/// Whatever the engine did in between is recorded: the replay must match it anyway.
async fn settle(engine: &RunningEngine, account: &AccountName) {
    for _ in 0..2 {
        let (seen, _) = counts(engine, account).await;
        engine.state.notify_targets_changed();
        let start = Instant::now();
        loop {
            let v = engine.state.account_view(account).await.unwrap_or_default();
            assert!(v.last_error.is_none(), "cycle failed: {:?}", v.last_error);
            if v.cycles > seen {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the engine did not cycle"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// (step, source, symbol, depth in hundredths, receive time relative to the step in ms): the
/// signals of one step are submitted at once, while the cycles they wake run, so a cycle may
/// see some of a burst and the next the rest. Two are stamped as a real clock stamps them when
/// the intake and the cycles interleave: one received after the clock reading of the cycle
/// that takes it in (a cycle reads the clock, then the sleeves: a signal committed in between
/// is in; 30 s here rather than milliseconds, so that it surely is later), one received before
/// the previous step's cycles but submitted only now (its commit came after them).
const BURSTS: &[(usize, &str, &str, i64, i64)] = &[
    (1, "tv", "BTCUSDT", 50, 0),
    (1, "ops", "BTCUSDT", 40, 0),
    (1, "tv", "ETHUSDT", -40, 0),
    (1, "ops", "ETHUSDT", 30, 0),
    (2, "tv", "BTCUSDT", -60, 0),
    (2, "tv", "BTCUSDT", 70, 0),
    (2, "ops", "ETHUSDT", -50, 30_000),
    (4, "ops", "BTCUSDT", -80, 0),
    (4, "tv", "ETHUSDT", 60, 0),
    (4, "ops", "ETHUSDT", 20, 0),
    (5, "tv", "BTCUSDT", -30, -61_000),
    (7, "tv", "ETHUSDT", 0, 0),
    (7, "ops", "BTCUSDT", 30, 0),
    (7, "tv", "BTCUSDT", 90, 0),
    (7, "ops", "ETHUSDT", -70, 0),
    (9, "ops", "BTCUSDT", 0, 0),
    (9, "tv", "ETHUSDT", 40, 30_000),
];
const BURST_STEPS: usize = 11;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_signals_arrive_while_cycles_run_replays_to_its_orders_fills_and_pnl() {
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
    let clock = Arc::new(TickingClock(std::sync::Mutex::new(t0)));
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
    settle(&engine, &main).await;

    for step in 1..=BURST_STEPS {
        let at = t0 + TimeDelta::minutes(step as i64);
        clock.set(at);
        // The step's signals all at once, each on its own task: the intake batches and
        // commits them while the cycles they wake run.
        let submits: Vec<_> = BURSTS
            .iter()
            .enumerate()
            .filter(|(_, b)| b.0 == step)
            .map(|(n, &(_, source, symbol, depth, offset))| {
                let s = signal(
                    100 + n,
                    source,
                    symbol,
                    depth,
                    at + TimeDelta::milliseconds(offset),
                );
                let intake = engine.intake.clone();
                tokio::spawn(async move { intake.submit(s).await })
            })
            .collect();
        for s in submits {
            s.await.unwrap().unwrap();
        }
        settle(&engine, &main).await;
    }
    engine.shutdown().await;

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
    assert!(live_fills.len() >= 8, "{} fills", live_fills.len());

    let session = stored_session(&*store, &main).await.unwrap();
    assert_eq!(session.signals.len(), BURSTS.len());
    assert_eq!(session.seen.len(), session.times.len());
    let setup = ReplaySetup::from_config(&config, config.account("main").unwrap()).unwrap();
    let out = replay_recorded(&setup, &session).await.unwrap();

    // Per symbol in order (the live engine plans symbols in parallel, so only each symbol's own
    // orders have an order), ids apart (plan ids are per process).
    let by_symbol = |mut v: Vec<(String, Side, Decimal, bool)>| {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let shape = |symbol: &Symbol, side, qty: Decimal, reduce_only| {
        (symbol.to_string(), side, qty.normalize(), reduce_only)
    };
    let live = by_symbol(
        live_orders
            .iter()
            .map(|o| shape(&o.symbol, o.side, o.qty, o.reduce_only))
            .collect(),
    );
    let orders = |out: &tradeengine_engine::replay::ReplayOutcome| {
        by_symbol(
            out.orders
                .iter()
                .map(|o| shape(&o.symbol, o.side, o.qty, o.reduce_only))
                .collect(),
        )
    };
    assert_eq!(orders(&out), live);

    // Times apart: a live fill is stamped when the venue made it, a replayed one at its cycle's.
    let fill = |f: &tradeengine_model::Fill| {
        (
            f.symbol.to_string(),
            f.side,
            f.qty.normalize(),
            f.price.get().normalize(),
            f.fee.normalize(),
        )
    };
    let mut live_f: Vec<_> = live_fills.iter().map(|f| fill(&f.fill)).collect();
    let mut replayed_f: Vec<_> = out.fills.iter().map(fill).collect();
    live_f.sort_by(|a, b| a.0.cmp(&b.0));
    replayed_f.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(replayed_f, live_f);

    for by in [GroupBy::Source, GroupBy::Symbol] {
        let (live_lines, live_total) = books.ledger.report(Some(&main), &books.marks, by).unwrap();
        let (lines, total) = out.ledger.report(None, &books.marks, by).unwrap();
        assert_eq!(lines, live_lines, "{by:?}");
        assert_eq!(total, live_total, "{by:?}");
    }

    // What the replay did before readings listed their signals: every signal received by a
    // cycle's time, at that cycle. The late and the early-stamped signals land in other cycles
    // than the live engine's, and the orders differ.
    let feed = Arc::new(session.feed.clone());
    let by_time = replay(&setup, &session.signals, feed, &session.times)
        .await
        .unwrap();
    assert_ne!(
        orders(&by_time),
        live,
        "the session did not exercise the interleavings"
    );
}
