//! REST sources (`type = "rest"`): signals posted to the HTTP API (`POST /api/v1/signals`,
//! petrosa-tradeengine's `POST /trade`). The server does the HTTP; this module holds each source's
//! settings and its bearer token.
//!
//! `[sources.<name>.settings]`:
//! - `token_env = "VAR"`: the bearer token that posts as this source, read from the environment
//!   at start (never from the file). A REST source without one accepts nothing over HTTP (the
//!   engine's own tests and tools may still submit to it in process).
//! - `scale_size_by_confidence` (default true): strategy signals' `position_size_pct ×
//!   confidence`.
//!
//! **Where tokens live.** Tokens are resolved when the engine starts (from the environment or
//! the start options' stand-ins, as the demo's generated secrets are) and kept in a process-wide
//! table keyed by the engine's data directory and the source name, so the HTTP server finds them
//! without a new field in the shared state. A token is compared in constant time. Changing a
//! token needs a restart; a source removed or disabled by a hot reload stops accepting at once,
//! because the live configuration is checked on every request.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{LazyLock, RwLock};

use secrecy::SecretString;
use serde::Deserialize;
use tradeengine_model::SourceId;
use tradeengine_signals::strategy_signal::StrategySignalOptions;
use tradeengine_signals::tradingview::secret_matches;

use super::bus;
use crate::config::{Config, SourceKind};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    token_env: Option<String>,
    #[serde(default = "default_true")]
    scale_size_by_confidence: bool,
}

fn default_true() -> bool {
    true
}

/// A REST source's settings.
#[derive(Clone)]
pub struct RestSettings {
    pub token: Option<SecretString>,
    pub strategy_signal: StrategySignalOptions,
}

impl std::fmt::Debug for RestSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestSettings")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("strategy_signal", &self.strategy_signal)
            .finish()
    }
}

/// Reads a `rest` source's settings; refuses a token variable shared with another REST source
/// (a token must say which source posts).
pub fn settings(
    name: &str,
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RestSettings, String> {
    let source = config
        .sources
        .get(name)
        .filter(|s| s.kind == SourceKind::Rest)
        .ok_or_else(|| format!("no rest source named {name:?}"))?;
    let raw: Raw = bus::read_settings(name, &source.settings)?;
    if let Some(var) = &raw.token_env {
        let shared = config.sources.iter().find(|(other, s)| {
            *other != name
                && s.enabled
                && s.kind == SourceKind::Rest
                && s.settings.get("token_env").and_then(|v| v.as_str()) == Some(var.as_str())
        });
        if let Some((other, _)) = shared {
            return Err(format!(
                "token_env: {var} is also the token of source {other:?}; each REST source needs its own"
            ));
        }
    }
    let token = bus::secret_from_env("token_env", raw.token_env.as_deref(), env)?;
    if token
        .as_ref()
        .is_some_and(|t| secrecy::ExposeSecret::expose_secret(t).len() < 16)
    {
        return Err("token_env: the token must be at least 16 characters".into());
    }
    Ok(RestSettings {
        token,
        strategy_signal: StrategySignalOptions {
            scale_size_by_confidence: raw.scale_size_by_confidence,
        },
    })
}

type Table = BTreeMap<(PathBuf, String), RestSettings>;

static REGISTERED: LazyLock<RwLock<Table>> = LazyLock::new(|| RwLock::new(BTreeMap::new()));

/// Registers one REST source of `config` (at start), replacing what an earlier engine on the
/// same data directory registered under that name.
pub fn register(
    name: &str,
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let settings = settings(name, config, env)?;
    if settings.token.is_none() {
        // Every POST /trade or /api/v1/signals as this source will be refused 401: say so at
        // start rather than leave an operator to find it in the refusals.
        tracing::warn!(
            source = name,
            "REST source has no token_env: it accepts nothing over HTTP (set [sources.{name}.settings] token_env = \"VAR\" and the variable)"
        );
    }
    // Refusals of this source are scrubbed of its token whatever path records them.
    crate::refusals::secrets::register(
        &config.engine.data_dir,
        name,
        settings.token.iter().cloned().collect(),
    );
    let key = (config.engine.data_dir.clone(), name.to_string());
    REGISTERED
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, settings);
    Ok(())
}

/// The REST source a bearer token posts as, with its settings: an enabled `rest` source of the
/// live configuration whose token matches. Every candidate is compared (constant time each), so
/// the answer time does not tell which source's token was close.
pub fn authenticate(config: &Config, presented: &str) -> Option<(SourceId, RestSettings)> {
    let table = REGISTERED.read().unwrap_or_else(|p| p.into_inner());
    let mut found = None;
    for (name, s) in &config.sources {
        if !(s.enabled && s.kind == SourceKind::Rest) {
            continue;
        }
        let key = (config.engine.data_dir.clone(), name.clone());
        let Some(registered) = table.get(&key) else {
            continue;
        };
        let matches = registered
            .token
            .as_ref()
            .is_some_and(|t| secret_matches(presented, t));
        if matches && found.is_none() {
            found = SourceId::new(name).ok().map(|id| (id, registered.clone()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &str, extra: &str) -> Config {
        let text = format!(
            "[engine]\ndata_dir = \"{dir}\"\n[sources.api]\ntype = \"rest\"\n[sources.api.settings]\ntoken_env = \"T_API\"\n{extra}"
        );
        crate::config::load_str(&text, None, &[], &crate::config::Overrides::default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn tokens_identify_their_source_per_engine() {
        let env = |k: &str| match k {
            "T_API" => Some("token-of-api-0123456789".to_string()),
            "T_OPS" => Some("token-of-ops-0123456789".to_string()),
            _ => None,
        };
        let c = config(
            "/tmp/rest-test-a",
            "[sources.ops]\ntype = \"rest\"\n[sources.ops.settings]\ntoken_env = \"T_OPS\"\n[sources.bare]\ntype = \"rest\"\n",
        );
        for name in ["api", "ops", "bare"] {
            register(name, &c, &env).unwrap_or_else(|e| panic!("{e}"));
        }
        let who = |t: &str| authenticate(&c, t).map(|(id, _)| id.to_string());
        assert_eq!(who("token-of-api-0123456789").as_deref(), Some("api"));
        assert_eq!(who("token-of-ops-0123456789").as_deref(), Some("ops"));
        assert_eq!(who("token-of-api-012345678"), None);
        assert_eq!(who(""), None);
        // Another engine (another data dir) does not see these tokens.
        let other = config("/tmp/rest-test-b", "");
        assert!(authenticate(&other, "token-of-api-0123456789").is_none());
        // A source disabled by a reload stops accepting.
        let mut off = c.clone();
        if let Some(s) = off.sources.get_mut("api") {
            s.enabled = false;
        }
        assert!(authenticate(&off, "token-of-api-0123456789").is_none());
    }

    #[test]
    fn bad_settings_are_refused_by_key() {
        let env = |k: &str| (k == "T_API").then(|| "short".to_string());
        let e = settings("api", &config("/tmp/rest-test-c", ""), &env).unwrap_err();
        assert!(e.contains("16"), "{e}");
        let none = |_: &str| None;
        let e = settings("api", &config("/tmp/rest-test-c", ""), &none).unwrap_err();
        assert!(e.contains("T_API"), "{e}");
        let shared = config(
            "/tmp/rest-test-c",
            "[sources.two]\ntype = \"rest\"\n[sources.two.settings]\ntoken_env = \"T_API\"\n",
        );
        let long = |_: &str| Some("x".repeat(20));
        assert!(settings("api", &shared, &long).unwrap_err().contains("two"));
        let typo = config("/tmp/rest-test-c", "tokn_env = \"X\"\n");
        assert!(
            settings("api", &typo, &long)
                .unwrap_err()
                .contains("tokn_env")
        );
    }
}
