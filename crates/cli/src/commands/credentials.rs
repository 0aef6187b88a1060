//! `tradeengine credentials set|list|remove`: the encrypted credentials file an account names
//! with `credentials = "file:PATH"`.
//!
//! Secrets are never echoed: keys are read with echo off at a terminal, else one per line from
//! standard input, or from `PREFIX_API_KEY`/`_SECRET`/`_PASSPHRASE` with `--from-env PREFIX`.
//! The file's passphrase comes from `TRADEENGINE_CREDENTIALS_PASSPHRASE`, else a prompt. Output
//! names accounts and the file, nothing else.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use tradeengine_engine::config::Config;
use tradeengine_engine::credentials::{
    self, CredentialsFile, PASSPHRASE_VAR, Reference, ResolvedCredentials,
};

use crate::args::{CredentialsCommand, CredentialsSetArgs};

pub fn run(cmd: CredentialsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CredentialsCommand::Set(args) => set(args),
        CredentialsCommand::List(args) => {
            let passphrase = passphrase(&args.file, false)?;
            let file = CredentialsFile::open(&args.file, &passphrase)?;
            let names = file.accounts();
            if names.is_empty() {
                eprintln!("{}: no accounts", args.file.display());
            }
            for name in names {
                outln!("{name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        CredentialsCommand::Remove(args) => {
            let passphrase = passphrase(&args.file, false)?;
            let mut file = CredentialsFile::open(&args.file, &passphrase)?;
            if !file.remove(&args.account) {
                anyhow::bail!(
                    "{} has no entry for account {}",
                    args.file.display(),
                    args.account
                );
            }
            file.save(&args.file, &passphrase, args.work_factor)?;
            eprintln!(
                "removed account {} from {}",
                args.account,
                args.file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn set(args: CredentialsSetArgs) -> anyhow::Result<ExitCode> {
    let path = &args.file;
    // The file's passphrase first: a typo is caught before the keys are typed.
    let passphrase = passphrase(path, !path.exists())?;
    let mut file = CredentialsFile::open_or_new(path, &passphrase)?;
    let keys = match &args.from_env {
        Some(prefix) => credentials::resolve(&format!("env:{prefix}"), &args.account, |k| {
            std::env::var(k).ok()
        })?,
        None => read_keys()?,
    };
    let replaced = file.set(&args.account, keys);
    let spinner = crate::progress::spinner(&format!("encrypting {}", path.display()));
    let saved = file.save(path, &passphrase, args.work_factor);
    spinner.finish_and_clear();
    saved?;
    eprintln!(
        "{} keys for account {} in {} (encrypted, mode 0600)",
        if replaced { "replaced" } else { "stored" },
        args.account,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The passphrase from the environment, else a prompt (twice for a new file).
pub(crate) fn passphrase(path: &Path, new_file: bool) -> anyhow::Result<SecretString> {
    if let Some(p) = std::env::var(PASSPHRASE_VAR).ok().filter(|p| !p.is_empty()) {
        return Ok(SecretString::from(p));
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "{} needs a passphrase: set {PASSPHRASE_VAR} (no terminal to prompt on)",
            path.display()
        );
    }
    let first = prompt(&format!("passphrase for {}: ", path.display()))?;
    if new_file {
        let again = prompt("same passphrase again: ")?;
        if again.expose_secret() != first.expose_secret() {
            anyhow::bail!("the passphrases differ; nothing was written");
        }
    }
    Ok(first)
}

fn prompt(text: &str) -> anyhow::Result<SecretString> {
    rpassword::prompt_password(text)
        .map(SecretString::from)
        .context("cannot read from the terminal")
}

/// API key, secret and optional passphrase: prompted with echo off at a terminal, else one per
/// line from standard input.
fn read_keys() -> anyhow::Result<ResolvedCredentials> {
    let (key, secret, pass) = if std::io::stdin().is_terminal() {
        (
            prompt("API key: ")?,
            prompt("API secret: ")?,
            prompt("API passphrase (empty if the venue has none): ")?,
        )
    } else {
        let mut lines = std::io::stdin().lock().lines();
        let mut next = || -> anyhow::Result<SecretString> {
            let line = lines
                .next()
                .transpose()
                .context("cannot read standard input")?
                .unwrap_or_default();
            Ok(SecretString::from(line.trim().to_string()))
        };
        (next()?, next()?, next()?)
    };
    if key.expose_secret().is_empty() || secret.expose_secret().is_empty() {
        anyhow::bail!("the API key and secret must not be empty; nothing was written");
    }
    Ok(ResolvedCredentials {
        api_key: key,
        api_secret: secret,
        passphrase: (!pass.expose_secret().is_empty()).then_some(pass),
    })
}

/// For commands that build venues (`run`, `order`): when an account reads a credentials file
/// and the passphrase variable is unset, prompt for it at a terminal and hand it to the engine
/// as an override (never through the process environment or the command line).
pub fn passphrase_override(config: &Config) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let file =
        config
            .accounts
            .iter()
            .find_map(|a| match a.credentials.as_deref().map(Reference::parse) {
                Some(Ok(Reference::File(p))) => Some(p),
                _ => None,
            });
    let Some(file) = file else {
        return Ok(out);
    };
    if std::env::var(PASSPHRASE_VAR).is_ok_and(|p| !p.is_empty()) || !std::io::stdin().is_terminal()
    {
        // Set, or nobody to ask: the engine reports the missing passphrase by name.
        return Ok(out);
    }
    let p = passphrase(&file, false)?;
    out.insert(PASSPHRASE_VAR.to_string(), p.expose_secret().to_string());
    Ok(out)
}
