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

use rust_decimal::Decimal;
use toml_edit::Value;

use super::edit_entries::{self, number};
use super::{Config, Overrides, edit};

pub use super::import_work::{
    ImportError, ImportOptions, Imported, SN8_KEY_VAR, SeedFiles, Skipped, TV_SECRET_VAR,
};
use super::import_work::{SN8, Work, decimal, json, seed_source_name};

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
