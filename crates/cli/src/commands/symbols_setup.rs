//! `tradeengine config symbols`: add (or change) a traded pair in one flow, as the old engine's
//! "add TAOUSDT" walk-through did across two scripts: the pair's own name in each source
//! (`[mapping.<source>]`), then its leverage, then one weight per source (the weights of a
//! symbol sum to at most 1). Interactive in a terminal, or with flags for scripts:
//!
//! ```text
//! tradeengine config symbols --symbol TAOUSDT --map tradingview=TAOUSDT --map sn8=TAOUSD \
//!     --leverage 3 --weight tradingview=0.1 --weight sn8=0.15 --yes
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, bail};
use inquire::Text;
use rust_decimal::Decimal;
use tradeengine_engine::config::{Config, edit, edit_entries};

use super::setup::{
    apply_weight_flags, ask_leverage, ask_weights, config_file, finish, interactive,
    parse_leverage, show_weights, split_pair,
};
use crate::args::{Global, SymbolsSetupArgs};

pub fn run(global: &Global, args: SymbolsSetupArgs) -> anyhow::Result<ExitCode> {
    let (path, text, config) = config_file(global)?;
    let max_leverage = config.risk_limits(None).max_leverage;
    let with_flags = args.symbol.is_some()
        && (!args.map.is_empty() || args.leverage.is_some() || !args.weight.is_empty());
    if !with_flags && !interactive() {
        bail!(
            "nothing to change: give --symbol S with --map SOURCE=RAW, --leverage N and \
             --weight SOURCE=W, or run in a terminal"
        );
    }
    let symbol = match &args.symbol {
        Some(s) => s.trim().to_ascii_uppercase(),
        None => Text::new("Symbol to add or change (e.g. TAOUSDT):")
            .prompt()?
            .trim()
            .to_ascii_uppercase(),
    };
    if symbol.is_empty() {
        bail!("no symbol given");
    }
    let existing = config.symbol(&symbol).cloned();
    let sources: Vec<String> = config.sources.keys().cloned().collect();
    if sources.is_empty() {
        bail!(
            "{} has no [sources.*] yet: add a source first (`tradeengine config import`, or see examples/trade-engine-tradingview-sn8.toml)",
            path.display()
        );
    }
    // The pair's name in each source.
    let raw_names = if with_flags {
        args.map
            .iter()
            .map(|pair| split_pair(pair))
            .collect::<anyhow::Result<Vec<_>>>()?
    } else {
        prompt_raw_names(&config, &sources, &symbol)?
    };
    let mut mappings: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (source, raw) in raw_names {
        if !config.sources.contains_key(&source) {
            bail!("no source named {source:?} in {}", path.display());
        }
        let map = mappings
            .entry(source.clone())
            .or_insert_with(|| config.mapping.get(&source).cloned().unwrap_or_default());
        for old in edit::upsert_mapping(map, &raw, &symbol) {
            outln!("replaced {source} {old} → {symbol} (one source symbol per target)");
        }
    }
    let current_leverage = existing.as_ref().map_or(Decimal::ONE, |s| s.leverage);
    let (leverage, weights) = if with_flags {
        let leverage = match &args.leverage {
            Some(raw) => parse_leverage(raw, max_leverage)?,
            None => current_leverage,
        };
        let mut w = existing
            .as_ref()
            .map(|s| s.weights.clone())
            .unwrap_or_default();
        apply_weight_flags(&mut w, &args.weight)?;
        (leverage, w)
    } else {
        let leverage = ask_leverage(&symbol, current_leverage, max_leverage)?;
        let w = ask_weights(&symbol, &sources, existing.as_ref().map(|s| &s.weights))?;
        (leverage, w)
    };
    let out = write_summary(
        &text,
        &symbol,
        existing.is_none(),
        &mappings,
        leverage,
        &weights,
    )?;
    finish(&path, &text, &out, args.yes)
}

/// The pair's name in each source, asked in turn (Enter keeps the current one, or none).
fn prompt_raw_names(
    config: &Config,
    sources: &[String],
    symbol: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut raw_names = Vec::new();
    for source in sources {
        let current = config
            .mapping
            .get(source)
            .and_then(|m| m.iter().find(|(_, v)| v.eq_ignore_ascii_case(symbol)))
            .map(|(k, _)| k.clone());
        let message = format!(
            "{source}'s symbol for {symbol} (Enter: {}):",
            if current.is_some() { "keep it" } else { "none" }
        );
        let mut prompt = Text::new(&message);
        if let Some(c) = &current {
            prompt = prompt.with_default(c);
        }
        let raw = prompt.prompt()?.trim().to_string();
        if !raw.is_empty() {
            raw_names.push((source.clone(), raw));
        }
    }
    Ok(raw_names)
}

/// The configuration's text with the pair's mappings, leverage and weights, printed as a
/// summary.
fn write_summary(
    text: &str,
    symbol: &str,
    new: bool,
    mappings: &BTreeMap<String, BTreeMap<String, String>>,
    leverage: Decimal,
    weights: &BTreeMap<String, Decimal>,
) -> anyhow::Result<String> {
    let mut out = text.to_string();
    outln!("summary for {symbol}{}:", if new { " (new)" } else { "" });
    for (source, map) in mappings {
        let names: Vec<&str> = map
            .iter()
            .filter(|(_, v)| v.eq_ignore_ascii_case(symbol))
            .map(|(k, _)| k.as_str())
            .collect();
        outln!("  {source}: {} → {symbol}", names.join(", "));
        out = edit::set_mapping(&out, source, map)?;
    }
    outln!("  leverage {leverage}, {}", show_weights(weights));
    Ok(
        edit_entries::upsert_symbol(&out, symbol, Some(leverage), Some(weights))
            .context("cannot add the symbol")?
            .0,
    )
}
