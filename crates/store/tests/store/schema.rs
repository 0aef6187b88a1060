//! The two migration sets must define the same tables, columns (name, type class, nullability)
//! and named indexes. Types are compared by class because the spellings differ
//! (`INTEGER`/`BIGINT` vs `bigint`).

use std::collections::BTreeSet;

use sqlx::{PgPool, SqlitePool};

use crate::harness::{Raw, postgres, sqlite};

type Column = (String, String, String, bool);

fn class(declared: &str) -> String {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" => "integer",
        "text" => "text",
        "boolean" => "boolean",
        other => panic!("column type {other:?} has no class: add it here and to both migrations"),
    }
    .to_string()
}

async fn sqlite_columns(pool: &SqlitePool) -> BTreeSet<Column> {
    let rows: Vec<(String, String, String, bool, bool)> = sqlx::query_as(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk > 0 FROM sqlite_master m \
         JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        // SQLite does not imply NOT NULL for primary keys; PostgreSQL does.
        .map(|(t, c, ty, not_null, pk)| (t, c, class(&ty), not_null || pk))
        .collect()
}

async fn pg_columns(pool: &PgPool) -> BTreeSet<Column> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(t, c, ty, nullable)| (t, c, class(&ty), nullable == "NO"))
        .collect()
}

async fn sqlite_indexes(pool: &SqlitePool) -> BTreeSet<(String, String)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' \
         AND name NOT LIKE 'sqlite_autoindex_%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().collect()
}

async fn pg_indexes(pool: &PgPool) -> BTreeSet<(String, String)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT tablename::text, indexname::text FROM pg_indexes \
         WHERE schemaname = current_schema() AND indexname NOT LIKE '%_pkey'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_define_the_same_schema() {
    let lite = sqlite().await;
    let Raw::Sqlite(lite_pool) = &lite.raw else {
        unreachable!()
    };
    let lite_columns = sqlite_columns(lite_pool).await;
    assert!(lite_columns.len() > 50, "{lite_columns:?}");
    assert!(lite_columns.contains(&(
        "orders".into(),
        "reduce_only".into(),
        "boolean".into(),
        true
    )));

    let Some(pg) = postgres().await else { return };
    let Raw::Postgres(pg_pool) = &pg.raw else {
        unreachable!()
    };
    let pg_columns = pg_columns(pg_pool).await;
    let only_lite: Vec<_> = lite_columns.difference(&pg_columns).collect();
    let only_pg: Vec<_> = pg_columns.difference(&lite_columns).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty(),
        "columns differ\n only in SQLite: {only_lite:?}\n only in PostgreSQL: {only_pg:?}"
    );
    assert_eq!(sqlite_indexes(lite_pool).await, pg_indexes(pg_pool).await);
}
