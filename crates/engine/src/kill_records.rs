//! The kill switch's records in the store, as plain data: the switch ([`crate::killswitch`]) and
//! the release-into-hold marker ([`crate::release_hold`]). They sit below both modules and the
//! audit trail's payloads, which record them.

use serde::{Deserialize, Serialize};
use tradeengine_model::{AccountName, Clock, Timestamp};

/// What the switch does to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KillAction {
    /// Send nothing at all; positions stay as they are.
    Freeze,
    /// Close every position with reduce-only orders, then send nothing else.
    Flatten,
}

/// The stored switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillSwitch {
    pub action: KillAction,
    /// `None` = every account.
    pub accounts: Option<Vec<AccountName>>,
    pub reason: String,
    pub engaged_at: Timestamp,
}

impl KillSwitch {
    pub(crate) fn applies_to(&self, account: &AccountName) -> bool {
        self.accounts
            .as_ref()
            .is_none_or(|list| list.contains(account))
    }
}

/// A switch engaged now by `who`.
pub fn new_switch(
    action: KillAction,
    accounts: Option<Vec<AccountName>>,
    reason: &str,
    clock: &dyn Clock,
) -> KillSwitch {
    KillSwitch {
        action,
        accounts,
        reason: reason.to_string(),
        engaged_at: clock.now(),
    }
}

/// Targets are held at the current positions for sleeves not moved since `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseHold {
    pub at: Timestamp,
    /// The accounts released into hold (`None`: every account).
    pub accounts: Option<Vec<AccountName>>,
}

impl ReleaseHold {
    pub fn covers(&self, account: &AccountName) -> bool {
        self.accounts.as_ref().is_none_or(|a| a.contains(account))
    }
}
