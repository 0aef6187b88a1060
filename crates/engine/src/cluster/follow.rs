//! Signals taken by any process reach the account holders: the sleeves are re-read from the
//! store when another process says it wrote some (PostgreSQL `NOTIFY`) and every
//! [`CATCH_UP`], so nothing depends on a notification arriving (see [`super`]).

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tradeengine_store::cluster::{ClusterLink, SleeveListener, SleeveLock};
use tradeengine_store::{Store, StoreError};

use crate::intake::SignalIntake;
use crate::state::SharedState;

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

/// In a cluster (`link` given): the cluster's lock on the sleeves, with the stored sleeves read
/// into memory, so what is decided under it starts from what every process stored. `None`
/// outside a cluster.
pub(crate) async fn lock_sleeves(
    link: Option<&ClusterLink>,
    store: &dyn Store,
    state: &SharedState,
) -> Result<Option<SleeveLock>, StoreError> {
    let Some(link) = link else {
        return Ok(None);
    };
    let lock = link.lock_sleeves().await?;
    reload_sleeves(store, state).await?;
    Ok(Some(lock))
}

/// Puts the stored sleeves that differ from the ones in memory into memory, and wakes the
/// workers when any did. Returns how many differed.
pub(crate) async fn reload_sleeves(
    store: &dyn Store,
    state: &SharedState,
) -> Result<usize, StoreError> {
    let stored = store.sleeves().await?;
    let current = state.sleeves().await;
    let changed: Vec<_> = stored
        .into_iter()
        .map(|s| ((s.source.clone(), s.symbol.clone()), s))
        .filter(|(key, s)| current.get(key) != Some(s))
        .collect();
    let n = changed.len();
    if n > 0 {
        state.put_sleeves(changed).await;
        state.notify_targets_changed();
    }
    Ok(n)
}
