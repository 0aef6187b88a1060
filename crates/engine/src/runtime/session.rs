//! The session summary's figures, collected at stop from the shared state and the store
//! (the summary itself, and how it is rendered: [`crate::summary`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use tradeengine_model::{AccountName, Timestamp};
use tradeengine_store::Store;
use tradeengine_venues::PaperVenue;

use crate::state::SharedState;
use crate::summary::{AccountSummary, SessionSummary, session_pnl};

/// Fills read back per account for the replay; far more than one session makes.
const FILLS_READ: i64 = 1_000_000;

/// The session's summary from each account's last view, its recorded fills (see
/// [`session_pnl`]) and, for paper accounts, the paper venue's own P&L.
pub(crate) async fn collect_summary(
    started_at: Timestamp,
    stopped_at: Timestamp,
    state: &SharedState,
    paper: &BTreeMap<AccountName, Arc<PaperVenue>>,
    store: &dyn Store,
) -> SessionSummary {
    let views = state.account_views().await;
    let prices = state.prices().await;
    let mut accounts = BTreeMap::new();
    let mut unsettled = 0;
    for (name, view) in views {
        let mut s = AccountSummary {
            cycles: view.cycles,
            orders_sent: view.orders_sent,
            orders_filled: view.orders_filled,
            orders_rejected: view.orders_rejected,
            equity: view.value,
            open_positions: view.positions.iter().filter(|p| !p.size.is_zero()).count(),
            ..AccountSummary::default()
        };
        match store.fills(Some(&name), FILLS_READ).await {
            Ok(fills) => {
                let (realised, fees, count) = session_pnl(&fills, started_at);
                s.realised_pnl = Some(realised);
                s.fees = Some(fees);
                s.fills = count;
            }
            Err(e) => {
                tracing::warn!(account = %name, error = %e, "cannot read fills for the session summary")
            }
        }
        s.unrealised_pnl = Some(
            view.positions
                .iter()
                .filter_map(|p| prices.get(&p.symbol).and_then(|m| p.unrealised_pnl(*m)))
                .sum(),
        );
        if let Some(p) = paper.get(&name).and_then(|v| v.pnl().ok()) {
            s.unrealised_pnl = Some(p.unrealised_pnl);
            s.equity = Some(p.equity);
        }
        unsettled += store
            .unsettled_orders(&name)
            .await
            .map(|o| o.len())
            .unwrap_or(0);
        accounts.insert(name, s);
    }
    SessionSummary {
        started_at,
        stopped_at,
        accounts,
        unsettled_orders: unsettled,
    }
}
