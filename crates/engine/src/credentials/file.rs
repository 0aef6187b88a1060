//! The credentials file: every account's keys in one file, encrypted at rest with `age` and a
//! passphrase (scrypt), so a copied disk or backup does not give the keys away.
//!
//! The decrypted contents are TOML that only ever exists in memory (and is zeroised after use):
//!
//! ```toml
//! [accounts.bybit-main]
//! api_key = "…"
//! api_secret = "…"
//! passphrase = "…"   # BloFin and KuCoin only
//! ```
//!
//! Writes are atomic (a temporary file beside the target, then a rename) and the file is created
//! with mode 0600, so a crash mid-write leaves the old file whole and no other user can read it.
//! Errors name the file and what went wrong, never a key, a secret, the passphrase or a line of
//! the decrypted contents.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};

use super::ResolvedCredentials;

/// The environment variable holding the file's passphrase (the CLI prompts when it is unset
/// and a terminal is attached).
pub const PASSPHRASE_VAR: &str = "TRADEENGINE_CREDENTIALS_PASSPHRASE";

/// Highest scrypt work factor accepted when decrypting (2^22: a few seconds and 4 GiB at most),
/// so a tampered file cannot make the engine spend hours or all memory at start.
const MAX_WORK_FACTOR: u8 = 22;

/// Why the credentials file could not be read or written. Never carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("credentials file {path}: {reason}")]
    Io { path: String, reason: String },
    #[error(
        "credentials file {0}: cannot decrypt (wrong passphrase, or not a tradeengine credentials file)"
    )]
    Decrypt(String),
    #[error("credentials file {path}: decrypted contents are malformed ({reason})")]
    Malformed { path: String, reason: String },
    #[error("the credentials passphrase is empty")]
    EmptyPassphrase,
    #[error("credentials file {0}: cannot encrypt")]
    Encrypt(String),
}

/// One account's entry.
struct Entry {
    api_key: SecretString,
    api_secret: SecretString,
    passphrase: Option<SecretString>,
}

/// The decrypted file: account name → keys. `Debug` lists account names only.
#[derive(Default)]
pub struct CredentialsFile {
    entries: BTreeMap<String, Entry>,
}

impl std::fmt::Debug for CredentialsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsFile")
            .field("accounts", &self.accounts())
            .finish()
    }
}

fn io_error(path: &Path, what: &str, e: &std::io::Error) -> FileError {
    FileError::Io {
        path: path.display().to_string(),
        reason: format!("{what}: {e}"),
    }
}

impl CredentialsFile {
    /// An empty file (nothing on disk yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads and decrypts `path`. Slow on purpose (scrypt): call it off the async runtime.
    pub fn open(path: &Path, passphrase: &SecretString) -> Result<Self, FileError> {
        let ciphertext = std::fs::read(path).map_err(|e| io_error(path, "cannot read", &e))?;
        Self::decrypt(path, &ciphertext, passphrase)
    }

    /// Like [`Self::open`], but a missing file is an empty one (for `credentials set`).
    pub fn open_or_new(path: &Path, passphrase: &SecretString) -> Result<Self, FileError> {
        match std::fs::read(path) {
            Ok(ciphertext) => Self::decrypt(path, &ciphertext, passphrase),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::new()),
            Err(e) => Err(io_error(path, "cannot read", &e)),
        }
    }

    /// Decrypts and parses `ciphertext` (any bytes: a malformed file is an error, never a panic).
    pub fn decrypt(
        path: &Path,
        ciphertext: &[u8],
        passphrase: &SecretString,
    ) -> Result<Self, FileError> {
        let shown = path.display().to_string();
        check_passphrase(passphrase)?;
        let mut identity = age::scrypt::Identity::new(passphrase.clone());
        identity.set_max_work_factor(MAX_WORK_FACTOR);
        let mut plaintext =
            age::decrypt(&identity, ciphertext).map_err(|_| FileError::Decrypt(shown.clone()))?;
        let parsed = Self::parse(&shown, &plaintext);
        plaintext.zeroize();
        parsed
    }

    /// Parses decrypted contents. The TOML parser's own message is not used: it quotes the
    /// offending line, which may hold a secret.
    fn parse(shown: &str, plaintext: &[u8]) -> Result<Self, FileError> {
        let malformed = |reason: &str| FileError::Malformed {
            path: shown.to_string(),
            reason: reason.to_string(),
        };
        let text = std::str::from_utf8(plaintext).map_err(|_| malformed("not UTF-8"))?;
        let table: toml::Table = text.parse().map_err(|_| malformed("not valid TOML"))?;
        let mut entries = BTreeMap::new();
        let Some(accounts) = table.get("accounts") else {
            return Ok(Self { entries });
        };
        let accounts = accounts
            .as_table()
            .ok_or_else(|| malformed("`accounts` is not a table"))?;
        for (name, entry) in accounts {
            let entry = entry
                .as_table()
                .ok_or_else(|| malformed(&format!("accounts.{name} is not a table")))?;
            let field = |key: &str, required: bool| -> Result<Option<SecretString>, FileError> {
                match entry.get(key) {
                    Some(toml::Value::String(s)) if !s.is_empty() => {
                        Ok(Some(SecretString::from(s.as_str())))
                    }
                    None if !required => Ok(None),
                    _ => Err(malformed(&format!(
                        "accounts.{name}.{key} must be a non-empty string"
                    ))),
                }
            };
            let api_key = field("api_key", true)?;
            let api_secret = field("api_secret", true)?;
            let passphrase = field("passphrase", false)?;
            if let (Some(api_key), Some(api_secret)) = (api_key, api_secret) {
                entries.insert(
                    name.clone(),
                    Entry {
                        api_key,
                        api_secret,
                        passphrase,
                    },
                );
            }
        }
        Ok(Self { entries })
    }

    /// Account names, sorted.
    pub fn accounts(&self) -> Vec<&str> {
        self.entries.keys().map(String::as_str).collect()
    }

    /// The keys of `account`, if the file has them.
    pub fn get(&self, account: &str) -> Option<ResolvedCredentials> {
        self.entries.get(account).map(|e| ResolvedCredentials {
            api_key: e.api_key.clone(),
            api_secret: e.api_secret.clone(),
            passphrase: e.passphrase.clone(),
        })
    }

    /// Adds or replaces `account`'s keys; true when it replaced an entry.
    pub fn set(&mut self, account: &str, keys: ResolvedCredentials) -> bool {
        self.entries
            .insert(
                account.to_string(),
                Entry {
                    api_key: keys.api_key,
                    api_secret: keys.api_secret,
                    passphrase: keys.passphrase,
                },
            )
            .is_some()
    }

    /// Removes `account`; true when it was there.
    pub fn remove(&mut self, account: &str) -> bool {
        self.entries.remove(account).is_some()
    }

    /// Encrypts and writes the file atomically with mode 0600. `work_factor` (scrypt log2 N)
    /// defaults to about one second of work on this machine; tests pass a small one.
    pub fn save(
        &self,
        path: &Path,
        passphrase: &SecretString,
        work_factor: Option<u8>,
    ) -> Result<(), FileError> {
        let shown = path.display().to_string();
        check_passphrase(passphrase)?;
        let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
        if let Some(log_n) = work_factor.filter(|n| (1..=MAX_WORK_FACTOR).contains(n)) {
            recipient.set_work_factor(log_n);
        }
        let mut plaintext = self.to_toml();
        let ciphertext = age::encrypt(&recipient, plaintext.as_bytes())
            .map_err(|_| FileError::Encrypt(shown.clone()));
        plaintext.zeroize();
        write_atomically(path, &ciphertext?)
    }

    /// The plaintext layout. The caller zeroises the result.
    fn to_toml(&self) -> String {
        let mut accounts = toml::Table::new();
        for (name, e) in &self.entries {
            let mut t = toml::Table::new();
            t.insert("api_key".into(), e.api_key.expose_secret().into());
            t.insert("api_secret".into(), e.api_secret.expose_secret().into());
            if let Some(p) = &e.passphrase {
                t.insert("passphrase".into(), p.expose_secret().into());
            }
            accounts.insert(name.clone(), toml::Value::Table(t));
        }
        let mut root = toml::Table::new();
        root.insert("accounts".into(), toml::Value::Table(accounts));
        let text = root.to_string();
        // The table's copies of the secrets are plain Strings: wipe them before they drop.
        wipe(toml::Value::Table(root));
        text
    }
}

fn check_passphrase(passphrase: &SecretString) -> Result<(), FileError> {
    if passphrase.expose_secret().is_empty() {
        return Err(FileError::EmptyPassphrase);
    }
    Ok(())
}

/// Zeroises every string in a TOML value.
fn wipe(value: toml::Value) {
    match value {
        toml::Value::String(mut s) => s.zeroize(),
        toml::Value::Table(t) => t.into_iter().for_each(|(_, v)| wipe(v)),
        toml::Value::Array(a) => a.into_iter().for_each(wipe),
        _ => {}
    }
}

/// Writes `bytes` to a fresh 0600 temporary file beside `path`, syncs it, and renames it over
/// `path`. On any failure the temporary file is removed and `path` is untouched.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| FileError::Io {
            path: path.display().to_string(),
            reason: "not a file path".into(),
        })?;
    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix).map_err(|e| FileError::Io {
        path: path.display().to_string(),
        reason: format!("no OS randomness: {e}"),
    })?;
    let tmp = dir.join(format!(".{file_name}.{}.tmp", hex_lower(&suffix)));
    let result = write_new_private(&tmp, bytes).and_then(|()| {
        std::fs::rename(&tmp, path).map_err(|e| io_error(path, "cannot replace", &e))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable; not every filesystem supports syncing a directory.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_new_private(tmp: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(tmp)
        .map_err(|e| io_error(tmp, "cannot create", &e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| io_error(tmp, "cannot write", &e))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
