//! `tradeengine config import`: brings a sirouk/trade-engine installation over.
//!
//! It reads the three JSON files that system keeps in its working directory and merges them into
//! a configuration:
//! - `asset_mapping_config.json` → `[mapping.tradingview]` and `[mapping.sn8]` (sirouk/trade-engine
//!   calls the SN8 source `bittensor`);
//! - `signal_weight_config.json` → `[[symbols]]` with leverage and per-source weights;
//! - `bittensor_processor_config.json` → `[sources.sn8.settings]` with `scoring = "seed"`, so its
//!   miner ranking parameters carry over.
//!
//! Numbers are read from their JSON text, not through `f64`, so `0.15` stays exactly 0.15.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::{Config, OnStale, SourceConfig, SourceKind, SymbolConfig};

/// sirouk/trade-engine's name for the SN8 source, and ours.
const SEED_BITTENSOR: &str = "bittensor";
const SN8: &str = "sn8";
const TRADINGVIEW: &str = "tradingview";

/// The contents of sirouk/trade-engine's files; any may be missing.
#[derive(Debug, Clone, Default)]
pub struct SeedFiles {
    pub asset_mapping: Option<String>,
    pub signal_weights: Option<String>,
    pub bittensor_processor: Option<String>,
}

/// A seed file that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct ImportError {
    pub file: &'static str,
    pub reason: String,
}

fn seed_source_name(seed: &str) -> String {
    if seed == SEED_BITTENSOR {
        SN8.to_string()
    } else {
        seed.to_string()
    }
}

fn decimal(file: &'static str, what: &str, v: &serde_json::Value) -> Result<Decimal, ImportError> {
    let text = match v {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
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

fn ensure_source(config: &mut Config, name: &str) {
    let kind = match name {
        SN8 => SourceKind::Sn8,
        TRADINGVIEW => SourceKind::Tradingview,
        _ => SourceKind::Rest,
    };
    config
        .sources
        .entry(name.to_string())
        .or_insert(SourceConfig {
            kind,
            enabled: true,
            ttl_secs: None,
            on_stale: OnStale::Hold,
            min_confidence: None,
            allow_add: false,
            cooling_minutes: None,
            default_stop_loss: None,
            default_take_profit: None,
            stops: Default::default(),
            settings: toml::Table::new(),
        });
}

/// Merges sirouk/trade-engine's files into `base` and validates the result.
pub fn import_seed(mut base: Config, files: &SeedFiles) -> Result<Config, ImportError> {
    if let Some(text) = &files.asset_mapping {
        const F: &str = "asset_mapping_config.json";
        let parsed: BTreeMap<String, BTreeMap<String, String>> = serde_json::from_str(text)
            .map_err(|e| ImportError {
                file: F,
                reason: e.to_string(),
            })?;
        for (seed_source, pairs) in parsed {
            let source = seed_source_name(&seed_source);
            ensure_source(&mut base, &source);
            let map = base.mapping.entry(source).or_default();
            for (from, to) in pairs {
                map.insert(from, to.to_ascii_uppercase());
            }
        }
    }
    if let Some(text) = &files.signal_weights {
        const F: &str = "signal_weight_config.json";
        let rows: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| ImportError {
            file: F,
            reason: e.to_string(),
        })?;
        for (i, row) in rows.iter().enumerate() {
            let symbol = row
                .get("symbol")
                .and_then(|s| s.as_str())
                .ok_or_else(|| ImportError {
                    file: F,
                    reason: format!("entry {i}: no symbol"),
                })?
                .to_ascii_uppercase();
            let leverage = match row.get("leverage") {
                Some(v) => decimal(F, &format!("{symbol} leverage"), v)?,
                None => Decimal::ONE,
            };
            let mut weights = BTreeMap::new();
            if let Some(sources) = row.get("sources").and_then(|s| s.as_array()) {
                for s in sources {
                    let name =
                        s.get("source")
                            .and_then(|n| n.as_str())
                            .ok_or_else(|| ImportError {
                                file: F,
                                reason: format!("{symbol}: a source entry has no name"),
                            })?;
                    let name = seed_source_name(name);
                    let w = decimal(
                        F,
                        &format!("{symbol} weight of {name}"),
                        s.get("weight").unwrap_or(&serde_json::Value::Null),
                    )?;
                    ensure_source(&mut base, &name);
                    weights.insert(name, w);
                }
            }
            let entry = SymbolConfig {
                symbol: symbol.clone(),
                leverage: leverage.max(Decimal::ONE),
                weights,
                max_depth: None,
                max_notional: None,
                max_leverage: None,
                max_position_notional: None,
            };
            match base.symbols.iter_mut().find(|s| s.symbol == symbol) {
                Some(existing) => *existing = entry,
                None => base.symbols.push(entry),
            }
        }
    }
    if let Some(text) = &files.bittensor_processor {
        const F: &str = "bittensor_processor_config.json";
        let params: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
            .map_err(|e| ImportError {
                file: F,
                reason: e.to_string(),
            })?;
        ensure_source(&mut base, SN8);
        if let Some(src) = base.sources.get_mut(SN8) {
            src.settings
                .insert("scoring".into(), toml::Value::String("seed".into()));
            // sirouk/trade-engine's TOML-able parameters go under `settings.seed`; its
            // `leverage_limit_crypto` (which its code never applied) becomes `leverage_limit`.
            let mut seed = toml::Table::new();
            for (k, v) in params {
                let value = match &v {
                    serde_json::Value::Number(n) if n.is_i64() => {
                        toml::Value::Integer(n.as_i64().unwrap_or_default())
                    }
                    serde_json::Value::Number(n) => {
                        toml::Value::Float(n.as_f64().unwrap_or_default())
                    }
                    _ => continue,
                };
                if k == "leverage_limit_crypto" {
                    let limit = decimal(F, &k, &v)?;
                    src.settings.insert(
                        "leverage_limit".into(),
                        toml::Value::String(limit.to_string()),
                    );
                } else {
                    seed.insert(k, value);
                }
            }
            src.settings.insert("seed".into(), toml::Value::Table(seed));
        }
    }
    // Leverage in sirouk/trade-engine was unbounded; raise the cap to what the imported file needs
    // rather than silently changing the user's leverage, and let `config check` show it.
    if let Some(max) = base.symbols.iter().map(|s| s.leverage).max()
        && max > base.risk_limits(None).max_leverage
    {
        base.risk.max_leverage = Some(max);
    }
    super::validate::validate(&base).map_err(|(key, reason)| ImportError {
        file: "imported configuration",
        reason: format!("{key}: {reason}"),
    })?;
    Ok(base)
}
