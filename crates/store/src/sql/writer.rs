//! Where write transactions run.
//!
//! A SQLite file has one writer connection. Checking it out of a pool for every transaction
//! cost three extra hand-offs to its worker thread (the pool pings a connection when it comes
//! back and again before it goes out, and the return runs in a spawned task), which was most
//! of a group commit's time under load. So the store takes that connection out of its pool
//! once, at open, and keeps it behind an async mutex: a write waits for the mutex (the same
//! serial order the pool gave) and starts its transaction at once.
//!
//! A kept connection is not health-checked before each use. If starting a transaction on it
//! fails for a reason other than the database's answer (its worker thread died, an I/O error),
//! that write fails and the connection is marked broken; the next write returns it to the pool
//! (which closes it) and checks out a fresh one.
//!
//! PostgreSQL (many concurrent writers) and in-memory SQLite (whose one connection also serves
//! reads) keep using their pool for every write.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, Pool, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use super::Dialect;
use crate::StoreError;

/// The write side of a store.
pub(crate) enum Writer<DB: Database> {
    /// A connection from the pool per write.
    Pool(Pool<DB>),
    /// One connection kept for every write (SQLite on disk).
    Kept {
        pool: Pool<DB>,
        conn: Mutex<PoolConnection<DB>>,
        /// Set when starting a transaction failed below the database: replace the connection.
        broken: AtomicBool,
    },
}

/// A connection to write on, exclusive until dropped.
pub(crate) enum WriteConn<'a, DB: Database> {
    Pooled(PoolConnection<DB>),
    Kept {
        conn: MutexGuard<'a, PoolConnection<DB>>,
        broken: &'a AtomicBool,
    },
}

impl<DB: Database> Writer<DB> {
    /// Keeps one connection of `pool` for every write.
    pub(crate) async fn kept(pool: Pool<DB>) -> Result<Self, StoreError> {
        let conn = pool.acquire().await?;
        Ok(Self::Kept {
            pool,
            conn: Mutex::new(conn),
            broken: AtomicBool::new(false),
        })
    }

    /// Connections currently open on the write side (for `Debug`).
    pub(crate) fn size(&self) -> u32 {
        match self {
            Self::Pool(p) | Self::Kept { pool: p, .. } => p.size(),
        }
    }

    /// Waits for the write connection (a kept one is replaced first if it broke).
    pub(crate) async fn conn(&self) -> Result<WriteConn<'_, DB>, StoreError> {
        match self {
            Self::Pool(pool) => Ok(WriteConn::Pooled(pool.acquire().await?)),
            Self::Kept { pool, conn, broken } => {
                let mut conn = conn.lock().await;
                if broken.load(Ordering::Acquire) {
                    // The old connection goes back to the pool, which finds it dead and closes it.
                    *conn = pool.acquire().await?;
                    broken.store(false, Ordering::Release);
                }
                Ok(WriteConn::Kept { conn, broken })
            }
        }
    }
}

impl<DB: Dialect> WriteConn<'_, DB> {
    /// Starts a write transaction as the dialect says.
    pub(crate) async fn begin(&mut self) -> Result<Transaction<'_, DB>, StoreError> {
        let broken = match self {
            Self::Kept { broken, .. } => Some(*broken),
            Self::Pooled(_) => None,
        };
        let started = match DB::BEGIN_WRITE {
            Some(statement) => Connection::begin_with(&mut **self, statement).await,
            None => Connection::begin(&mut **self).await,
        };
        match started {
            Ok(tx) => Ok(tx),
            Err(e) => {
                // A refusal from the database (say, busy) leaves the connection usable.
                if !matches!(e, sqlx::Error::Database(_))
                    && let Some(flag) = broken
                {
                    flag.store(true, Ordering::Release);
                }
                Err(e.into())
            }
        }
    }
}

impl<DB: Database> Deref for WriteConn<'_, DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &Self::Target {
        match self {
            Self::Pooled(c) => c,
            Self::Kept { conn, .. } => conn,
        }
    }
}

impl<DB: Database> DerefMut for WriteConn<'_, DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Self::Pooled(c) => c,
            Self::Kept { conn, .. } => conn,
        }
    }
}
