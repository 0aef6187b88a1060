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
pub mod view;

use std::time::Duration;

pub use gate::{GatedVenue, LeaseGate};

use crate::config::Config;

pub use crate::config::{MAX_TTL_SECS, MIN_TTL_SECS};

/// What this process is in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub node_id: String,
    pub ttl: Duration,
    /// Balance the accounts over the live processes (`engine.accounts = "shared"`).
    pub shared: bool,
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
            shared: config.engine.accounts == crate::config::AccountSpread::Shared,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Overrides, load_str};

    const PG: &str = "postgres://u@db:5432/te";

    fn load(engine: &str, account: &str) -> Result<crate::config::Config, (String, String)> {
        let text = format!(
            "[engine]\n{engine}\n[[accounts]]\nname = \"a\"\n{account}\ncredentials = \"env:A\"\n"
        );
        load_str(&text, None, &[], &Overrides::default()).map_err(|e| (e.key, e.reason))
    }

    #[test]
    fn a_cluster_needs_postgresql_and_real_venues() {
        let exchange = "venue = \"bybit\"\nmode = \"testnet\"";
        let (key, reason) = load("cluster = true", exchange).err().unwrap_or_default();
        assert_eq!(key, "engine.cluster");
        assert!(reason.contains("PostgreSQL"), "{reason}");
        let sqlite = "cluster = true\ndatabase_url = \"sqlite:x.db\"";
        assert!(load(sqlite, exchange).is_err());
        let pg = format!("cluster = true\ndatabase_url = \"{PG}\"");
        let (key, reason) = load(&pg, "venue = \"paper\"").err().unwrap_or_default();
        assert_eq!(key, "accounts[0]");
        assert!(reason.contains("data dir"), "{reason}");
        // Paper on an exchange's public data keeps its state in the data dir too.
        let paper = "venue = \"bybit\"\nmode = \"paper\"";
        assert!(load(&pg, paper).is_err());
        let config = load(&pg, exchange).unwrap_or_else(|e| panic!("{e:?}"));
        let settings = super::Settings::of(&config).unwrap_or_else(|| panic!("a cluster"));
        assert_eq!(settings.ttl, std::time::Duration::from_secs(15));
        assert!(
            settings
                .node_id
                .ends_with(&format!(":{}", std::process::id()))
        );
    }

    #[test]
    fn lease_and_node_id_are_checked() {
        let exchange = "venue = \"bybit\"\nmode = \"testnet\"";
        for (engine, key) in [
            ("lease_ttl_secs = 2", "engine.lease_ttl_secs"),
            ("lease_ttl_secs = 301", "engine.lease_ttl_secs"),
            ("node_id = \"a,b\"", "engine.node_id"),
            ("node_id = \"a b\"", "engine.node_id"),
        ] {
            let got = load(engine, exchange).err().map(|e| e.0);
            assert_eq!(got.as_deref(), Some(key), "{engine}");
        }
        let config = load(
            &format!(
                "cluster = true\ndatabase_url = \"{PG}\"\nnode_id = \"host-a\"\nlease_ttl_secs = 6"
            ),
            exchange,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let settings = super::Settings::of(&config).unwrap_or_else(|| panic!("a cluster"));
        assert_eq!(settings.node_id, "host-a");
        assert_eq!(settings.ttl, std::time::Duration::from_secs(6));
        // Off by default.
        assert!(
            super::Settings::of(&load("", exchange).unwrap_or_else(|e| panic!("{e:?}"))).is_none()
        );
    }
}
