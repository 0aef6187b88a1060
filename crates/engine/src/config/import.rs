//! `tradeengine config import`: brings a sirouk/trade-engine installation over from the four JSON
//! files it keeps in its working directory:
//! - `asset_mapping_config.json` → `[mapping.tradingview]` and `[mapping.sn8]` (that system calls
//!   the SN8 source `bittensor`);
//! - `signal_weight_config.json` → `[[symbols]]` with leverage and per-source weights;
//! - `bittensor_processor_config.json` → `[sources.sn8.settings]` with `scoring = "seed"` and its
//!   ranking parameters under `[sources.sn8.settings.seed]`;
//! - `credentials.json` → `[[accounts]]` (Bybit, BloFin, KuCoin, MEXC, and Binance listed under
//!   `ccxt`) with `credentials = "file:…"`, and the SN8 validator's URL. The keys themselves are
//!   returned in [`Imported::keys`] for the encrypted credentials file, never written to the TOML.
//!
//! The result is an edit of the existing file (comments kept, see [`super::edit_entries`]), with
//! typed values (numbers read from their JSON text, so `0.15` stays exactly 0.15). Every key the
//! importer does not know is left out and reported by file and name; every choice it makes for
//! the operator is stated in [`Imported::choices`]; the variables the file reads are listed in
//! [`Imported::to_set`].

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use toml_edit::Value;

use super::edit_entries::{self, number};
use super::{Config, OnStale, Overrides, SourceKind, edit};
use crate::credentials::ResolvedCredentials;

/// That system's name for the SN8 source, and ours.
pub(super) const SEED_BITTENSOR: &str = "bittensor";
pub(super) const SN8: &str = "sn8";
pub(super) const TRADINGVIEW: &str = "tradingview";
/// The variable the imported TradingView source reads its shared secret from.
pub const TV_SECRET_VAR: &str = "TRADINGVIEW_SECRET";
/// The variable the SN8 source reads the validator key from when no `credentials.json` gave one.
pub const SN8_KEY_VAR: &str = "SN8_API_KEY";
/// Seconds without an accepted validator payload after which SN8 sleeves are stale.
const SN8_TTL_SECS: u64 = 120;

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

/// Merges the seed's files into `base` (the current TOML text, empty for a new file) and
/// validates the result as the engine loads it. `file` names the TOML (its folder anchors
/// relative paths).
pub fn import_seed(
    base: &str,
    file: &std::path::Path,
    files: &SeedFiles,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let current =
        super::load_str(base, Some(file), &[], &Overrides::default()).map_err(|e| ImportError {
            file: "tradeengine.toml",
            reason: e.to_string(),
        })?;
    let mut work = Work {
        text: base.to_string(),
        imported: Imported {
            text: String::new(),
            config: Config::empty(),
            choices: Vec::new(),
            skipped: Vec::new(),
            to_set: Vec::new(),
            to_fill: Vec::new(),
            keys: Vec::new(),
        },
    };
    if let Some(text) = &files.asset_mapping {
        import_mapping(&mut work, &current, text)?;
    }
    if let Some(text) = &files.signal_weights {
        import_weights(&mut work, &current, text)?;
    }
    if let Some(text) = &files.bittensor_processor {
        import_bittensor(&mut work, text)?;
    }
    if let Some(text) = &files.credentials {
        super::import_credentials::import(&mut work, text, options)?;
    }
    super::import_credentials::finish_sn8(&mut work)?;
    let config =
        super::load_str(&work.text, Some(file), &[], &Overrides::default()).map_err(|e| {
            ImportError {
                file: "imported configuration",
                reason: e.to_string(),
            }
        })?;
    work.imported.text = work.text;
    work.imported.config = config;
    Ok(work.imported)
}

fn import_mapping(work: &mut Work, current: &Config, text: &str) -> Result<(), ImportError> {
    const F: &str = "asset_mapping_config.json";
    let parsed: BTreeMap<String, serde_json::Value> = json(F, text)?;
    for (seed_source, pairs) in parsed {
        let Some(source) = seed_source_name(&seed_source) else {
            work.skip(
                F,
                seed_source,
                "not a source the old engine had (tradingview, bittensor)",
            );
            continue;
        };
        let pairs: BTreeMap<String, String> =
            serde_json::from_value(pairs).map_err(|e| ImportError {
                file: F,
                reason: format!("{seed_source}: {e}"),
            })?;
        work.source(source)?;
        let mut map = current.mapping.get(source).cloned().unwrap_or_default();
        for (from, to) in pairs {
            edit::upsert_mapping(&mut map, &from, &to.to_ascii_uppercase());
        }
        work.apply(|t| edit::set_mapping(t, source, &map))?;
    }
    Ok(())
}

fn import_weights(work: &mut Work, current: &Config, text: &str) -> Result<(), ImportError> {
    const F: &str = "signal_weight_config.json";
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = json(F, text)?;
    let default_max = current.risk_limits(None).max_leverage;
    let mut highest: Option<(Decimal, String)> = None;
    for (i, row) in rows.iter().enumerate() {
        let symbol = row
            .get("symbol")
            .and_then(|s| s.as_str())
            .ok_or_else(|| ImportError {
                file: F,
                reason: format!("entry {i}: no symbol"),
            })?
            .to_ascii_uppercase();
        for key in row.keys() {
            if !["symbol", "leverage", "sources"].contains(&key.as_str()) {
                work.skip(
                    F,
                    format!("{symbol}.{key}"),
                    "not a key the old engine read",
                );
            }
        }
        let mut leverage = match row.get("leverage") {
            Some(v) => decimal(F, &format!("{symbol} leverage"), v)?,
            None => Decimal::ONE,
        };
        if leverage < Decimal::ONE || leverage.fract() != Decimal::ZERO {
            let was = leverage;
            leverage = leverage.round().max(Decimal::ONE);
            work.choose(format!(
                "symbols {symbol}: leverage {was} becomes {leverage} (venues take whole leverage of at least 1)"
            ));
        }
        if highest.as_ref().is_none_or(|(l, _)| leverage > *l) {
            highest = Some((leverage, symbol.clone()));
        }
        let mut weights = BTreeMap::new();
        let sources = row.get("sources").and_then(|s| s.as_array());
        for s in sources.into_iter().flatten() {
            let name = s
                .get("source")
                .and_then(|n| n.as_str())
                .ok_or_else(|| ImportError {
                    file: F,
                    reason: format!("{symbol}: a source entry has no name"),
                })?;
            let Some(source) = seed_source_name(name) else {
                work.skip(F, format!("{symbol}.sources.{name}"), "unknown source");
                continue;
            };
            let w = decimal(
                F,
                &format!("{symbol} weight of {name}"),
                s.get("weight").unwrap_or(&serde_json::Value::Null),
            )?;
            work.source(source)?;
            if !w.is_zero() {
                weights.insert(source.to_string(), w);
            }
        }
        work.apply(|t| {
            edit_entries::upsert_symbol(t, &symbol, Some(leverage), Some(&weights)).map(|r| r.0)
        })?;
    }
    if let Some((max, symbol)) = highest
        && max > default_max
    {
        work.apply(|t| {
            edit_entries::set_section_value(t, "risk", "max_leverage", Some(number(max)?))
        })?;
        work.choose(format!(
            "WARNING risk.max_leverage raised from {default_max} to {max} because signal_weight_config.json gives {symbol} leverage {max}; to keep the cap, lower the leverage instead (`tradeengine config weights --symbol {symbol} --leverage N`) and remove max_leverage from [risk]"
        ));
    }
    Ok(())
}

/// `bittensor_processor_config.json`'s keys the seed scoring reads, with whether each is whole.
const SEED_PARAMS: [(&str, bool); 10] = [
    ("min_trades", true),
    ("max_drawdown_threshold", false),
    ("min_profitable_rate", false),
    ("min_total_return", false),
    ("drawdown_exponent", false),
    ("sharpe_exponent", false),
    ("profitable_rate_exponent", false),
    ("position_count_divisor", false),
    ("min_trades_per_asset", true),
    ("max_trade_age_days", false),
];

fn import_bittensor(work: &mut Work, text: &str) -> Result<(), ImportError> {
    const F: &str = "bittensor_processor_config.json";
    let params: serde_json::Map<String, serde_json::Value> = json(F, text)?;
    work.source(SN8)?;
    work.apply(|t| {
        edit::set_source_value(t, SN8, &["settings"], "scoring", Some(Value::from("seed")))
    })?;
    work.choose("sources.sn8.settings: scoring = \"seed\": miners are ranked with the old engine's parameters (its bugs fixed)");
    for (k, v) in params {
        if k == "leverage_limit_crypto" {
            let limit = decimal(F, &k, &v)?;
            work.apply(|t| {
                edit::set_source_value(
                    t,
                    SN8,
                    &["settings"],
                    "leverage_limit",
                    Some(number(limit)?),
                )
            })?;
            work.choose(format!("sources.sn8.settings.leverage_limit = {limit}: the old engine's leverage_limit_crypto, which it never applied, now caps each miner position's leverage"));
            continue;
        }
        let Some((_, whole)) = SEED_PARAMS.iter().find(|(name, _)| *name == k) else {
            work.skip(F, k, "not a parameter of the seed scoring");
            continue;
        };
        let d = decimal(F, &k, &v)?;
        let value = if *whole {
            if d.fract() != Decimal::ZERO || d < Decimal::ZERO {
                return Err(ImportError {
                    file: F,
                    reason: format!("{k}: {d} is not a whole number"),
                });
            }
            number(d)
        } else {
            // The ranking works in floating point; written with a decimal point so it reads
            // as a float.
            let mut s = d.normalize().to_string();
            if !s.contains('.') {
                s.push_str(".0");
            }
            s.parse::<Value>()
                .map_err(|e| edit::EditError::Parse(format!("{k}: {e}")))
        }
        .map_err(|e| ImportError {
            file: F,
            reason: e.to_string(),
        })?;
        work.apply(|t| edit::set_source_value(t, SN8, &["settings", "seed"], &k, Some(value)))?;
    }
    Ok(())
}
