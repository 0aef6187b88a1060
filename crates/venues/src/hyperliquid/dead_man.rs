//! The dead-man switch: while the engine places orders, a cancel of every open order is kept
//! scheduled a little into the future (`scheduleCancel`,
//! <https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/exchange-endpoint#schedule-cancel-dead-mans-switch>),
//! so resting orders stop within that time of the engine stopping.

use std::sync::Arc;
use std::time::Duration;

use super::VENUE;
use super::actions::ScheduleCancelAction;
use super::http::HyperliquidHttp;

/// The dead-man switch: every `every`, schedule a cancel of all open orders `after` from now,
/// so orders stop resting within `after` of the engine stopping. A failure is logged, not
/// fatal: the switch is a backstop, and the next push tries again.
pub(crate) async fn keep_scheduled(
    http: Arc<HyperliquidHttp>,
    every: Duration,
    after: Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    let after_ms = u64::try_from(after.as_millis())
        .unwrap_or(u64::MAX)
        .max(5_000);
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        let at = u64::try_from(now)
            .unwrap_or_default()
            .saturating_add(after_ms);
        if let Err(e) = http.exchange(&ScheduleCancelAction::new(Some(at)), 0).await {
            tracing::warn!(venue = VENUE, error = %e, "could not push the scheduled cancel forward");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
