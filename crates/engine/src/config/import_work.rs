//! What the parts of `tradeengine config import` share ([`super::import`] for the seed's
//! mapping, weights and SN8 files, [`super::import_credentials`] for `credentials.json`): the
//! import in progress, its report, its errors and the JSON readers.

use std::str::FromStr;

use rust_decimal::Decimal;
use toml_edit::Value;

use super::{Config, OnStale, SourceKind, edit, edit_entries};
use crate::credentials::ResolvedCredentials;

/// That system's name for the SN8 source, and ours.
pub(super) const SEED_BITTENSOR: &str = "bittensor";
pub(super) const SN8: &str = "sn8";
pub(super) const TRADINGVIEW: &str = "tradingview";
/// Seconds without an accepted validator payload after which SN8 sleeves are stale.
const SN8_TTL_SECS: u64 = 120;
/// The variable the imported TradingView source reads its shared secret from.
pub const TV_SECRET_VAR: &str = "TRADINGVIEW_SECRET";
/// The variable the SN8 source reads the validator key from when no `credentials.json` gave one.
pub const SN8_KEY_VAR: &str = "SN8_API_KEY";

/// The contents of sirouk/trade-engine's files; any may be missing.
#[derive(Debug, Clone, Default)]
pub struct SeedFiles {
    pub asset_mapping: Option<String>,
    pub signal_weights: Option<String>,
    pub bittensor_processor: Option<String>,
    pub credentials: Option<String>,
}

/// A seed file that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct ImportError {
    pub file: &'static str,
    pub reason: String,
}

/// A key of a seed file left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub file: &'static str,
    pub key: String,
    pub why: String,
}

/// What the import produced.
#[derive(Debug)]
pub struct Imported {
    /// The new TOML text.
    pub text: String,
    /// The configuration it loads as.
    pub config: Config,
    /// Decisions made for the operator, one sentence each (what and why).
    pub choices: Vec<String>,
    /// Seed keys not imported, by file and name.
    pub skipped: Vec<Skipped>,
    /// Environment variables the file reads: (variable, what it holds).
    pub to_set: Vec<(String, String)>,
    /// Settings the seed files did not give, with the command that fills each.
    pub to_fill: Vec<String>,
    /// Keys for the encrypted credentials file: entry name → keys.
    pub keys: Vec<(String, ResolvedCredentials)>,
}

/// Where the import writes what it cannot know itself.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The `credentials` reference accounts get (`file:credentials.age`).
    pub credentials_file: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            credentials_file: "credentials.age".into(),
        }
    }
}

/// The import in progress: the text being edited and the report.
pub(super) struct Work {
    pub(super) text: String,
    pub(super) imported: Imported,
}

impl Work {
    pub(super) fn skip(&mut self, file: &'static str, key: impl Into<String>, why: &str) {
        self.imported.skipped.push(Skipped {
            file,
            key: key.into(),
            why: why.to_string(),
        });
    }

    pub(super) fn choose(&mut self, s: impl Into<String>) {
        self.imported.choices.push(s.into());
    }

    pub(super) fn need(&mut self, var: &str, why: impl Into<String>) {
        if !self.imported.to_set.iter().any(|(v, _)| v == var) {
            self.imported.to_set.push((var.to_string(), why.into()));
        }
    }

    pub(super) fn apply(
        &mut self,
        f: impl FnOnce(&str) -> Result<String, edit::EditError>,
    ) -> Result<(), ImportError> {
        self.text = f(&self.text).map_err(|e| ImportError {
            file: "tradeengine.toml",
            reason: e.to_string(),
        })?;
        Ok(())
    }

    /// Adds a source when missing, stating the choice made for it.
    pub(super) fn source(&mut self, name: &str) -> Result<(), ImportError> {
        let (kind, ttl, on_stale) = match name {
            SN8 => (SourceKind::Sn8, Some(SN8_TTL_SECS), Some(OnStale::Flat)),
            _ => (SourceKind::Tradingview, None, None),
        };
        let mut added = false;
        self.apply(|t| {
            let (out, a) = edit_entries::ensure_source(t, name, kind, ttl, on_stale)?;
            added = a;
            Ok(out)
        })?;
        if !added {
            return Ok(());
        }
        if kind == SourceKind::Sn8 {
            self.choose(format!(
                "sources.sn8: ttl_secs = {SN8_TTL_SECS}, on_stale = \"flat\": a validator that stops answering for 2 minutes stops moving money, instead of keeping positions on old data forever as the old engine did"
            ));
        } else {
            self.apply(|t| {
                edit::set_source_value(
                    t,
                    name,
                    &["settings"],
                    "secret_env",
                    Some(Value::from(TV_SECRET_VAR)),
                )
            })?;
            self.choose(
                "sources.tradingview: no ttl_secs (its last alert holds until the next, as before); alerts must now carry \"secret\": the old endpoint took anyone's",
            );
            self.need(
                TV_SECRET_VAR,
                "the shared secret every TradingView alert carries as \"secret\" (add it to your alert messages)",
            );
        }
        Ok(())
    }
}

pub(super) fn seed_source_name(seed: &str) -> Option<&'static str> {
    match seed {
        SEED_BITTENSOR => Some(SN8),
        TRADINGVIEW => Some(TRADINGVIEW),
        _ => None,
    }
}

/// A JSON number or numeric string as an exact decimal.
pub(super) fn decimal(
    file: &'static str,
    what: &str,
    v: &serde_json::Value,
) -> Result<Decimal, ImportError> {
    let text = match v {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.trim().to_string(),
        other => {
            return Err(ImportError {
                file,
                reason: format!("{what}: expected a number, found {other}"),
            });
        }
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|e| ImportError {
            file,
            reason: format!("{what}: {text:?} is not a number: {e}"),
        })
}

pub(super) fn json<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<T, ImportError> {
    serde_json::from_str(text).map_err(|e| ImportError {
        file,
        reason: e.to_string(),
    })
}
