//! Configuration: one TOML file (`tradeengine.toml`), layered with defaults, environment and
//! flags ([`load`]), validated across keys ([`validate`]), with an embedded paper demo when no
//! file is given ([`demo`]), an importer for sirouk/trade-engine's JSON files ([`import`]) and the
//! rules for what may change without a restart ([`reload`]).

pub mod candle_account;
pub mod demo;
pub mod edit;
pub mod edit_entries;
pub mod hyperliquid;
pub mod import;
mod import_credentials;
mod import_work;
pub mod load;
pub mod modes;
pub mod paths;
pub mod preflight;
pub mod preflight_online;
pub mod redact;
pub mod reload;
pub mod risk;
pub mod schema;
pub mod validate;
pub mod venue_kind;

use std::path::PathBuf;

pub use load::{Origin, Overrides, load_file, load_str, process_env};
pub use risk::{RiskConfig, RiskLimits, RiskPreset};
pub use schema::*;

/// A configuration problem, naming the file, the key and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    /// Dotted key path (`accounts[0].venue`); empty when the problem is the file as a whole.
    pub key: String,
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = self
            .file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "configuration".to_string());
        if self.key.is_empty() {
            write!(f, "{file}: {}", self.reason)
        } else {
            write!(f, "{file}: {}: {}", self.key, self.reason)
        }
    }
}

impl Config {
    /// A configuration with nothing configured, every section at its default.
    pub fn empty() -> Self {
        Self {
            engine: EngineConfig::default(),
            accounts: Vec::new(),
            sources: Default::default(),
            mapping: Default::default(),
            symbols: Vec::new(),
            risk: RiskConfig::default(),
            api: ApiConfig::default(),
            notifications: Default::default(),
        }
    }

    /// The unified symbol a source's own symbol maps to; unmapped symbols pass through as the
    /// seed did, and are then refused if no `[[symbols]]` entry trades them.
    pub fn map_symbol(&self, source: &str, raw: &str) -> String {
        self.mapping
            .get(source)
            .and_then(|m| m.get(raw).or_else(|| m.get(&raw.to_ascii_uppercase())))
            .cloned()
            .unwrap_or_else(|| raw.to_ascii_uppercase())
    }

    pub fn symbol(&self, symbol: &str) -> Option<&SymbolConfig> {
        self.symbols
            .iter()
            .find(|s| s.symbol.as_str().eq_ignore_ascii_case(symbol))
    }

    pub fn account(&self, name: &str) -> Option<&AccountConfig> {
        self.accounts.iter().find(|a| a.name == name)
    }

    /// An account's effective risk limits (`None`: the engine-wide ones). See [`risk`].
    pub fn risk_limits(&self, account: Option<&AccountConfig>) -> RiskLimits {
        let engine = RiskLimits::default().overlay(&self.risk);
        match account {
            Some(a) => engine.overlay(&a.risk),
            None => engine,
        }
    }

    /// The effective mode of an account.
    pub fn account_mode(&self, account: &AccountConfig) -> Mode {
        account.mode.unwrap_or(self.engine.mode)
    }

    /// What an account does with a position it has no record of managing.
    pub fn unknown_position_policy(&self, account: &AccountConfig) -> UnknownPositionPolicy {
        account
            .on_unknown_position
            .unwrap_or(self.engine.on_unknown_position)
    }

    /// The database URL, defaulting to SQLite in the data dir.
    pub fn database_url(&self) -> String {
        if self.engine.database_url.is_empty() {
            format!(
                "sqlite://{}",
                self.engine.data_dir.join("tradeengine.sqlite").display()
            )
        } else {
            self.engine.database_url.clone()
        }
    }
}

#[cfg(test)]
mod tests;
