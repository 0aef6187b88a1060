//! `tradeengine config check|show|import` (and the setup commands, in `setup`,
//! `credentials_setup` and `sn8_setup`).

use std::process::ExitCode;

use anyhow::Context;
use tradeengine_engine::config::import::{SeedFiles, import_seed};
use tradeengine_engine::config::{self as cfg, Config, Overrides, edit};

use super::load_config;
use crate::cli::{ConfigCommand, Global, ImportArgs};

pub async fn run(global: &Global, cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Check => {
            let (config, origin) = load_config(global, Overrides::default())?;
            // The embedded demo generates its secrets at `run`; stand in for them here.
            let demo = origin == tradeengine_engine::config::Origin::EmbeddedDemo;
            let env = |k: &str| {
                std::env::var(k).ok().or_else(|| {
                    (demo && k.starts_with("TRADEENGINE_")).then(|| "generated-at-run".to_string())
                })
            };
            tradeengine_engine::sources::validate_settings(&config, &env).map_err(|mut e| {
                if let tradeengine_engine::config::Origin::File(p) = &origin {
                    e.file = Some(p.clone());
                }
                e
            })?;
            println!(
                "{origin}: ok ({} accounts, {} sources, {} symbols, mode {})",
                config.accounts.len(),
                config.sources.len(),
                config.symbols.len(),
                config.engine.mode.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Show => {
            let (config, origin) = load_config(global, Overrides::default())?;
            println!("# effective configuration from {origin} (secrets shown as ***)");
            let mut tree = toml::Value::try_from(&config).context("cannot render configuration")?;
            cfg::redact::redact_tree(&mut tree);
            print!(
                "{}",
                toml::to_string_pretty(&tree).context("cannot render configuration")?
            );
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Import(args) => import(args),
        ConfigCommand::Weights(args) => super::setup::weights(global, args),
        ConfigCommand::Mapping(args) => super::setup::mapping(global, args),
        ConfigCommand::Credentials(args) => super::credentials_setup::run(global, args),
        ConfigCommand::Sn8(args) => super::sn8_setup::run(global, args),
    }
}

/// sirouk/trade-engine's files `config import` reads, in the order it reads them.
const SEED_FILES: [&str; 3] = [
    "asset_mapping_config.json",
    "signal_weight_config.json",
    "bittensor_processor_config.json",
];

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    // Read, merge, validate, write: one bar step each (the bar is hidden off a terminal).
    let progress = crate::progress::bar(SEED_FILES.len() as u64 + 3, "import");
    let mut found: Vec<Option<String>> = Vec::new();
    for name in SEED_FILES {
        progress.set_message(name);
        let p = args.from.join(name);
        found.push(if p.exists() {
            Some(
                std::fs::read_to_string(&p)
                    .with_context(|| format!("cannot read {}", p.display()))?,
            )
        } else {
            None
        });
        progress.inc(1);
    }
    let [asset_mapping, signal_weights, bittensor_processor]: [Option<String>; 3] = found
        .try_into()
        .map_err(|_| anyhow::anyhow!("seed files miscounted"))?;
    let files = SeedFiles {
        asset_mapping,
        signal_weights,
        bittensor_processor,
    };
    if files.asset_mapping.is_none()
        && files.signal_weights.is_none()
        && files.bittensor_processor.is_none()
    {
        progress.abandon();
        anyhow::bail!(
            "no seed files in {} (looked for {})",
            args.from.display(),
            SEED_FILES.join(", ")
        );
    }
    progress.set_message("merging");
    let base = if args.out.exists() {
        // Loaded without a file, so the paths it holds are written back as they were typed
        // (relative to the file), not resolved to absolute ones.
        let text = std::fs::read_to_string(&args.out)
            .with_context(|| format!("cannot read {}", args.out.display()))?;
        cfg::load_str(&text, None, &[], &Overrides::default()).map_err(|mut e| {
            e.file = Some(args.out.clone());
            e
        })?
    } else {
        Config::empty()
    };
    let merged = import_seed(base, &files)?;
    progress.inc(1);
    progress.set_message("validating");
    let text = toml::to_string_pretty(&merged).context("cannot render configuration")?;
    edit::check(&text, &args.out, &[], None)?;
    progress.inc(1);
    progress.set_message(format!("writing {}", args.out.display()));
    edit::write_atomic(&args.out, &text)?;
    progress.inc(1);
    progress.finish_and_clear();
    println!(
        "wrote {}: {} symbols, {} sources, mappings for {}",
        args.out.display(),
        merged.symbols.len(),
        merged.sources.len(),
        merged
            .mapping
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
