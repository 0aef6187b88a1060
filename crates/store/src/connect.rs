//! Opening a store: URL dispatch, connection settings, pools and migrations.
//!
//! ## SQLite settings, and why
//!
//! - `journal_mode=WAL`: readers never block the writer or each other, which is what lets the
//!   API read while webhooks write.
//! - One writer connection, several readers. SQLite allows one writer at a time anyway; doing
//!   the queueing in the pool (instead of in `busy_timeout` retries) keeps latency flat under
//!   load and makes every write transaction serial, which is what the audit chain needs.
//! - `synchronous=FULL`: every commit is fsynced to the WAL before it returns. `NORMAL` is the
//!   usual WAL pairing and survives a crash of the process, but a power loss or kernel crash can
//!   roll back the last commits — including an order's `Intended` row after the order was sent,
//!   which breaks invariant 2 (the intent is durable before the order leaves), or a webhook
//!   signal the sender will never resend. Measured on the 2-core dev machine (release build,
//!   `examples/throughput.rs`, one signal + sleeve + two audit events per transaction): FULL
//!   ≈ 800–1 050 signals/s, NORMAL ≈ 2 100–2 400 signals/s. The fsync is the cost; batching several
//!   signals per transaction (group commit) is the way to more throughput without giving up
//!   durability.
//! - `busy_timeout=5s`: another process (the CLI) holding the write lock briefly makes us wait,
//!   not fail.
//! - Opening is serialised across processes by an exclusive lock on `<file>.open-lock`, held
//!   while the file is switched to WAL and migrated. Without it, the CLI opening the store at the
//!   moment the engine creates it ran migration 1 twice ("table signals already exists"), and
//!   its `journal_mode=WAL` pragma needed a lock SQLite does not wait for (`database is locked`
//!   at once, whatever `busy_timeout` says). WAL is persistent, so only the opener that finds
//!   the file in another mode switches it, under the lock; every connection after that leaves
//!   the journal mode alone.
//! - `foreign_keys=ON`: an order row cannot name a plan that does not exist.
//! - Checkpoints: the writer connection never copies the WAL into the database file
//!   (`wal_autocheckpoint=0`); a task of the store does, on its own connection, so no commit waits
//!   for it (see `sql::checkpoint`).
//! - `temp_store=MEMORY`: a multi-row INSERT keeps a statement journal (to undo just that
//!   statement if a row of it fails); in a temp file that was 6 % of the writer's time. It holds
//!   the pages one statement touches, and has nothing to do with durability.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteSynchronous};
use sqlx::{Postgres, Sqlite};

use crate::sql::health::FileGuard;
use crate::sql::{Checkpointer, SqlStore, Writer};
use crate::{Store, StoreError};

/// File name of the default store in the data dir.
pub const SQLITE_FILE_NAME: &str = "tradeengine.sqlite";
/// Reader connections of a file-backed SQLite store.
pub const SQLITE_READERS: u32 = 4;
/// Connections of a PostgreSQL store opened by URL.
pub const DEFAULT_PG_CONNECTIONS: u32 = 10;

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating if needed) and migrates the store at `url`:
///
/// - `sqlite:PATH` or `sqlite://PATH` — a file, created if missing;
/// - `sqlite::memory:` — a private in-memory database (tests, demos);
/// - `postgres://…` or `postgresql://…` — a PostgreSQL database; put the schema in the URL's
///   `options` (`?options=-c%20search_path%3Dtradeengine`) to use one other than `public`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)?;
        let rest = rest.trim_start_matches("//");
        if rest.starts_with(":memory:") || rest.contains("mode=memory") {
            open_sqlite_memory(options).await
        } else {
            open_sqlite(options).await
        }
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        open_postgres(PgConnectOptions::from_str(url)?, DEFAULT_PG_CONNECTIONS).await
    } else {
        // Only the scheme: the rest of a URL may carry a password.
        let scheme = url.split_once(':').map_or("(none)", |(s, _)| s);
        Err(StoreError::UnsupportedUrl(format!("{scheme}:…")))
    }
}

/// The file of a SQLite URL (`sqlite:PATH`, `sqlite://PATH`); `None` for an in-memory database,
/// another scheme or a URL that does not parse.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.trim_start_matches("//");
    if rest.starts_with(":memory:") || rest.contains("mode=memory") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_path_buf())
}

/// Opens and migrates the store at `url` like [`open`], but never creates a database: a SQLite
/// file that does not exist is [`StoreError::Missing`]. For commands that act on an engine's
/// store (`kill`, `status`, `risk`, `positions`, `order`): when the file was deleted or moved
/// while the engine ran, a read-write open of its path created a new, empty database and SQLite
/// then reset the live write-ahead log beside it, so the engine's orders and audit events that
/// were only in the log were lost for good, and the command reported on (or engaged the kill
/// switch in) a store no engine uses.
pub async fn open_existing(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let rest = rest.trim_start_matches("//");
        if !(rest.starts_with(":memory:") || rest.contains("mode=memory")) {
            let options = SqliteConnectOptions::from_str(url)?;
            let path = options.get_filename().to_path_buf();
            if !path.is_file() {
                return Err(StoreError::Missing(path.display().to_string()));
            }
            return open_sqlite_with(options.create_if_missing(false), false).await;
        }
    }
    open(url).await
}

/// Opens `tradeengine.sqlite` in `dir`, creating the directory (`0700`) and the file if needed.
pub async fn open_sqlite_in(dir: &Path) -> Result<Arc<dyn Store>, StoreError> {
    crate::files::create_private_dir(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    open_sqlite_file(&dir.join(SQLITE_FILE_NAME)).await
}

/// Opens the SQLite file at `path`, creating it (not its directory) if missing.
pub async fn open_sqlite_file(path: &Path) -> Result<Arc<dyn Store>, StoreError> {
    open_sqlite(SqliteConnectOptions::new().filename(path)).await
}

async fn open_sqlite(options: SqliteConnectOptions) -> Result<Arc<dyn Store>, StoreError> {
    open_sqlite_with(options.create_if_missing(true), true).await
}

/// `create`: the file may be created (`0600`, before SQLite sees it; SQLite gives `-wal` and
/// `-shm` the same mode); else it must exist and `options` must not create it either.
async fn open_sqlite_with(
    options: SqliteConnectOptions,
    create: bool,
) -> Result<Arc<dyn Store>, StoreError> {
    let path = options.get_filename().to_path_buf();
    if create {
        crate::files::ensure_private_file(&path)
            .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    }
    let options = options
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        .pragma("temp_store", "memory");
    // The writer leaves checkpoints to the store's checkpoint task (`sql::checkpoint`).
    let write = PoolOptions::<Sqlite>::new()
        .max_connections(1)
        .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
        .await?;
    {
        let _open_lock = OpenLock::acquire(options.get_filename()).await?;
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&write)
            .await?;
        if !mode.eq_ignore_ascii_case("wal") {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
                .fetch_one(&write)
                .await?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Database(sqlx::Error::Configuration(
                    format!("the SQLite file stays in journal mode {mode:?}, not WAL").into(),
                )));
            }
        }
        crate::migrations::sqlite().run(&write).await?;
    }
    let checkpoints = PoolOptions::<Sqlite>::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await?;
    let read = PoolOptions::<Sqlite>::new()
        .max_connections(SQLITE_READERS)
        .connect_with(options)
        .await?;
    // The file the store watches (health): the path's file once open, migrated and in WAL.
    let guard = FileGuard::of(path).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    Ok(Arc::new(
        SqlStore::new(Writer::kept(write).await?, read)
            .guarding(guard)
            .checkpointing(Checkpointer::start(checkpoints)),
    ))
}

/// Opens the store at `url` for reading only, for commands that look and change nothing
/// (`orders`, `positions`, `signals`, `audit verify`), possibly while an engine runs on it:
///
/// - SQLite: a missing file is [`StoreError::Missing`], never created; the file is opened
///   `mode=ro`, with no journal-mode change and no migration. (A read-write open of a deleted
///   database's path created a new empty file beside the live WAL, which SQLite then reset: the
///   engine's last commits were gone.)
/// - PostgreSQL: no migration, and every transaction read-only
///   (`default_transaction_read_only`).
///
/// Writes through the returned store fail.
pub async fn open_read_only(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let rest = rest.trim_start_matches("//");
        if rest.starts_with(":memory:") || rest.contains("mode=memory") {
            return open(url).await;
        }
        let options = SqliteConnectOptions::from_str(url)?;
        let path = options.get_filename().to_path_buf();
        if !path.is_file() {
            return Err(StoreError::Missing(path.display().to_string()));
        }
        let options = options
            .read_only(true)
            .create_if_missing(false)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("query_only", "ON");
        let read = PoolOptions::<Sqlite>::new()
            .max_connections(2)
            .connect_with(options)
            .await?;
        Ok(Arc::new(SqlStore::new(Writer::Pool(read.clone()), read)))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let options =
            PgConnectOptions::from_str(url)?.options([("default_transaction_read_only", "on")]);
        let pool = PoolOptions::<Postgres>::new()
            .max_connections(2)
            .connect_with(options)
            .await?;
        Ok(Arc::new(SqlStore::new(Writer::Pool(pool.clone()), pool)))
    } else {
        open(url).await
    }
}

/// An exclusive advisory lock on `<database>.open-lock`, released when dropped (or when the
/// process dies: the OS drops a dead process's locks, so a `kill -9` never leaves it stuck).
struct OpenLock {
    _file: std::fs::File,
}

impl OpenLock {
    async fn acquire(database: &Path) -> Result<Self, StoreError> {
        let mut path = database.as_os_str().to_owned();
        path.push(".open-lock");
        let path = std::path::PathBuf::from(path);
        let io = |e| StoreError::Database(sqlx::Error::Io(e));
        tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(crate::files::FILE_MODE)
                .open(&path)?;
            // Blocks while another process opens the same store; that takes milliseconds.
            file.lock()?;
            Ok(Self { _file: file })
        })
        .await
        .map_err(|e| io(std::io::Error::other(e)))?
        .map_err(io)
    }
}

/// An in-memory database lives as long as one of its connections does, so this uses a single
/// connection that is never closed for idleness or age, for reads and writes alike.
async fn open_sqlite_memory(options: SqliteConnectOptions) -> Result<Arc<dyn Store>, StoreError> {
    let options = options.foreign_keys(true).busy_timeout(BUSY_TIMEOUT);
    let pool = PoolOptions::<Sqlite>::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?;
    crate::migrations::sqlite().run(&pool).await?;
    Ok(Arc::new(SqlStore::new(Writer::Pool(pool.clone()), pool)))
}

/// Opens and migrates a PostgreSQL store with a pool of `max_connections`. Migrations and
/// tables go to the first schema of the connection's `search_path`.
pub async fn open_postgres(
    options: PgConnectOptions,
    max_connections: u32,
) -> Result<Arc<dyn Store>, StoreError> {
    // No store call keeps a transaction open while it waits for anything but the database,
    // so a session idle in one for seconds belongs to a process that is stalled (SIGSTOP, a
    // frozen VM): PostgreSQL ends it, which rolls it back and frees its locks (the audit
    // chain's, a lease row's), instead of every other engine on the database waiting for it.
    let options = options.options([("idle_in_transaction_session_timeout", "5s")]);
    let pool = PoolOptions::<Postgres>::new()
        .max_connections(max_connections.max(1))
        .connect_with(options)
        .await?;
    crate::migrations::postgres().run(&pool).await?;
    Ok(Arc::new(SqlStore::new(Writer::Pool(pool.clone()), pool)))
}
