//! One engine per account, claimed before anything else starts.
//!
//! - The data dir is locked for the process's life ([`tradeengine_store::ownership`]): a second
//!   engine in the same folder (another `--bind`, a stray `tradeengine run`) is refused, naming
//!   the holder. This covers SQLite, the paper venues' files and the kill switch.
//! - A SQLite database is locked too (`<database>.engine-lock`, for the process's life): two
//!   engines with different data dirs given the same database file (`--database-url`) would
//!   both trade from it, each reading the other's orders as its own.
//! - On PostgreSQL, which engines on several machines may share, every account is leased in
//!   the database as well ([`tradeengine_store::lease`]): a second engine anywhere is refused
//!   while the first holds the lease, and an engine whose lease is lost (expired while it was
//!   stalled, or taken over) can no longer write an order intent, so it sends nothing. The
//!   lease is renewed every third of its life by [`Ownership::renew`], and let go on a clean stop
//!   so a restart does not wait for it to expire.
//!
//! The binary exits with code 2 when the claim is refused. In a cluster (`engine.cluster`) only
//! the data dir is claimed here: an account held by another process is waited for
//! ([`crate::cluster`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tradeengine_model::{AccountName, Clock, Timestamp};
use tradeengine_store::lease::{DEFAULT_TTL, LeaseOutcome};
use tradeengine_store::ownership::{DataDirLock, Holder, LockError};
use tradeengine_store::{Store, StoreError};

use crate::config::Config;

/// Another engine holds what this one would trade.
#[derive(Debug, thiserror::Error)]
#[error("another engine already runs on {what} ({}); stop it first, or give this one its own data dir and accounts", holder.as_ref().map_or_else(|| "holder unknown".to_string(), ToString::to_string))]
pub struct AlreadyRunning {
    /// `data dir PATH`, `database PATH` (SQLite) or `account NAME (lease in the shared database)`.
    pub what: String,
    pub holder: Option<Holder>,
}

/// Why ownership could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(transparent)]
    AlreadyRunning(#[from] AlreadyRunning),
    #[error("cannot lock the data dir: {0}")]
    Lock(String),
    #[error("cannot take the lease of account {account}: {source}")]
    Lease { account: String, source: StoreError },
}

/// What this engine holds; dropping it releases the data dir's lock.
#[derive(Debug)]
pub struct Ownership {
    _dir: DataDirLock,
    /// The lock beside a SQLite database (`None` for PostgreSQL, which has leases).
    _database: Option<DataDirLock>,
    holder: Holder,
    /// Accounts leased in the store (empty on SQLite).
    leased: Vec<AccountName>,
    store: Arc<dyn Store>,
    ttl: Duration,
}

impl Ownership {
    /// Locks the data dir, then leases every account (where the store has leases).
    pub async fn claim(
        config: &Config,
        store: Arc<dyn Store>,
        now: Timestamp,
    ) -> Result<Self, ClaimError> {
        Self::claim_with_ttl(config, store, now, DEFAULT_TTL).await
    }

    /// [`Ownership::claim`] with another lease lifetime (tests).
    pub async fn claim_with_ttl(
        config: &Config,
        store: Arc<dyn Store>,
        now: Timestamp,
        ttl: Duration,
    ) -> Result<Self, ClaimError> {
        let holder = Holder::this_process(now);
        let dir = &config.engine.data_dir;
        // 0700: it holds the database, the paper state and the audit anchor.
        tradeengine_store::files::create_private_dir(dir)
            .map_err(|e| ClaimError::Lock(format!("{}: {e}", dir.display())))?;
        let lock = DataDirLock::acquire(dir, holder.clone()).map_err(|e| match e {
            LockError::Held { holder, .. } => ClaimError::AlreadyRunning(AlreadyRunning {
                what: format!("data dir {}", dir.display()),
                holder,
            }),
            other => ClaimError::Lock(other.to_string()),
        })?;
        let database = lock_database(config, &holder)?;
        let mut ownership = Self {
            _dir: lock,
            _database: database,
            holder,
            leased: Vec::new(),
            store,
            ttl,
        };
        // In a cluster the accounts are taken one by one, and held elsewhere is no refusal
        // (crate::cluster::supervisor).
        let accounts = if config.engine.cluster {
            &[][..]
        } else {
            &config.accounts[..]
        };
        for account in accounts {
            let Ok(name) = AccountName::new(&account.name) else {
                continue; // refused with its reason when the account is built
            };
            let lease_error = |source| ClaimError::Lease {
                account: account.name.clone(),
                source,
            };
            match ownership
                .store
                .take_lease(&name, &ownership.holder, ttl)
                .await
            {
                Ok(LeaseOutcome::NotNeeded) => {}
                Ok(LeaseOutcome::Taken { token, previous }) => {
                    match previous {
                        Some(p) => {
                            tracing::warn!(account = %name, token, previous = %p, "account lease taken over")
                        }
                        None => tracing::info!(account = %name, token, "account lease taken"),
                    }
                    lease_gauge(&name, true);
                    ownership.leased.push(name);
                }
                Ok(LeaseOutcome::Held { holder, expires_in }) => {
                    tracing::error!(account = %name, %holder, expires_in_s = expires_in.as_secs(), "account is leased by another engine");
                    // Leases taken so far are let go: this engine will not run.
                    ownership.release().await;
                    return Err(AlreadyRunning {
                        what: format!("account {name} (lease in the shared database)"),
                        holder: Some(holder),
                    }
                    .into());
                }
                Err(e) => {
                    ownership.release().await;
                    return Err(lease_error(e));
                }
            }
        }
        Ok(ownership)
    }

    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Renews the leases every third of their life until `stop`. A lease found lost is logged
    /// and its gauge set to 0; the store already refuses that account's order intents.
    pub async fn renew(
        store: Arc<dyn Store>,
        state: crate::state::SharedState,
        accounts: Vec<AccountName>,
        ttl: Duration,
        stop: CancellationToken,
    ) {
        if accounts.is_empty() {
            return;
        }
        let mut tick = tokio::time::interval(ttl / 3);
        let mut lost: Vec<AccountName> = Vec::new();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            for account in &accounts {
                if lost.contains(account) {
                    continue;
                }
                match store.renew_lease(account, ttl).await {
                    Ok(()) => {}
                    Err(StoreError::LeaseLost { .. }) => {
                        tracing::error!(account = %account, "account lease lost (taken over by another engine): this engine sends no more orders for it, is not ready and refuses signals (503) so none is accepted here that the account's holder never sees; restart it to stand by");
                        lease_gauge(account, false);
                        lost.push(account.clone());
                        state
                            .update_account_view(account, |v| {
                                v.lease_lost = Some(
                                    "lease taken over by another engine; restart this one"
                                        .to_string(),
                                );
                            })
                            .await;
                    }
                    Err(e) => {
                        tracing::warn!(account = %account, error = %e, "cannot renew the account lease; retrying");
                    }
                }
            }
        }
    }

    /// Spawns what keeps the engine's hold on its store honest until `stop`: the lease
    /// renewal, the store health watcher ([`crate::store_health`]) and the audit anchor writer
    /// ([`crate::audit_anchor`]).
    pub fn spawn_keepers(
        &self,
        tasks: &mut JoinSet<()>,
        config: &Config,
        state: &crate::state::SharedState,
        clock: &Arc<dyn Clock>,
        stop: &CancellationToken,
    ) {
        let (store, leased, ttl) = (self.store.clone(), self.leased.clone(), self.ttl);
        tasks.spawn(Self::renew(
            store.clone(),
            state.clone(),
            leased,
            ttl,
            stop.clone(),
        ));
        let every = crate::store_health::CHECK_EVERY;
        tasks.spawn(crate::store_health::watch(
            store.clone(),
            every,
            stop.clone(),
        ));
        let (dir, every) = (
            config.engine.data_dir.clone(),
            crate::audit_anchor::ANCHOR_EVERY,
        );
        tasks.spawn(crate::audit_anchor::run(
            store,
            dir,
            clock.clone(),
            every,
            stop.clone(),
        ));
    }

    /// On a clean stop, after the engine's last event: a last audit anchor, then the leases go.
    /// The data dir's lock goes when `self` is dropped.
    pub async fn stop(mut self, data_dir: &std::path::Path, clock: &dyn Clock) {
        crate::audit_anchor::anchor_now(&*self.store, data_dir, clock).await;
        self.release().await;
    }

    /// Lets the leases go (clean stop). The data dir's lock goes when `self` is dropped.
    pub async fn release(&mut self) {
        for account in self.leased.drain(..) {
            if let Err(e) = self.store.release_lease(&account).await {
                tracing::warn!(account = %account, error = %e, "cannot release the account lease; it expires on its own");
            }
            lease_gauge(&account, false);
        }
    }
}

/// Locks a SQLite database file for this engine (see the module docs); `None` for another store.
fn lock_database(config: &Config, holder: &Holder) -> Result<Option<DataDirLock>, ClaimError> {
    let Some(file) = tradeengine_store::sqlite_file(&config.database_url()) else {
        return Ok(None);
    };
    let path = tradeengine_store::ownership::database_lock_path(&file);
    match DataDirLock::acquire_file(path, holder.clone()) {
        Ok(lock) => Ok(Some(lock)),
        Err(LockError::Held { holder, .. }) => Err(ClaimError::AlreadyRunning(AlreadyRunning {
            what: format!("database {}", file.display()),
            holder,
        })),
        Err(other) => Err(ClaimError::Lock(other.to_string())),
    }
}

fn lease_gauge(account: &AccountName, held: bool) {
    metrics::gauge!("tradeengine_account_lease_held", "account" => account.to_string())
        .set(if held { 1.0 } else { 0.0 });
}
