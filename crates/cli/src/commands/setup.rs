//! `tradeengine config weights|mapping`: change weights and symbol mappings in the configuration
//! file, interactively (like sirouk/trade-engine's setup scripts: keep / modify / start fresh,
//! Enter keeps the current value, the remaining weight shown, a duplicate target mapping replaced,
//! a summary before writing) or with flags for the same changes without prompts.
//!
//! The file is edited with `toml_edit` (comments kept), validated in full and written
//! atomically; a running engine with `hot_reload` picks the change up.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use inquire::{Confirm, CustomType, Select, Text};
use rust_decimal::Decimal;
use tradeengine_engine::config::{self as cfg, Config, Overrides, edit, edit_entries};

use crate::args::{Global, MappingArgs, WeightsArgs};

/// The file to edit: `--config`, else `./tradeengine.toml`. The embedded demo has none.
pub(super) fn config_file(global: &Global) -> anyhow::Result<(PathBuf, String, Config)> {
    let path = global
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(super::DEFAULT_CONFIG_FILE));
    if !path.exists() {
        bail!(
            "{} does not exist: copy examples/demo.toml there (or pass --config FILE) to change \
             its settings",
            path.display()
        );
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    // Loaded without a file so paths show as written: these commands edit the text, and a
    // path they write back stays relative to the file as the operator wrote it.
    let config = cfg::load_str(&text, None, &cfg::process_env(), &Overrides::default()).map_err(
        |mut e| {
            e.file = Some(path.clone());
            e
        },
    )?;
    Ok((path, text, config))
}

/// Validates and writes the edited text.
pub(super) fn save(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    edit::check(text, path, &cfg::process_env(), None)?;
    edit::write_atomic(path, text)?;
    outln!(
        "wrote {}; a running engine with hot_reload applies it within seconds",
        path.display()
    );
    Ok(())
}

pub(super) fn split_pair(raw: &str) -> anyhow::Result<(String, String)> {
    let (k, v) = raw
        .split_once('=')
        .with_context(|| format!("{raw:?}: expected KEY=VALUE"))?;
    Ok((k.trim().to_string(), v.trim().to_string()))
}

pub(super) fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

pub(super) fn show_weights(w: &BTreeMap<String, Decimal>) -> String {
    let parts: Vec<String> = w.iter().map(|(s, v)| format!("{s}={v}")).collect();
    format!(
        "{} (remaining {})",
        if parts.is_empty() {
            "no weights".to_string()
        } else {
            parts.join(", ")
        },
        edit::remaining_weight(w)
    )
}

pub(super) const KEEP: &str = "keep";
pub(super) const MODIFY: &str = "modify";
pub(super) const FRESH: &str = "start fresh";

/// A leverage typed by the operator: a whole number from 1 to `max`.
pub(super) fn parse_leverage(raw: &str, max: Decimal) -> anyhow::Result<Decimal> {
    let l: Decimal = raw
        .trim()
        .parse()
        .with_context(|| format!("leverage {raw:?} is not a number"))?;
    if l < Decimal::ONE || l > max || l.fract() != Decimal::ZERO {
        bail!("leverage must be a whole number between 1 and risk.max_leverage ({max})");
    }
    Ok(l)
}

/// Asks a symbol's leverage (Enter keeps `current`), as the seed's weights script did first.
pub(super) fn ask_leverage(
    symbol: &str,
    current: Decimal,
    max: Decimal,
) -> anyhow::Result<Decimal> {
    Ok(CustomType::<Decimal>::new(&format!(
        "Enter leverage for {symbol} (1..{max}, press Enter for current value: {current}):"
    ))
    .with_default(current)
    .with_error_message("a whole number")
    .with_validator(move |v: &Decimal| {
        Ok(
            if *v < Decimal::ONE || *v > max || v.fract() != Decimal::ZERO {
                inquire::validator::Validation::Invalid(
                    format!("a whole number between 1 and {max}").into(),
                )
            } else {
                inquire::validator::Validation::Valid
            },
        )
    })
    .prompt()?)
}

/// Asks one weight per source, each between 0 and what remains of 1.
pub(super) fn ask_weights(
    symbol: &str,
    sources: &[String],
    current: Option<&BTreeMap<String, Decimal>>,
) -> anyhow::Result<BTreeMap<String, Decimal>> {
    let mut next = BTreeMap::new();
    for source in sources {
        let remaining = edit::remaining_weight(&next);
        let was = current.and_then(|c| c.get(source).copied());
        let message = match was {
            Some(v) => format!(
                "Assign weight for {symbol} from {source} (remaining weight: {remaining:.2}, press Enter for current value: {v})"
            ),
            None => format!(
                "Assign weight for {symbol} from {source} (remaining weight: {remaining:.2})"
            ),
        };
        let w: Decimal = CustomType::new(&message)
            .with_default(was.unwrap_or(Decimal::ZERO))
            .with_error_message("a number between 0 and the remaining weight")
            .with_validator(move |v: &Decimal| {
                Ok(if *v < Decimal::ZERO || *v > remaining {
                    inquire::validator::Validation::Invalid(
                        format!("must be between 0 and {remaining}").into(),
                    )
                } else {
                    inquire::validator::Validation::Valid
                })
            })
            .prompt()?;
        if !w.is_zero() {
            next.insert(source.clone(), w);
        }
    }
    Ok(next)
}

/// `SOURCE=WEIGHT` pairs applied to `w` (a weight of 0 removes the source).
pub(super) fn apply_weight_flags(
    w: &mut BTreeMap<String, Decimal>,
    pairs: &[String],
) -> anyhow::Result<()> {
    for raw in pairs {
        let (source, value) = split_pair(raw)?;
        let d: Decimal = value
            .parse()
            .with_context(|| format!("{raw:?}: {value:?} is not a number"))?;
        if d.is_zero() {
            w.remove(&source);
        } else {
            w.insert(source, d);
        }
    }
    Ok(())
}

/// One symbol's change: its leverage and weights (`None`: kept).
type SymbolChange = (Option<Decimal>, Option<BTreeMap<String, Decimal>>);

pub fn weights(global: &Global, args: WeightsArgs) -> anyhow::Result<ExitCode> {
    let (path, text, config) = config_file(global)?;
    let (symbols, created) = weighted_symbols(&config, &args)?;
    let with_flags = !args.set.is_empty() || args.fresh || args.leverage.is_some();
    let changes = if with_flags || (created.is_some() && !interactive()) {
        weight_flags(&config, &args, &symbols, created.as_deref())?
    } else if interactive() {
        prompt_weights(&config, &symbols, created.as_deref())?
    } else {
        bail!(
            "nothing to change: give --symbol S --set SOURCE=WEIGHT (and/or --leverage N), or run in a terminal"
        );
    };
    outln!("summary:");
    let mut out = text.clone();
    for symbol in &symbols {
        let entry = config.symbol(symbol);
        match changes.get(symbol) {
            Some((leverage, w)) => {
                let lev = leverage
                    .or(entry.map(|s| s.leverage))
                    .unwrap_or(Decimal::ONE);
                let shown = w.clone().unwrap_or_default();
                let mark = if created.as_deref() == Some(symbol.as_str()) {
                    " (new)"
                } else {
                    ""
                };
                outln!("  {symbol}{mark}: {}, leverage {lev}", show_weights(&shown));
                out = edit_entries::upsert_symbol(&out, symbol, *leverage, w.as_ref())?.0;
            }
            None => {
                let kept = entry.map(|s| s.weights.clone()).unwrap_or_default();
                let lev = entry.map_or(Decimal::ONE, |s| s.leverage);
                outln!("  {symbol}: kept {}, leverage {lev}", show_weights(&kept));
            }
        }
    }
    finish(&path, &text, &out, args.yes)
}

/// The symbols to weight (`--symbol`, else every one) and the one created for this (a
/// `--symbol` without a `[[symbols]]` entry, with `--create` or the operator's yes).
fn weighted_symbols(
    config: &Config,
    args: &WeightsArgs,
) -> anyhow::Result<(Vec<String>, Option<String>)> {
    let Some(s) = &args.symbol else {
        let all = config
            .symbols
            .iter()
            .map(|s| s.symbol.to_string())
            .collect();
        return Ok((all, None));
    };
    if let Some(found) = config.symbol(s) {
        return Ok((vec![found.symbol.to_string()], None));
    }
    let s = s.trim().to_ascii_uppercase();
    let create = args.create
        || (interactive()
            && Confirm::new(&format!(
                "{s} has no [[symbols]] entry yet. Create it (leverage, then weights)?"
            ))
            .with_default(true)
            .prompt()?);
    if !create {
        bail!(
            "no [[symbols]] entry for {s:?}: add --create to add it, or use `tradeengine config symbols --symbol {s}` to map and weight it in one go"
        );
    }
    Ok((vec![s.clone()], Some(s)))
}

/// The change `--set`, `--fresh` and `--leverage` make to the one `--symbol` (a created symbol's
/// leverage defaults to 1).
fn weight_flags(
    config: &Config,
    args: &WeightsArgs,
    symbols: &[String],
    created: Option<&str>,
) -> anyhow::Result<BTreeMap<String, SymbolChange>> {
    let [symbol] = symbols else {
        bail!("--set, --fresh and --leverage need --symbol");
    };
    let mut w = if args.fresh {
        BTreeMap::new()
    } else {
        config
            .symbol(symbol)
            .map(|s| s.weights.clone())
            .unwrap_or_default()
    };
    apply_weight_flags(&mut w, &args.set)?;
    let max_leverage = config.risk_limits(None).max_leverage;
    let leverage = match &args.leverage {
        Some(raw) => Some(parse_leverage(raw, max_leverage)?),
        None => created.map(|_| Decimal::ONE),
    };
    Ok(BTreeMap::from([(symbol.clone(), (leverage, Some(w)))]))
}

/// Each symbol in turn: keep, modify or start fresh (a created symbol starts fresh), then its
/// leverage and weights.
fn prompt_weights(
    config: &Config,
    symbols: &[String],
    created: Option<&str>,
) -> anyhow::Result<BTreeMap<String, SymbolChange>> {
    let max_leverage = config.risk_limits(None).max_leverage;
    let sources: Vec<String> = config.sources.keys().cloned().collect();
    let mut changes = BTreeMap::new();
    for symbol in symbols {
        let entry = config.symbol(symbol);
        let current = entry.map(|s| s.weights.clone()).unwrap_or_default();
        let current_leverage = entry.map_or(Decimal::ONE, |s| s.leverage);
        let choice = if created == Some(symbol.as_str()) {
            FRESH
        } else {
            Select::new(
                &format!(
                    "{symbol}: {}, leverage {current_leverage}",
                    show_weights(&current)
                ),
                vec![KEEP, MODIFY, FRESH],
            )
            .prompt()?
        };
        if choice == KEEP {
            continue;
        }
        let leverage = ask_leverage(symbol, current_leverage, max_leverage)?;
        let was = (choice == MODIFY).then_some(&current);
        let next = ask_weights(symbol, &sources, was)?;
        changes.insert(symbol.clone(), (Some(leverage), Some(next)));
    }
    Ok(changes)
}

pub fn mapping(global: &Global, args: MappingArgs) -> anyhow::Result<ExitCode> {
    let (path, text, config) = config_file(global)?;
    let with_flags = !args.map.is_empty() || !args.remove.is_empty() || args.fresh;
    if !with_flags && !interactive() {
        bail!("nothing to change: give --source S --map RAW=UNIFIED, or run in a terminal");
    }
    let source = match &args.source {
        Some(s) => s.clone(),
        None if with_flags => bail!("--map, --remove and --fresh need --source"),
        None => Select::new(
            "Which source's mapping?",
            config.sources.keys().cloned().collect(),
        )
        .prompt()?,
    };
    if !config.sources.contains_key(&source) {
        bail!("no source named {source:?} in {}", path.display());
    }
    let current = config.mapping.get(&source).cloned().unwrap_or_default();
    let mut next = current.clone();
    if with_flags {
        if args.fresh {
            next.clear();
        }
        for raw in &args.remove {
            next.remove(raw);
        }
        for pair in &args.map {
            let (raw, unified) = split_pair(pair)?;
            for old in edit::upsert_mapping(&mut next, &raw, &unified.to_ascii_uppercase()) {
                outln!("replaced {old} → {unified} (one source symbol per target)");
            }
        }
    } else {
        prompt_mapping(&source, &current, &mut next)?;
    }
    outln!("summary for {source}:");
    if next.is_empty() {
        outln!("  (no mapping)");
    }
    for (raw, unified) in &next {
        let mark = if current.get(raw) == Some(unified) {
            ""
        } else {
            " (new)"
        };
        outln!("  {raw} → {unified}{mark}");
    }
    let out = edit::set_mapping(&text, &source, &next)?;
    finish(&path, &text, &out, args.yes)
}

/// Keep, modify (each current mapping in turn) or start fresh, then new mappings until Enter.
fn prompt_mapping(
    source: &str,
    current: &BTreeMap<String, String>,
    next: &mut BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let shown: Vec<String> = current.iter().map(|(k, v)| format!("{k}→{v}")).collect();
    let choice = Select::new(
        &format!(
            "{source}: {}",
            if shown.is_empty() {
                "no mapping".to_string()
            } else {
                shown.join(", ")
            }
        ),
        vec![KEEP, MODIFY, FRESH],
    )
    .prompt()?;
    if choice == FRESH {
        next.clear();
    }
    if choice == MODIFY {
        walk_mappings(current, next)?;
    }
    let mut editing = choice != KEEP;
    while editing {
        let raw = Text::new("Source symbol to map (Enter when done):").prompt()?;
        let raw = raw.trim().to_string();
        if raw.is_empty() {
            editing = false;
            continue;
        }
        let was = next.get(&raw).cloned();
        if let Some(w) = &was
            && !Confirm::new(&format!("{raw} is mapped to {w}. Update it?"))
                .with_default(true)
                .prompt()?
        {
            continue;
        }
        let message = format!("Unified symbol for {raw}:");
        let mut prompt = Text::new(&message);
        if let Some(w) = &was {
            prompt = prompt.with_default(w);
        }
        let unified = prompt.prompt()?.trim().to_ascii_uppercase();
        if unified.is_empty() {
            continue;
        }
        for old in edit::upsert_mapping(next, &raw, &unified) {
            outln!("replaced {old} → {unified} (one source symbol per target)");
        }
    }
    Ok(())
}

const REMOVE: &str = "remove";

/// The seed's "modify existing mappings one by one": each current mapping in turn, kept,
/// changed (Enter keeps the current target) or removed.
fn walk_mappings(
    current: &BTreeMap<String, String>,
    next: &mut BTreeMap<String, String>,
) -> anyhow::Result<()> {
    for (raw, unified) in current {
        let choice = Select::new(
            &format!("Current mapping: {raw} -> {unified}"),
            vec![KEEP, MODIFY, REMOVE],
        )
        .prompt()?;
        match choice {
            REMOVE => {
                next.remove(raw);
                outln!("removed {raw}");
            }
            MODIFY => {
                let target = Text::new(&format!("Unified symbol for {raw}:"))
                    .with_default(unified)
                    .prompt()?
                    .trim()
                    .to_ascii_uppercase();
                if target.is_empty() {
                    continue;
                }
                // Another source symbol already mapped to the new target is replaced.
                for old in edit::upsert_mapping(next, raw, &target) {
                    outln!("replaced {old} → {target} (one source symbol per target)");
                }
            }
            _ => {}
        }
    }
    Ok(())
}

pub(super) fn finish(
    path: &std::path::Path,
    before: &str,
    after: &str,
    yes: bool,
) -> anyhow::Result<ExitCode> {
    finish_with(path, before, after, yes, false, || Ok(()))
}

/// Confirms and writes `after` when it differs from `before` or `other_changes` (say, keys in an
/// encrypted file) are pending. The edited TOML is validated first; `write_others` runs after
/// that and before the TOML is replaced, so the file never references what is not written yet.
pub(super) fn finish_with(
    path: &std::path::Path,
    before: &str,
    after: &str,
    yes: bool,
    other_changes: bool,
    write_others: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<ExitCode> {
    if before == after && !other_changes {
        outln!("nothing changed; {} left as it was", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    edit::check(after, path, &cfg::process_env(), None)?;
    if !yes
        && interactive()
        && !Confirm::new(&format!("Write {}?", path.display()))
            .with_default(true)
            .prompt()?
    {
        outln!("not written");
        return Ok(ExitCode::SUCCESS);
    }
    write_others()?;
    if before == after {
        outln!("{} unchanged", path.display());
    } else {
        save(path, after)?;
    }
    Ok(ExitCode::SUCCESS)
}
