//! What may change while the engine runs. Mappings, weights and symbols, risk limits and account
//! states apply at the next cycle; everything else (mode, bind address, database, the set of
//! accounts and sources, credentials, notifications) needs a restart, and a reload that changes them is refused
//! as a whole so the running engine never holds a half-applied configuration.

use super::Config;

/// Why a reload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} changed; it needs a restart")]
pub struct NeedsRestart {
    pub key: String,
}

/// Accepts `next` in place of `current` when only hot-reloadable keys differ.
pub fn check_hot_reload(current: &Config, next: &Config) -> Result<(), NeedsRestart> {
    let restart = |key: &str| {
        Err(NeedsRestart {
            key: key.to_string(),
        })
    };
    if current.engine != next.engine {
        return restart("engine");
    }
    // The channels and the command bot are built at start.
    if current.notifications != next.notifications {
        return restart("notifications");
    }
    if current.accounts.len() != next.accounts.len() {
        return restart("accounts (added or removed)");
    }
    for (a, b) in current.accounts.iter().zip(&next.accounts) {
        let (mut a2, mut b2) = (a.clone(), b.clone());
        // The hot parts of an account.
        a2.state = b.state;
        a2.leverage_override = b.leverage_override;
        a2.min_order_notional = b.min_order_notional;
        a2.risk = b.risk.clone();
        b2.state = b.state;
        if a2 != b2 {
            return restart(&format!(
                "accounts.{} (other than state, leverage_override, min_order_notional, risk)",
                a.name
            ));
        }
    }
    if current.sources.keys().ne(next.sources.keys()) {
        return restart("sources (added or removed)");
    }
    for (name, a) in &current.sources {
        if let Some(b) = next.sources.get(name)
            && (a.kind != b.kind || a.settings != b.settings)
        {
            return restart(&format!("sources.{name} type or settings"));
        }
    }
    Ok(())
}
