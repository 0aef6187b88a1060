//! Account leases and the fence on order intents (design in [`crate::lease`]).

use std::collections::HashMap;
use std::time::Duration;

use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Transaction, Type};
use tradeengine_model::AccountName;

use super::{Dialect, SqlStore};
use crate::StoreError;
use crate::codec::{ms, time};
use crate::lease::LeaseOutcome;
use crate::ownership::Holder;

/// The statements of a backend with leases (PostgreSQL). Times are the database's clock.
#[derive(Debug)]
pub(crate) struct LeaseSql {
    /// Session-level advisory lock of the account (`$1`) under fencing token `$2`, held on a
    /// dedicated connection for the lease's life: it disappears with the holder's connection,
    /// i.e. with its process. Keyed by the token so that a holder fenced out long ago (stalled,
    /// then resumed) but still connected cannot make the current holder look alive, and so
    /// that the current holder's lock cannot be mistaken for a dead one's.
    pub try_session_lock: &'static str,
    /// Lets go of a probe of `try_session_lock` (same parameters).
    pub session_unlock: &'static str,
    /// Makes sure the account's row exists (token 0, expired), so the next SELECT can lock it.
    pub seed: &'static str,
    /// Holder host, pid, since, token, expires, database now — locking the row.
    pub select: &'static str,
    /// New holder `$2`/`$3`/`$4`, token + 1, expiring `$5` ms from now; returns the token.
    pub take: &'static str,
    /// Extends the lease of token `$2` by `$3` ms from now; returns the token (no row: lost).
    pub renew: &'static str,
    /// Lets the lease of token `$2` expire now (a clean stop: a restart need not wait).
    pub release: &'static str,
    /// One row when token `$2` still holds the account's unexpired lease; locks it shared.
    pub fence: &'static str,
}

macro_rules! pg_now_ms {
    () => {
        "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT"
    };
}

pub(crate) const PG_LEASES: LeaseSql = LeaseSql {
    try_session_lock: "SELECT pg_try_advisory_lock(hashtextextended('tradeengine-store/account-lease/' || current_schema() || '/' || $1 || '/' || $2::BIGINT::TEXT, 0))",
    session_unlock: "SELECT pg_advisory_unlock(hashtextextended('tradeengine-store/account-lease/' || current_schema() || '/' || $1 || '/' || $2::BIGINT::TEXT, 0))",
    seed: "INSERT INTO account_leases (account, token, holder_host, holder_pid, since_ms, expires_ms) \
           VALUES ($1, 0, '', 0, 0, 0) ON CONFLICT (account) DO NOTHING",
    select: concat!(
        "SELECT holder_host, holder_pid, since_ms, token, expires_ms, ",
        pg_now_ms!(),
        " FROM account_leases WHERE account = $1 FOR UPDATE"
    ),
    take: concat!(
        "UPDATE account_leases SET token = token + 1, holder_host = $2, holder_pid = $3, \
         since_ms = $4, expires_ms = ",
        pg_now_ms!(),
        " + $5 WHERE account = $1 RETURNING token"
    ),
    renew: concat!(
        "UPDATE account_leases SET expires_ms = ",
        pg_now_ms!(),
        " + $3 WHERE account = $1 AND token = $2 RETURNING token"
    ),
    release: "UPDATE account_leases SET expires_ms = 0 WHERE account = $1 AND token = $2",
    fence: concat!(
        "SELECT token FROM account_leases WHERE account = $1 AND token = $2 AND expires_ms > ",
        pg_now_ms!(),
        " FOR SHARE"
    ),
};

/// Token kept for an account after its lease was released: matches no row, so a write after
/// the release is fenced out like one after a take-over.
const RELEASED: i64 = -1;

/// The leases this store holds: fencing tokens and the connections keeping the session locks.
pub(crate) struct Leases<DB: Database> {
    tokens: std::sync::Mutex<HashMap<String, i64>>,
    sessions: tokio::sync::Mutex<HashMap<String, DB::Connection>>,
}

impl<DB: Database> Default for Leases<DB> {
    fn default() -> Self {
        Self {
            tokens: std::sync::Mutex::new(HashMap::new()),
            sessions: tokio::sync::Mutex::new(HashMap::new()),
        }
    }
}

impl<DB: Database> Leases<DB> {
    fn token(&self, account: &str) -> Option<i64> {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(account)
            .copied()
    }

    fn set_token(&self, account: &str, token: i64) {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(account.to_string(), token);
    }
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis())
        .unwrap_or(i64::MAX / 2)
        .max(1)
}

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    usize: ColumnIndex<DB::Row>,
    String: for<'q> Encode<'q, DB> + for<'q> Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    i64: for<'q> Encode<'q, DB> + for<'q> Decode<'q, DB> + Type<DB>,
    bool: for<'q> Encode<'q, DB> + for<'q> Decode<'q, DB> + Type<DB>,
{
    pub(crate) async fn take_account_lease(
        &self,
        account: &AccountName,
        holder: &Holder,
        ttl: Duration,
    ) -> Result<LeaseOutcome, StoreError> {
        let Some(sql) = DB::LEASES else {
            return Ok(LeaseOutcome::NotNeeded);
        };
        // Held by this store already (a start that failed half-way, then a retry): renew it.
        if self
            .leases
            .token(account.as_str())
            .is_some_and(|t| t != RELEASED)
        {
            self.renew_account_lease(account, ttl).await?;
            return Ok(LeaseOutcome::Taken {
                token: self.leases.token(account.as_str()).unwrap_or(RELEASED),
                previous: None,
            });
        }
        let account = account.as_str();
        let mut session = self.read.acquire().await?.detach();
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(sql.seed)
            .bind(account)
            .execute(&mut *tx)
            .await?;
        // The row stays locked until commit: a probe of the holder's session lock below, and
        // the new holder's own session lock, happen while no one else can read the row to
        // probe in turn.
        let (host, pid, since, old_token, expires, now): (String, i64, i64, i64, i64, i64) =
            sqlx::query_as(sql.select)
                .bind(account)
                .fetch_one(&mut *tx)
                .await?;
        let current = Holder {
            host,
            pid: u32::try_from(pid).unwrap_or(0),
            since: time("account_leases.since_ms", since)?,
        };
        if expires > now {
            // Unexpired: taken over only when its holder's process is gone, i.e. nobody keeps
            // the session lock of the current token.
            let holder_gone: bool = sqlx::query_scalar(sql.try_session_lock)
                .bind(account)
                .bind(old_token)
                .fetch_one(&mut session)
                .await?;
            if !holder_gone {
                tx.rollback().await?;
                return Ok(LeaseOutcome::Held {
                    holder: current,
                    expires_in: Duration::from_millis(u64::try_from(expires - now).unwrap_or(0)),
                });
            }
            sqlx::query_scalar::<_, bool>(sql.session_unlock)
                .bind(account)
                .bind(old_token)
                .fetch_one(&mut session)
                .await?;
        }
        let token: i64 = sqlx::query_scalar(sql.take)
            .bind(account)
            .bind(holder.host.as_str())
            .bind(i64::from(holder.pid))
            .bind(ms(holder.since))
            .bind(ttl_ms(ttl))
            .fetch_one(&mut *tx)
            .await?;
        // A new token's key: nobody else can hold it (it was never committed).
        let locked: bool = sqlx::query_scalar(sql.try_session_lock)
            .bind(account)
            .bind(token)
            .fetch_one(&mut session)
            .await?;
        if !locked {
            tx.rollback().await?;
            return Err(StoreError::Corrupt {
                what: format!("account lease {account}"),
                reason: format!("the session lock of new token {token} is already held"),
            });
        }
        tx.commit().await?;
        drop(conn);
        self.leases.set_token(account, token);
        self.leases
            .sessions
            .lock()
            .await
            .insert(account.to_string(), session);
        Ok(LeaseOutcome::Taken {
            token,
            previous: (old_token > 0).then_some(current),
        })
    }

    pub(crate) async fn renew_account_lease(
        &self,
        account: &AccountName,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let (Some(sql), Some(token)) = (DB::LEASES, self.leases.token(account.as_str())) else {
            return Ok(());
        };
        let renewed: Option<(i64,)> = sqlx::query_as(sql.renew)
            .bind(account.as_str())
            .bind(token)
            .bind(ttl_ms(ttl))
            .fetch_optional(&mut *self.writer().await?)
            .await?;
        if renewed.is_none() {
            return Err(StoreError::LeaseLost {
                account: account.to_string(),
            });
        }
        Ok(())
    }

    pub(crate) async fn release_account_lease(
        &self,
        account: &AccountName,
    ) -> Result<(), StoreError> {
        let (Some(sql), Some(token)) = (DB::LEASES, self.leases.token(account.as_str())) else {
            return Ok(());
        };
        self.leases.set_token(account.as_str(), RELEASED);
        sqlx::query(sql.release)
            .bind(account.as_str())
            .bind(token)
            .execute(&mut *self.writer().await?)
            .await?;
        // Closing the session connection drops its advisory lock.
        let session = self.leases.sessions.lock().await.remove(account.as_str());
        if let Some(session) = session {
            let _ = sqlx::Connection::close(session).await;
        }
        Ok(())
    }

    /// Inside a transaction that writes an order intent for `account`: refuses it unless this
    /// store still holds the account's lease. Accounts this store never leased are not fenced
    /// (the CLI, SQLite).
    pub(crate) async fn fence(
        &self,
        tx: &mut Transaction<'_, DB>,
        account: &str,
    ) -> Result<(), StoreError> {
        let (Some(sql), Some(token)) = (DB::LEASES, self.leases.token(account)) else {
            return Ok(());
        };
        let held: Option<(i64,)> = sqlx::query_as(sql.fence)
            .bind(account)
            .bind(token)
            .fetch_optional(&mut **tx)
            .await?;
        match held {
            Some(_) => Ok(()),
            None => Err(StoreError::LeaseLost {
                account: account.to_string(),
            }),
        }
    }
}
