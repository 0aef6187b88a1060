//! The attribution books replayed step by step, for the dashboard's history endpoints
//! (`GET /api/v1/pnl/history`, `GET /api/v1/history`).
//!
//! `tradeengine_engine::pnl::rebuild` gives the books at one instant; a history needs them at
//! every step, so this walks the same inputs (stored plan events and stored fills, merged in
//! time order, a plan before the fills of the same millisecond) and lets the caller look at the
//! books after each one. The order and the fill-to-event mapping must stay the same as there,
//! or the history's last point would disagree with `GET /api/v1/pnl`; a test in
//! `tests/history.rs` checks that they agree.

use std::collections::BTreeMap;

use tradeengine_core::attribution::{Event, Ledger};
use tradeengine_model::{AccountName, Price, Side, Symbol, Timestamp};
use tradeengine_store::{PnlEventRecord, Store, StoredFill};

use crate::error::ApiError;

/// Rows read per store call.
const PAGE: i64 = 5_000;

/// One timed input of the books.
#[derive(Debug)]
pub(crate) enum Input {
    Plan {
        record: PnlEventRecord,
        event: Event,
    },
    Fill(StoredFill),
}

impl Input {
    pub(crate) fn at(&self) -> Timestamp {
        match self {
            Self::Plan { record, .. } => record.at,
            Self::Fill(f) => f.fill.filled_at,
        }
    }

    pub(crate) fn symbol(&self) -> &Symbol {
        match self {
            Self::Plan { record, .. } => &record.symbol,
            Self::Fill(f) => &f.fill.symbol,
        }
    }

    pub(crate) fn account(&self) -> &AccountName {
        match self {
            Self::Plan { record, .. } => &record.account,
            Self::Fill(f) => &f.account,
        }
    }
}

/// Every input of `account` (all accounts when `None`), in the order the books apply them. A
/// stored plan event that does not read is a 500 naming its seq, as `GET /api/v1/pnl` answers.
pub(crate) async fn inputs(
    store: &dyn Store,
    account: Option<&AccountName>,
) -> Result<Vec<Input>, ApiError> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = store.pnl_events(account, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for record in page {
            let event: Event = serde_json::from_value(record.event.clone()).map_err(|e| {
                ApiError::Internal(format!(
                    "stored P&L event {} cannot be read: {e}",
                    record.seq
                ))
            })?;
            out.push(Input::Plan { record, event });
        }
    }
    after = 0;
    loop {
        let page = store.fills_in_order(account, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        out.extend(page.into_iter().map(Input::Fill));
    }
    // Stable: at equal times plans (read first) come before fills, as a plan precedes its fills.
    out.sort_by_key(Input::at);
    Ok(out)
}

/// The books and the last price seen per symbol.
#[derive(Debug, Default)]
pub(crate) struct Books {
    pub ledger: Ledger,
    pub marks: BTreeMap<Symbol, Price>,
}

impl Books {
    /// Applies one input.
    pub(crate) fn apply(&mut self, input: &Input) -> Result<(), ApiError> {
        let internal = |e: tradeengine_core::CoreError| ApiError::Internal(e.to_string());
        match input {
            Input::Plan { record, event } => {
                // Only a plan's reference price marks, as in `pnl::rebuild`.
                if let Event::Rebalance { reference, .. } = event {
                    self.marks.insert(record.symbol.clone(), *reference);
                }
                self.ledger
                    .apply(&record.account, &record.symbol, event)
                    .map_err(internal)
            }
            Input::Fill(f) => {
                let qty = match f.fill.side {
                    Side::Buy => f.fill.qty,
                    Side::Sell => -f.fill.qty,
                };
                let event = Event::Fill {
                    client_order_id: Some(f.fill.client_order_id.clone()),
                    qty,
                    price: f.fill.price,
                    fee: f.fill.fee,
                };
                self.marks.insert(f.fill.symbol.clone(), f.fill.price);
                self.ledger
                    .apply(&f.account, &f.fill.symbol, &event)
                    .map_err(internal)
            }
        }
    }
}
