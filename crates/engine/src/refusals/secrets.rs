//! The secrets each source was configured with (a TradingView source's webhook secret, a REST
//! source's bearer token), so a refusal can be scrubbed of them wherever it is recorded: a sender
//! that puts the secret in a field the refusal echoes (`{"symbol": "<secret>"}` refused as an
//! unknown symbol) must not have it shown by `signals --refused`, the API, the dashboard or the
//! log line.
//!
//! Kept process-wide, keyed by the engine's data directory and the source name (as the REST
//! tokens are), so every path that records a refusal finds them without carrying them along.
//! Sources register when they are built (start, hot reload), replacing what they registered
//! before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, RwLock};

use secrecy::{ExposeSecret, SecretString};

type Table = BTreeMap<(PathBuf, String), Vec<SecretString>>;

static SECRETS: LazyLock<RwLock<Table>> = LazyLock::new(|| RwLock::new(BTreeMap::new()));

/// Sets the secrets of one source of the engine on `data_dir` (none: forgets them).
pub fn register(data_dir: &Path, source: &str, secrets: Vec<SecretString>) {
    let key = (data_dir.to_path_buf(), source.to_string());
    let mut table = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if secrets.is_empty() {
        table.remove(&key);
    } else {
        table.insert(key, secrets);
    }
}

/// `given` and the registered secrets of `source` on `data_dir`, as owned strings (for one
/// refusal; dropped right after).
pub fn with_registered(data_dir: &Path, source: &str, given: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = given.iter().map(|s| s.to_string()).collect();
    let table = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = table.get(&(data_dir.to_path_buf(), source.to_string())) {
        out.extend(known.iter().map(|s| s.expose_secret().to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_per_engine_and_source_and_replaced() {
        let a = Path::new("/tmp/secrets-test-a");
        let b = Path::new("/tmp/secrets-test-b");
        register(a, "tv", vec![SecretString::from("fake-secret-one")]);
        assert_eq!(
            with_registered(a, "tv", &["given"]),
            vec!["given".to_string(), "fake-secret-one".to_string()]
        );
        assert!(with_registered(b, "tv", &[]).is_empty());
        assert!(with_registered(a, "other", &[]).is_empty());
        register(a, "tv", vec![SecretString::from("fake-secret-two")]);
        assert_eq!(with_registered(a, "tv", &[]), vec!["fake-secret-two"]);
        register(a, "tv", Vec::new());
        assert!(with_registered(a, "tv", &[]).is_empty());
    }
}
