//! `tradeengine config check|show|import`.

use std::process::ExitCode;

use anyhow::Context;
use tradeengine_engine::config::import::{SeedFiles, import_seed};
use tradeengine_engine::config::{self as cfg, Config, Overrides};

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
            println!("# effective configuration from {origin}");
            print!(
                "{}",
                toml::to_string_pretty(&config).context("cannot render configuration")?
            );
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Import(args) => import(args),
        ConfigCommand::Weights(args) => super::setup::weights(global, args),
        ConfigCommand::Mapping(args) => super::setup::mapping(global, args),
    }
}

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let read = |name: &str| -> anyhow::Result<Option<String>> {
        let p = args.from.join(name);
        if p.exists() {
            Ok(Some(
                std::fs::read_to_string(&p)
                    .with_context(|| format!("cannot read {}", p.display()))?,
            ))
        } else {
            Ok(None)
        }
    };
    let files = SeedFiles {
        asset_mapping: read("asset_mapping_config.json")?,
        signal_weights: read("signal_weight_config.json")?,
        bittensor_processor: read("bittensor_processor_config.json")?,
    };
    if files.asset_mapping.is_none()
        && files.signal_weights.is_none()
        && files.bittensor_processor.is_none()
    {
        anyhow::bail!(
            "no seed files in {} (looked for asset_mapping_config.json, signal_weight_config.json, bittensor_processor_config.json)",
            args.from.display()
        );
    }
    let base = if args.out.exists() {
        cfg::load_file(&args.out, &[], &Overrides::default())?
    } else {
        Config::empty()
    };
    let merged = import_seed(base, &files)?;
    let text = toml::to_string_pretty(&merged).context("cannot render configuration")?;
    write_atomically(&args.out, &text)?;
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

/// Writes a file so a reader (the running engine's hot reload) sees the old or the new content,
/// never half of it: temp file in the same directory, fsync, rename.
pub fn write_atomically(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("tradeengine.toml")
    ));
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
