//! `tradeengine config sn8`: the Bittensor SN8 (PTN) source's settings, interactively like seed
//! 000's `bittensor_processor.py --config` (every value prompted, Enter keeps the current one;
//! here also keep / modify / start fresh and a summary before writing) or with `--set KEY=VALUE`
//! / `--unset KEY` for the same change without prompts.
//!
//! The keys are those `[sources.<name>]` and `[sources.<name>.settings]` accept (see
//! `tradeengine_engine::sources::sn8`); the edited file is validated as the engine would read the
//! source before it is written. The validator's API key is never asked for: only the name of
//! the environment variable that holds it goes into the file.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, bail};
use inquire::{Confirm, Select, Text};
use toml_edit::Value;
use tradeengine_engine::config::{SourceConfig, SourceKind, edit};

use super::setup::{FRESH, KEEP, MODIFY, config_file, finish, interactive, split_pair};
use super::sn8_fields::{
    FIELDS, Field, Group, Kind, current, default_of, location, lookup, parse, shown, shown_value,
};
use crate::args::{Global, Sn8SetupArgs};

type Changes = BTreeMap<&'static str, Option<Value>>;

/// A key the engine does not read that the file has (written by hand or by an older import):
/// its table path under the source and its name.
type Stray<'a> = (Vec<&'a str>, &'a str);

pub fn run(global: &Global, args: Sn8SetupArgs) -> anyhow::Result<ExitCode> {
    if args.keys {
        print_keys();
        return Ok(ExitCode::SUCCESS);
    }
    let (path, text, config) = config_file(global)?;
    let name = pick_source(&args, &config, &path)?;
    let source = config
        .sources
        .get(&name)
        .filter(|s| s.kind == SourceKind::Sn8)
        .with_context(|| format!("no sn8 source named {name:?} in {}", path.display()))?;
    let with_flags = !args.set.is_empty() || !args.unset.is_empty() || args.fresh;
    // Stray keys: `--unset` removes them too, so a file `config check` refuses can be repaired
    // here.
    let (fresh, changes, stray) = if with_flags {
        let (changes, stray) = flag_changes(&args, source)?;
        (args.fresh, changes, stray)
    } else if interactive() {
        let choice = Select::new(
            &format!("{name}: {}", describe(source)),
            vec![KEEP, MODIFY, FRESH],
        )
        .prompt()?;
        if choice == KEEP {
            (false, Changes::new(), Vec::new())
        } else {
            let fresh = choice == FRESH;
            (fresh, prompt_all(source, fresh)?, Vec::new())
        }
    } else {
        bail!("nothing to change: give --set KEY=VALUE (see --keys), or run in a terminal");
    };
    outln!("summary for {name}:");
    let out = apply_changes(&text, &name, source, fresh, &changes, &stray)?;
    if out == text {
        outln!("  (no change)");
    } else {
        check_source(&out, &path, &name)?;
    }
    finish(&path, &text, &out, args.yes)
}

/// `--keys`: every key with its label and default.
fn print_keys() {
    for f in FIELDS {
        outln!(
            "{:<32} {} (default: {})",
            f.key,
            f.label,
            default_of(f.key).unwrap_or_else(|| "required".to_string())
        );
    }
}

/// The sn8 source to edit: `--source`, else the only one configured.
fn pick_source(
    args: &Sn8SetupArgs,
    config: &tradeengine_engine::config::Config,
    path: &std::path::Path,
) -> anyhow::Result<String> {
    let sn8: Vec<&String> = config
        .sources
        .iter()
        .filter(|(_, s)| s.kind == SourceKind::Sn8)
        .map(|(n, _)| n)
        .collect();
    Ok(match (&args.source, sn8.as_slice()) {
        (Some(n), _) => n.clone(),
        (None, [one]) => (*one).clone(),
        (None, []) => bail!(
            "no sn8 source in {}: add [sources.sn8] with type = \"sn8\" and [mapping.sn8] \
             (BTCUSD = \"BTCUSDT\"), then run this again",
            path.display()
        ),
        (None, _) => bail!("several sn8 sources: pick one with --source"),
    })
}

/// The changes `--set` and `--unset` ask for, and the stray keys `--unset` names.
fn flag_changes<'a>(
    args: &'a Sn8SetupArgs,
    source: &SourceConfig,
) -> anyhow::Result<(Changes, Vec<Stray<'a>>)> {
    let mut changes = Changes::new();
    let mut stray = Vec::new();
    for key in &args.unset {
        match lookup(key) {
            Ok(f) => {
                changes.insert(f.key, None);
            }
            Err(e) => {
                let (table, leaf) = match key.split_once('.') {
                    Some((t, k)) => (vec!["settings", t], k),
                    None => (vec!["settings"], key.as_str()),
                };
                let mut node = Some(&source.settings);
                for t in table.iter().skip(1) {
                    node = node.and_then(|n| n.get(*t)).and_then(toml::Value::as_table);
                }
                if !node.is_some_and(|n| n.contains_key(leaf)) {
                    return Err(e);
                }
                stray.push((table, leaf));
            }
        }
    }
    for pair in &args.set {
        let (key, value) = split_pair(pair)?;
        let f = lookup(&key)?;
        let v = parse(f, &value).map_err(|e| anyhow::anyhow!("{key}: expected {e}"))?;
        changes.insert(f.key, v);
    }
    Ok((changes, stray))
}

/// The file's text with the changes made, each printed as a summary line.
fn apply_changes(
    text: &str,
    name: &str,
    source: &SourceConfig,
    fresh: bool,
    changes: &Changes,
    stray: &[Stray<'_>],
) -> anyhow::Result<String> {
    let mut out = text.to_string();
    if fresh {
        out = edit::clear_source_settings(&out, name)?;
        for key in ["ttl_secs", "on_stale"] {
            out = edit::set_source_value(&out, name, &[], key, None)?;
        }
        outln!("  started fresh: every key back to its default unless set below");
    }
    for f in FIELDS {
        let Some(change) = changes.get(f.key) else {
            continue;
        };
        let was = current(source, f);
        let now = change.as_ref().map(shown_value);
        if !fresh && was == now {
            continue;
        }
        let default = default_of(f.key).unwrap_or_else(|| "required".into());
        outln!(
            "  {}: {} → {}",
            f.key,
            was.unwrap_or_else(|| format!("({default})")),
            now.unwrap_or_else(|| format!("({default})"))
        );
        let (table, key) = location(f);
        out = edit::set_source_value(&out, name, &table, key, change.clone())?;
    }
    for (table, key) in stray {
        outln!(
            "  {}.{key}: removed (not a key the sn8 source reads)",
            table.join(".")
        );
        out = edit::set_source_value(&out, name, table, key, None)?;
    }
    Ok(out)
}

fn describe(source: &SourceConfig) -> String {
    let url = source
        .settings
        .get("positions_url")
        .map(shown)
        .unwrap_or_else(|| "no positions_url".to_string());
    let scoring = source
        .settings
        .get("scoring")
        .map(shown)
        .unwrap_or_else(|| "seed".to_string());
    format!("{url}, scoring {scoring}")
}

/// Reads the edited file as the engine would build the source (variables only named, so a
/// placeholder stands in for their values) and warns about variables not set here.
fn check_source(text: &str, path: &std::path::Path, name: &str) -> anyhow::Result<()> {
    let config = edit::check(text, path, &tradeengine_engine::config::process_env(), None)?;
    let placeholder = |_: &str| Some("set-at-run-time".to_string());
    // The encrypted file is not opened here (its passphrase is for `run`); the reference's
    // form was checked when typed, and `config check` opens the file.
    let mut shape = config.clone();
    if let Some(s) = shape.sources.get_mut(name) {
        s.settings.remove("api_key_credentials");
    }
    tradeengine_engine::sources::sn8::settings(name, &shape, &placeholder)
        .map_err(anyhow::Error::msg)?;
    if let Some(source) = config.sources.get(name) {
        for key in ["api_key_env", "request_key_env"] {
            if let Some(var) = source.settings.get(key).and_then(|v| v.as_str())
                && std::env::var(var).is_err()
            {
                outln!("  note: {var} ({key}) is not set in this shell; set it before `run`");
            }
        }
    }
    Ok(())
}

/// Prompts every key of the groups that apply; Enter keeps what is shown (the current value, or
/// the default when starting fresh or unset).
fn prompt_all(source: &SourceConfig, fresh: bool) -> anyhow::Result<Changes> {
    let mut changes = Changes::new();
    let mut scoring = current(source, lookup("scoring")?).unwrap_or_else(|| "seed".into());
    if fresh {
        scoring = "seed".into();
    }
    for f in FIELDS {
        match f.group {
            Group::Seed if scoring != "seed" => continue,
            Group::Ptn if scoring != "ptn" => continue,
            Group::Guard => continue,
            _ => {}
        }
        // The encrypted-file reference is what `config import` writes; it is asked only when
        // the source has one (`--set api_key_credentials=file:PATH` adds it).
        if f.key == "api_key_credentials" && (fresh || current(source, f).is_none()) {
            continue;
        }
        if f.key == "ttl_secs"
            && Confirm::new("Change the population guard (min miners, tolerances)?")
                .with_default(false)
                .prompt()?
        {
            for g in FIELDS.iter().filter(|g| g.group == Group::Guard) {
                if let Some(v) = prompt_one(source, g, fresh)? {
                    changes.insert(g.key, v);
                }
            }
        }
        if let Some(v) = prompt_one(source, f, fresh)? {
            if f.key == "scoring"
                && let Some(Value::String(s)) = &v
            {
                scoring = s.value().clone();
            }
            changes.insert(f.key, v);
        }
    }
    Ok(changes)
}

/// One key: `Some(change)` when the operator typed something other than what was shown.
fn prompt_one(
    source: &SourceConfig,
    f: &'static Field,
    fresh: bool,
) -> anyhow::Result<Option<Option<Value>>> {
    let was = if fresh { None } else { current(source, f) };
    let show = was.or_else(|| default_of(f.key));
    let message = format!("{} ({}):", f.key, f.label);
    let typed = if let Kind::Choice(options) = f.kind {
        let start = show
            .as_deref()
            .and_then(|s| options.iter().position(|o| *o == s))
            .unwrap_or(0);
        Select::new(&message, options.to_vec())
            .with_starting_cursor(start)
            .prompt()?
            .to_string()
    } else {
        let mut prompt = Text::new(&message).with_validator(move |t: &str| {
            Ok(match parse(f, t) {
                Ok(_) => inquire::validator::Validation::Valid,
                Err(e) => inquire::validator::Validation::Invalid(format!("expected {e}").into()),
            })
        });
        if let Some(s) = &show {
            prompt = prompt.with_default(s);
        }
        prompt.prompt()?
    };
    if show.as_deref() == Some(typed.trim()) {
        // Enter (or the same value again): nothing to write. Starting fresh, a default stays
        // implicit.
        return Ok(None);
    }
    Ok(Some(parse(f, &typed).map_err(anyhow::Error::msg)?))
}
