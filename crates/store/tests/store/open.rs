//! Opening stores by URL and by directory.

use std::time::Duration;

use sqlx::AssertSqlSafe;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tradeengine_store::{SQLITE_FILE_NAME, SignalRecordOutcome, StoreError, open, open_sqlite_in};

use crate::fixtures::signal;
use crate::harness::{pg_admin, pg_url};

#[tokio::test]
async fn sqlite_urls_create_then_reopen_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("engine.sqlite");
    let value = serde_json::json!({ "kill_switch": false });
    {
        let store = open(&format!("sqlite:{}", path.display())).await.unwrap();
        assert_eq!(store.backend(), "sqlite");
        store.put_state("k", &value).await.unwrap();
        store
            .record_signal(&signal("s1", "tv", "k1", 1), None)
            .await
            .unwrap();
    }
    assert!(path.exists());
    // Reopening runs the (already applied) migrations again and keeps the data and the chain.
    let store = open(&format!("sqlite://{}", path.display())).await.unwrap();
    assert_eq!(store.get_state("k").await.unwrap(), Some(value));
    assert_eq!(
        store
            .record_signal(&signal("s2", "tv", "k1", 2), None)
            .await
            .unwrap(),
        SignalRecordOutcome::Duplicate
    );
    store
        .record_signal(&signal("s3", "tv", "k3", 3), None)
        .await
        .unwrap();
    let v = store.verify_audit().await.unwrap();
    assert!(v.is_ok());
    assert_eq!(v.events, 2);

    let raw = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(&path))
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn sqlite_in_dir_creates_missing_directories() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("a").join("b");
    let store = open_sqlite_in(&data).await.unwrap();
    store.put_state("x", &serde_json::json!(1)).await.unwrap();
    assert!(data.join(SQLITE_FILE_NAME).exists());
}

#[tokio::test]
async fn memory_stores_work_and_are_separate() {
    let a = open("sqlite::memory:").await.unwrap();
    let b = open("sqlite::memory:").await.unwrap();
    a.record_signal(&signal("s1", "tv", "k1", 1), None)
        .await
        .unwrap();
    assert_eq!(a.recent_signals(10, 0).await.unwrap().len(), 1);
    assert!(b.recent_signals(10, 0).await.unwrap().is_empty());
    // Idle time must not drop an in-memory database.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(a.verify_audit().await.unwrap().is_ok());
    assert_eq!(a.audit_events(0, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn unsupported_url_names_only_the_scheme() {
    let err = open("mysql://trader:hunter2@db.internal/prod")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)));
    let text = err.to_string();
    assert!(text.contains("mysql"), "{text}");
    assert!(
        !text.contains("hunter2") && !text.contains("trader"),
        "{text}"
    );
}

#[tokio::test]
async fn postgres_url_opens_and_keeps_the_password_out_of_debug() {
    let Some(admin) = pg_admin().await else {
        return;
    };
    let schema = format!("te_store_test_url_{}", std::process::id());
    for sql in [
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        format!("CREATE SCHEMA {schema}"),
    ] {
        sqlx::query(AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
    // Trust authentication ignores the password, so a made-up one is safe to send.
    let base = pg_url().replacen("://postgres@", "://postgres:s3cret-pw@", 1);
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let store = open(&url).await.unwrap();
    assert_eq!(store.backend(), "postgres");
    assert!(!format!("{store:?}").contains("s3cret"));
    store.put_state("k", &serde_json::json!("v")).await.unwrap();
    let in_schema: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {schema}.state"
    )))
    .fetch_one(&admin)
    .await
    .unwrap();
    assert_eq!(in_schema, 1);
    drop(store);
    sqlx::query(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}

/// The engine creates the store while the CLI opens it (the crash-restart test does that every
/// 250 ms). Both must succeed: migrations run once, under the open lock, and nobody's
/// `journal_mode` switch needs a lock SQLite will not wait for.
#[tokio::test]
async fn sqlite_openers_racing_on_a_new_file_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..10 {
        let url = format!(
            "sqlite:{}",
            dir.path().join(format!("r{round}.sqlite")).display()
        );
        let (a, b, c) = tokio::join!(open(&url), open(&url), open(&url));
        for (who, store) in [("a", a), ("b", b), ("c", c)] {
            let store = store.unwrap_or_else(|e| panic!("round {round}, opener {who}: {e}"));
            store.recent_signals(1, 0).await.unwrap();
        }
    }
}

/// Reopening while another store writes never fails either.
#[tokio::test]
async fn sqlite_reopens_while_another_store_writes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("busy.sqlite").display());
    let writer = open(&url).await.unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writes = {
        let stop = stop.clone();
        let writer = writer.clone();
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let key = format!("k{n}");
                writer
                    .record_signal(&signal(&format!("s{n}"), "tv", &key, n as i64), None)
                    .await
                    .unwrap();
            }
            n
        })
    };
    for i in 0..20 {
        let reader = open(&url)
            .await
            .unwrap_or_else(|e| panic!("open #{i} while writing: {e}"));
        reader.recent_signals(5, 0).await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(writes.await.unwrap() > 0);
}
