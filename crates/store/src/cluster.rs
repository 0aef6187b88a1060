//! What several engines sharing one PostgreSQL database (`engine.cluster`) need from it besides
//! the account leases ([`crate::lease`]): one cluster-wide lock on the sleeves, a notification
//! when they changed, and a table of the live processes.
//!
//! **Why a lock on the sleeves.** Sleeves are per source and symbol, not per account: a signal
//! accepted by any process moves a sleeve that accounts held by other processes blend. Each
//! process computes the next sleeve from the one it knows, so two processes taking signals for
//! the same sleeve at once would each write a sleeve that ignores the other's signal. Every
//! sleeve write in a cluster therefore happens under [`ClusterLink::lock_sleeves`] (a
//! PostgreSQL advisory lock, held on a connection of its own), after re-reading the stored
//! sleeves; [`SleeveLock::release`] then notifies the other processes (`LISTEN/NOTIFY` on
//! [`SLEEVES_CHANNEL`]) so the holders of the accounts plan from the new sleeves at once. A
//! notification can be missed (a reconnect), so holders also re-read the sleeves on a timer.
//!
//! **Nodes.** Each process upserts its row in `cluster_nodes` (migration 0009) with a heartbeat
//! on the database's clock; `tradeengine cluster status` and `/api/v1/cluster` read it with the
//! leases.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::StoreError;

/// The channel on which a process says it wrote sleeves (payload: its node id).
pub const SLEEVES_CHANNEL: &str = "tradeengine_sleeves";

const LOCK_SLEEVES: &str = "SELECT pg_advisory_lock(hashtextextended('tradeengine-store/cluster-sleeves/' || current_schema(), 0))";
const UNLOCK_SLEEVES: &str = "SELECT pg_advisory_unlock(hashtextextended('tradeengine-store/cluster-sleeves/' || current_schema(), 0))";
/// The channel name is namespaced by schema so that two deployments in one database (or two
/// test runs) do not wake each other.
const NOTIFY: &str = "SELECT pg_notify($1 || '_' || md5(current_schema()), $2)";
const CHANNEL: &str = "SELECT $1 || '_' || md5(current_schema())";
const HEARTBEAT: &str = "INSERT INTO cluster_nodes (node_id, host, pid, started_ms, heartbeat_ms, holds) \
     VALUES ($1, $2, $3, $4, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT, $5) \
     ON CONFLICT (node_id) DO UPDATE SET host = excluded.host, pid = excluded.pid, \
     started_ms = excluded.started_ms, heartbeat_ms = excluded.heartbeat_ms, holds = excluded.holds";
const LIVE: &str = "SELECT count(*) FROM cluster_nodes \
     WHERE heartbeat_ms > (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT - $1";
const LEAVE: &str = "UPDATE cluster_nodes SET heartbeat_ms = 0, holds = '' WHERE node_id = $1";
const NODES: &str = "SELECT node_id, host, pid, started_ms, heartbeat_ms, holds, \
     (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT FROM cluster_nodes ORDER BY node_id";
const LEASES: &str = "SELECT account, token, holder_host, holder_pid, since_ms, expires_ms, \
     (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT FROM account_leases ORDER BY account";

/// One process of the cluster as it last reported itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeRow {
    pub node_id: String,
    pub host: String,
    pub pid: i64,
    pub started_ms: i64,
    /// Database clock; 0 after a clean stop.
    pub heartbeat_ms: i64,
    /// The accounts it said it trades at its last heartbeat.
    pub holds: Vec<String>,
    /// Milliseconds since the heartbeat, on the database's clock.
    pub heartbeat_age_ms: i64,
}

/// One account's lease as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeaseRow {
    pub account: String,
    pub token: i64,
    /// The holder's node id (the host in a single-engine setup).
    pub holder: String,
    pub pid: i64,
    pub since_ms: i64,
    /// Milliseconds until it expires without renewal (negative: expired).
    pub expires_in_ms: i64,
}

/// A connection of its own to the cluster's PostgreSQL (see the module docs).
#[derive(Debug, Clone)]
pub struct ClusterLink {
    options: PgConnectOptions,
    /// The connection that holds the sleeves' lock while it is held; reopened when lost.
    lock_conn: Arc<Mutex<Option<PgConnection>>>,
    /// Heartbeats (one connection, opened when first needed).
    pool: sqlx::PgPool,
    node_id: String,
}

impl ClusterLink {
    /// Checks that `url` is PostgreSQL and that it answers; `node_id` signs notifications.
    pub async fn connect(url: &str, node_id: &str) -> Result<Self, StoreError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            let scheme = url.split_once(':').map_or("(none)", |(s, _)| s);
            return Err(StoreError::UnsupportedUrl(format!("{scheme}:…")));
        }
        let options = PgConnectOptions::from_str(url)?;
        let conn = lock_connection(&options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options.clone());
        Ok(Self {
            options,
            lock_conn: Arc::new(Mutex::new(Some(conn))),
            pool,
            node_id: node_id.to_string(),
        })
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Waits for the cluster-wide lock on the sleeves (see the module docs). Only one holder
    /// at a time in this process too: the lock's connection is shared.
    pub async fn lock_sleeves(&self) -> Result<SleeveLock, StoreError> {
        let mut guard = self.lock_conn.clone().lock_owned().await;
        if guard.is_none() {
            *guard = Some(lock_connection(&self.options).await?);
        }
        let Some(conn) = guard.as_mut() else {
            return Err(StoreError::Unavailable("cluster lock connection".into()));
        };
        if let Err(e) = sqlx::query(LOCK_SLEEVES).execute(&mut *conn).await {
            // A broken connection is dropped; the next lock opens a new one.
            *guard = None;
            return Err(e.into());
        }
        Ok(SleeveLock {
            guard,
            released: false,
            node_id: self.node_id.clone(),
        })
    }

    /// Subscribes to the other processes' sleeve writes.
    pub async fn listen(&self) -> Result<SleeveListener, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(self.options.clone())
            .await?;
        let channel: String = sqlx::query_scalar(CHANNEL)
            .bind(SLEEVES_CHANNEL)
            .fetch_one(&pool)
            .await?;
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(&channel).await?;
        Ok(SleeveListener {
            listener,
            _pool: pool,
        })
    }

    /// Records this process as alive, trading `holds`.
    pub async fn heartbeat(
        &self,
        host: &str,
        pid: u32,
        started_ms: i64,
        holds: &[String],
    ) -> Result<(), StoreError> {
        sqlx::query(HEARTBEAT)
            .bind(&self.node_id)
            .bind(host)
            .bind(i64::from(pid))
            .bind(started_ms)
            .bind(holds.join(","))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many processes beat within the last `window` (this one included once it beat).
    pub async fn live_nodes(&self, window: Duration) -> Result<usize, StoreError> {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 2);
        let n: i64 = sqlx::query_scalar(LIVE)
            .bind(window_ms)
            .fetch_one(&self.pool)
            .await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// A clean stop: this process no longer counts as live.
    pub async fn leave(&self) -> Result<(), StoreError> {
        sqlx::query(LEAVE)
            .bind(&self.node_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// How long a sleeve write waits for the cluster's lock before the signal is answered as not
/// taken (503: the sender may retry). A process holds it for one batch (milliseconds); one
/// suspended while holding it (SIGSTOP) keeps it until it resumes or its connection dies.
const LOCK_WAIT: &str = "SET lock_timeout = '10s'";

async fn lock_connection(options: &PgConnectOptions) -> Result<PgConnection, StoreError> {
    let mut conn = PgConnection::connect_with(options).await?;
    sqlx::query(LOCK_WAIT).execute(&mut conn).await?;
    Ok(conn)
}

/// The processes and leases of the cluster stored at `url` (read-only: the CLI and the API).
pub async fn status(url: &str) -> Result<(Vec<NodeRow>, Vec<LeaseRow>), StoreError> {
    let options = PgConnectOptions::from_str(url)?;
    let mut conn = PgConnection::connect_with(&options).await?;
    let rows: Vec<(String, String, i64, i64, i64, String, i64)> =
        sqlx::query_as(NODES).fetch_all(&mut conn).await?;
    let nodes = rows
        .into_iter()
        .map(
            |(node_id, host, pid, started_ms, heartbeat_ms, holds, now)| NodeRow {
                node_id,
                host,
                pid,
                started_ms,
                heartbeat_ms,
                holds: holds
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                heartbeat_age_ms: now - heartbeat_ms,
            },
        )
        .collect();
    let rows: Vec<(String, i64, String, i64, i64, i64, i64)> =
        sqlx::query_as(LEASES).fetch_all(&mut conn).await?;
    let leases = rows
        .into_iter()
        .map(
            |(account, token, holder, pid, since_ms, expires_ms, now)| LeaseRow {
                account,
                token,
                holder,
                pid,
                since_ms,
                expires_in_ms: expires_ms - now,
            },
        )
        .collect();
    let _ = conn.close().await;
    Ok((nodes, leases))
}

/// The cluster-wide lock on the sleeves, held until [`SleeveLock::release`]. Dropped without
/// it (a cancelled task), its connection is closed, which lets PostgreSQL free the lock.
#[derive(Debug)]
pub struct SleeveLock {
    guard: OwnedMutexGuard<Option<PgConnection>>,
    released: bool,
    node_id: String,
}

impl SleeveLock {
    /// Lets the lock go, telling the other processes first when `changed` (their holders then
    /// re-read the sleeves). The sleeves must be stored (committed) before this is called.
    pub async fn release(mut self, changed: bool) -> Result<(), StoreError> {
        let result = self.unlock(changed).await;
        if result.is_err() {
            // Closing the connection frees the lock on the server side.
            *self.guard = None;
        }
        self.released = true;
        result
    }

    async fn unlock(&mut self, changed: bool) -> Result<(), StoreError> {
        let Some(conn) = self.guard.as_mut() else {
            return Ok(());
        };
        if changed {
            sqlx::query(NOTIFY)
                .bind(SLEEVES_CHANNEL)
                .bind(&self.node_id)
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query(UNLOCK_SLEEVES).execute(&mut *conn).await?;
        Ok(())
    }
}

impl Drop for SleeveLock {
    fn drop(&mut self) {
        if !self.released {
            *self.guard = None;
        }
    }
}

/// Notifications that another process wrote sleeves.
#[derive(Debug)]
pub struct SleeveListener {
    listener: PgListener,
    _pool: sqlx::PgPool,
}

impl SleeveListener {
    /// The next notification's sender (its node id). An error means the connection was lost;
    /// the listener reconnects on the next call, and notifications sent meanwhile are lost
    /// (the caller's timer covers them).
    pub async fn next(&mut self) -> Result<String, StoreError> {
        let n = self.listener.recv().await?;
        Ok(n.payload().to_string())
    }
}
