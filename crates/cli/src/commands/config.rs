//! `tradeengine config check|show` and the dispatch of the setup commands (`import` in
//! `config_import`; `weights`, `mapping` in `setup`; `credentials` in `credentials_setup`; `sn8`
//! in `sn8_setup`; `accounts` in `accounts_setup`; `symbols` in `symbols_setup`).

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context;
use tradeengine_engine::config::{self as cfg, ConfigError, Origin, Overrides};

use super::load_config;
use crate::args::{CheckArgs, ConfigCommand, Global};

pub async fn run(global: &Global, cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Check(args) => check(global, args).await,
        ConfigCommand::Show => {
            let (config, origin) = load_config(global, Overrides::default())?;
            outln!("# effective configuration from {origin} (secrets shown as ***)");
            let mut tree = toml::Value::try_from(&config).context("cannot render configuration")?;
            cfg::redact::redact_tree(&mut tree);
            out!(
                "{}",
                toml::to_string_pretty(&tree).context("cannot render configuration")?
            );
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Import(args) => super::config_import::import(args),
        ConfigCommand::Weights(args) => super::setup::weights(global, args),
        ConfigCommand::Mapping(args) => super::setup::mapping(global, args),
        ConfigCommand::Credentials(args) => super::credentials_setup::run(global, args),
        ConfigCommand::Sn8(args) => super::sn8_setup::run(global, args),
        ConfigCommand::Accounts(args) => super::accounts_setup::run(global, args),
        ConfigCommand::Symbols(args) => super::symbols_setup::run(global, args),
    }
}

/// Loads the file as `run` would, then runs the start's own checks
/// ([`tradeengine_engine::start_checks::start_problems`]) with this process's environment, and
/// with `--online` asks the venues about the symbols. Every problem is listed; any problem exits 2.
async fn check(global: &Global, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let (config, origin) = load_config(
        global,
        Overrides {
            mode: args.mode.clone(),
            ..Overrides::default()
        },
    )?;
    // The embedded demo generates its secrets at `run`; stand in for them here.
    let demo = origin == Origin::EmbeddedDemo;
    // The passphrase `run` would prompt for at a terminal, asked the same way.
    let prompted: BTreeMap<String, String> = super::credentials::passphrase_override(&config)?;
    let env = |k: &str| {
        std::env::var(k)
            .ok()
            .or_else(|| prompted.get(k).cloned())
            .or_else(|| {
                (demo && k.starts_with("TRADEENGINE_")).then(|| "generated-at-run".to_string())
            })
    };
    let mut problems = tradeengine_engine::start_checks::start_problems(&config, &env, args.live);
    if args.online {
        let spinner = crate::progress::spinner("asking the venues about the symbols");
        problems.extend(cfg::preflight_online::venue_problems(&config).await);
        spinner.finish_and_clear();
    }
    let file = match &origin {
        Origin::File(p) => Some(p.clone()),
        Origin::EmbeddedDemo => None,
    };
    if problems.is_empty() {
        outln!(
            "{origin}: ok ({} accounts, {} sources, {} symbols, mode {}{})",
            config.accounts.len(),
            config.sources.len(),
            config.symbols.len(),
            config.engine.mode.as_str(),
            if args.online {
                "; every symbol listed on every venue"
            } else {
                ""
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    for p in &problems {
        let shown = ConfigError {
            file: file.clone(),
            ..p.clone()
        };
        eprintln!("configuration error: {shown}");
    }
    eprintln!(
        "{}: {} problem{} that `tradeengine run` would refuse",
        origin,
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::from(2))
}
