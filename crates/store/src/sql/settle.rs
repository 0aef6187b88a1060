//! Settling an order: its final state and its fill in **one** transaction.
//!
//! The engine used to write the two with two calls (`update_order`, then `record_fill`); a
//! `kill -9` between them left a filled order without a fill, and since a final order is never
//! looked at again, the fills (and every position figure built on them) stayed short.
//! [`SqlStore::settle`] takes both, so either both are stored or neither is.
//!
//! A settled order has at most one fill: the whole filled quantity at the average price, as the
//! venue reports it when the order is done. Calling again writes nothing new: the order row is
//! unchanged (so no event), and a fill is only inserted while the order has none.

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use tradeengine_model::{AccountName, ClientOrderId, Fill};

use super::orders::{OrderReport, check_fill};
use super::{Dialect, SqlStore};
use crate::{OrderUpdate, StoreError, StoredOrder};

/// Any BIGINT column will do (see `PLAN_EXISTS`); served by the index `fills_order`.
const ORDER_HAS_FILL: &str =
    "SELECT seq FROM fills WHERE client_order_id = $1 AND account = $2 LIMIT 1";

/// Why `fill` cannot be the fill of `order` as it stands after the update, if it cannot.
fn fill_mismatch(order: &StoredOrder, fill: &Fill) -> Option<String> {
    if !order.state.is_terminal() {
        return Some(format!(
            "a fill is stored with the order's final state, and {} is not final",
            order.state.as_str()
        ));
    }
    if fill.symbol != order.symbol || fill.side != order.side {
        return Some(format!(
            "the fill is {} {}, the order {} {}",
            fill.side.as_str(),
            fill.symbol,
            order.side.as_str(),
            order.symbol
        ));
    }
    if fill.qty != order.filled_qty {
        return Some(format!(
            "the fill's quantity {} is not the order's filled quantity {}",
            fill.qty, order.filled_qty
        ));
    }
    None
}

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    usize: ColumnIndex<DB::Row>,
    String: for<'q> Encode<'q, DB> + for<'q> Decode<'q, DB> + Type<DB>,
    Option<String>: for<'q> Encode<'q, DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB>,
    i64: for<'q> Encode<'q, DB> + for<'q> Decode<'q, DB> + Type<DB>,
    Option<i64>: for<'q> Encode<'q, DB>,
    bool: for<'q> Encode<'q, DB> + for<'q> Decode<'q, DB> + Type<DB>,
{
    /// `Store::settle_order`. The order row is locked first (by the read on PostgreSQL, by the
    /// write lock on SQLite), so two settlements of one order run one after the other and the
    /// second sees the first one's fill.
    pub(crate) async fn settle(
        &self,
        account: &AccountName,
        client_order_id: &ClientOrderId,
        update: &OrderUpdate,
        fill: Option<&Fill>,
    ) -> Result<StoredOrder, StoreError> {
        let what = || format!("settlement of order {client_order_id}");
        if let Some(f) = fill {
            check_fill(f)?;
            if f.client_order_id != *client_order_id {
                return Err(StoreError::invalid(
                    what(),
                    format!("the fill belongs to order {}", f.client_order_id),
                ));
            }
        }
        let report = OrderReport::of(update);
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        // Any error below drops `tx` uncommitted: nothing of the settlement is kept.
        let applied = Self::apply_report_in(&mut tx, client_order_id, &report).await?;
        let order = applied.order;
        if order.account != *account {
            return Err(StoreError::invalid(
                what(),
                format!(
                    "the order belongs to account {}, not {account}",
                    order.account
                ),
            ));
        }
        let mut events: Vec<_> = applied.event.into_iter().collect();
        if let Some(f) = fill {
            if let Some(reason) = fill_mismatch(&order, f) {
                return Err(StoreError::invalid(what(), reason));
            }
            let has_fill: Option<(i64,)> = sqlx::query_as(ORDER_HAS_FILL)
                .bind(client_order_id.as_str())
                .bind(account.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if has_fill.is_none() {
                events.extend(Self::insert_fill_in(&mut tx, account, f).await?);
            }
        }
        if events.is_empty() {
            tx.rollback().await?;
            return Ok(order);
        }
        Self::append_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(order)
    }
}
