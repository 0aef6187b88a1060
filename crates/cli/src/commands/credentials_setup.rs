//! `tradeengine config credentials`: where each exchange account's keys are kept, and the keys
//! themselves when they go into the encrypted file. Interactive like sirouk/trade-engine's
//! `config/credentials.py` (keep / modify / start fresh per account, Enter keeps the current
//! value, a summary before writing), or with flags for the same change without prompts.
//!
//! Unlike sirouk/trade-engine, secrets are read with echo off (never shown, never in the output)
//! and never written into the TOML: the configuration only gets a reference, `file:PATH` (an
//! age-encrypted file, see `tradeengine credentials`) or `env:PREFIX`. The encrypted file is
//! written before the TOML, so the TOML never points at keys that are not there yet.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use inquire::{Password, PasswordDisplayMode, Select, Text};
use secrecy::{ExposeSecret, SecretString};
use tradeengine_engine::config::{AccountConfig, VenueKind, edit};
use tradeengine_engine::credentials::{self, CredentialsFile, Reference, ResolvedCredentials};

use super::setup::{FRESH, KEEP, MODIFY, config_file, finish_with, interactive};
use crate::args::{CredentialsSetupArgs, Global};

const DEFAULT_FILE: &str = "credentials.age";
const STORE_FILE: &str = "encrypted file (age, passphrase-protected)";
const STORE_ENV: &str = "environment variables";

/// BloFin sends a passphrase with every request and KuCoin signs one; the others have none
/// (a column of the venue registry).
fn needs_passphrase(venue: VenueKind) -> bool {
    venue
        .exchange()
        .is_some_and(|v| tradeengine_venues::registry::entry(v).needs_passphrase)
}

/// An environment variable prefix: what `env:PREFIX` may name. Anything else (a pasted key, a
/// path) is refused without echoing it.
pub(super) fn check_prefix(prefix: &str) -> anyhow::Result<()> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !prefix.starts_with(|c: char| c.is_ascii_digit());
    if !ok {
        bail!("an environment variable prefix is A-Z, 0-9 and _ (e.g. BYBIT_MAIN)");
    }
    Ok(())
}

/// `bybit-main` → `BYBIT_MAIN`.
pub(super) fn suggested_prefix(account: &str) -> String {
    let p: String = account
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if p.starts_with(|c: char| c.is_ascii_digit()) || p.is_empty() {
        format!("ACCOUNT_{p}")
    } else {
        p
    }
}

/// The variables an `env:PREFIX` reference reads, each marked set or missing (names only).
fn env_status(prefix: &str, venue: VenueKind) -> String {
    let mut names = vec!["API_KEY", "API_SECRET"];
    if needs_passphrase(venue) {
        names.push("API_PASSPHRASE");
    }
    names
        .iter()
        .map(|n| {
            let var = format!("{prefix}_{n}");
            let set = std::env::var(&var).is_ok_and(|v| !v.is_empty());
            format!("{var} {}", if set { "set" } else { "missing" })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decrypted credentials files, opened once each, with what changed in them.
#[derive(Default)]
struct Files {
    open: BTreeMap<PathBuf, OpenFile>,
}

struct OpenFile {
    passphrase: SecretString,
    file: CredentialsFile,
    changed: bool,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("paths", &self.open.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Files {
    fn get(&mut self, path: &Path) -> anyhow::Result<&mut OpenFile> {
        if !self.open.contains_key(path) {
            let passphrase = super::credentials::passphrase(path, !path.exists())?;
            let spinner = crate::progress::spinner(&format!("decrypting {}", path.display()));
            let file = CredentialsFile::open_or_new(path, &passphrase);
            spinner.finish_and_clear();
            self.open.insert(
                path.to_path_buf(),
                OpenFile {
                    passphrase,
                    file: file?,
                    changed: false,
                },
            );
        }
        self.open
            .get_mut(path)
            .context("credentials file not opened")
    }

    /// Encrypts and writes every file that changed.
    fn save(&self, work_factor: Option<u8>) -> anyhow::Result<()> {
        for (path, f) in self.open.iter().filter(|(_, f)| f.changed) {
            let spinner = crate::progress::spinner(&format!("encrypting {}", path.display()));
            let saved = f.file.save(path, &f.passphrase, work_factor);
            spinner.finish_and_clear();
            saved?;
            outln!("wrote {} (encrypted, mode 0600)", path.display());
        }
        Ok(())
    }
}

/// What happened to one account, for the summary (names and references, never values).
struct Change {
    reference: Option<String>,
    note: String,
}

/// The accounts to set keys for: `--account`, else every one (refused when none is on an
/// exchange).
fn chosen_accounts<'a>(
    all: &'a [AccountConfig],
    args: &CredentialsSetupArgs,
    path: &Path,
) -> anyhow::Result<Vec<&'a AccountConfig>> {
    let accounts: Vec<&AccountConfig> = match &args.account {
        Some(name) => vec![
            all.iter()
                .find(|a| &a.name == name)
                .with_context(|| format!("no [[accounts]] entry named {name:?}"))?,
        ],
        None => all.iter().collect(),
    };
    let exchanges = accounts
        .iter()
        .filter(|a| a.venue != VenueKind::Paper)
        .count();
    if exchanges == 0 && args.account.is_none() {
        // Nothing to attach keys to: say how to get an account rather than "nothing changed".
        bail!(
            "{} has no exchange account to keep keys for; add one first: `tradeengine config accounts --add NAME --venue bybit` (or run `tradeengine config accounts` in a terminal), then run this again",
            path.display()
        );
    }
    Ok(accounts)
}

pub fn run(global: &Global, args: CredentialsSetupArgs) -> anyhow::Result<ExitCode> {
    let (path, text, config) = config_file(global)?;
    let accounts = chosen_accounts(&config.accounts, &args, &path)?;
    let with_flags = args.file.is_some() || args.env.is_some();
    let mut files = Files::default();
    let mut changes: BTreeMap<String, Change> = BTreeMap::new();
    if with_flags {
        let [account] = accounts.as_slice() else {
            bail!("--file and --env need --account");
        };
        let change = from_flags(account, &args, &mut files)?;
        changes.insert(account.name.clone(), change);
    } else if interactive() {
        for account in &accounts {
            if account.venue == VenueKind::Paper {
                outln!("{}: paper venue, no keys needed", account.name);
                continue;
            }
            if let Some(change) = prompt_account(account, &mut files)? {
                changes.insert(account.name.clone(), change);
            }
        }
    } else {
        bail!(
            "nothing to change: give --account A with --file PATH (and --keys-from-env PREFIX or \
             --keys-stdin) or --env PREFIX, or run in a terminal"
        );
    }
    absolute_file_references(&path, &mut changes);
    outln!("summary:");
    let out = summarise(&text, &accounts, &changes)?;
    let keys_changed = files.open.values().any(|f| f.changed);
    let work_factor = args.work_factor;
    finish_with(&path, &text, &out, args.yes, keys_changed, || {
        files.save(work_factor)
    })
}

/// A keys file named relative to this shell is written absolute when the configuration lives in
/// another folder: the engine reads it relative to the configuration's folder.
fn absolute_file_references(config_path: &Path, changes: &mut BTreeMap<String, Change>) {
    let base = tradeengine_engine::config::paths::base_dir(config_path);
    if std::env::current_dir().ok().as_deref() == Some(base.as_path()) {
        return;
    }
    for c in changes.values_mut() {
        if let Some(p) = c.reference.as_deref().and_then(|r| r.strip_prefix("file:"))
            && Path::new(p).is_relative()
        {
            c.reference = Some(format!(
                "file:{}",
                super::resolve::absolute(Path::new(p)).display()
            ));
        }
    }
}

/// The configuration's text with each changed account's reference, each account printed as a
/// summary line (names and references, never values).
fn summarise(
    text: &str,
    accounts: &[&AccountConfig],
    changes: &BTreeMap<String, Change>,
) -> anyhow::Result<String> {
    let mut out = text.to_string();
    for account in accounts {
        match changes.get(&account.name) {
            Some(c) => {
                outln!(
                    "  {}: {} ({})",
                    account.name,
                    c.reference.as_deref().unwrap_or("no credentials"),
                    c.note
                );
                out = edit::set_account_credentials(&out, &account.name, c.reference.as_deref())?;
            }
            None if account.venue == VenueKind::Paper => {
                outln!("  {}: paper, no keys", account.name);
            }
            None => outln!(
                "  {}: kept {}",
                account.name,
                account.credentials.as_deref().unwrap_or("no credentials")
            ),
        }
    }
    Ok(out)
}

fn from_flags(
    account: &AccountConfig,
    args: &CredentialsSetupArgs,
    files: &mut Files,
) -> anyhow::Result<Change> {
    if let Some(prefix) = &args.env {
        check_prefix(prefix)?;
        return Ok(Change {
            reference: Some(format!("env:{prefix}")),
            note: env_status(prefix, account.venue),
        });
    }
    let Some(file_path) = &args.file else {
        bail!("give --file PATH or --env PREFIX");
    };
    let keys = match (&args.keys_from_env, args.keys_stdin) {
        (Some(prefix), _) => {
            check_prefix(prefix)?;
            Some(credentials::resolve(
                &format!("env:{prefix}"),
                &account.name,
                |k| std::env::var(k).ok(),
            )?)
        }
        (None, true) => Some(read_stdin_keys()?),
        (None, false) => None,
    };
    let open = files.get(file_path)?;
    let note = match keys {
        Some(keys) => {
            check_keys(&keys, account.venue)?;
            let replaced = open.file.set(&account.name, keys);
            open.changed = true;
            if replaced {
                "keys replaced".to_string()
            } else {
                "keys stored".to_string()
            }
        }
        None if open.file.get(&account.name).is_some() => "keys already stored".to_string(),
        None => bail!(
            "{} has no keys for account {}: add --keys-from-env PREFIX or --keys-stdin",
            file_path.display(),
            account.name
        ),
    };
    Ok(Change {
        reference: Some(format!("file:{}", file_path.display())),
        note,
    })
}

/// Key and secret are required; a passphrase where the venue needs one.
fn check_keys(keys: &ResolvedCredentials, venue: VenueKind) -> anyhow::Result<()> {
    if keys.api_key.expose_secret().is_empty() || keys.api_secret.expose_secret().is_empty() {
        bail!("the API key and secret must not be empty; nothing was written");
    }
    if needs_passphrase(venue) && keys.passphrase.is_none() {
        bail!(
            "{} needs an API passphrase; nothing was written",
            venue.as_str()
        );
    }
    Ok(())
}

fn read_stdin_keys() -> anyhow::Result<ResolvedCredentials> {
    let mut lines = std::io::stdin().lock().lines();
    let mut next = || -> anyhow::Result<SecretString> {
        let line = lines
            .next()
            .transpose()
            .context("cannot read standard input")?
            .unwrap_or_default();
        Ok(SecretString::from(line.trim().to_string()))
    };
    let (key, secret, pass) = (next()?, next()?, next()?);
    Ok(ResolvedCredentials {
        api_key: key,
        api_secret: secret,
        passphrase: (!pass.expose_secret().is_empty()).then_some(pass),
    })
}

/// A secret typed with echo off. With `stored`, Enter keeps it; otherwise it is required.
fn secret_prompt(message: &str, stored: bool) -> anyhow::Result<Option<SecretString>> {
    loop {
        let shown = if stored {
            format!("{message} (Enter keeps the stored one):")
        } else {
            format!("{message}:")
        };
        let value = Password::new(&shown)
            .without_confirmation()
            .with_display_mode(PasswordDisplayMode::Hidden)
            .prompt()?;
        let value = value.trim().to_string();
        if !value.is_empty() {
            return Ok(Some(SecretString::from(value)));
        }
        if stored {
            return Ok(None);
        }
        outln!("required; nothing was kept because nothing is stored yet");
    }
}

fn describe(account: &AccountConfig) -> String {
    match account.credentials.as_deref().map(Reference::parse) {
        None => "no credentials".to_string(),
        Some(Ok(Reference::Env(prefix))) => {
            format!("env:{prefix} ({})", env_status(&prefix, account.venue))
        }
        Some(Ok(Reference::File(p))) => format!("file:{}", p.display()),
        Some(Err(e)) => format!("unusable reference: {e}"),
    }
}

fn prompt_account(account: &AccountConfig, files: &mut Files) -> anyhow::Result<Option<Change>> {
    let name = &account.name;
    let choice = Select::new(
        &format!("{name} ({}): {}", account.venue.as_str(), describe(account)),
        vec![KEEP, MODIFY, FRESH],
    )
    .prompt()?;
    if choice == KEEP {
        return Ok(None);
    }
    let current = account
        .credentials
        .as_deref()
        .and_then(|r| Reference::parse(r).ok())
        .filter(|_| choice == MODIFY);
    let start = usize::from(matches!(current, Some(Reference::Env(_))));
    let store = Select::new(
        &format!("Where are {name}'s keys kept?"),
        vec![STORE_FILE, STORE_ENV],
    )
    .with_starting_cursor(start)
    .prompt()?;
    if store == STORE_ENV {
        return prompt_env(account, current.as_ref()).map(Some);
    }
    prompt_file(account, choice == MODIFY, current.as_ref(), files).map(Some)
}

/// Keys in environment variables: the prefix their names start with.
fn prompt_env(account: &AccountConfig, current: Option<&Reference>) -> anyhow::Result<Change> {
    let name = &account.name;
    let default = match current {
        Some(Reference::Env(p)) => p.clone(),
        _ => suggested_prefix(name),
    };
    let prefix = Text::new(&format!(
        "Environment variable prefix for {name} (reads PREFIX_API_KEY, PREFIX_API_SECRET{}):",
        if needs_passphrase(account.venue) {
            ", PREFIX_API_PASSPHRASE"
        } else {
            ""
        }
    ))
    .with_default(&default)
    .with_validator(|p: &str| {
        Ok(match check_prefix(p.trim()) {
            Ok(()) => inquire::validator::Validation::Valid,
            Err(e) => inquire::validator::Validation::Invalid(e.to_string().into()),
        })
    })
    .prompt()?;
    let prefix = prefix.trim().to_string();
    let status = env_status(&prefix, account.venue);
    outln!("{name}: set {status} before `tradeengine run`");
    Ok(Change {
        reference: Some(format!("env:{prefix}")),
        note: status,
    })
}

/// Keys in the encrypted file: which file, and each key typed with echo off (with `modify`,
/// Enter keeps the stored one).
fn prompt_file(
    account: &AccountConfig,
    modify: bool,
    current: Option<&Reference>,
    files: &mut Files,
) -> anyhow::Result<Change> {
    let name = &account.name;
    let default = match current {
        Some(Reference::File(p)) => p.display().to_string(),
        _ => DEFAULT_FILE.to_string(),
    };
    let file_path = Text::new("Credentials file:")
        .with_default(&default)
        .prompt()?;
    let file_path = PathBuf::from(file_path.trim());
    let open = files.get(&file_path)?;
    let stored = if modify { open.file.get(name) } else { None };
    let key = secret_prompt(&format!("API key for {name}"), stored.is_some())?;
    let secret = secret_prompt(&format!("API secret for {name}"), stored.is_some())?;
    let passphrase = if needs_passphrase(account.venue) {
        let has = stored.as_ref().is_some_and(|s| s.passphrase.is_some());
        secret_prompt(&format!("API passphrase for {name}"), has)?
    } else {
        None
    };
    let mut kept = Vec::new();
    let mut changed = Vec::new();
    for (what, new) in [
        ("API key", key.is_some()),
        ("secret", secret.is_some()),
        ("passphrase", passphrase.is_some()),
    ] {
        if what == "passphrase" && !needs_passphrase(account.venue) {
            continue;
        }
        if new { &mut changed } else { &mut kept }.push(what);
    }
    if !changed.is_empty() {
        let keys = ResolvedCredentials {
            api_key: key
                .or_else(|| stored.as_ref().map(|s| s.api_key.clone()))
                .context("no API key")?,
            api_secret: secret
                .or_else(|| stored.as_ref().map(|s| s.api_secret.clone()))
                .context("no API secret")?,
            passphrase: passphrase.or_else(|| stored.and_then(|s| s.passphrase)),
        };
        check_keys(&keys, account.venue)?;
        open.file.set(name, keys);
        open.changed = true;
    }
    let mut note = Vec::new();
    if !changed.is_empty() {
        note.push(format!("{} new", changed.join(", ")));
    }
    if !kept.is_empty() {
        note.push(format!("{} kept", kept.join(", ")));
    }
    Ok(Change {
        reference: Some(format!("file:{}", file_path.display())),
        note: note.join("; "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_variable_names_only() {
        assert!(check_prefix("BYBIT_MAIN").is_ok());
        assert!(check_prefix("bybit").is_err());
        assert!(check_prefix("1ABC").is_err());
        assert!(check_prefix("").is_err());
        let err = check_prefix("sk-FAKE/KEY+with=chars").unwrap_err();
        assert!(!err.to_string().contains("FAKE"));
        assert_eq!(suggested_prefix("bybit-main"), "BYBIT_MAIN");
        assert_eq!(suggested_prefix("1x"), "ACCOUNT_1X");
    }

    #[test]
    fn passphrase_is_required_only_where_the_venue_has_one() {
        use tradeengine_venues::VenueId;
        let keys = |p: Option<&str>| ResolvedCredentials {
            api_key: SecretString::from("FAKE-K".to_string()),
            api_secret: SecretString::from("FAKE-S".to_string()),
            passphrase: p.map(|p| SecretString::from(p.to_string())),
        };
        assert!(check_keys(&keys(None), VenueKind::Exchange(VenueId::Bybit)).is_ok());
        assert!(check_keys(&keys(None), VenueKind::Exchange(VenueId::Kucoin)).is_err());
        assert!(check_keys(&keys(Some("FAKE-P")), VenueKind::Exchange(VenueId::Blofin)).is_ok());
        let empty = ResolvedCredentials {
            api_key: SecretString::from(String::new()),
            api_secret: SecretString::from("FAKE-S".to_string()),
            passphrase: None,
        };
        assert!(check_keys(&empty, VenueKind::Exchange(VenueId::Bybit)).is_err());
    }
}
