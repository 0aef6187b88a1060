//! The alert last applied per TradingView source and symbol, kept in the store so that the
//! late-alert rule ("an alert sent before the one already applied is superseded", see
//! [`super::tradingview`]) holds across a restart. Without it, the first late alert after a
//! restart (TradingView retries a delivery for minutes; a queue in between can hold one longer)
//! undid the newer alert applied just before the restart.
//!
//! One store key per source and symbol, written after the alert's signal was stored: alerts
//! for different symbols never overwrite each other's record. Writing is best effort: a failure
//! is logged and leaves the rule as it was before this record existed (in memory only).

use serde::{Deserialize, Serialize};
use tradeengine_model::{Symbol, Timestamp};
use tradeengine_signals::tradingview::{Direction, PriorState, Sequenced};
use tradeengine_store::Store;

use crate::state::webhooks::Applied;

/// What is kept of an applied alert: what the ordering rules read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    direction: Direction,
    /// When it was received.
    at: Timestamp,
    signal_seq: Option<String>,
    event_id: Option<String>,
    /// When its sender says it sent it (`timenow`).
    emitted_at: Option<Timestamp>,
    prior: PriorState,
    /// See [`Applied::newest_sent`]; absent in records written before it existed.
    #[serde(default)]
    newest_sent: Option<Timestamp>,
}

/// The store key of a source's record for a symbol.
fn key(source: &str, symbol: &Symbol) -> String {
    format!("tradingview.applied.{source}.{symbol}")
}

/// Records `applied` as the alert last applied for its symbol.
pub(crate) async fn save(store: &dyn Store, source: &str, applied: &Applied) {
    let record = Record {
        direction: applied.alert.direction,
        at: applied.alert.at,
        signal_seq: applied.alert.signal_seq.clone(),
        event_id: applied.alert.event_id.clone(),
        emitted_at: applied.emitted_at,
        prior: applied.prior,
        newest_sent: applied.newest_sent,
    };
    let result = match serde_json::to_value(&record) {
        Ok(value) => store
            .put_state(&key(source, &applied.alert.symbol), &value)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        tracing::warn!(%source, symbol = %applied.alert.symbol, error = %e, "cannot keep the last applied alert in the store; a late alert after a restart may undo it");
    }
}

/// The alert last applied for `symbol` before this process started, if one was recorded. An
/// unreadable record counts as none (the rule then holds from the next alert on).
pub(crate) async fn load(store: &dyn Store, source: &str, symbol: &Symbol) -> Option<Applied> {
    let value = match store.get_state(&key(source, symbol)).await {
        Ok(Some(v)) if !v.is_null() => v,
        Ok(_) => return None,
        Err(e) => {
            tracing::warn!(%source, %symbol, error = %e, "cannot read the last applied alert");
            return None;
        }
    };
    let record: Record = serde_json::from_value(value).ok()?;
    Some(Applied {
        alert: Sequenced {
            symbol: symbol.clone(),
            direction: record.direction,
            at: record.at,
            signal_seq: record.signal_seq,
            event_id: record.event_id,
        },
        emitted_at: record.emitted_at,
        prior: record.prior,
        newest_sent: record
            .newest_sent
            .or_else(|| record.emitted_at.map(|e| e.min(record.at))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_applied_alert_survives_a_new_process() {
        let dir = tempfile::tempdir().unwrap();
        let store = tradeengine_store::open_sqlite_in(dir.path()).await.unwrap();
        let symbol = Symbol::new("BTCUSDT").unwrap();
        assert!(load(&*store, "tv", &symbol).await.is_none());
        let at = chrono::DateTime::from_timestamp_millis(1_000_000).unwrap();
        let applied = Applied {
            alert: Sequenced {
                symbol: symbol.clone(),
                direction: Direction::Long,
                at,
                signal_seq: Some("7".into()),
                event_id: Some("e-7".into()),
            },
            emitted_at: Some(at - chrono::Duration::seconds(2)),
            prior: PriorState::Flat,
            newest_sent: Some(at - chrono::Duration::seconds(2)),
        };
        save(&*store, "tv", &applied).await;
        let back = load(&*store, "tv", &symbol).await.unwrap();
        assert_eq!(back.alert, applied.alert);
        assert_eq!(back.emitted_at, applied.emitted_at);
        assert_eq!(back.prior, applied.prior);
        assert_eq!(back.newest_sent, applied.newest_sent);
        // Another source, another symbol: nothing.
        assert!(load(&*store, "tv2", &symbol).await.is_none());
        assert!(
            load(&*store, "tv", &Symbol::new("ETHUSDT").unwrap())
                .await
                .is_none()
        );
    }
}
