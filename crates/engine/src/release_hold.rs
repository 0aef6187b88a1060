//! Releasing the kill switch *into hold*: after an incident an operator often wants trading
//! back on without the engine immediately trading to targets decided before (or during) the
//! freeze. `tradeengine kill --release --hold` stores a marker with the release time; until a
//! source moves a symbol's sleeves after that time, the symbol's target is the position the
//! venue holds, so the release itself sends nothing. A later engage of the switch clears it.
//!
//! Views from before the release do not come back either: while the marker stands, a sleeve last
//! moved at or before the release counts for nothing in the account's blend, so the first signal
//! after it trades to what the sources said since (a rehearsal saw a REST buy of 0.5 ETH after a
//! flatten and a release into hold sell 32.5 ETH, the TradingView short from before the kill).
//! Each source's view counts again when it next moves its sleeve.

use tradeengine_model::Sleeve;
use tradeengine_store::{Store, StoreError};

/// The state key of the marker.
pub const HOLD_KEY: &str = "killswitch.release_hold";

pub use crate::kill_records::ReleaseHold;

/// Stores (and audits) the marker.
pub async fn set(store: &dyn Store, hold: &ReleaseHold) -> Result<(), StoreError> {
    let value = serde_json::to_value(hold).map_err(|e| StoreError::Corrupt {
        what: "release hold".into(),
        reason: e.to_string(),
    })?;
    store.put_state(HOLD_KEY, &value).await?;
    crate::audit_payload::AuditPayload::ReleaseIntoHold {
        release_into_hold: hold,
    }
    .record(store, None, None, hold.at)
    .await?;
    Ok(())
}

/// Removes the marker (a new engage of the switch starts a new story).
pub async fn clear(store: &dyn Store) -> Result<(), StoreError> {
    store.put_state(HOLD_KEY, &serde_json::Value::Null).await
}

/// The marker, if any (an unreadable one is ignored: it can only hold, never trade).
pub async fn read(store: &dyn Store) -> Result<Option<ReleaseHold>, StoreError> {
    Ok(match store.get_state(HOLD_KEY).await? {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => serde_json::from_value(v).ok(),
    })
}

/// Whether a symbol is still held: no sleeve of it moved after the release.
pub fn still_held(hold: &ReleaseHold, sleeves: &[Sleeve]) -> bool {
    sleeves.iter().all(|s| s.updated_at <= hold.at)
}

/// Leaves out of `sleeves` those last moved at or before the release: decided before it.
pub fn drop_decided_before(hold: &ReleaseHold, sleeves: &mut Vec<Sleeve>) {
    sleeves.retain(|s| s.updated_at > hold.at);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tradeengine_model::{AccountName, SourceId, Symbol, Timestamp};

    fn sleeve(at: Timestamp) -> Sleeve {
        Sleeve::flat(
            SourceId::new("ops").unwrap(),
            Symbol::new("BTCUSDT").unwrap(),
            at,
        )
    }

    #[test]
    fn a_sleeve_moved_after_the_release_ends_the_hold() {
        let t0 = chrono::Utc::now();
        let hold = ReleaseHold {
            at: t0,
            accounts: None,
        };
        assert!(still_held(
            &hold,
            &[sleeve(t0 - chrono::TimeDelta::seconds(5))]
        ));
        assert!(!still_held(
            &hold,
            &[
                sleeve(t0 - chrono::TimeDelta::seconds(5)),
                sleeve(t0 + chrono::TimeDelta::seconds(1))
            ]
        ));
        let scoped = ReleaseHold {
            at: t0,
            accounts: Some(vec![AccountName::new("a").unwrap()]),
        };
        assert!(scoped.covers(&AccountName::new("a").unwrap()));
        assert!(!scoped.covers(&AccountName::new("b").unwrap()));
    }
}
