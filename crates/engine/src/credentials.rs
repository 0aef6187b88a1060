//! Turning an account's `credentials` reference into keys held in `secrecy` types.
//!
//! The configuration never holds a key, only where to find it: `env:PREFIX` reads
//! `PREFIX_API_KEY`, `PREFIX_API_SECRET` and, where the venue uses one, `PREFIX_API_PASSPHRASE`.
//! Errors name the variable that is missing, never a value.

use secrecy::SecretString;

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

/// Why credentials could not be resolved. Names variables, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("environment variable {0} is not set")]
    MissingVariable(String),
    #[error("credentials reference {0:?} is not supported (use env:PREFIX)")]
    Unsupported(String),
}

/// Resolves `reference` with `lookup` (the process environment in production, a map in tests).
pub fn resolve(
    reference: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<ResolvedCredentials, CredentialError> {
    let Some(prefix) = reference.strip_prefix("env:") else {
        // Only the scheme is echoed: the rest might be a pasted key.
        let scheme = reference.split(':').next().unwrap_or("");
        return Err(CredentialError::Unsupported(format!("{scheme}:…")));
    };
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
        let e = resolve("env:X", env(&[("X_API_KEY", "FAKE-KEY-2")])).err();
        assert_eq!(
            e,
            Some(CredentialError::MissingVariable("X_API_SECRET".into()))
        );
    }

    #[test]
    fn a_pasted_key_is_not_echoed() {
        let e = resolve("sk:FAKE-PASTED-SECRET", |_| None)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|m| !m.contains("FAKE-PASTED-SECRET")));
    }
}
