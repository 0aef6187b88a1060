//! Sleeves as every process of a cluster stored them (see `crate::cluster`): sleeves are per
//! source and symbol, so a signal taken by any process moves a sleeve that accounts traded by
//! other processes blend. Below the intake, which writes sleeves under [`lock_sleeves`], and the
//! cluster's follower, which re-reads them.

use tradeengine_store::cluster::{ClusterLink, SleeveLock};
use tradeengine_store::{Store, StoreError};

use crate::state::SharedState;

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
