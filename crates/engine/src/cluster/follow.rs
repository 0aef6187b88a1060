//! Signals taken by any process reach the account holders: the sleeves are re-read from the
//! store when another process says it wrote some (PostgreSQL `NOTIFY`) and every
//! [`CATCH_UP`], so nothing depends on a notification arriving (see [`super`]).

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tradeengine_store::StoreError;
use tradeengine_store::cluster::{ClusterLink, SleeveListener};

use crate::intake::SignalIntake;

/// The longest a holder plans from sleeves older than the store's when a notification is lost.
pub const CATCH_UP: Duration = Duration::from_secs(1);

/// Follows the other processes' sleeve writes until `stop`.
pub async fn run(
    intake: SignalIntake,
    link: ClusterLink,
    every: Duration,
    stop: CancellationToken,
) {
    let mut listener: Option<SleeveListener> = None;
    loop {
        if listener.is_none() {
            match link.listen().await {
                Ok(l) => listener = Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for the cluster's sleeve writes; re-reading them every {every:?}")
                }
            }
        }
        let heard = tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => Ok(String::new()),
            heard = next(&mut listener) => heard,
        };
        if let Err(e) = heard {
            tracing::warn!(error = %e, "lost the cluster's notifications; reconnecting");
            listener = None;
        }
        if let Err(e) = intake.refresh_sleeves().await {
            tracing::warn!(error = %e, "cannot re-read the sleeves from the store");
        }
    }
}

async fn next(listener: &mut Option<SleeveListener>) -> Result<String, StoreError> {
    match listener {
        Some(l) => l.next().await,
        None => std::future::pending().await,
    }
}
