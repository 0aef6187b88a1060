//! What a reload may apply live, and what waits for a restart.
//!
//! Live (read by the workers, the intake and the API at their next use): mappings, symbols and
//! weights, risk limits, `[api]`, an account's `state`, `leverage_override`,
//! `min_order_notional` and `risk`, a source's rules (`enabled`, staleness, confidence, cooling,
//! default stops), and two `[engine]` keys the workers read every cycle:
//! `drift_check_interval_secs` and `drift_band`.
//!
//! Restart only (built once at start): the rest of `[engine]` (mode, data dir, bind address,
//! database URL, `hot_reload`), the set of accounts and sources, an account's other settings
//! (venue, credentials, URLs, paper settings, margin mode, mode, concurrency) and a source's
//! type and settings. These are the same rules as [`crate::config::reload::check_hot_reload`],
//! which refuses configuration writes through the API that would need a restart.

use crate::config::{AccountConfig, Config, EngineConfig, SourceConfig};

/// The configuration to run after a reload, and the keys it keeps at their running values.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub config: Config,
    /// Sorted as found: `[engine]` first, then accounts, then sources.
    pub needs_restart: Vec<String>,
}

/// Merges `file` (a validated new version of the file, without start flags) into `current`:
/// live keys from `file`, restart-only keys from `current`. `file_engine_at_start` is the
/// `[engine]` table the file said at start, so only keys the file itself changed are reported.
pub fn merge(current: &Config, file_engine_at_start: &EngineConfig, file: Config) -> Merged {
    let mut needs_restart = Vec::new();
    let engine = merge_engine(
        &current.engine,
        file_engine_at_start,
        &file.engine,
        &mut needs_restart,
    );
    let accounts = merge_accounts(&current.accounts, &file.accounts, &mut needs_restart);
    let mut sources = current.sources.clone();
    for (name, running) in &current.sources {
        match file.sources.get(name) {
            None => needs_restart.push(format!("sources.{name} (removed)")),
            Some(new) => {
                sources.insert(
                    name.clone(),
                    merge_source(name, running, new, &mut needs_restart),
                );
            }
        }
    }
    for name in file.sources.keys() {
        if !current.sources.contains_key(name) {
            needs_restart.push(format!("sources.{name} (added)"));
        }
    }
    Merged {
        config: Config {
            engine,
            accounts,
            sources,
            ..file
        },
        needs_restart,
    }
}

fn merge_engine(
    running: &EngineConfig,
    at_start: &EngineConfig,
    file: &EngineConfig,
    needs_restart: &mut Vec<String>,
) -> EngineConfig {
    let mut engine = running.clone();
    // Live: the workers read these every cycle.
    if file.drift_check_interval_secs != at_start.drift_check_interval_secs {
        engine.drift_check_interval_secs = file.drift_check_interval_secs;
    }
    if file.drift_band != at_start.drift_band {
        engine.drift_band = file.drift_band;
    }
    if file.on_unknown_position != at_start.on_unknown_position {
        engine.on_unknown_position = file.on_unknown_position;
    }
    // Destructured so a new `[engine]` key cannot be added without deciding which it is.
    let EngineConfig {
        mode,
        drift_check_interval_secs: _,
        data_dir,
        bind,
        database_url,
        drift_band: _,
        hot_reload,
        on_unknown_position: _,
        cluster,
        node_id,
        lease_ttl_secs,
        accounts,
    } = file;
    let restart = [
        ("engine.mode", *mode != at_start.mode),
        ("engine.data_dir", *data_dir != at_start.data_dir),
        ("engine.bind", *bind != at_start.bind),
        (
            "engine.database_url",
            *database_url != at_start.database_url,
        ),
        ("engine.hot_reload", *hot_reload != at_start.hot_reload),
        ("engine.cluster", *cluster != at_start.cluster),
        ("engine.node_id", *node_id != at_start.node_id),
        (
            "engine.lease_ttl_secs",
            *lease_ttl_secs != at_start.lease_ttl_secs,
        ),
        ("engine.accounts", *accounts != at_start.accounts),
    ];
    needs_restart.extend(
        restart
            .into_iter()
            .filter(|(_, changed)| *changed)
            .map(|(key, _)| key.to_string()),
    );
    engine
}

fn merge_accounts(
    running: &[AccountConfig],
    file: &[AccountConfig],
    needs_restart: &mut Vec<String>,
) -> Vec<AccountConfig> {
    let mut accounts = Vec::with_capacity(running.len());
    for a in running {
        let Some(new) = file.iter().find(|b| b.name == a.name) else {
            needs_restart.push(format!("accounts.{} (removed)", a.name));
            accounts.push(a.clone());
            continue;
        };
        let mut merged = a.clone();
        merged.state = new.state;
        merged.leverage_override = new.leverage_override;
        merged.min_order_notional = new.min_order_notional;
        merged.risk = new.risk.clone();
        for key in differing_keys(&merged, new) {
            needs_restart.push(format!("accounts.{}.{key}", a.name));
        }
        accounts.push(merged);
    }
    for b in file {
        if !running.iter().any(|a| a.name == b.name) {
            needs_restart.push(format!("accounts.{} (added)", b.name));
        }
    }
    accounts
}

fn merge_source(
    name: &str,
    running: &SourceConfig,
    new: &SourceConfig,
    needs_restart: &mut Vec<String>,
) -> SourceConfig {
    let mut merged = new.clone();
    if new.kind != running.kind {
        needs_restart.push(format!("sources.{name}.type"));
        merged.kind = running.kind;
    }
    if new.settings != running.settings {
        needs_restart.push(format!("sources.{name}.settings"));
        merged.settings = running.settings.clone();
    }
    merged
}

/// Top-level keys whose values differ between two accounts, by their serialised form (names
/// only: values may be URLs or paths an operator would rather not see in a log).
fn differing_keys(a: &AccountConfig, b: &AccountConfig) -> Vec<String> {
    if a == b {
        return Vec::new();
    }
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return vec!["(settings)".to_string()];
    };
    let mut keys: Vec<String> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .chain(b.keys().filter(|k| !a.contains_key(*k)).cloned())
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        keys.push("(settings)".to_string());
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, demo::DEMO_TOML, load_str};

    fn demo() -> Config {
        load_str(DEMO_TOML, None, &[], &Overrides::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_unchanged_file_needs_nothing() {
        let c = demo();
        let m = merge(&c, &c.engine, c.clone());
        assert_eq!(m.config, c);
        assert!(m.needs_restart.is_empty());
    }

    #[test]
    fn engine_keys_are_named_and_kept_and_the_live_ones_apply() {
        let c = demo();
        let mut file = c.clone();
        file.engine.bind = "0.0.0.0:9999".parse().unwrap_or_else(|e| panic!("{e}"));
        file.engine.database_url = "postgres://db.invalid/te".into();
        file.engine.drift_band = rust_decimal::Decimal::new(5, 3);
        file.engine.drift_check_interval_secs = 99;
        let m = merge(&c, &c.engine, file);
        assert_eq!(m.needs_restart, ["engine.bind", "engine.database_url"]);
        assert_eq!(m.config.engine.bind, c.engine.bind);
        assert_eq!(m.config.engine.database_url, c.engine.database_url);
        assert_eq!(m.config.engine.drift_band, rust_decimal::Decimal::new(5, 3));
        assert_eq!(m.config.engine.drift_check_interval_secs, 99);
    }

    #[test]
    fn a_start_flag_is_not_an_edit() {
        // Started with --bind: the running value differs from the file, which did not change.
        let c = demo();
        let mut running = c.clone();
        running.engine.bind = "127.0.0.1:1".parse().unwrap_or_else(|e| panic!("{e}"));
        let m = merge(&running, &c.engine, c.clone());
        assert!(m.needs_restart.is_empty(), "{:?}", m.needs_restart);
        assert_eq!(m.config.engine.bind, running.engine.bind);
    }

    #[test]
    fn accounts_and_sources_keep_what_needs_a_restart() {
        let c = demo();
        let mut file = c.clone();
        let mut extra = file.accounts[0].clone();
        extra.name = "second".into();
        file.accounts.push(extra);
        file.accounts[0].credentials = Some("env:OTHER".into());
        file.accounts[0].state = crate::config::AccountState::CloseOnly;
        let m = merge(&c, &c.engine, file);
        let name = &c.accounts[0].name;
        assert_eq!(
            m.needs_restart,
            [
                format!("accounts.{name}.credentials"),
                "accounts.second (added)".to_string()
            ]
        );
        assert_eq!(m.config.accounts.len(), 1);
        assert_eq!(m.config.accounts[0].credentials, c.accounts[0].credentials);
        assert_eq!(
            m.config.accounts[0].state,
            crate::config::AccountState::CloseOnly
        );
    }
}
