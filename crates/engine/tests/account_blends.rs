#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Each account blends with its own `[accounts.risk] max_depth`, so each account's stored
//! target depth (`TargetRecord.depth`) is its own: two accounts on one symbol, capped at 0.5
//! and 0.25, trading the same signals at the same time, never record each other's depth.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{RunningEngine, StartOptions};
use tradeengine_model::{
    AccountName, Intent, Signal, SignalId, SourceId, Symbol, SystemClock, TargetIntent,
};
use tradeengine_store::{Store, TargetRecord};

const CONFIG: &str = r#"
[engine]
drift_check_interval_secs = 1
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "wide"
venue = "paper"
[accounts.risk]
max_depth = 0.5
[[accounts]]
name = "narrow"
venue = "paper"
[accounts.risk]
max_depth = 0.25
[sources.ops]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { ops = 1.0 }
"#;

fn signal(n: u32, depth: Decimal) -> Signal {
    let key = format!("blend-{n}");
    Signal {
        id: SignalId::new(&key).unwrap(),
        source: SourceId::new("ops").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        intent: Intent::Target(TargetIntent {
            depth,
            leverage: None,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: chrono::Utc::now(),
        idempotency_key: key,
        raw: serde_json::json!({}),
    }
}

/// The depth each account must record for a signal of `depth`: the signal capped at the
/// account's own `max_depth`.
fn capped(depth: Decimal, cap: Decimal) -> Decimal {
    depth.clamp(-cap, cap)
}

/// The account's latest stored target for the symbol, once its depth is no longer the previous
/// round's (the rounds alternate in sign, so a record of either account's new depth ends the
/// wait; a follow-up record at the old depth, e.g. after a fee moved the value, does not).
async fn next_record(
    store: &dyn Store,
    account: &AccountName,
    previous: Option<Decimal>,
) -> TargetRecord {
    let start = Instant::now();
    loop {
        let latest = store.targets(account).await.unwrap().into_iter().next();
        if let Some(r) = latest
            && Some(r.depth) != previous
        {
            return r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for a new target record of {account}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_account_records_its_own_blended_depth() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let config = load_str(
        &CONFIG.replace("DATA", &dir.path().display().to_string()),
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap();
    let engine = RunningEngine::start(
        config,
        store.clone(),
        StartOptions {
            clock: Arc::new(SystemClock),
            live_confirmed: false,
            config_path: None,
            env_overrides: Default::default(),
        },
    )
    .await
    .unwrap();
    let wide = AccountName::new("wide").unwrap();
    let narrow = AccountName::new("narrow").unwrap();
    // Several rounds, both accounts woken by the same signal each time: before per-account
    // blends, whichever account wrote the shared board last decided what the other recorded.
    let depths = [
        Decimal::new(9, 1),
        Decimal::new(-8, 1),
        Decimal::new(7, 1),
        Decimal::new(-9, 1),
    ];
    let caps = [(&wide, Decimal::new(5, 1)), (&narrow, Decimal::new(25, 2))];
    let mut last: [Option<Decimal>; 2] = [None, None];
    for (i, depth) in depths.iter().enumerate() {
        let n = u32::try_from(i).unwrap() + 1;
        engine.intake.submit(signal(n, *depth)).await.unwrap();
        for (k, (account, cap)) in caps.iter().enumerate() {
            let record = next_record(&*store, account, last[k]).await;
            last[k] = Some(record.depth);
            assert_eq!(
                record.depth,
                capped(*depth, *cap),
                "round {n}: {account} recorded depth {} for a signal of {depth} (its cap is {cap})",
                record.depth
            );
        }
    }
    engine.shutdown().await;
}
