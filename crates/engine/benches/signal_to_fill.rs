#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Load harness: feeds signals into a running engine (SQLite store on disk, paper venue) and
//! measures signal received → paper order filled, and intake throughput.
//!
//! `cargo bench -p tradeengine-engine --bench signal_to_fill` (env `SIGNALS=N`, default 300).
//! Not a criterion benchmark: each sample is a whole trip through intake, store, the account
//! worker's cycle, the plan, the paper venue and back, which criterion's closure model does not
//! fit. It prints a Markdown table for BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{RunningEngine, SignalIntake, StartOptions};
use tradeengine_model::{
    AccountName, Intent, Signal, SignalId, SourceId, Symbol, SystemClock, TargetIntent,
};

const CONFIG: &str = r#"
[engine]
mode = "paper"
drift_check_interval_secs = 3600
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[accounts.paper]
starting_balance = 1000000
[sources.load]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
leverage = 1
weights = { load = 1.0 }
"#;

fn signal(n: u64, depth: Decimal) -> Signal {
    let now = chrono::Utc::now();
    let key = format!("load-{n}");
    Signal {
        id: SignalId::new(&key).unwrap_or_else(|e| panic!("{e}")),
        source: SourceId::new("load").unwrap_or_else(|e| panic!("{e}")),
        symbol: Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}")),
        intent: Intent::Target(TargetIntent {
            depth,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: Some(now),
        received_at: now,
        idempotency_key: key,
        raw: serde_json::json!({"n": n}),
    }
}

async fn filled(engine: &RunningEngine, account: &AccountName) -> u64 {
    engine
        .state
        .account_view(account)
        .await
        .map(|v| v.orders_filled)
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: u64 = std::env::var("SIGNALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().display().to_string();
    let config = load_str(
        &CONFIG.replace("DATA", &data),
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let store = tradeengine_store::open_sqlite_in(dir.path())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let engine = RunningEngine::start(
        config,
        store,
        StartOptions {
            clock: Arc::new(SystemClock),
            live_confirmed: false,
            config_path: None,
            env_overrides: Default::default(),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let account = AccountName::new("paper").unwrap_or_else(|e| panic!("{e}"));
    let intake: SignalIntake = engine.intake.clone();
    // Let the first cycle (settle, read, instruments) happen.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 1. Latency, one signal at a time: every signal moves the target, so every one fills.
    let mut to_stored = Vec::new();
    let mut to_filled = Vec::new();
    for i in 0..n {
        let depth = if i % 2 == 0 {
            Decimal::new(2, 1)
        } else {
            Decimal::new(1, 1)
        };
        let before = filled(&engine, &account).await;
        let t0 = Instant::now();
        intake
            .submit(signal(i, depth))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        to_stored.push(t0.elapsed());
        let deadline = t0 + Duration::from_secs(10);
        while filled(&engine, &account).await == before {
            if Instant::now() > deadline {
                panic!("signal {i} did not fill within 10 s");
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        to_filled.push(t0.elapsed());
    }
    to_stored.sort();
    to_filled.sort();

    // 2. Throughput: a burst from 64 concurrent submitters (as from many webhook connections);
    // the intake stores them in group-committed batches and the worker nets them.
    let burst = n * 20;
    let senders = 64;
    let before = filled(&engine, &account).await;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..senders {
        let intake = intake.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = t;
            while i < burst {
                let depth = Decimal::new(((i % 7) + 1) as i64, 2);
                intake
                    .submit(signal(n + i, depth))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                i += senders;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let stored_in = t0.elapsed();
    let mut converged = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let view = engine
            .state
            .account_view(&account)
            .await
            .unwrap_or_default();
        let symbol = Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}"));
        let target = view.targets.get(&symbol).copied();
        let size = view
            .positions
            .iter()
            .find(|p| p.symbol == symbol)
            .map(|p| p.size.get());
        if filled(&engine, &account).await > before && target.is_some() && target == size {
            converged = Some(t0.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let fills_in_burst = filled(&engine, &account).await - before;
    let summary = engine.shutdown().await;

    println!("| measure | value |");
    println!("|---|---|");
    println!("| signals, one at a time | {n} |");
    println!(
        "| signal → stored (intake, SQLite commit) p50 / p99 | {} / {} |",
        ms(percentile(&to_stored, 0.5)),
        ms(percentile(&to_stored, 0.99))
    );
    println!(
        "| signal → paper order filled p50 / p99 / max | {} / {} / {} |",
        ms(percentile(&to_filled, 0.5)),
        ms(percentile(&to_filled, 0.99)),
        ms(*to_filled.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "| burst: signals stored | {burst} in {} ({:.0} signals/s) |",
        ms(stored_in),
        burst as f64 / stored_in.as_secs_f64()
    );
    println!("| burst: orders filled (netted) | {fills_in_burst} |");
    println!(
        "| burst: position at final target after | {} |",
        converged
            .map(ms)
            .unwrap_or_else(|| "did not converge in 30 s".into())
    );
    println!(
        "| session | {} |",
        summary.render().lines().nth(1).unwrap_or("").trim()
    );
}
