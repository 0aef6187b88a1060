//! `tradeengine config accounts`: add, change or remove `[[accounts]]` entries (venue, mode,
//! where the keys are kept, base URL, state, leverage override, minimum order) without editing
//! the TOML by hand: interactively in a terminal, or with `--add/--modify/--remove NAME` and
//! the same choices as flags for scripts.
//!
//! Keys are never asked for here: an account gets a reference (`env:PREFIX` or `file:PATH`),
//! and `tradeengine config credentials` stores the keys themselves. The edited file is
//! validated as the engine loads it and written atomically, comments kept.

use std::process::ExitCode;

use anyhow::{Context, bail};
use inquire::{Select, Text};
use rust_decimal::Decimal;
use tradeengine_engine::config::edit_entries::{self, AccountEdit};
use tradeengine_engine::config::{AccountConfig, AccountState, Config, Mode, VenueKind};

use super::setup::{config_file, finish, interactive};
use crate::args::{AccountsSetupArgs, Global};

const VENUES: [&str; 7] = [
    "bybit",
    "binance",
    "blofin",
    "kucoin",
    "mexc",
    "hyperliquid",
    "paper",
];
const ADD: &str = "add a new account";
const DONE: &str = "done";
const STORE_FILE: &str = "encrypted file (age, passphrase-protected)";
const STORE_ENV: &str = "environment variables";
const STORE_LATER: &str = "decide later";

fn parse_venue(v: &str) -> anyhow::Result<VenueKind> {
    let name = v.trim().to_ascii_lowercase();
    match VenueKind::parse(&name) {
        Some(kind) => Ok(kind),
        None => bail!("unknown venue {name:?} (one of {})", VENUES.join(", ")),
    }
}

/// `default` (follow `[engine] mode`) is `None`.
fn parse_mode(m: &str) -> anyhow::Result<Option<Mode>> {
    Ok(Some(match m.trim().to_ascii_lowercase().as_str() {
        "default" => return Ok(None),
        "dry-run" | "dry_run" => Mode::DryRun,
        "paper" => Mode::Paper,
        "testnet" => Mode::Testnet,
        "live" => Mode::Live,
        other => bail!("unknown mode {other:?} (dry-run, paper, testnet, live or default)"),
    }))
}

fn parse_state(s: &str) -> anyhow::Result<AccountState> {
    Ok(match s.trim().to_ascii_lowercase().as_str() {
        "enabled" => AccountState::Enabled,
        "close_only" | "close-only" => AccountState::CloseOnly,
        "disabled" => AccountState::Disabled,
        other => bail!("unknown state {other:?} (enabled, close_only or disabled)"),
    })
}

fn parse_decimal(what: &str, raw: &str) -> anyhow::Result<Decimal> {
    raw.trim()
        .parse()
        .with_context(|| format!("{what} {raw:?} is not a number"))
}

/// The change the flags ask for.
fn edit_from_flags(args: &AccountsSetupArgs) -> anyhow::Result<AccountEdit> {
    let mut e = AccountEdit {
        venue: args.venue.as_deref().map(parse_venue).transpose()?,
        mode: args.mode.as_deref().map(parse_mode).transpose()?,
        state: args.state.as_deref().map(parse_state).transpose()?,
        ..Default::default()
    };
    if let Some(prefix) = &args.credentials_env {
        super::credentials_setup::check_prefix(prefix)?;
        e.credentials = Some(Some(format!("env:{prefix}")));
    }
    if let Some(path) = &args.credentials_file {
        e.credentials = Some(Some(format!("file:{}", path.display())));
    }
    if let Some(u) = &args.base_url {
        e.base_url = Some((u != "default").then(|| u.clone()));
    }
    if let Some(l) = &args.leverage_override {
        let l = parse_decimal("leverage override", l)?;
        e.leverage_override = Some((!l.is_zero()).then_some(l));
    }
    if let Some(n) = &args.min_order_notional {
        e.min_order_notional = Some(parse_decimal("minimum order notional", n)?);
    }
    Ok(e)
}

pub fn run(global: &Global, args: AccountsSetupArgs) -> anyhow::Result<ExitCode> {
    let (path, text, config) = config_file(global)?;
    let out = if let Some(name) = &args.remove {
        config
            .account(name)
            .with_context(|| format!("no [[accounts]] entry named {name:?}"))?;
        outln!("summary: remove account {name} (its keys, if any, stay where they are)");
        edit_entries::remove_account(&text, name)?
    } else if let Some(name) = args.add.as_ref().or(args.modify.as_ref()) {
        let adding = args.add.is_some();
        match (adding, config.account(name)) {
            (true, Some(_)) => bail!("account {name:?} exists already: use --modify {name}"),
            (false, None) => bail!("no [[accounts]] entry named {name:?}: use --add {name}"),
            _ => {}
        }
        let e = edit_from_flags(&args)?;
        if adding && e.venue.is_none() {
            bail!("--add needs --venue ({})", VENUES.join(", "));
        }
        let (out, _) = edit_entries::upsert_account(&text, name, &e)?;
        summary(name, adding, &out, &path)?;
        out
    } else if interactive() {
        interactive_session(&text, &config, &path)?
    } else {
        bail!(
            "nothing to change: give --add NAME --venue V, --modify NAME or --remove NAME (with \
             --mode, --credentials-env/--credentials-file, --base-url …), or run in a terminal"
        );
    };
    let code = finish(&path, &text, &out, args.yes)?;
    next_steps(&out, &path);
    Ok(code)
}

/// Prints the account as the edited file has it.
fn summary(name: &str, added: bool, text: &str, path: &std::path::Path) -> anyhow::Result<()> {
    let c = tradeengine_engine::config::load_str(text, Some(path), &[], &Default::default())
        .map_err(anyhow::Error::new)?;
    if let Some(a) = c.account(name) {
        outln!(
            "summary: {} account {}: {}; keys: {}",
            if added { "new" } else { "changed" },
            a.name,
            tradeengine_engine::config::modes::describe(&c, a),
            a.credentials.as_deref().unwrap_or("none")
        );
    }
    Ok(())
}

/// What the start would still refuse for the edited accounts (keys not stored, variables not
/// set), so the operator knows the next step.
fn next_steps(text: &str, path: &std::path::Path) {
    let Ok(c) = tradeengine_engine::config::load_str(text, Some(path), &[], &Default::default())
    else {
        return;
    };
    let env = |k: &str| std::env::var(k).ok();
    let problems: Vec<_> = tradeengine_engine::config::preflight::account_problems(&c, &env, true)
        .into_iter()
        .filter(|p| p.key.starts_with("accounts"))
        .collect();
    for p in problems {
        outln!("still to do for {}: {}", p.key, p.reason);
    }
}

fn interactive_session(
    text: &str,
    config: &Config,
    path: &std::path::Path,
) -> anyhow::Result<String> {
    let mut out = text.to_string();
    loop {
        let current = tradeengine_engine::config::load_str(&out, None, &[], &Default::default())
            .unwrap_or_else(|_| config.clone());
        let mut choices: Vec<String> = current
            .accounts
            .iter()
            .map(|a| format!("{} ({})", a.name, a.venue.as_str()))
            .collect();
        choices.push(ADD.into());
        choices.push(DONE.into());
        let picked = Select::new("Accounts:", choices).prompt()?;
        if picked == DONE {
            return Ok(out);
        }
        if picked == ADD {
            let name = Text::new("Account name (e.g. bybit-main):").prompt()?;
            let name = name.trim().to_string();
            if name.is_empty() || current.account(&name).is_some() {
                outln!("a new, non-empty name is needed");
                continue;
            }
            let venue = parse_venue(Select::new("Venue:", VENUES.to_vec()).prompt()?)?;
            let e = ask_account(&name, venue, None, &current)?;
            out = edit_entries::upsert_account(&out, &name, &e)?.0;
            summary(&name, true, &out, path)?;
            continue;
        }
        let name = picked.split(" (").next().unwrap_or_default().to_string();
        let Some(account) = current.account(&name).cloned() else {
            continue;
        };
        match Select::new(&format!("{name}:"), vec!["keep", "modify", "remove"]).prompt()? {
            "remove" => {
                out = edit_entries::remove_account(&out, &name)?;
                outln!("removed {name}");
            }
            "modify" => {
                let e = ask_account(&name, account.venue, Some(&account), &current)?;
                out = edit_entries::upsert_account(&out, &name, &e)?.0;
                summary(&name, false, &out, path)?;
            }
            _ => {}
        }
    }
}

/// Mode, keys store, base URL and state of one account (Enter keeps the current value).
fn ask_account(
    name: &str,
    venue: VenueKind,
    current: Option<&AccountConfig>,
    config: &Config,
) -> anyhow::Result<AccountEdit> {
    let mut e = AccountEdit {
        venue: Some(venue),
        ..Default::default()
    };
    let engine_mode = config.engine.mode.as_str();
    let default_mode = format!("default ([engine] mode, now {engine_mode})");
    let modes = vec![
        default_mode.clone(),
        "paper".into(),
        "dry-run".into(),
        "testnet".into(),
        "live".into(),
    ];
    let start = current.and_then(|a| a.mode).map_or(0, |m| {
        modes.iter().position(|x| x == m.as_str()).unwrap_or(0)
    });
    let mode = Select::new("Mode:", modes)
        .with_starting_cursor(start)
        .prompt()?;
    e.mode = Some(if mode == default_mode {
        None
    } else {
        parse_mode(&mode)?
    });
    if venue == VenueKind::Paper {
        return Ok(e);
    }
    let store = Select::new(
        "Where are its API keys kept?",
        vec![STORE_FILE, STORE_ENV, STORE_LATER],
    )
    .prompt()?;
    if store == STORE_FILE {
        let p = Text::new("Encrypted credentials file:")
            .with_default("credentials.age")
            .prompt()?;
        e.credentials = Some(Some(format!("file:{}", p.trim())));
        outln!("store the keys with `tradeengine config credentials --account {name}`");
    } else if store == STORE_ENV {
        let suggested = super::credentials_setup::suggested_prefix(name);
        let prefix = Text::new("Variable prefix (reads PREFIX_API_KEY, PREFIX_API_SECRET…):")
            .with_default(&suggested)
            .prompt()?;
        super::credentials_setup::check_prefix(prefix.trim())?;
        e.credentials = Some(Some(format!("env:{}", prefix.trim())));
    }
    let was = current.and_then(|a| a.base_url.clone()).unwrap_or_default();
    let url = Text::new("REST base URL (Enter: the venue's own for the mode; needed for MEXC and KuCoin in testnet):")
        .with_default(&was)
        .prompt()?;
    e.base_url = Some((!url.trim().is_empty()).then(|| url.trim().to_string()));
    let state = Select::new("State:", vec!["enabled", "close_only", "disabled"]).prompt()?;
    e.state = Some(parse_state(state)?);
    Ok(e)
}
