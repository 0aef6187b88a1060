//! Settling orders the store does not know the end of: at every start (after a crash or a
//! `kill -9`), and at the start of every cycle for orders left `Unknown`.
//!
//! Each such order is looked up at the venue by its client order id:
//! - the venue knows it → its state and fill are recorded;
//! - the venue does not, and the order was only `Intended` → it was never sent: `Cancelled`;
//! - the venue does not, and the order was `Sent` or `Unknown` → it never arrived: `Rejected`.
//!
//! Nothing is ever re-sent from here: the next plan works from the positions the venue reports,
//! with new client order ids, so an order that did land is counted once.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use tradeengine_model::{AccountName, Clock, OrderState, Symbol};
use tradeengine_store::{Store, StoredOrder};
use tradeengine_venues::Venue;

use super::execute::record_status;

/// What settling found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settlement {
    pub checked: usize,
    pub settled: usize,
    /// Orders still not final (the venue could not be asked, or the order is still working);
    /// they are looked at again next cycle.
    pub still_open: usize,
    /// Symbols with such orders: no new plan is made for them until they settle, so an order
    /// that may still fill is never doubled.
    pub open_symbols: BTreeSet<Symbol>,
}

/// Settles every non-terminal order of `account`.
pub async fn settle_open_orders(
    account: &AccountName,
    venue: &dyn Venue,
    store: &dyn Store,
    clock: &dyn Clock,
) -> Result<Settlement, tradeengine_store::StoreError> {
    let orders = store.unsettled_orders(account).await?;
    let mut result = Settlement {
        checked: orders.len(),
        ..Settlement::default()
    };
    for order in orders {
        match settle_one(account, venue, store, clock, &order).await? {
            true => result.settled += 1,
            false => {
                result.still_open += 1;
                result.open_symbols.insert(order.symbol.clone());
            }
        }
    }
    Ok(result)
}

async fn settle_one(
    account: &AccountName,
    venue: &dyn Venue,
    store: &dyn Store,
    clock: &dyn Clock,
    order: &StoredOrder,
) -> Result<bool, tradeengine_store::StoreError> {
    let now = clock.now();
    match venue
        .order_by_client_id(&order.symbol, &order.client_order_id)
        .await
    {
        Ok(Some(status)) => {
            let mut previous = order.state;
            if previous == OrderState::Intended {
                // It left the process before the `Sent` write landed.
                store
                    .update_order(
                        &order.client_order_id,
                        OrderState::Sent,
                        None,
                        Decimal::ZERO,
                        None,
                        Decimal::ZERO,
                        None,
                        now,
                    )
                    .await?;
                previous = OrderState::Sent;
            }
            if status.state == OrderState::Unknown || !previous.can_become(status.state) {
                return Ok(false);
            }
            record_status(store, account, &status, previous, now).await?;
            tracing::info!(%account, order = %order.client_order_id, state = status.state.as_str(), "settled order from the venue");
            Ok(status.state.is_terminal())
        }
        Ok(None) => {
            let (state, why) = if order.state == OrderState::Intended {
                (
                    OrderState::Cancelled,
                    "never sent (engine stopped before sending)",
                )
            } else {
                (
                    OrderState::Rejected,
                    "the venue has no order with this client id",
                )
            };
            store
                .update_order(
                    &order.client_order_id,
                    state,
                    None,
                    Decimal::ZERO,
                    None,
                    Decimal::ZERO,
                    Some(why),
                    now,
                )
                .await?;
            tracing::info!(%account, order = %order.client_order_id, state = state.as_str(), why, "settled order");
            Ok(true)
        }
        Err(e) => {
            tracing::warn!(%account, order = %order.client_order_id, error = %e, "cannot settle order yet");
            Ok(false)
        }
    }
}
