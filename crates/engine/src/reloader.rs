//! Hot reload: the config file is checked every two seconds (by modification time and content,
//! so editors that save by rename are seen too). A new version is parsed and validated in full;
//! one that does not parse or validate is refused with a logged error, and the previous
//! configuration stays in force.
//!
//! A valid version is applied except for what only a restart can apply (see [`restart`]): most
//! of `[engine]` (mode, bind address, database URL, data dir, `hot_reload`), accounts and
//! sources added or removed, an account's venue, credentials or other settings its worker was
//! built with, a source's type or settings. Those keep their running values; each such key is
//! named in a warning and in the `config_changed` audit event of the reload, and the rest
//! applies. (Before, `[engine]` edits were dropped without a word, and a change needing a
//! restart refused every other change beside it.) Removals that would leave money unmanaged (an
//! account, a source, a symbol an account holds, every risk limit) refuse the whole reload: see
//! [`guard`]. The running configuration is validated again
//! as merged, so a live change that leans on a key still waiting for a restart (a weight for a
//! source not started yet) refuses the reload instead of half-applying.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tradeengine_model::Clock;
use tradeengine_store::Store;

use crate::config::{self, Overrides};
use crate::state::SharedState;

mod guard;
pub mod restart;

/// How often the file is looked at.
const POLL: Duration = Duration::from_secs(2);

/// Outcome of looking at the file once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    Unchanged,
    Applied,
    Refused(String),
}

/// What one reload did, and the keys it left for a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    pub outcome: ReloadOutcome,
    /// Keys the file changed that only a restart applies (they keep their running values),
    /// e.g. `engine.bind`, `accounts.b (added)`. Empty when refused.
    pub needs_restart: Vec<String>,
}

impl ReloadReport {
    fn refused(reason: String) -> Self {
        Self {
            outcome: ReloadOutcome::Refused(reason),
            needs_restart: Vec::new(),
        }
    }
}

/// Records the `[engine]` table the file at `path` says now (environment applied, start flags
/// not) as what later reloads compare against. Called once at start; a file that cannot be
/// read or parsed records nothing, and reloads then compare against the running `[engine]`.
pub fn remember_file_engine(state: &SharedState, path: &std::path::Path) {
    let parsed = std::fs::read_to_string(path).ok().and_then(|text| {
        config::load_str(
            &text,
            Some(path),
            &config::process_env(),
            &Overrides::default(),
        )
        .ok()
    });
    if let Some(c) = parsed {
        state.set_file_engine(c.engine);
    }
}

/// Tries to apply the file's current text. Environment overrides apply as at start. See
/// [`reload`] for the keys left for a restart.
pub async fn reload_once(
    path: &std::path::Path,
    text: &str,
    state: &SharedState,
    store: &dyn Store,
    clock: &dyn Clock,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> ReloadOutcome {
    reload(path, text, state, store, clock, env).await.outcome
}

/// Tries to apply the file's current text: everything that can change live applies; every key
/// that needs a restart keeps its running value and is named in a warning and in the audit
/// event (which is written even when nothing else changed).
pub async fn reload(
    path: &std::path::Path,
    text: &str,
    state: &SharedState,
    store: &dyn Store,
    clock: &dyn Clock,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> ReloadReport {
    let current = state.config();
    let file = match config::load_str(
        text,
        Some(path),
        &config::process_env(),
        &Overrides::default(),
    ) {
        Ok(c) => c,
        Err(e) => return ReloadReport::refused(e.to_string()),
    };
    if let Some(reason) = guard::refusal(&current, &file, text, &state.account_views().await) {
        return ReloadReport::refused(reason);
    }
    // Flags given at start (data dir, bind, mode, database) are not in the file: `[engine]` is
    // compared with what the file said at start, not with the running values.
    let file_engine_at_start = state
        .file_engine()
        .cloned()
        .unwrap_or_else(|| current.engine.clone());
    let merged = restart::merge(&current, &file_engine_at_start, file);
    let needs_restart = merged.needs_restart;
    let next = merged.config;
    if !needs_restart.is_empty()
        && let Err((key, reason)) = config::validate::validate(&next)
    {
        return ReloadReport::refused(format!(
            "{key}: {reason} (with {} kept at the running values until a restart)",
            needs_restart.join(", ")
        ));
    }
    let changed = next != *current;
    if !needs_restart.is_empty() {
        tracing::warn!(file = %path.display(), keys = %needs_restart.join(", "), applied_the_rest = changed, "configuration keys changed that need a restart; they keep their running values until then");
    }
    if !changed && needs_restart.is_empty() {
        return ReloadReport {
            outcome: ReloadOutcome::Unchanged,
            needs_restart,
        };
    }
    let payload = crate::audit_payload::AuditPayload::ConfigChanged {
        file: path.display().to_string(),
        needs_restart: &needs_restart,
        applied: changed,
        config: changed.then_some(&next),
    };
    if let Err(e) = payload.record(store, None, None, clock.now()).await {
        return ReloadReport::refused(format!("cannot record the change: {e}"));
    }
    if !changed {
        return ReloadReport {
            outcome: ReloadOutcome::Unchanged,
            needs_restart,
        };
    }
    // Webhook endpoints carry the symbol mapping, which is hot: rebuild them first, so a mapping
    // that cannot be built refuses the whole reload.
    match crate::sources::tradingview::endpoints(&next, env) {
        Ok(w) => state.set_webhooks(w).await,
        Err(e) => return ReloadReport::refused(e),
    }
    state.set_config(next);
    ReloadReport {
        outcome: ReloadOutcome::Applied,
        needs_restart,
    }
}

/// Watches `path` until `stop`.
pub async fn watch(
    path: PathBuf,
    state: SharedState,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    env_overrides: std::collections::BTreeMap<String, String>,
    stop: CancellationToken,
) {
    // Secrets are looked up as at start: the environment first, then the start's overrides.
    let env = move |k: &str| {
        std::env::var(k)
            .ok()
            .or_else(|| env_overrides.get(k).cloned())
    };
    let mut last = std::fs::read_to_string(&path).ok();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        let Ok(text) = tokio::fs::read_to_string(&path).await else {
            continue;
        };
        if last.as_deref() == Some(text.as_str()) {
            continue;
        }
        last = Some(text.clone());
        let report = reload(&path, &text, &state, &*store, &*clock, &env).await;
        match report.outcome {
            ReloadOutcome::Applied => {
                tracing::info!(file = %path.display(), "configuration reloaded")
            }
            ReloadOutcome::Unchanged => {}
            ReloadOutcome::Refused(reason) => {
                tracing::error!(file = %path.display(), %reason, "configuration change refused; the previous configuration stays in force")
            }
        }
    }
}
