//! One module per command group. Shared here: finding the configuration and opening the store.

pub mod accounts_setup;
pub mod audit;
pub mod cluster;
pub mod config;
pub mod config_import;
pub mod credentials;
pub mod credentials_setup;
pub mod inspect;
pub mod kill;
pub mod pnl;
pub mod positions;
pub mod replay;
mod replay_chart;
pub mod resolve;
pub mod risk;
pub mod run;
pub mod setup;
pub mod sn8;
mod sn8_fields;
pub mod sn8_pairs;
pub mod sn8_setup;
pub mod status;
mod status_sources;
pub mod strategy;
pub mod symbols_setup;
pub mod venue;
pub mod venue_check;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tradeengine_engine::config::{self as cfg, Config, Origin, Overrides};
use tradeengine_store::Store;

use crate::args::Global;

/// The default configuration file name, looked for in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "tradeengine.toml";

/// Loads the configuration: `--config`, else `./tradeengine.toml`, else the embedded demo.
pub fn load_config(
    global: &Global,
    extra: Overrides,
) -> Result<(Config, Origin), cfg::ConfigError> {
    let overrides = Overrides {
        data_dir: global.data_dir.clone(),
        ..extra
    };
    let env = cfg::process_env();
    let path = match &global.config {
        Some(p) => Some(p.clone()),
        None => {
            let default = PathBuf::from(DEFAULT_CONFIG_FILE);
            default.exists().then_some(default)
        }
    };
    match path {
        Some(p) => Ok((cfg::load_file(&p, &env, &overrides)?, Origin::File(p))),
        None => Ok((
            cfg::load_str(cfg::demo::DEMO_TOML, None, &env, &overrides)?,
            Origin::EmbeddedDemo,
        )),
    }
}

/// The account `name` as the configuration declares it, or an error naming the accounts that
/// exist: a typo in `--account` must exit non-zero, never print an empty (and reassuring) list.
pub fn configured_account(
    config: &Config,
    name: &str,
) -> anyhow::Result<tradeengine_model::AccountName> {
    if config.account(name).is_none() {
        let known: Vec<&str> = config.accounts.iter().map(|a| a.name.as_str()).collect();
        anyhow::bail!(
            "no account named {name:?} in the configuration (accounts: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    }
    Ok(tradeengine_model::AccountName::new(name)?)
}

/// Opens the store the configuration names for a command that acts on an engine's store
/// (`kill`, `status`, `risk`, `positions`, `order`). Never creates a data dir or a database: a
/// missing one is [`resolve::NothingToActOn`], exit code 2. (A database file that is gone from
/// a data dir an engine runs on must be put back, not replaced: creating one there reset the
/// engine's write-ahead log and lost what was only in it.)
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    resolve::check_store_exists(config, None)?;
    let url = config.database_url();
    match tradeengine_store::open_existing(&url).await {
        Err(tradeengine_store::StoreError::Missing(path)) => Err(resolve::NothingToActOn(format!(
            "no database at {path}: nothing to read or act on, and this command never creates \
             one. If the engine was started with `run --database-url` (PostgreSQL), this command \
             needs the same database: set [engine] database_url or \
             TRADEENGINE_ENGINE__DATABASE_URL. Otherwise, if an engine runs on this data dir, \
             its database file was moved or deleted while it ran: put the file back before \
             anything else (its -wal file beside it holds the newest commits)"
        ))
        .into()),
        other => other.with_context(|| format!("cannot open the store at {}", redact_url(&url))),
    }
}

/// Opens the store for `tradeengine run`, the one command that creates it (and its data dir,
/// which `run` makes before calling this).
pub async fn open_or_create_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url();
    tradeengine_store::open(&url)
        .await
        .with_context(|| format!("cannot open the store at {}", redact_url(&url)))
}

/// Opens the store for a command that only reads (`orders`, `positions`, `signals`, `audit
/// verify`): never creates the data dir or the database, never migrates, never changes the
/// journal mode, so it cannot harm a database an engine has open (or has lost: after the file
/// was deleted, a read-write open created an empty one and SQLite reset the live WAL).
pub async fn open_store_read_only(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url();
    match tradeengine_store::open_read_only(&url).await {
        // Nothing to read: exit code 2, as for every command that finds no store.
        Err(tradeengine_store::StoreError::Missing(path)) => Err(resolve::NothingToActOn(format!(
            "no database at {path} (a read-only command never creates one)"
        ))
        .into()),
        other => other
            .with_context(|| format!("cannot open the store at {} (read-only)", redact_url(&url))),
    }
}

/// Hides a password (and any other secret) in a URL before it is printed.
pub fn redact_url(url: &str) -> String {
    cfg::redact::redact_url(url)
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn database_password_is_hidden() {
        assert_eq!(
            redact_url("postgres://trader:hunter2@db:5432/te"),
            "postgres://trader:***@db:5432/te"
        );
        assert_eq!(
            redact_url("sqlite://data/te.sqlite"),
            "sqlite://data/te.sqlite"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
    }
}
