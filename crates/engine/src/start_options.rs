//! What the caller of [`crate::runtime`] provides besides the configuration; the venue
//! connector reads it too (the clock, the environment overrides).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tradeengine_model::Clock;

/// What the caller provides besides the configuration. `Debug` shows the override names only:
/// their values are secrets (webhook secrets, API tokens, the credentials passphrase).
#[derive(Clone)]
pub struct StartOptions {
    pub clock: Arc<dyn Clock>,
    /// `--live` was given.
    pub live_confirmed: bool,
    /// The configuration file to watch for hot reload, if any.
    pub config_path: Option<PathBuf>,
    /// Values that stand in for environment variables when sources read secrets (`secret_env`,
    /// `api_key_env`): the demo's generated webhook secret. Real variables win.
    pub env_overrides: BTreeMap<String, String>,
}

impl std::fmt::Debug for StartOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartOptions")
            .field("clock", &self.clock)
            .field("live_confirmed", &self.live_confirmed)
            .field("config_path", &self.config_path)
            .field(
                "env_overrides",
                &self.env_overrides.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl StartOptions {
    /// Looks a variable up in the process environment, then in the overrides.
    pub fn env(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.env_overrides.get(name).cloned())
    }
}
