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
