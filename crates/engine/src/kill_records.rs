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
    /// The accounts it holds, as operators read them: "a, b" or "every account".
    pub fn scope(&self) -> String {
        self.accounts.as_ref().map_or_else(
            || "every account".to_string(),
            |a| {
                a.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        )
    }

    pub(crate) fn applies_to(&self, account: &AccountName) -> bool {
        self.accounts
            .as_ref()
            .is_none_or(|list| list.contains(account))
    }
}

/// Why a new engage cannot be added to the switch already engaged. One switch has one action,
/// and an engage never releases what another one holds: the operator is told what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KillConflict(pub String);

/// Every account of `inner` is held by `outer`.
fn covers(outer: Option<&Vec<AccountName>>, inner: Option<&Vec<AccountName>>) -> bool {
    match (outer, inner) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(o), Some(i)) => i.iter().all(|a| o.contains(a)),
    }
}

/// The switch after `new` is engaged on top of `current`: an engage adds to what is engaged
/// and never takes anything away. (Replacing the switch let a freeze of one account lift
/// another account's flatten, whose positions reopened within seconds.)
/// - nothing engaged: `new`;
/// - the same action: one switch over both sets of accounts, since the first engage;
/// - a flatten over every account a freeze holds: the flatten (stronger everywhere);
/// - a freeze of accounts a flatten already closes: the flatten, unchanged;
/// - otherwise (a flatten of some accounts beside a freeze of others, either order) the two
///   cannot be one switch: refused, saying what to do instead.
pub fn merge(current: Option<&KillSwitch>, new: KillSwitch) -> Result<KillSwitch, KillConflict> {
    let Some(cur) = current else {
        return Ok(new);
    };
    let reason = if cur.reason == new.reason {
        cur.reason.clone()
    } else {
        format!("{}; {}", cur.reason, new.reason)
    };
    match (cur.action, new.action) {
        (a, b) if a == b => {
            let accounts = match (&cur.accounts, &new.accounts) {
                (Some(x), Some(y)) => {
                    let mut all = x.clone();
                    all.extend(y.iter().filter(|n| !x.contains(n)).cloned());
                    Some(all)
                }
                _ => None,
            };
            Ok(KillSwitch {
                action: a,
                accounts,
                reason,
                engaged_at: cur.engaged_at,
            })
        }
        (KillAction::Freeze, KillAction::Flatten)
            if covers(new.accounts.as_ref(), cur.accounts.as_ref()) =>
        {
            Ok(KillSwitch { reason, ..new })
        }
        (KillAction::Flatten, KillAction::Freeze)
            if covers(cur.accounts.as_ref(), new.accounts.as_ref()) =>
        {
            Ok(cur.clone())
        }
        (KillAction::Freeze, _) => Err(KillConflict(format!(
            "the kill switch freezes {}; a flatten of {} alone would lift that freeze. \
             Flatten those accounts too (name them all, or no --account for every account), \
             or release first",
            cur.scope(),
            new.scope()
        ))),
        (KillAction::Flatten, _) => Err(KillConflict(format!(
            "the kill switch flattens {}; a freeze of {} cannot be held beside it (one switch, \
             one action) and replacing it would stop that flatten. Flatten those accounts too, \
             or release first",
            cur.scope(),
            new.scope()
        ))),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(n: &str) -> AccountName {
        AccountName::new(n).unwrap()
    }

    fn switch(action: KillAction, accounts: Option<&[&str]>, reason: &str, at: i64) -> KillSwitch {
        KillSwitch {
            action,
            accounts: accounts.map(|a| a.iter().map(|n| acct(n)).collect()),
            reason: reason.into(),
            engaged_at: chrono::DateTime::from_timestamp(at, 0).unwrap(),
        }
    }

    #[test]
    fn an_engage_never_lifts_what_is_engaged() {
        use KillAction::{Flatten, Freeze};
        let flat_bf = switch(Flatten, Some(&["bf"]), "first", 1);
        // The rehearsal's sequence: flatten bf, then freeze kc. Before, the freeze replaced
        // the flatten and bf reopened.
        let err = merge(Some(&flat_bf), switch(Freeze, Some(&["kc"]), "second", 2)).unwrap_err();
        assert!(err.0.contains("flattens bf"), "{err}");
        // Flatten kc too: both flatten, since the first engage.
        let both = merge(Some(&flat_bf), switch(Flatten, Some(&["kc"]), "second", 2)).unwrap();
        assert_eq!(
            both,
            switch(Flatten, Some(&["bf", "kc"]), "first; second", 1)
        );
        // A freeze of an account already flattening changes nothing.
        assert_eq!(
            merge(Some(&flat_bf), switch(Freeze, Some(&["bf"]), "first", 3)).unwrap(),
            flat_bf
        );
        // Freezes add up; every account absorbs a list.
        let fz = switch(Freeze, Some(&["a"]), "r", 1);
        assert_eq!(
            merge(Some(&fz), switch(Freeze, None, "r", 2)).unwrap(),
            switch(Freeze, None, "r", 1)
        );
        // A flatten over every frozen account strengthens them all; a narrower one is refused.
        assert_eq!(
            merge(Some(&fz), switch(Flatten, Some(&["a", "b"]), "r", 2)).unwrap(),
            switch(Flatten, Some(&["a", "b"]), "r", 2)
        );
        let err = merge(Some(&fz), switch(Flatten, Some(&["b"]), "r", 2)).unwrap_err();
        assert!(err.0.contains("freezes a"), "{err}");
        // A freeze of every account beside a flatten of one is refused, not merged.
        assert!(merge(Some(&flat_bf), switch(Freeze, None, "r", 2)).is_err());
        // Nothing engaged: the new switch as it is.
        let new = switch(Freeze, Some(&["x"]), "r", 9);
        assert_eq!(merge(None, new.clone()).unwrap(), new);
    }
}
