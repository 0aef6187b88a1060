//! Turning an account's `credentials` reference into keys held in `secrecy` types.
//!
//! The configuration never holds a key, only where to find it:
//! - `env:PREFIX` reads `PREFIX_API_KEY`, `PREFIX_API_SECRET` and, where the venue uses one,
//!   `PREFIX_API_PASSPHRASE`;
//! - `file:PATH` reads the account's entry (by account name) from an `age`-encrypted
//!   credentials file ([`file`]), whose passphrase comes from
//!   `TRADEENGINE_CREDENTIALS_PASSPHRASE` (the CLI prompts for it when a terminal is attached).
//!   A relative `PATH` is taken from the working directory.
//!
//! Errors name the variable, file or account that is missing, never a value.

pub mod file;

use std::path::PathBuf;

use secrecy::SecretString;

pub use file::{CredentialsFile, FileError, PASSPHRASE_VAR};

/// An account's keys. `Debug` shows nothing of them.
pub struct ResolvedCredentials {
    pub api_key: SecretString,
    pub api_secret: SecretString,
    pub passphrase: Option<SecretString>,
}

impl std::fmt::Debug for ResolvedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedCredentials")
            .field("api_key", &"[redacted]")
            .field("api_secret", &"[redacted]")
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Why credentials could not be resolved. Names variables, files and accounts, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("environment variable {0} is not set")]
    MissingVariable(String),
    #[error("credentials reference {0:?} is not supported (use env:PREFIX or file:PATH)")]
    Unsupported(String),
    #[error(
        "credentials file {0} needs a passphrase: set {PASSPHRASE_VAR} or run interactively to be prompted"
    )]
    NoPassphrase(String),
    #[error(
        "credentials file {file} has no entry for account {account} (add one with `tradeengine credentials set --account {account}`)"
    )]
    MissingAccount { file: String, account: String },
    #[error("{0}")]
    File(#[from] FileError),
}

/// Where an account's keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `env:PREFIX`.
    Env(String),
    /// `file:PATH`.
    File(PathBuf),
}

impl Reference {
    /// Parses `env:PREFIX` or `file:PATH`. Anything else is refused, echoing only the scheme:
    /// the rest might be a pasted key.
    pub fn parse(reference: &str) -> Result<Self, CredentialError> {
        if let Some(prefix) = reference.strip_prefix("env:") {
            return Ok(Self::Env(prefix.to_string()));
        }
        if let Some(path) = reference.strip_prefix("file:")
            && !path.is_empty()
        {
            return Ok(Self::File(PathBuf::from(path)));
        }
        // A scheme is short and alphabetic; anything else (no colon at all, a long token)
        // may be the key itself and is not shown.
        let shown = match reference.split_once(':') {
            Some((scheme, _))
                if scheme.len() <= 8 && scheme.chars().all(|c| c.is_ascii_alphabetic()) =>
            {
                format!("{scheme}:…")
            }
            _ => "…".to_string(),
        };
        Err(CredentialError::Unsupported(shown))
    }
}

/// Resolves `account`'s `reference` with `lookup` (the process environment in production, a map
/// in tests). A `file:` reference decrypts the file, which is slow on purpose (scrypt): async
/// callers use [`resolve_async`].
pub fn resolve(
    reference: &str,
    account: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<ResolvedCredentials, CredentialError> {
    match Reference::parse(reference)? {
        Reference::Env(prefix) => resolve_env(&prefix, lookup),
        Reference::File(path) => {
            let passphrase = file_passphrase(&path, &lookup)?;
            resolve_file(&path, account, &passphrase)
        }
    }
}

/// [`resolve`] with the decryption moved off the async runtime.
pub async fn resolve_async(
    reference: &str,
    account: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<ResolvedCredentials, CredentialError> {
    match Reference::parse(reference)? {
        Reference::Env(prefix) => resolve_env(&prefix, lookup),
        Reference::File(path) => {
            let passphrase = file_passphrase(&path, &lookup)?;
            let account = account.to_string();
            let shown = path.display().to_string();
            tokio::task::spawn_blocking(move || resolve_file(&path, &account, &passphrase))
                .await
                .map_err(|_| {
                    CredentialError::File(FileError::Io {
                        path: shown,
                        reason: "decryption task failed".into(),
                    })
                })?
        }
    }
}

fn file_passphrase(
    path: &std::path::Path,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<SecretString, CredentialError> {
    lookup(PASSPHRASE_VAR)
        .filter(|p| !p.is_empty())
        .map(SecretString::from)
        .ok_or_else(|| CredentialError::NoPassphrase(path.display().to_string()))
}

fn resolve_file(
    path: &std::path::Path,
    account: &str,
    passphrase: &SecretString,
) -> Result<ResolvedCredentials, CredentialError> {
    let file = CredentialsFile::open(path, passphrase)?;
    file.get(account)
        .ok_or_else(|| CredentialError::MissingAccount {
            file: path.display().to_string(),
            account: account.to_string(),
        })
}

fn resolve_env(
    prefix: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<ResolvedCredentials, CredentialError> {
    let get = |suffix: &str| {
        let name = format!("{prefix}_{suffix}");
        lookup(&name)
            .filter(|v| !v.is_empty())
            .map(SecretString::from)
            .ok_or(CredentialError::MissingVariable(name))
    };
    Ok(ResolvedCredentials {
        api_key: get("API_KEY")?,
        api_secret: get("API_SECRET")?,
        passphrase: get("API_PASSPHRASE").ok(),
    })
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn reads_prefixed_variables() {
        let c = resolve(
            "env:BYBIT_MAIN",
            "bybit-main",
            env(&[
                ("BYBIT_MAIN_API_KEY", "FAKE-KEY-1"),
                ("BYBIT_MAIN_API_SECRET", "FAKE-SECRET-1"),
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.api_key.expose_secret(), "FAKE-KEY-1");
        assert!(c.passphrase.is_none());
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("FAKE-KEY-1") && !shown.contains("FAKE-SECRET-1"),
            "{shown}"
        );
    }

    #[test]
    fn missing_variable_is_named_without_values() {
        let e = resolve("env:X", "x", env(&[("X_API_KEY", "FAKE-KEY-2")])).err();
        assert_eq!(
            e,
            Some(CredentialError::MissingVariable("X_API_SECRET".into()))
        );
    }

    #[test]
    fn a_pasted_key_is_not_echoed() {
        let e = resolve("sk:FAKE-PASTED-SECRET", "a", |_| None)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|m| !m.contains("FAKE-PASTED-SECRET")));
        let e = resolve("FAKE-PASTED-NO-SCHEME", "a", |_| None)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|m| !m.contains("FAKE-PASTED-NO-SCHEME")));
    }

    #[tokio::test]
    async fn file_reference_reads_the_accounts_entry() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("keys.age");
        let mut f = CredentialsFile::new();
        f.set(
            "bybit-main",
            ResolvedCredentials {
                api_key: "FAKE-KEY-F".into(),
                api_secret: "FAKE-SECRET-F".into(),
                passphrase: None,
            },
        );
        f.save(&path, &SecretString::from("pw-1"), Some(4))
            .unwrap_or_else(|e| panic!("{e}"));
        let reference = format!("file:{}", path.display());

        let c = resolve_async(&reference, "bybit-main", env(&[(PASSPHRASE_VAR, "pw-1")]))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.api_secret.expose_secret(), "FAKE-SECRET-F");

        let e = resolve(&reference, "other", env(&[(PASSPHRASE_VAR, "pw-1")])).err();
        assert!(
            matches!(&e, Some(CredentialError::MissingAccount { account, .. }) if account == "other"),
            "{e:?}"
        );
        let e = resolve(&reference, "bybit-main", env(&[])).err();
        assert!(matches!(e, Some(CredentialError::NoPassphrase(_))), "{e:?}");
        let e = resolve(&reference, "bybit-main", env(&[(PASSPHRASE_VAR, "pw-2")]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("cannot decrypt") && !e.contains("pw-"), "{e}");
        assert!(matches!(
            Reference::parse("file:"),
            Err(CredentialError::Unsupported(_))
        ));
    }
}
