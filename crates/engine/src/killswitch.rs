//! The kill switch: freeze (send nothing) or flatten (close everything, reduce-only) every
//! account or chosen ones, from the CLI, the REST API or a kill file, surviving restarts until
//! released.
//!
//! Two inputs, either of which engages it:
//! - the **stored** switch (`killswitch` in the store's state), set by `tradeengine kill` and the
//!   API and cleared only by an explicit release; because it is in the store it survives
//!   restarts and reaches every engine process that shares the database;
//! - the **kill file** `<data_dir>/KILL`: its existence freezes every account; if its first
//!   word is `flatten`, it flattens. An operator can engage it with `touch` even when the
//!   engine's database or CLI is unavailable. Deleting the file releases only what it engaged.
//!
//! A watcher reads both every second; account workers consult the result before every plan.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;
use tradeengine_model::{AccountName, Timestamp};
use tradeengine_store::{Store, StoreError};

use crate::audit_payload::AuditPayload;
pub use crate::kill_records::{KillAction, KillSwitch, new_switch};

/// The store key of the switch.
pub const STATE_KEY: &str = "killswitch";
/// The kill file's name in the data dir.
pub const KILL_FILE: &str = "KILL";

/// The switch as an account worker sees it: the stored one and the file, combined.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KillState {
    pub stored: Option<KillSwitch>,
    /// The kill file's action, when the file exists.
    pub file: Option<KillAction>,
}

impl KillState {
    /// The strongest action that applies to `account`, if any. Flatten beats freeze.
    pub fn action_for(&self, account: &AccountName) -> Option<KillAction> {
        let stored = self
            .stored
            .as_ref()
            .filter(|k| k.applies_to(account))
            .map(|k| k.action);
        match (stored, self.file) {
            (Some(KillAction::Flatten), _) | (_, Some(KillAction::Flatten)) => {
                Some(KillAction::Flatten)
            }
            (Some(a), _) | (None, Some(a)) => Some(a),
            (None, None) => None,
        }
    }

    pub fn is_engaged(&self) -> bool {
        self.stored.is_some() || self.file.is_some()
    }
}

/// Shared, refreshed kill state.
pub type SharedKillState = Arc<RwLock<KillState>>;

/// Engages the stored switch (replacing any previous one) and audits it.
pub async fn engage(store: &dyn Store, switch: &KillSwitch) -> Result<(), StoreError> {
    let value = serde_json::to_value(switch).map_err(|e| StoreError::Corrupt {
        what: "kill switch".into(),
        reason: e.to_string(),
    })?;
    store.put_state(STATE_KEY, &value).await?;
    AuditPayload::KillEngaged { engaged: switch }
        .record(store, None, None, switch.engaged_at)
        .await?;
    Ok(())
}

/// Releases the stored switch and audits it. Returns whether one was engaged.
pub async fn release(store: &dyn Store, by: &str, at: Timestamp) -> Result<bool, StoreError> {
    let was = read_stored(store).await?;
    store.put_state(STATE_KEY, &serde_json::Value::Null).await?;
    AuditPayload::KillReleased {
        released: was.as_ref(),
        by,
    }
    .record(store, None, None, at)
    .await?;
    Ok(was.is_some())
}

/// The stored switch, if engaged.
pub async fn read_stored(store: &dyn Store) -> Result<Option<KillSwitch>, StoreError> {
    match store.get_state(STATE_KEY).await? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                what: "kill switch".into(),
                reason: e.to_string(),
            }),
    }
}

/// The kill file's action, if the file exists. An unreadable file freezes: when in doubt, stop.
pub fn read_file(data_dir: &Path) -> Option<KillAction> {
    let path = data_dir.join(KILL_FILE);
    if !path.exists() {
        return None;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let first = text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    Some(if first == "flatten" {
        KillAction::Flatten
    } else {
        KillAction::Freeze
    })
}

/// Reads the store and the file once. A store that cannot be read keeps the last known stored
/// switch (it never silently releases).
pub async fn refresh(shared: &SharedKillState, store: &dyn Store, data_dir: &Path) {
    let file = read_file(data_dir);
    let stored = match read_stored(store).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the kill switch; keeping the last known state");
            shared.read().await.stored.clone()
        }
    };
    let next = KillState { stored, file };
    let changed = {
        let mut current = shared.write().await;
        let changed = *current != next;
        if changed {
            if next.is_engaged() {
                tracing::warn!(state = ?next, "KILL SWITCH ENGAGED");
            } else {
                tracing::warn!("kill switch released");
            }
            *current = next.clone();
        }
        changed
    };
    if changed {
        acknowledge(store, &next).await;
    }
}

/// The store key where a running engine records the switch it now applies: what
/// `tradeengine kill` waits for to say that a running engine took it.
pub const ACK_KEY: &str = "killswitch.ack";

/// Where an account's worker keeps, while the switch holds, the targets a release would trade
/// to: `{"targets": {symbol: quantity}, "at": time}`.
pub fn release_targets_key(account: &AccountName) -> String {
    format!("killswitch.release_targets.{account}")
}

/// Quantities by symbol, and when the worker computed them.
pub type ReleaseTargets = (
    std::collections::BTreeMap<String, rust_decimal::Decimal>,
    Timestamp,
);

/// The targets a release would trade to, as the account's worker last computed them while the
/// switch held (`None`: no engine cycle ran under the switch).
pub async fn release_targets(
    store: &dyn Store,
    account: &AccountName,
) -> Result<Option<ReleaseTargets>, StoreError> {
    #[derive(serde::Deserialize)]
    struct Stored {
        targets: std::collections::BTreeMap<String, rust_decimal::Decimal>,
        at: Timestamp,
    }
    Ok(
        match store.get_state(&release_targets_key(account)).await? {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => serde_json::from_value::<Stored>(v)
                .ok()
                .map(|s| (s.targets, s.at)),
        },
    )
}

/// A running engine's acknowledgement of the switch it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillAck {
    /// The stored switch as the engine read it (`None`: released).
    pub stored: Option<KillSwitch>,
    pub file: Option<KillAction>,
    /// The acknowledging process.
    pub pid: u32,
    /// When it read the switch (its wall clock).
    pub at: Timestamp,
}

/// Records that this process applies `state` (best effort: the switch applies either way).
async fn acknowledge(store: &dyn Store, state: &KillState) {
    let ack = KillAck {
        stored: state.stored.clone(),
        file: state.file,
        pid: std::process::id(),
        at: chrono::Utc::now(),
    };
    let result = match serde_json::to_value(&ack) {
        Ok(v) => store.put_state(ACK_KEY, &v).await,
        Err(e) => Err(StoreError::Corrupt {
            what: "kill switch acknowledgement".into(),
            reason: e.to_string(),
        }),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot record the kill switch acknowledgement");
    }
}

/// The latest acknowledgement a running engine wrote, if any (an unreadable one counts as none).
pub async fn read_ack(store: &dyn Store) -> Result<Option<KillAck>, StoreError> {
    Ok(store
        .get_state(ACK_KEY)
        .await?
        .and_then(|v| serde_json::from_value(v).ok()))
}

/// Refreshes the shared state every second until `stop`.
pub async fn watch(
    shared: SharedKillState,
    store: Arc<dyn Store>,
    data_dir: PathBuf,
    on_change: impl Fn() + Send + 'static,
    stop: CancellationToken,
) {
    loop {
        let before = shared.read().await.clone();
        refresh(&shared, &*store, &data_dir).await;
        if *shared.read().await != before {
            on_change();
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(n: &str) -> AccountName {
        AccountName::new(n).unwrap_or_else(|e| panic!("{e}"))
    }

    fn switch(action: KillAction, accounts: Option<Vec<AccountName>>) -> KillSwitch {
        KillSwitch {
            action,
            accounts,
            reason: "test".into(),
            engaged_at: chrono::DateTime::from_timestamp(0, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn scoped_switch_applies_only_to_named_accounts() {
        let s = KillState {
            stored: Some(switch(KillAction::Freeze, Some(vec![acct("a")]))),
            file: None,
        };
        assert_eq!(s.action_for(&acct("a")), Some(KillAction::Freeze));
        assert_eq!(s.action_for(&acct("b")), None);
    }

    #[test]
    fn flatten_beats_freeze_and_the_file_covers_everyone() {
        let s = KillState {
            stored: Some(switch(KillAction::Freeze, None)),
            file: Some(KillAction::Flatten),
        };
        assert_eq!(s.action_for(&acct("x")), Some(KillAction::Flatten));
        let f = KillState {
            stored: None,
            file: Some(KillAction::Freeze),
        };
        assert_eq!(f.action_for(&acct("y")), Some(KillAction::Freeze));
        assert_eq!(KillState::default().action_for(&acct("y")), None);
    }

    #[test]
    fn kill_file_reads_its_first_word() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_file(dir.path()), None);
        std::fs::write(dir.path().join(KILL_FILE), "").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_file(dir.path()), Some(KillAction::Freeze));
        std::fs::write(dir.path().join(KILL_FILE), "FLATTEN now\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_file(dir.path()), Some(KillAction::Flatten));
    }
}
