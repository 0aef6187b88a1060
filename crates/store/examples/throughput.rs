//! Measures how many signals per second the store accepts, on SQLite (a temp dir) and, when
//! `TRADEENGINE_TEST_PG_URL` (or the default local URL) answers, on PostgreSQL.
//!
//! `cargo run -p tradeengine-store --release --example throughput [-- COUNT]`
//!
//! Each signal is one transaction: the signal row, its sleeve upsert and two chained audit
//! events, committed with the backend's durability settings.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use rust_decimal_macros::dec;
use tradeengine_model::{
    Intent, SignalId, Sleeve, SleeveOrigin, SleeveState, SourceId, Symbol, TargetIntent,
};
use tradeengine_model::{Signal, Timestamp};
use tradeengine_store::Store;

fn at(ms: i64) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap()
}

fn signal(n: usize) -> (Signal, Sleeve) {
    let sig = Signal {
        id: SignalId::new(&format!("sig-{n}")).unwrap(),
        source: SourceId::new("tradingview").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        intent: Intent::Target(TargetIntent {
            depth: dec!(0.5),
            leverage: None,
            reference_price: None,
        }),
        emitted_at: None,
        received_at: at(n as i64),
        idempotency_key: format!("evt-{n}"),
        raw: serde_json::json!({ "ticker": "BTCUSDT", "direction": "long", "size": "0.5", "n": n }),
    };
    let sleeve = Sleeve {
        state: SleeveState::Open,
        exposure: SleeveOrigin::Depth(dec!(0.5)),
        last_signal: Some(sig.id.clone()),
        ..Sleeve::flat(sig.source.clone(), sig.symbol.clone(), sig.received_at)
    };
    (sig, sleeve)
}

async fn run(name: &str, store: Arc<dyn Store>, count: usize, concurrency: usize) {
    let started = Instant::now();
    let per_task = count / concurrency;
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_task {
                let (sig, sleeve) = signal(t * per_task + i);
                store.record_signal(&sig, Some(&sleeve)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let done = per_task * concurrency;
    println!(
        "{name:<10} {concurrency:>3} writers: {done} signals in {secs:.2} s = {:.0} signals/s",
        done as f64 / secs
    );
    let started = Instant::now();
    let v = store.verify_audit().await.unwrap();
    assert!(v.is_ok());
    println!(
        "{name:<10} verify_audit: {} events in {:.2} s",
        v.events,
        started.elapsed().as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000);
    for concurrency in [1, 32] {
        let dir = tempfile::tempdir().unwrap();
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        run("sqlite", store, count, concurrency).await;
    }
    let url = std::env::var("TRADEENGINE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("te_store_bench_{}", std::process::id());
    let Ok(admin) = sqlx::PgPool::connect(&url).await else {
        println!("postgres   unreachable at {url}; skipped");
        return;
    };
    let create = format!("CREATE SCHEMA {schema}");
    sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&admin)
        .await
        .unwrap();
    for concurrency in [1, 32] {
        let reset = format!("DROP SCHEMA {schema} CASCADE");
        let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
        let options = options.options([("search_path", schema.as_str())]);
        let store = tradeengine_store::open_postgres(options, 16).await.unwrap();
        run("postgres", store, count, concurrency).await;
        sqlx::query(sqlx::AssertSqlSafe(reset))
            .execute(&admin)
            .await
            .unwrap();
        let create = format!("CREATE SCHEMA {schema}");
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&admin)
            .await
            .unwrap();
    }
    let drop = format!("DROP SCHEMA {schema} CASCADE");
    sqlx::query(sqlx::AssertSqlSafe(drop))
        .execute(&admin)
        .await
        .unwrap();
}
