//! `tradeengine config import --from DIR`: the old engine's four JSON files into
//! `tradeengine.toml` (see `tradeengine_engine::config::import`), the keys of `credentials.json`
//! into the encrypted credentials file, and a report: the choices made, every key left out, and
//! exactly what remains to set before `config check` passes.
//!
//! The encrypted file is written before the TOML, so the TOML never points at keys that are not
//! there yet; both writes are atomic.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use tradeengine_engine::config::import::{ImportOptions, Imported, SeedFiles, import_seed};
use tradeengine_engine::config::{self as cfg, edit};
use tradeengine_engine::credentials::CredentialsFile;

use crate::args::ImportArgs;

/// The seed's files `config import` reads, in the order it reads them.
const SEED_FILES: [&str; 4] = [
    "asset_mapping_config.json",
    "signal_weight_config.json",
    "bittensor_processor_config.json",
    "credentials.json",
];

fn read_seed_files(dir: &Path) -> anyhow::Result<SeedFiles> {
    let progress = crate::progress::bar(SEED_FILES.len() as u64, "import");
    let mut found: Vec<Option<String>> = Vec::new();
    for name in SEED_FILES {
        progress.set_message(name);
        let p = dir.join(name);
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
    progress.finish_and_clear();
    let [
        asset_mapping,
        signal_weights,
        bittensor_processor,
        credentials,
    ]: [Option<String>; 4] = found
        .try_into()
        .map_err(|_| anyhow::anyhow!("seed files miscounted"))?;
    Ok(SeedFiles {
        asset_mapping,
        signal_weights,
        bittensor_processor,
        credentials,
    })
}

pub fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let files = read_seed_files(&args.from)?;
    if files.asset_mapping.is_none()
        && files.signal_weights.is_none()
        && files.bittensor_processor.is_none()
        && files.credentials.is_none()
    {
        anyhow::bail!(
            "no seed files in {} (looked for {})",
            args.from.display(),
            SEED_FILES.join(", ")
        );
    }
    let base = if args.out.exists() {
        std::fs::read_to_string(&args.out)
            .with_context(|| format!("cannot read {}", args.out.display()))?
    } else {
        String::new()
    };
    let options = ImportOptions {
        credentials_file: args.credentials_file.display().to_string(),
    };
    let imported = import_seed(&base, &args.out, &files, &options)?;
    edit::check(&imported.text, &args.out, &[], None)?;
    // `file:` references are relative to the TOML's folder.
    let keys_path = if args.credentials_file.is_absolute() {
        args.credentials_file.clone()
    } else {
        cfg::paths::base_dir(&args.out).join(&args.credentials_file)
    };
    if !imported.keys.is_empty() {
        store_keys(&keys_path, &imported, args.work_factor)?;
    }
    edit::write_atomic(&args.out, &imported.text)?;
    report(&args.out, &imported, &keys_path);
    Ok(ExitCode::SUCCESS)
}

fn store_keys(path: &Path, imported: &Imported, work_factor: Option<u8>) -> anyhow::Result<()> {
    let passphrase = super::credentials::passphrase(path, !path.exists())?;
    let spinner = crate::progress::spinner(&format!("encrypting {}", path.display()));
    let result = (|| -> anyhow::Result<()> {
        let mut file = CredentialsFile::open_or_new(path, &passphrase)?;
        for (entry, keys) in &imported.keys {
            file.set(
                entry,
                tradeengine_engine::credentials::ResolvedCredentials {
                    api_key: keys.api_key.clone(),
                    api_secret: keys.api_secret.clone(),
                    passphrase: keys.passphrase.clone(),
                },
            );
        }
        file.save(path, &passphrase, work_factor)?;
        Ok(())
    })();
    spinner.finish_and_clear();
    result
}

fn report(out: &Path, imported: &Imported, keys_path: &Path) {
    let c = &imported.config;
    outln!(
        "wrote {}: {} symbols, {} sources, {} accounts; mappings for {}",
        out.display(),
        c.symbols.len(),
        c.sources.len(),
        c.accounts.len(),
        c.mapping.keys().cloned().collect::<Vec<_>>().join(", ")
    );
    if !imported.keys.is_empty() {
        let names: Vec<&str> = imported.keys.iter().map(|(n, _)| n.as_str()).collect();
        outln!(
            "wrote {} (encrypted, mode 0600): keys of {}; none of them is in the TOML",
            keys_path.display(),
            names.join(", ")
        );
    }
    if !imported.choices.is_empty() {
        outln!("choices made:");
        for choice in &imported.choices {
            outln!("  - {choice}");
        }
    }
    if !imported.skipped.is_empty() {
        outln!("not imported:");
        for s in &imported.skipped {
            outln!("  - {}: {}: {}", s.file, s.key, s.why);
        }
    }
    if !imported.to_fill.is_empty() {
        outln!("to fill (the seed files do not say):");
        for f in &imported.to_fill {
            outln!("  - {f}");
        }
    }
    // Every variable, set here or not: `run` usually runs elsewhere (a service, a container),
    // and the passphrase this import just used is needed there too.
    if imported.to_set.is_empty() {
        outln!("variables: the file reads none");
    } else {
        outln!("to set before `tradeengine run` (names only go in the file, never values):");
        for (var, why) in &imported.to_set {
            if std::env::var(var).is_ok_and(|v| !v.is_empty()) {
                outln!("  - {var}: {why} (set in this shell; also set it where `run` runs)");
            } else {
                outln!("  - {var}: {why}");
            }
        }
    }
    outln!("then: tradeengine --config {} config check", out.display());
}
