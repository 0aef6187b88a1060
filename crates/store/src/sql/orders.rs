//! Plans, orders (with the state machine enforced in the transaction) and fills.

use rust_decimal::Decimal;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Transaction, Type};
use tradeengine_model::{AccountName, ClientOrderId, Fill, OrderState, Plan, Timestamp};

use super::audit_chain::NewEvent;
use super::{DEFAULT_ORDER_PAGE, Dialect, SqlStore, decode_all, page, rows};
use crate::audit::canonical_json;
use crate::codec::{dec_text, json, ms, name, opt_dec_text, payload, time};
use crate::{AuditKind, OrderFilter, StoreError, StoredOrder};

/// Any BIGINT column will do: `SELECT 1` would be INT4 on PostgreSQL.
const PLAN_EXISTS: &str = "SELECT created_at_ms FROM plans WHERE id = $1";
const INSERT_PLAN: &str = "INSERT INTO plans \
     (id, account, symbol, created_at_ms, current_qty, target_qty, steps, skipped) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const INSERT_ORDER: &str = "INSERT INTO orders \
     (client_order_id, plan_id, leg, account, symbol, side, qty, kind, limit_price, reduce_only, \
      state, venue_order_id, filled_qty, avg_fill_price, fee, error, created_at_ms, \
      updated_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, '0', NULL, '0', NULL, $12, $12)";
const UPDATE_ORDER: &str = "UPDATE orders SET state = $2, venue_order_id = $3, filled_qty = $4, \
     avg_fill_price = $5, fee = $6, error = $7, updated_at_ms = $8 WHERE client_order_id = $1";
const SELECT_ORDER: &str = concat!(
    "SELECT ",
    order_columns!(),
    " FROM orders WHERE client_order_id = $1"
);
const SELECT_ORDERS: &str = concat!(
    "SELECT ",
    order_columns!(),
    " FROM orders WHERE ($1 IS NULL OR account = $1) AND ($2 IS NULL OR symbol = $2) \
     AND ($3 IS NULL OR state = $3) \
     ORDER BY created_at_ms DESC, plan_id DESC, leg DESC LIMIT $4 OFFSET $5"
);
/// The predicate matches the partial index `orders_unsettled` word for word.
const SELECT_UNSETTLED: &str = concat!(
    "SELECT ",
    order_columns!(),
    " FROM orders WHERE account = $1 AND state NOT IN ('filled', 'rejected', 'cancelled') \
     ORDER BY created_at_ms, plan_id, leg"
);

const INSERT_FILL: &str = "INSERT INTO fills \
     (account, client_order_id, venue_order_id, symbol, side, qty, price, fee, filled_at_ms, \
      fill_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (fill_key) DO NOTHING RETURNING seq";
const SELECT_FILLS_OF: &str = concat!(
    "SELECT ",
    fill_columns!(),
    " FROM fills WHERE account = $1 ORDER BY filled_at_ms DESC, seq DESC LIMIT $2"
);
const SELECT_FILLS_ALL: &str = concat!(
    "SELECT ",
    fill_columns!(),
    " FROM fills ORDER BY filled_at_ms DESC, seq DESC LIMIT $1"
);

/// What a venue said about an order (the arguments of `Store::update_order`).
#[derive(Debug)]
pub(crate) struct OrderReport<'a> {
    pub state: OrderState,
    pub venue_order_id: Option<&'a str>,
    pub filled_qty: Decimal,
    pub avg_fill_price: Option<Decimal>,
    pub fee: Decimal,
    pub error: Option<&'a str>,
    pub at: Timestamp,
}

impl<'a> OrderReport<'a> {
    /// The report an [`crate::OrderUpdate`] makes.
    pub fn of(update: &'a crate::OrderUpdate) -> Self {
        Self {
            state: update.state,
            venue_order_id: update.venue_order_id.as_deref(),
            filled_qty: update.filled_qty,
            avg_fill_price: update.avg_fill_price,
            fee: update.fee,
            error: update.error.as_deref(),
            at: update.at,
        }
    }
}

/// The order after `report`, or why the report cannot apply.
///
/// Beyond the state machine: the filled quantity is cumulative, so it may not be negative,
/// exceed the order's size or go down (a lower figure is a stale report arriving late); an
/// average fill price must be positive. A venue order id or average price the report leaves
/// out keeps the stored one; the error is replaced (so a cleared error clears).
pub(crate) fn apply_report(
    current: &StoredOrder,
    report: &OrderReport<'_>,
) -> Result<StoredOrder, String> {
    if !current.state.can_become(report.state) {
        return Err(format!(
            "state cannot move from {} to {}",
            current.state.as_str(),
            report.state.as_str()
        ));
    }
    if report.filled_qty < Decimal::ZERO {
        return Err(format!("filled quantity {} is negative", report.filled_qty));
    }
    if report.filled_qty > current.qty {
        return Err(format!(
            "filled quantity {} exceeds the order quantity {}",
            report.filled_qty, current.qty
        ));
    }
    if report.filled_qty < current.filled_qty {
        return Err(format!(
            "filled quantity cannot go down from {} to {} (stale report?)",
            current.filled_qty, report.filled_qty
        ));
    }
    if let Some(p) = report.avg_fill_price
        && p <= Decimal::ZERO
    {
        return Err(format!("average fill price {p} must be greater than zero"));
    }
    Ok(StoredOrder {
        state: report.state,
        venue_order_id: report
            .venue_order_id
            .map(str::to_string)
            .or_else(|| current.venue_order_id.clone()),
        filled_qty: report.filled_qty,
        avg_fill_price: report.avg_fill_price.or(current.avg_fill_price),
        fee: report.fee,
        error: report.error.map(str::to_string),
        updated_at: report.at,
        ..current.clone()
    })
}

/// An order row after a report, and the event to append when the report changed it.
pub(super) struct Applied {
    pub order: StoredOrder,
    pub event: Option<NewEvent>,
}

/// Refuses a fill that could never have happened (nothing was written).
pub(super) fn check_fill(fill: &Fill) -> Result<(), StoreError> {
    if fill.qty <= Decimal::ZERO {
        return Err(StoreError::invalid(
            format!("fill of order {}", fill.client_order_id),
            format!("quantity {} is not above zero", fill.qty),
        ));
    }
    Ok(())
}

/// The idempotency key of a fill: client order id, quantity, price, time. Decimals are
/// normalised so `1.50` and `1.5` are the same fill.
pub(crate) fn fill_key(fill: &Fill) -> String {
    format!(
        "{}|{}|{}|{}",
        fill.client_order_id,
        fill.qty.normalize(),
        fill.price.get().normalize(),
        ms(fill.filled_at)
    )
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
    pub(crate) async fn insert_plan(&self, plan: &Plan) -> Result<(), StoreError> {
        self.insert_plan_attributed(plan, None).await
    }

    /// `Store::record_plan` and `Store::record_plan_attributed`: the plan, its legs, the P&L
    /// attribution event (when given) and the audit event, in one transaction.
    pub(crate) async fn insert_plan_attributed(
        &self,
        plan: &Plan,
        attribution: Option<&crate::PnlEventRecord>,
    ) -> Result<(), StoreError> {
        let what = || format!("plan {}", plan.id);
        for leg in plan.legs() {
            if leg.qty <= Decimal::ZERO {
                return Err(StoreError::invalid(
                    what(),
                    format!("leg {} has quantity {}, not above zero", leg.leg, leg.qty),
                ));
            }
        }
        let steps = json("plan steps", &plan.steps)?;
        let skipped = plan
            .skipped
            .as_ref()
            .map(|s| name("plan skip reason", s))
            .transpose()?;
        let event = NewEvent {
            kind: AuditKind::PlanCreated,
            account: Some(plan.account.to_string()),
            symbol: Some(plan.symbol.to_string()),
            payload: payload("plan", plan)?,
            at: plan.created_at,
        };

        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        // An engine that lost the account's lease must not plan for it (crate::lease).
        self.fence(&mut tx, plan.account.as_str()).await?;
        let exists: Option<(i64,)> = sqlx::query_as(PLAN_EXISTS)
            .bind(plan.id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(what()));
        }
        let created = ms(plan.created_at);
        sqlx::query(INSERT_PLAN)
            .bind(plan.id.as_str())
            .bind(plan.account.as_str())
            .bind(plan.symbol.as_str())
            .bind(created)
            .bind(dec_text(plan.current.get()))
            .bind(dec_text(plan.target.get()))
            .bind(steps.as_str())
            .bind(skipped)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::on_conflict(e, what))?;
        for leg in plan.legs() {
            let (kind, limit_price) = rows::kind_columns(&leg.kind);
            sqlx::query(INSERT_ORDER)
                .bind(leg.client_order_id.as_str())
                .bind(plan.id.as_str())
                .bind(i64::from(leg.leg))
                .bind(plan.account.as_str())
                .bind(plan.symbol.as_str())
                .bind(leg.side.as_str())
                .bind(dec_text(leg.qty))
                .bind(kind)
                .bind(limit_price)
                .bind(leg.reduce_only)
                .bind(OrderState::Intended.as_str())
                .bind(created)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    StoreError::on_conflict(e, || {
                        format!(
                            "client order id {} (or leg {} of plan {})",
                            leg.client_order_id, leg.leg, plan.id
                        )
                    })
                })?;
        }
        if let Some(e) = attribution {
            Self::insert_pnl_event_in(&mut tx, e).await?;
        }
        Self::append_events(&mut tx, vec![event]).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn apply_order_report(
        &self,
        client_order_id: &ClientOrderId,
        report: OrderReport<'_>,
    ) -> Result<StoredOrder, StoreError> {
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        let applied = Self::apply_report_in(&mut tx, client_order_id, &report).await?;
        let Some(event) = applied.event else {
            // A repeated report changes nothing, so it writes nothing (not even an audit event).
            tx.rollback().await?;
            return Ok(applied.order);
        };
        if applied.order.state == OrderState::Sent {
            // The order leaves once this commits: only under the account's lease.
            self.fence(&mut tx, applied.order.account.as_str()).await?;
        }
        Self::append_events(&mut tx, vec![event]).await?;
        tx.commit().await?;
        Ok(applied.order)
    }

    /// Locks the order's row, checks `report` against it and writes the new state. Returns the
    /// order as stored afterwards and, when anything changed, the `OrderStateChanged` event the
    /// caller appends last (so the audit chain lock stays the last lock taken).
    pub(super) async fn apply_report_in(
        tx: &mut Transaction<'_, DB>,
        client_order_id: &ClientOrderId,
        report: &OrderReport<'_>,
    ) -> Result<Applied, StoreError> {
        let row = sqlx::query(DB::SELECT_ORDER_FOR_UPDATE)
            .bind(client_order_id.as_str())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("order {client_order_id}")))?;
        let current = rows::order(&mut super::Cols::new(&row))?;
        let mut next = apply_report(&current, report).map_err(|reason| StoreError::Order {
            client_order_id: client_order_id.to_string(),
            reason,
        })?;
        // Stored times are whole milliseconds; return what a read would return.
        next.updated_at = time("orders.updated_at_ms", ms(report.at))?;
        let unchanged = StoredOrder {
            updated_at: current.updated_at,
            ..next.clone()
        } == current;
        if unchanged {
            return Ok(Applied {
                order: current,
                event: None,
            });
        }
        sqlx::query(UPDATE_ORDER)
            .bind(client_order_id.as_str())
            .bind(next.state.as_str())
            .bind(next.venue_order_id.as_deref())
            .bind(dec_text(next.filled_qty))
            .bind(opt_dec_text(next.avg_fill_price))
            .bind(dec_text(next.fee))
            .bind(next.error.as_deref())
            .bind(ms(next.updated_at))
            .execute(&mut **tx)
            .await?;
        let event = NewEvent {
            kind: AuditKind::OrderStateChanged,
            account: Some(next.account.to_string()),
            symbol: Some(next.symbol.to_string()),
            payload: canonical_json(&serde_json::json!({
                "client_order_id": next.client_order_id,
                "plan_id": next.plan_id,
                "leg": next.leg,
                "from": current.state,
                "to": next.state,
                "venue_order_id": next.venue_order_id,
                "filled_qty": next.filled_qty,
                "avg_fill_price": next.avg_fill_price,
                "fee": next.fee,
                "error": next.error,
            })),
            at: report.at,
        };
        Ok(Applied {
            order: next,
            event: Some(event),
        })
    }

    pub(crate) async fn select_order(
        &self,
        client_order_id: &ClientOrderId,
    ) -> Result<Option<StoredOrder>, StoreError> {
        let row = sqlx::query(SELECT_ORDER)
            .bind(client_order_id.as_str())
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| rows::order(&mut super::Cols::new(&r)))
            .transpose()
    }

    pub(crate) async fn select_orders(
        &self,
        filter: &OrderFilter,
    ) -> Result<Vec<StoredOrder>, StoreError> {
        let (limit, offset) = page(
            filter.limit.unwrap_or(DEFAULT_ORDER_PAGE),
            filter.offset.unwrap_or(0),
        )?;
        let rows = sqlx::query(SELECT_ORDERS)
            .bind(filter.account.as_ref().map(|a| a.as_str()))
            .bind(filter.symbol.as_ref().map(|s| s.as_str()))
            .bind(filter.state.map(OrderState::as_str))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, |c| rows::order(c))
    }

    pub(crate) async fn select_unsettled(
        &self,
        account: &AccountName,
    ) -> Result<Vec<StoredOrder>, StoreError> {
        let rows = sqlx::query(SELECT_UNSETTLED)
            .bind(account.as_str())
            .fetch_all(&self.read)
            .await?;
        decode_all(&rows, |c| rows::order(c))
    }

    pub(crate) async fn insert_fill(
        &self,
        account: &AccountName,
        fill: &Fill,
    ) -> Result<(), StoreError> {
        check_fill(fill)?;
        let mut conn = self.writer().await?;
        let mut tx = conn.begin().await?;
        let Some(event) = Self::insert_fill_in(&mut tx, account, fill).await? else {
            tx.rollback().await?;
            return Ok(());
        };
        Self::append_events(&mut tx, vec![event]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Inserts a checked fill (see [`check_fill`]); `None` when the same fill (its
    /// [`fill_key`]) is stored already, else the `Fill` event the caller appends last.
    pub(super) async fn insert_fill_in(
        tx: &mut Transaction<'_, DB>,
        account: &AccountName,
        fill: &Fill,
    ) -> Result<Option<NewEvent>, StoreError> {
        let event = NewEvent {
            kind: AuditKind::Fill,
            account: Some(account.to_string()),
            symbol: Some(fill.symbol.to_string()),
            payload: payload("fill", fill)?,
            at: fill.filled_at,
        };
        let inserted: Option<(i64,)> = sqlx::query_as(INSERT_FILL)
            .bind(account.as_str())
            .bind(fill.client_order_id.as_str())
            .bind(fill.venue_order_id.as_deref())
            .bind(fill.symbol.as_str())
            .bind(fill.side.as_str())
            .bind(dec_text(fill.qty))
            .bind(dec_text(fill.price.get()))
            .bind(dec_text(fill.fee))
            .bind(ms(fill.filled_at))
            .bind(fill_key(fill))
            .fetch_optional(&mut **tx)
            .await?;
        Ok(inserted.map(|_| event))
    }

    pub(crate) async fn select_fills(
        &self,
        account: Option<&AccountName>,
        limit: i64,
    ) -> Result<Vec<Fill>, StoreError> {
        let (limit, _) = page(limit, 0)?;
        let rows = match account {
            Some(a) => {
                sqlx::query(SELECT_FILLS_OF)
                    .bind(a.as_str())
                    .bind(limit)
                    .fetch_all(&self.read)
                    .await?
            }
            None => {
                sqlx::query(SELECT_FILLS_ALL)
                    .bind(limit)
                    .fetch_all(&self.read)
                    .await?
            }
        };
        decode_all(&rows, |c| rows::fill(c))
    }
}

#[cfg(test)]
#[path = "orders_tests.rs"]
mod tests;
