//! Backends for the shared suite: a fresh SQLite file in a temp dir, and a fresh schema in the
//! PostgreSQL on this machine (`postgres://postgres@127.0.0.1:5432/test`, or
//! `TRADEENGINE_TEST_PG_URL`). When PostgreSQL cannot be reached the PostgreSQL tests fail under
//! `CI` and are skipped, loudly, elsewhere.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, PgPool, SqlitePool};
use tradeengine_store::{Store, open_postgres, open_sqlite_in};

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A store under test plus a raw connection to the same database, for tampering and schema
/// inspection behind the store's back.
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub raw: Raw,
    /// PostgreSQL: how to connect to this backend's schema (a second engine's store).
    pub pg_options: Option<PgConnectOptions>,
    _cleanup: Cleanup,
}

pub enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Raw {
    pub async fn exec(&self, sql: &str) -> u64 {
        match self {
            Raw::Sqlite(p) => sqlx::query(AssertSqlSafe(sql.to_string()))
                .execute(p)
                .await
                .unwrap()
                .rows_affected(),
            Raw::Postgres(p) => sqlx::query(AssertSqlSafe(sql.to_string()))
                .execute(p)
                .await
                .unwrap()
                .rows_affected(),
        }
    }

    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        match self {
            Raw::Sqlite(p) => sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_one(p)
                .await
                .unwrap(),
            Raw::Postgres(p) => sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_one(p)
                .await
                .unwrap(),
        }
    }
}

enum Cleanup {
    TempDir(#[allow(dead_code)] tempfile::TempDir),
    Schema { admin_url: String, schema: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::Schema { admin_url, schema } = self {
            // Drop runs inside the test's runtime (or while unwinding); a fresh thread with its
            // own runtime can block on the async DROP either way.
            let (url, schema) = (admin_url.clone(), schema.clone());
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(pool) = PgPoolOptions::new().max_connections(1).connect(&url).await {
                        let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                        let _ = sqlx::query(AssertSqlSafe(sql)).execute(&pool).await;
                        pool.close().await;
                    }
                });
            })
            .join();
        }
    }
}

pub async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite_in(dir.path()).await.unwrap();
    let raw = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(dir.path().join(tradeengine_store::SQLITE_FILE_NAME))
                .busy_timeout(Duration::from_secs(5)),
        )
        .await
        .unwrap();
    Backend {
        store,
        raw: Raw::Sqlite(raw),
        pg_options: None,
        _cleanup: Cleanup::TempDir(dir),
    }
}

pub fn pg_url() -> String {
    std::env::var("TRADEENGINE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// A connection to the test database, or `None` (after a loud warning) when it is unreachable
/// outside CI. Under CI an unreachable database fails the test.
pub async fn pg_admin() -> Option<PgPool> {
    let url = pg_url();
    // Printable form: the user and password part of the URL is left out.
    let shown = match url.split_once('@') {
        Some((_, host)) => format!("postgres://…@{host}"),
        None => url.clone(),
    };
    let connect = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url);
    match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Ok(pool)) => Some(pool),
        outcome => {
            let why = match outcome {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_string(),
            };
            if in_ci() {
                panic!("PostgreSQL at {shown} is unreachable under CI: {why}");
            }
            eprintln!(
                "\n!!!!!!!! WARNING: PostgreSQL at {shown} is unreachable ({why}); \
                 SKIPPING this PostgreSQL test. Set TRADEENGINE_TEST_PG_URL or start PostgreSQL. \
                 Under CI=true this is a failure. !!!!!!!!\n"
            );
            None
        }
    }
}

static SCHEMA_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A store in a schema of its own, dropped when the backend is.
pub async fn postgres() -> Option<Backend> {
    let admin = pg_admin().await?;
    let schema = format!(
        "te_store_test_{}_{}",
        std::process::id(),
        SCHEMA_SEQ.fetch_add(1, Ordering::Relaxed)
    );
    for sql in [
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        format!("CREATE SCHEMA {schema}"),
    ] {
        sqlx::query(AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
    admin.close().await;
    let options = PgConnectOptions::from_str(&pg_url())
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let store = open_postgres(options.clone(), 8).await.unwrap();
    let raw = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options.clone())
        .await
        .unwrap();
    Some(Backend {
        store,
        raw: Raw::Postgres(raw),
        pg_options: Some(options),
        _cleanup: Cleanup::Schema {
            admin_url: pg_url(),
            schema,
        },
    })
}
