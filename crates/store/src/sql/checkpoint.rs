//! WAL checkpoints off the commit path (SQLite file stores).
//!
//! By SQLite's default, the connection whose commit takes the WAL past 1 000 pages copies the
//! WAL into the database file and fsyncs the file before that commit returns. On the one writer
//! that was a stall of tens of milliseconds every few group commits under load (the signal
//! indexes' pages are scattered, so each checkpoint wrote megabytes), and every signal of the
//! batch that happened to trigger it waited for it.
//!
//! The writer connection therefore does not checkpoint (`wal_autocheckpoint=0`), and a task of
//! the store does, on a connection of its own: a `PASSIVE` checkpoint every [`PERIOD`] copies
//! what it can without waiting for anyone, and once the WAL is past [`RESTART_PAGES`] (it only
//! starts over from its beginning when a checkpoint caught up with the writer) a `RESTART`
//! checkpoint makes the writer wait for the few pages still to copy so the WAL starts over.
//! Durability is not involved: a commit is durable once its WAL frames are fsynced
//! (`synchronous=FULL`), whenever they are copied into the database file.

use std::time::Duration;

use sqlx::SqlitePool;

/// How often the WAL is copied into the database file.
pub(crate) const PERIOD: Duration = Duration::from_millis(200);
/// WAL size (pages of 4 KiB) past which the checkpoint waits for the writer so the WAL starts
/// over (32 MiB).
pub(crate) const RESTART_PAGES: i64 = 8_192;

/// The checkpoint task; stopped when dropped (with its store).
#[derive(Debug)]
pub(crate) struct Checkpointer {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Checkpointer {
    /// Starts checkpointing through `pool` (one connection to the store's file).
    pub(crate) fn start(pool: SqlitePool) -> Self {
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(PERIOD);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut warned = false;
            loop {
                tick.tick().await;
                match checkpoint(&pool).await {
                    Ok(()) => warned = false,
                    Err(e) if !warned => {
                        // The next round tries again; the WAL only grows meanwhile.
                        tracing::warn!(error = %e, "cannot checkpoint the SQLite WAL");
                        warned = true;
                    }
                    Err(_) => {}
                }
            }
        });
        Self { task }
    }
}

/// One round: copy what can be copied; when the WAL is large, wait for it to start over.
async fn checkpoint(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    // (busy, pages in the WAL, pages copied)
    let (_, log, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?;
    if log > RESTART_PAGES {
        sqlx::query("PRAGMA wal_checkpoint(RESTART)")
            .execute(pool)
            .await?;
    }
    Ok(())
}
