#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Store loss stops trading, never silently: the SQLite file deleted or replaced under a
//! running engine is noticed within a cycle, after which no signal is accepted (the intake
//! answers `StoreUnavailable`, which the HTTP layer turns into 503) and no order can be
//! planned. The engine's audit head is anchored beside the database, and a chain truncated
//! while the engine was stopped is reported at the next start.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tradeengine_engine::config::{Overrides, load_str};
use tradeengine_engine::{IntakeError, RunningEngine, StartOptions};
use tradeengine_model::{Intent, Signal, SignalId, SourceId, Symbol, SystemClock, TargetIntent};
use tradeengine_store::anchor::{ANCHOR_FILE_NAME, read_anchor};
use tradeengine_store::{AuditKind, SQLITE_FILE_NAME, Store};

const CONFIG: &str = r#"
[engine]
drift_check_interval_secs = 1
data_dir = "DATA"
hot_reload = false
[[accounts]]
name = "paper"
venue = "paper"
[sources.ops]
type = "rest"
[[symbols]]
symbol = "BTCUSDT"
leverage = 2
weights = { ops = 1.0 }
"#;

fn signal(n: u32, depth: Decimal) -> Signal {
    let key = format!("k-{n}");
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

async fn start(dir: &std::path::Path, store: Arc<dyn Store>) -> RunningEngine {
    let config = load_str(
        &CONFIG.replace("DATA", &dir.display().to_string()),
        None,
        &[],
        &Overrides::default(),
    )
    .unwrap();
    RunningEngine::start(
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
    .unwrap()
}

/// Polls `check` every 50 ms for up to `secs` seconds.
async fn within(secs: u64, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < Duration::from_secs(secs), "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_database_stops_intake_and_trading() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let engine = start(dir.path(), store.clone()).await;
    engine
        .intake
        .submit(signal(1, Decimal::new(2, 1)))
        .await
        .unwrap();

    std::fs::remove_file(dir.path().join(SQLITE_FILE_NAME)).unwrap();
    // Noticed within a check (1 s), well inside one cycle.
    within(
        5,
        "the store never noticed its file was deleted",
        async || store.fault().is_some(),
    )
    .await;
    // "deleted", or "replaced" when a pooled connection opened the path again (SQLite creates
    // an empty file there) before the check ran: either way the store is lost.
    let lost = |r: &str| r.contains("deleted") || r.contains("replaced");
    let fault = store.fault().unwrap();
    assert!(lost(&fault), "{fault}");
    // A signal is refused, not "accepted" into a file no one will read again.
    match engine.intake.submit(signal(2, Decimal::new(-2, 1))).await {
        Err(IntakeError::StoreUnavailable(reason)) => assert!(lost(&reason), "{reason}"),
        other => panic!("intake answered {other:?}"),
    }
    // Nothing can be planned: every write is refused from now on.
    assert!(
        store
            .record_positions(
                &tradeengine_model::AccountName::new("paper").unwrap(),
                &[],
                chrono::Utc::now()
            )
            .await
            .is_err()
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_head_is_anchored_and_truncation_is_reported_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    let engine = start(dir.path(), store.clone()).await;
    for n in 0..3 {
        engine
            .intake
            .submit(signal(n, Decimal::new(i64::from(n), 1)))
            .await
            .unwrap();
    }
    engine.shutdown().await;
    // The clean stop anchors the head, the stop event included; the file is private.
    let head = store.audit_head().await.unwrap().unwrap();
    let anchor = read_anchor(dir.path()).unwrap().unwrap();
    assert_eq!(anchor.head(), head);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join(ANCHOR_FILE_NAME))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    drop(store);

    // The newest event deleted while the engine was stopped: the chain alone still verifies.
    let raw = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join(SQLITE_FILE_NAME).display()
    ))
    .await
    .unwrap();
    sqlx::query("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
    assert!(store.verify_audit().await.unwrap().is_ok());

    let engine = start(dir.path(), store.clone()).await;
    within(
        10,
        "no audit_chain_broken event after a truncation",
        async || {
            store
                .audit_events(0, 10_000)
                .await
                .unwrap()
                .iter()
                .any(|e| e.kind == AuditKind::AuditChainBroken)
        },
    )
    .await;
    engine.shutdown().await;
    // The anchor is evidence: it was not moved to the truncated chain.
    assert_eq!(read_anchor(dir.path()).unwrap().unwrap().head(), head);
}
