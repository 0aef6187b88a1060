//! Hot reload: the config file is checked every two seconds (by modification time and content,
//! so editors that save by rename are seen too). A new version is parsed and validated in full,
//! then checked against the hot-reload rules; only a version that passes replaces the running
//! one. Anything else is refused with a logged error, and the previous configuration stays in
//! force.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tradeengine_model::Clock;
use tradeengine_store::{AuditKind, Store};

use crate::config::reload::check_hot_reload;
use crate::config::{self, Overrides};
use crate::state::SharedState;

/// How often the file is looked at.
const POLL: Duration = Duration::from_secs(2);

/// Outcome of looking at the file once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    Unchanged,
    Applied,
    Refused(String),
}

/// Tries to apply the file's current text. Environment overrides apply as at start.
pub async fn reload_once(
    path: &std::path::Path,
    text: &str,
    state: &SharedState,
    store: &dyn Store,
    clock: &dyn Clock,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> ReloadOutcome {
    let current = state.config();
    let mut next = match config::load_str(
        text,
        Some(path),
        &config::process_env(),
        &Overrides::default(),
    ) {
        Ok(c) => c,
        Err(e) => return ReloadOutcome::Refused(e.to_string()),
    };
    // Flags given at start (data dir, bind, mode, database) are not in the file; keep them.
    next.engine = current.engine.clone();
    if next == *current {
        return ReloadOutcome::Unchanged;
    }
    if let Err(e) = check_hot_reload(&current, &next) {
        return ReloadOutcome::Refused(e.to_string());
    }
    if let Err(e) = store
        .audit(
            AuditKind::ConfigChanged,
            None,
            None,
            serde_json::json!({"file": path.display().to_string(), "config": next}),
            clock.now(),
        )
        .await
    {
        return ReloadOutcome::Refused(format!("cannot record the change: {e}"));
    }
    // Webhook endpoints carry the symbol mapping, which is hot: rebuild them first, so a mapping
    // that cannot be built refuses the whole reload.
    match crate::sources::tradingview::endpoints(&next, env) {
        Ok(w) => *state.webhooks.write().await = w,
        Err(e) => return ReloadOutcome::Refused(e),
    }
    state.set_config(next);
    ReloadOutcome::Applied
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
        match reload_once(&path, &text, &state, &*store, &*clock, &env).await {
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
