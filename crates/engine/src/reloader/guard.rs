//! Edits a reload refuses whole, because applying the rest of the file live would leave money
//! unmanaged. A file emptied or cut short by a bad save, a full disk or a copy in progress parses
//! as a valid configuration with fewer accounts, sources, symbols and limits; each of those
//! removals is refused here, naming what it would drop, and the running configuration stays.
//!
//! - an account or a source removed (its worker or intake would keep running on the old
//!   settings while the rest of the file changes around it);
//! - a symbol removed while an account holds a position in it or has a target for it: the engine
//!   would stop trading it and refuse its exit alerts, leaving the position open. Set its weights
//!   to 0 (the engine closes it) or flatten it first, then remove it;
//! - every risk limit back to its default while the running ones were set.

use std::collections::BTreeMap;

use tradeengine_model::AccountName;

use crate::config::Config;
use crate::config::risk::RiskConfig;
use crate::state::AccountView;

/// Why `file` may not replace `current` live, if it may not.
pub(super) fn refusal(
    current: &Config,
    file: &Config,
    views: &BTreeMap<AccountName, AccountView>,
) -> Option<String> {
    let mut reasons = Vec::new();
    let accounts: Vec<&str> = (current.accounts.iter())
        .map(|a| a.name.as_str())
        .filter(|n| !file.accounts.iter().any(|a| a.name == *n))
        .collect();
    if !accounts.is_empty() {
        reasons.push(format!(
            "it removes account(s) {} (remove an account with a restart)",
            accounts.join(", ")
        ));
    }
    let sources: Vec<&str> = (current.sources.keys())
        .map(String::as_str)
        .filter(|n| !file.sources.contains_key(*n))
        .collect();
    if !sources.is_empty() {
        reasons.push(format!(
            "it removes source(s) {} (remove a source with a restart)",
            sources.join(", ")
        ));
    }
    for s in &current.symbols {
        let symbol = s.symbol.as_str();
        if file.symbol(symbol).is_some() {
            continue;
        }
        for (account, view) in views {
            let held = (view.positions.iter())
                .find(|p| p.symbol.as_str() == symbol && !p.size.is_zero())
                .map(|p| p.size.get());
            let target = (view.targets.iter())
                .find(|(t, q)| t.as_str() == symbol && !q.is_zero())
                .map(|(_, q)| *q);
            if let Some(size) = held {
                reasons.push(format!("it removes {symbol}, which account {account} holds ({size}): set its weights to 0 or flatten it first"));
            } else if let Some(q) = target {
                reasons.push(format!("it removes {symbol}, for which account {account} has a target of {q}: set its weights to 0 first"));
            }
        }
    }
    if current.risk != RiskConfig::default() && file.risk == RiskConfig::default() {
        reasons.push(
            "it sets no risk limit, which would put every running limit back to its default (restart to mean it)"
                .to_string(),
        );
    }
    (!reasons.is_empty()).then(|| format!("{} (an emptied or cut-off file?)", reasons.join("; ")))
}
