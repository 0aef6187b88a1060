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
pub use crate::kill_records::{KillAction, KillConflict, KillSwitch, merge, new_switch};

/// The store key of the switch.
pub const STATE_KEY: &str = "killswitch";
/// The kill file's name in the data dir.
pub const KILL_FILE: &str = "KILL";
/// The store key of the freezes the engine decided while the stored switch flattened other
/// accounts (see [`FreezeOutcome::NotStored`]): kept so `status` shows them and a restart keeps
/// holding those accounts until the freeze can be stored.
pub const PENDING_FREEZES_KEY: &str = "killswitch_pending_freezes";

/// A freeze the engine decided for `account` that the stored switch cannot hold yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFreeze {
    pub account: AccountName,
    pub reason: String,
    pub since: Timestamp,
}

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

/// Why [`engage_merged`] did not engage.
#[derive(Debug, thiserror::Error)]
pub enum EngageError {
    #[error(transparent)]
    Conflict(#[from] KillConflict),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Engages `new` on top of the stored switch ([`merge`]): what is engaged stays engaged. The
/// switch as stored afterwards is returned. What operators type (CLI, API, Telegram) goes
/// through here; only a release takes anything away.
pub async fn engage_merged(store: &dyn Store, new: KillSwitch) -> Result<KillSwitch, EngageError> {
    let _one_at_a_time = FREEZE_LOCK.lock().await;
    let current = read_stored(store).await?;
    let merged = merge(current.as_ref(), new)?;
    if current.as_ref() != Some(&merged) {
        engage(store, &merged).await?;
    }
    Ok(merged)
}

/// Serialises this process's read-modify-write of the stored switch, so two accounts frozen at
/// the same moment both end up in it.
static FREEZE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What [`freeze_account`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezeOutcome {
    /// A freeze of this account was engaged, or the account added to a freeze of others.
    Engaged,
    /// The stored switch holds the account already.
    AlreadyHeld,
    /// The stored switch flattens other accounts; one switch has one action, and a flatten is
    /// never weakened nor widened, so the caller must hold the account itself.
    NotStored,
}

/// Freezes `account` through the stored switch, for the engine's own reasons (another trader on
/// the account, see `worker::outside`): engages a freeze of that account when no switch is
/// engaged, adds it to a freeze of other accounts, and leaves a switch that holds it already as
/// it is. Audited like an operator's `kill`.
pub async fn freeze_account(
    store: &dyn Store,
    account: &AccountName,
    reason: &str,
    at: Timestamp,
) -> Result<FreezeOutcome, StoreError> {
    let _one_at_a_time = FREEZE_LOCK.lock().await;
    let outcome = store_freeze(store, account, reason, at).await?;
    let mut pending = read_pending_freezes(store).await?;
    let before = pending.clone();
    if outcome == FreezeOutcome::NotStored {
        if !pending.iter().any(|p| &p.account == account) {
            pending.push(PendingFreeze {
                account: account.clone(),
                reason: reason.to_string(),
                since: at,
            });
        }
    } else {
        pending.retain(|p| &p.account != account);
    }
    if pending != before {
        let value = serde_json::to_value(&pending).map_err(|e| StoreError::Corrupt {
            what: "pending freezes".into(),
            reason: e.to_string(),
        })?;
        store.put_state(PENDING_FREEZES_KEY, &value).await?;
    }
    Ok(outcome)
}

async fn store_freeze(
    store: &dyn Store,
    account: &AccountName,
    reason: &str,
    at: Timestamp,
) -> Result<FreezeOutcome, StoreError> {
    let switch = match read_stored(store).await? {
        Some(current) if current.applies_to(account) => return Ok(FreezeOutcome::AlreadyHeld),
        Some(current) if current.action == KillAction::Flatten => {
            return Ok(FreezeOutcome::NotStored);
        }
        Some(mut current) => {
            current
                .accounts
                .get_or_insert_with(Vec::new)
                .push(account.clone());
            current.reason = format!("{}; {account}: {reason}", current.reason);
            current
        }
        None => KillSwitch {
            action: KillAction::Freeze,
            accounts: Some(vec![account.clone()]),
            reason: format!("{account}: {reason}"),
            engaged_at: at,
        },
    };
    engage(store, &switch).await?;
    Ok(FreezeOutcome::Engaged)
}

/// The freezes the engine holds itself until the stored switch can take them, oldest first.
pub async fn read_pending_freezes(store: &dyn Store) -> Result<Vec<PendingFreeze>, StoreError> {
    match store.get_state(PENDING_FREEZES_KEY).await? {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v).map_err(|e| StoreError::Corrupt {
            what: "pending freezes".into(),
            reason: e.to_string(),
        }),
    }
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

    #[tokio::test]
    async fn freezing_an_account_engages_widens_or_leaves_the_switch() {
        let dir = tempfile::tempdir().unwrap();
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let at = chrono::Utc::now();
        let outcome = freeze_account(&*store, &acct("a"), "fight", at)
            .await
            .unwrap();
        assert_eq!(outcome, FreezeOutcome::Engaged);
        let stored = read_stored(&*store).await.unwrap().unwrap();
        assert_eq!(stored.action, KillAction::Freeze);
        assert_eq!(stored.accounts, Some(vec![acct("a")]));
        assert!(stored.reason.contains("a: fight"), "{}", stored.reason);
        let again = freeze_account(&*store, &acct("a"), "fight", at)
            .await
            .unwrap();
        assert_eq!(again, FreezeOutcome::AlreadyHeld);
        let widened = freeze_account(&*store, &acct("b"), "fight too", at)
            .await
            .unwrap();
        assert_eq!(widened, FreezeOutcome::Engaged);
        let stored = read_stored(&*store).await.unwrap().unwrap();
        assert_eq!(stored.accounts, Some(vec![acct("a"), acct("b")]));
        assert!(stored.reason.contains("b: fight too"), "{}", stored.reason);
        // A flatten of other accounts is neither weakened nor widened.
        engage(&*store, &switch(KillAction::Flatten, Some(vec![acct("c")])))
            .await
            .unwrap();
        let outcome = freeze_account(&*store, &acct("a"), "fight", at)
            .await
            .unwrap();
        assert_eq!(outcome, FreezeOutcome::NotStored);
        let stored = read_stored(&*store).await.unwrap().unwrap();
        assert_eq!(
            (stored.action, stored.accounts),
            (KillAction::Flatten, Some(vec![acct("c")]))
        );
        // ... but the engine's freeze is kept beside it, once, with its first time.
        let later = at + chrono::Duration::seconds(30);
        freeze_account(&*store, &acct("a"), "fight", later)
            .await
            .unwrap();
        assert_eq!(
            read_pending_freezes(&*store).await.unwrap(),
            vec![PendingFreeze {
                account: acct("a"),
                reason: "fight".into(),
                since: at
            }]
        );
        // A switch of every account holds it already.
        engage(&*store, &switch(KillAction::Freeze, None))
            .await
            .unwrap();
        let outcome = freeze_account(&*store, &acct("a"), "fight", at)
            .await
            .unwrap();
        assert_eq!(outcome, FreezeOutcome::AlreadyHeld);
        // Once the stored switch holds the account, the pending freeze is gone.
        assert_eq!(read_pending_freezes(&*store).await.unwrap(), vec![]);
    }

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
