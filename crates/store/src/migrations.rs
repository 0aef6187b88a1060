//! The schema migrations, embedded in the binary.
//!
//! Listed here rather than found by `sqlx::migrate!`: that macro makes the compiler build
//! sqlx's SQLite and PostgreSQL drivers (and SQLite's C source) a second time, for itself,
//! which cost every cold build about a minute on two cores. The migrations are the same:
//! sqlx's own checksum (SHA-384 of the file), version and description (the file name's), so a
//! database migrated by either agrees with the other. A test checks these lists against the
//! migration folders, so a file added there and not here fails the build's tests.

use std::borrow::Cow;

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// One migration file: version, description (the file name's words) and its SQL.
type File = (i64, &'static str, &'static str);

macro_rules! files {
    ($dir:literal: $(($version:literal, $name:literal)),+ $(,)?) => {
        &[$((
            $version,
            $name,
            include_str!(concat!("../migrations/", $dir, "/", $name, ".sql")),
        )),+]
    };
}

const SQLITE: &[File] = files!("sqlite":
    (1, "0001_init"),
    (2, "0002_refused_signals_and_order_fills"),
    (3, "0003_account_leases"),
    (4, "0004_refused_signal_bodies"),
    (6, "0006_pnl_events"),
    (7, "0007_mark_readings"),
    (9, "0009_cluster_nodes"),
    (10, "0010_mark_reading_signals"),
);

const POSTGRES: &[File] = files!("postgres":
    (1, "0001_init"),
    (2, "0002_refused_signals_and_order_fills"),
    (3, "0003_account_leases"),
    (4, "0004_refused_signal_bodies"),
    (6, "0006_pnl_events"),
    (7, "0007_mark_readings"),
    (9, "0009_cluster_nodes"),
    (10, "0010_mark_reading_signals"),
);

fn migrator(files: &'static [File]) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .map(|(version, name, sql)| {
                // As sqlx names a file's migration: the words after the version, spaced.
                let words = name.split_once('_').map_or(*name, |(_, w)| w);
                Migration::new(
                    *version,
                    Cow::Owned(words.replace('_', " ")),
                    MigrationType::Simple,
                    SqlStr::from_static(sql),
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect(),
    )
}

/// The SQLite store's migrations.
pub(crate) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

/// The PostgreSQL store's migrations.
pub(crate) fn postgres() -> Migrator {
    migrator(POSTGRES)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
    use std::path::Path;

    use super::*;

    /// A folder's migrations as sqlx itself reads them (what `sqlx::migrate!` embedded).
    async fn on_disk(dir: &str) -> Vec<(i64, String, Vec<u8>)> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        listed(&Migrator::new(path.as_path()).await.unwrap())
    }

    fn listed(m: &Migrator) -> Vec<(i64, String, Vec<u8>)> {
        m.iter()
            .map(|m| (m.version, m.description.to_string(), m.checksum.to_vec()))
            .collect()
    }

    #[tokio::test]
    async fn the_lists_are_the_migration_folders() {
        assert_eq!(listed(&sqlite()), on_disk("sqlite").await);
        assert_eq!(listed(&postgres()), on_disk("postgres").await);
        assert_eq!(sqlite().iter().count(), 8);
    }
}
