//! Several engines, one PostgreSQL database, each account traded by one of them at a time
//! (`engine.cluster = true`).
//!
//! No consensus of our own: PostgreSQL decides who trades an account, through the account
//! leases of [`tradeengine_store::lease`] (a row per account with a fencing token, checked in the
//! same transaction as every order intent, and a session lock that vanishes with the holder's
//! process). Every process runs the same configuration:
//!
//! - [`supervisor`] keeps trying to take the lease of every account it does not trade. When it
//!   gets one, it starts that account's worker, whose first cycle settles the orders left by the
//!   previous holder by client id at the venue and reads the positions before it plans anything
//!   (the start-up recovery path). It renews its leases every third of their life.
//! - A holder that cannot renew stops sending on its own clock before the database would let
//!   another process take the account: [`LeaseGate`] refuses every order and cancel once two
//!   thirds of the lease have passed since the last renewal was sent (the database extends the
//!   lease from the moment it runs the renewal, which is later). The worker is then stopped
//!   and the account goes back to standby here. A write carrying an old fencing token is
//!   refused by the store in any case.
//! - Signals are global (sleeves per source and symbol), so any process takes them: each write
//!   of sleeves happens under a cluster-wide lock after re-reading the stored sleeves, and tells
//!   the others ([`tradeengine_store::cluster`]); [`follow`] re-reads the sleeves on that
//!   notification and every second, so the holders plan from every accepted signal.
//!
//! A standby is ready (`/ready` 200): it serves the API and takes signals; it says which
//! accounts it trades (none).

pub mod follow;
pub mod gate;
pub mod supervisor;

use std::time::Duration;

pub use gate::{GatedVenue, LeaseGate};

use crate::config::{Config, Mode, VenueKind};

/// Shortest lease accepted: renewals every third of it must fit a slow database round trip.
pub const MIN_TTL_SECS: u64 = 3;
/// Longest lease accepted: a dead holder's accounts would stay untraded this long.
pub const MAX_TTL_SECS: u64 = 300;

/// What this process is in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub node_id: String,
    pub ttl: Duration,
}

impl Settings {
    /// `None` when the configuration does not ask for a cluster.
    pub fn of(config: &Config) -> Option<Self> {
        if !config.engine.cluster {
            return None;
        }
        let node_id = if config.engine.node_id.is_empty() {
            format!(
                "{}:{}",
                tradeengine_store::ownership::hostname(),
                std::process::id()
            )
        } else {
            config.engine.node_id.clone()
        };
        Some(Self {
            node_id,
            ttl: Duration::from_secs(config.engine.lease_ttl_secs),
        })
    }
}

/// The `[engine]` cluster keys' checks (part of the configuration's validation).
pub fn validate(c: &Config) -> Result<(), (String, String)> {
    let e = &c.engine;
    let fail = |key: &str, reason: &str| Err((key.to_string(), reason.to_string()));
    if !(MIN_TTL_SECS..=MAX_TTL_SECS).contains(&e.lease_ttl_secs) {
        return fail(
            "engine.lease_ttl_secs",
            &format!("must be between {MIN_TTL_SECS} and {MAX_TTL_SECS}"),
        );
    }
    if e.node_id.len() > 64
        || !e
            .node_id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.:".contains(ch))
    {
        return fail(
            "engine.node_id",
            "at most 64 characters among letters, digits, '-', '_', '.' and ':'",
        );
    }
    if !e.cluster {
        return Ok(());
    }
    let url = e.database_url.as_str();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return fail(
            "engine.cluster",
            "needs engine.database_url = \"postgres://…\": the processes share the accounts through PostgreSQL (SQLite is one machine's file)",
        );
    }
    for (i, a) in c.accounts.iter().enumerate() {
        if a.venue == VenueKind::Paper || c.account_mode(a) == Mode::Paper {
            return fail(
                &format!("accounts[{i}]"),
                "a paper account keeps its venue in one process's data dir, which another process cannot take over; use a testnet or live account in a cluster",
            );
        }
    }
    Ok(())
}
