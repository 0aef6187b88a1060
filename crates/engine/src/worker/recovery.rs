//! Settling orders the store does not know the end of: at every start (after a crash or a
//! `kill -9`), and at the start of every cycle for orders left `Unknown`.
//!
//! Each such order is looked up at the venue by its client order id:
//! - the venue knows it → its state and fill are recorded;
//! - the venue does not, and the order was only `Intended` → it was never sent: `Cancelled`;
//! - the venue does not, and the order was `Sent` or `Unknown` → it was not placed: `Cancelled`
//!   with that reason (not `Rejected`, which is the venue refusing an order).
//!
//! Nothing is ever re-sent from here: the next plan works from the positions the venue reports,
//! with new client order ids, so an order that did land is counted once.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use tradeengine_model::{AccountName, ClientOrderId, Clock, Fill, OrderState, Price, Symbol};
use tradeengine_store::{OrderFilter, OrderUpdate, Store, StoredOrder};
use tradeengine_venues::Venue;

use super::execute::record_status;

/// What settling found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settlement {
    pub checked: usize,
    pub settled: usize,
    /// Of those settled, the ones the venue reports filled and rejected: the session's order
    /// counts include them (an order whose answer was lost is counted when it settles).
    pub filled: u64,
    pub rejected: u64,
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
            Some(state) => {
                result.settled += 1;
                match state {
                    OrderState::Filled => result.filled += 1,
                    OrderState::Rejected => result.rejected += 1,
                    _ => {}
                }
            }
            None => {
                result.still_open += 1;
                result.open_symbols.insert(order.symbol.clone());
            }
        }
    }
    Ok(result)
}

/// How many of an account's newest orders [`restore_missing_fills`] looks at: a crash can only
/// have cut the latest ones short.
const FILL_CHECK_ORDERS: i64 = 200;

/// Records fills lost by the **previous version** of the engine, for databases it wrote.
///
/// That version moved an order to its final state and then stored its fill in a second
/// transaction; a `kill -9` between the two left a filled order with no fill, and since the
/// order is final nothing would ever look at it again (found by the fault-survival simulation
/// suite). Orders are now settled with their fill in one transaction
/// ([`Store::settle_order`]), so this version cannot leave such a gap, but a database upgraded
/// from the old one may still hold one, and its fills (and the positions they add up to) would
/// stay short for good. So this stays, once per worker start, after settling: each of the
/// newest final orders with a filled quantity but no fill gets the fill its own record
/// describes (quantity, average price, fee, and the time it was marked final), through
/// `settle_order` with the order's stored state, which changes nothing else and never adds a
/// second fill to an order. Returns how many.
pub async fn restore_missing_fills(
    account: &AccountName,
    store: &dyn Store,
) -> Result<usize, tradeengine_store::StoreError> {
    let orders = store
        .orders(&OrderFilter {
            account: Some(account.clone()),
            limit: Some(FILL_CHECK_ORDERS),
            ..OrderFilter::default()
        })
        .await?;
    let filled: Vec<StoredOrder> = orders
        .into_iter()
        .filter(|o| o.state.is_terminal() && o.filled_qty > Decimal::ZERO)
        .collect();
    if filled.is_empty() {
        return Ok(0);
    }
    // At most one fill per order, so five times as many fills as orders reach back past the
    // oldest order looked at; when the page is full, orders older than its oldest fill are
    // left alone rather than guessed at.
    let limit = FILL_CHECK_ORDERS * 5;
    let fills = store.fills(Some(account), limit).await?;
    let horizon = (fills.len() as i64 >= limit)
        .then(|| fills.iter().map(|f| f.filled_at).min())
        .flatten();
    let have: BTreeSet<&ClientOrderId> = fills.iter().map(|f| &f.client_order_id).collect();
    let mut restored = 0;
    for o in &filled {
        if have.contains(&o.client_order_id) || horizon.is_some_and(|h| o.updated_at < h) {
            continue;
        }
        let Some(price) = o.avg_fill_price.and_then(|p| Price::new(p).ok()) else {
            tracing::error!(%account, order = %o.client_order_id, "filled order without a fill or an average price; fill not restored");
            continue;
        };
        let unchanged = OrderUpdate {
            state: o.state,
            venue_order_id: o.venue_order_id.clone(),
            filled_qty: o.filled_qty,
            avg_fill_price: o.avg_fill_price,
            fee: o.fee,
            error: o.error.clone(),
            at: o.updated_at,
        };
        let fill = Fill {
            client_order_id: o.client_order_id.clone(),
            venue_order_id: o.venue_order_id.clone(),
            symbol: o.symbol.clone(),
            side: o.side,
            qty: o.filled_qty,
            price,
            fee: o.fee,
            filled_at: o.updated_at,
        };
        store
            .settle_order(account, &o.client_order_id, &unchanged, Some(&fill))
            .await?;
        tracing::warn!(%account, order = %o.client_order_id, qty = %o.filled_qty, "restored a fill lost in a crash");
        restored += 1;
    }
    Ok(restored)
}

/// Re-asks the venue about orders an **earlier version** stored as `rejected` from an error
/// answer that did not prove the venue refused them.
///
/// That version treated a retryable error on the last placement attempt (a 503 or 504 from a
/// gateway after the matching engine had filled the order) as a rejection, so an order the
/// venue filled could sit in the store as `rejected` with nothing filled: fills, P&L and the
/// audit disagreeing with the venue. Such an order's error is that error's text,
/// `"{venue}: {kind}…"`, with kind `Retryable` (not from `connect`, which never sent), `Internal`
/// or `Ambiguous`; a business rejection (`Rejected`), a risk refusal or a look-up that found
/// nothing reads differently and is left alone. Each candidate among the newest orders is
/// looked up by client id, once per worker start; a final report with a fill replaces the
/// rejection (state, quantity, price, fee and the fill, in one transaction). A venue that
/// cannot be asked leaves the order as it is until the next start. Returns how many orders
/// were corrected.
pub async fn recheck_error_rejections(
    account: &AccountName,
    venue: &dyn Venue,
    store: &dyn Store,
    clock: &dyn Clock,
) -> Result<usize, tradeengine_store::StoreError> {
    let orders = store
        .orders(&OrderFilter {
            account: Some(account.clone()),
            limit: Some(FILL_CHECK_ORDERS),
            ..OrderFilter::default()
        })
        .await?;
    let mut corrected = 0;
    for o in orders.iter().filter(|o| rejected_by_an_error_answer(o)) {
        match venue
            .order_by_client_id(&o.symbol, &o.client_order_id)
            .await
        {
            Ok(Some(status))
                if status.state.is_terminal()
                    && status.state != OrderState::Rejected
                    && status.filled_qty > Decimal::ZERO =>
            {
                record_status(store, account, &status, clock.now()).await?;
                tracing::warn!(%account, order = %o.client_order_id, state = status.state.as_str(), filled = %status.filled_qty, "an order stored as rejected was filled at the venue; corrected from the venue's report");
                corrected += 1;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(%account, order = %o.client_order_id, error = %e, "cannot re-check an order stored as rejected after an error answer; left as it is");
            }
        }
    }
    Ok(corrected)
}

/// Whether a stored rejection came from an error answer that may hide an order the venue
/// acted on (see [`recheck_error_rejections`]).
fn rejected_by_an_error_answer(o: &StoredOrder) -> bool {
    if o.state != OrderState::Rejected || o.filled_qty > Decimal::ZERO || o.venue_order_id.is_some()
    {
        return false;
    }
    let Some(error) = o.error.as_deref() else {
        return false;
    };
    let Some((_, rest)) = error.split_once(": ") else {
        return false;
    };
    ["Retryable", "Internal", "Ambiguous"]
        .iter()
        .any(|kind| rest.starts_with(kind))
        && !rest.starts_with("Retryable (code connect)")
}

async fn settle_one(
    account: &AccountName,
    venue: &dyn Venue,
    store: &dyn Store,
    clock: &dyn Clock,
    order: &StoredOrder,
) -> Result<Option<OrderState>, tradeengine_store::StoreError> {
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
                        &OrderUpdate::new(OrderState::Sent, now),
                    )
                    .await?;
                previous = OrderState::Sent;
            }
            if status.state == OrderState::Unknown || !previous.can_become(status.state) {
                return Ok(None);
            }
            record_status(store, account, &status, now).await?;
            tracing::info!(%account, order = %order.client_order_id, state = status.state.as_str(), "settled order from the venue");
            Ok(status.state.is_terminal().then_some(status.state))
        }
        Ok(None) => {
            // Either way the order did not and will not trade: cancelled, with why. Not
            // `rejected`, which says the venue refused it: a sent order the venue has no record
            // of may never have reached it (a connection cut while sending).
            let (state, why) = if order.state == OrderState::Intended {
                (
                    OrderState::Cancelled,
                    "never sent (engine stopped before sending)",
                )
            } else {
                (
                    OrderState::Cancelled,
                    "not placed: the venue has no order with this client id",
                )
            };
            store
                .update_order(
                    &order.client_order_id,
                    &OrderUpdate {
                        error: Some(why.to_string()),
                        ..OrderUpdate::new(state, now)
                    },
                )
                .await?;
            tracing::info!(%account, order = %order.client_order_id, state = state.as_str(), why, "settled order");
            Ok(Some(state))
        }
        Err(e) => {
            tracing::warn!(%account, order = %order.client_order_id, error = %e, "cannot settle order yet");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradeengine_model::{OrderKind, PlanId, Side};

    fn order(state: OrderState, error: Option<&str>) -> StoredOrder {
        StoredOrder {
            client_order_id: ClientOrderId::new("te-1").unwrap(),
            plan_id: PlanId::new("p-1").unwrap(),
            leg: 0,
            account: AccountName::new("a").unwrap(),
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side: Side::Buy,
            qty: Decimal::ONE,
            kind: OrderKind::Market,
            reduce_only: false,
            state,
            venue_order_id: None,
            filled_qty: Decimal::ZERO,
            avg_fill_price: None,
            fee: Decimal::ZERO,
            error: error.map(str::to_string),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn only_rejections_from_answers_that_may_hide_a_fill_are_rechecked() {
        let suspect = [
            "bybit: Retryable (code http_503): HTTP 503: venue error: {}",
            "binance: Internal: unreadable reply",
            "mexc: Ambiguous (code 9999): system busy",
        ];
        for e in suspect {
            assert!(
                rejected_by_an_error_answer(&order(OrderState::Rejected, Some(e))),
                "{e}"
            );
        }
        let settled = [
            "bybit: Rejected (code 110007): insufficient balance",
            "bybit: Retryable (code connect): /v5/order/create: cannot connect (nothing was sent)",
            "bybit: RateLimited (code http_429): HTTP 429: rate limited",
            "the venue has no order with this client id",
            "max_leverage: leverage 20 above 10",
        ];
        for e in settled {
            assert!(
                !rejected_by_an_error_answer(&order(OrderState::Rejected, Some(e))),
                "{e}"
            );
        }
        assert!(!rejected_by_an_error_answer(&order(
            OrderState::Filled,
            Some(suspect[0])
        )));
        let mut with_id = order(OrderState::Rejected, Some(suspect[0]));
        with_id.venue_order_id = Some("42".into());
        assert!(!rejected_by_an_error_answer(&with_id));
    }
}
