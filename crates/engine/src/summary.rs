//! The session summary printed when the engine stops (as seed 002's bot does): per account, the
//! orders sent, filled and rejected, fees, realised and unrealised P&L, and equity.

use std::collections::BTreeMap;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Serialize;
use tradeengine_model::{AccountName, Timestamp};
use tradeengine_store::Store;
use tradeengine_venues::PaperVenue;

use crate::state::SharedState;

/// One account's session.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountSummary {
    pub cycles: u64,
    pub orders_sent: u64,
    pub orders_filled: u64,
    pub orders_rejected: u64,
    pub equity: Option<Decimal>,
    pub realised_pnl: Option<Decimal>,
    pub unrealised_pnl: Option<Decimal>,
    pub fees: Option<Decimal>,
    pub open_positions: usize,
}

/// The whole session.
#[derive(Debug, Clone, Serialize)]
pub struct SessionSummary {
    pub started_at: Timestamp,
    pub stopped_at: Timestamp,
    pub accounts: BTreeMap<AccountName, AccountSummary>,
    /// Orders in the store not in a final state at stop (settled at the next start).
    pub unsettled_orders: usize,
}

impl SessionSummary {
    pub async fn collect(
        started_at: Timestamp,
        stopped_at: Timestamp,
        state: &SharedState,
        paper: &BTreeMap<AccountName, Arc<PaperVenue>>,
        store: &dyn Store,
    ) -> Self {
        let views = state.account_views().await;
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
            if let Some(p) = paper.get(&name).and_then(|v| v.pnl().ok()) {
                s.realised_pnl = Some(p.realised_pnl);
                s.unrealised_pnl = Some(p.unrealised_pnl);
                s.fees = Some(p.fees_paid);
                s.equity = Some(p.equity);
            }
            unsettled += store
                .unsettled_orders(&name)
                .await
                .map(|o| o.len())
                .unwrap_or(0);
            accounts.insert(name, s);
        }
        Self {
            started_at,
            stopped_at,
            accounts,
            unsettled_orders: unsettled,
        }
    }

    /// Human-readable lines for the terminal.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let secs = (self.stopped_at - self.started_at).num_seconds();
        out.push_str(&format!(
            "session summary ({} min {} s)\n",
            secs / 60,
            secs % 60
        ));
        for (name, a) in &self.accounts {
            let fmt = |d: Option<Decimal>| {
                d.map(|v| v.round_dp(2).to_string())
                    .unwrap_or_else(|| "-".into())
            };
            out.push_str(&format!(
                "  {name}: {} cycles, orders {} sent / {} filled / {} rejected, {} open positions, equity {}, realised P&L {}, unrealised P&L {}, fees {}\n",
                a.cycles, a.orders_sent, a.orders_filled, a.orders_rejected, a.open_positions,
                fmt(a.equity), fmt(a.realised_pnl), fmt(a.unrealised_pnl), fmt(a.fees)
            ));
        }
        if self.unsettled_orders > 0 {
            out.push_str(&format!(
                "  {} orders unsettled; the next start settles them\n",
                self.unsettled_orders
            ));
        }
        out
    }
}
