//! API keys as secrets: held in [`secrecy::SecretString`] (zeroised on drop), exposed only to the
//! signing code, and never printed — `Debug` shows that a key is set, not what it is
//! (ARCHITECTURE.md, "Secrets stay secret").

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// One account's API credentials.
#[derive(Clone)]
pub struct Credentials {
    pub api_key: SecretString,
    pub api_secret: SecretString,
    /// Only BloFin and KuCoin use one.
    pub passphrase: Option<SecretString>,
}

impl Credentials {
    pub fn new(api_key: &str, api_secret: &str) -> Self {
        Self {
            api_key: SecretString::from(api_key.to_string()),
            api_secret: SecretString::from(api_secret.to_string()),
            passphrase: None,
        }
    }

    /// The key, for the header that carries it. The key is not the secret, but it identifies
    /// the account, so it is still kept out of logs.
    pub(crate) fn key(&self) -> &str {
        self.api_key.expose_secret()
    }

    pub(crate) fn secret(&self) -> &[u8] {
        self.api_secret.expose_secret().as_bytes()
    }

    /// The passphrase BloFin sends as is and KuCoin signs, when one is configured.
    pub(crate) fn passphrase(&self) -> Option<&str> {
        self.passphrase.as_ref().map(|p| p.expose_secret())
    }

    /// These credentials with a passphrase (BloFin, KuCoin).
    pub fn with_passphrase(mut self, passphrase: &str) -> Self {
        self.passphrase = Some(SecretString::from(passphrase.to_string()));
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &"[redacted]")
            .field("api_secret", &"[redacted]")
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secrets() {
        let c = Credentials::new("my-visible-key-123", "super-secret-456");
        let shown = format!("{c:?}");
        assert!(!shown.contains("my-visible-key-123"), "{shown}");
        assert!(!shown.contains("super-secret-456"), "{shown}");
        assert!(shown.contains("[redacted]"));
        assert_eq!(c.key(), "my-visible-key-123");
    }
}
