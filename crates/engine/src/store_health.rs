//! Watching the store: a lost database stops trading loudly, never silently.
//!
//! Every [`CHECK_EVERY`] the watcher asks the store to check itself
//! ([`tradeengine_store::Store::check_health`]: the SQLite file still the one opened, a write
//! probe). While the store reports a fault, `/ready` is false with the reason, the intake answers
//! 503 (a signal is only ever "accepted" once durably stored), and every write the store refuses
//! (a deleted or replaced file refuses all of them, until a restart) keeps the account workers
//! from planning or sending anything. The transition is logged at ERROR and
//! `tradeengine_store_healthy` goes to 0.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tradeengine_store::Store;

/// How often the store is checked: well within one reconciliation cycle.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Checks the store every `every` until `stop`.
pub async fn watch(store: Arc<dyn Store>, every: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reported: Option<String> = None;
    metrics::gauge!("tradeengine_store_healthy").set(1.0);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let checked = store.check_health().await;
        let fault = store
            .fault()
            .or_else(|| checked.err().map(|e| e.to_string()));
        match (&fault, &reported) {
            (Some(now), Some(before)) if now == before => {}
            (Some(now), _) => {
                tracing::error!(reason = %now, "store unusable: trading frozen, intake answers 503, /ready is false");
                metrics::gauge!("tradeengine_store_healthy").set(0.0);
            }
            (None, Some(_)) => {
                tracing::warn!("store writes work again");
                metrics::gauge!("tradeengine_store_healthy").set(1.0);
            }
            (None, None) => {}
        }
        reported = fault;
    }
}
