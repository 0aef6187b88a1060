//! BloFin batch order entry: `POST /api/v1/trade/batch-orders` (https://docs.blofin.com/index.html#place-multiple-orders).
//!
//! - **One instrument per request:** BloFin refuses a batch whose orders name different
//!   `instId`s (152007, "Batch orders can only be placed with the same instId") and one of more
//!   than 20 orders (152006, "Batch orders can be placed for up to 20 at once"); CCXT's
//!   `blofin` caps its `createOrders` at 10. [`BATCH_MAX`] = 10 is valid under both.
//! - **What it saves:** a batch is one request against the trading budget (30 requests per
//!   10 s), whatever it carries. A reconciliation cycle sends one first leg per symbol, so its
//!   orders name different instruments and go one by one as before: only orders for the same
//!   instrument share a request ([`BlofinVenue::place_many`]).
//! - **Answer:** `data` is a list in the order of the request, `{orderId, clientOrderId, code,
//!   msg}` per order; a `code` other than `0` refuses that order only.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use tradeengine_model::{OrderKind, OrderRequest, OrderStatus};

use super::{BlofinVenue, side_text, wire_id};
use crate::batch::{Results, Slots};
use crate::blofin::VENUE;
use crate::blofin::codes;
use crate::blofin::http::scope;
use crate::blofin::models::margin_mode_text;
use crate::checks::to_venue_units;
use crate::http::envelope::order_reply;
use crate::parse::format_dec;
use crate::{Venue, VenueError, VenueErrorKind};

/// Orders per `batch-orders` request (see the module docs).
pub const BATCH_MAX: usize = 10;
const PATH: &str = "/api/v1/trade/batch-orders";

/// One order's entry of the answer's `data`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(default)]
    client_order_id: String,
    code: Value,
    #[serde(default)]
    msg: String,
}

impl BlofinVenue {
    /// An order checked against its instrument's rules, as its request body.
    pub(super) async fn order_body(&self, order: &OrderRequest) -> Result<Value, VenueError> {
        let instrument = self.instrument(&order.symbol).await?;
        crate::checks::check_order(VENUE, &instrument, order)?;
        let contracts = to_venue_units(VENUE, &instrument, order.qty, "contracts")?;
        let wire_id = wire_id(&order.client_order_id)?;
        let mode = self.margin_mode(false).await?;
        let mut body = json!({
            "instId": instrument.venue_symbol,
            "marginMode": margin_mode_text(mode),
            "positionSide": "net",
            "side": side_text(order.side),
            "orderType": "market",
            "size": format_dec(contracts),
            "reduceOnly": if order.reduce_only { "true" } else { "false" },
            "clientOrderId": wire_id,
        });
        if let OrderKind::Limit { price } = order.kind {
            body["orderType"] = json!("limit");
            body["price"] = json!(format_dec(price.get()));
        }
        Ok(body)
    }

    /// A refused order: a duplicate client id is the earlier attempt, answered with that
    /// order; a code that says our rules are stale refetches them.
    pub(super) async fn refused(
        &self,
        order: &OrderRequest,
        e: VenueError,
    ) -> Result<OrderStatus, VenueError> {
        if codes::is(&e, &codes::DUPLICATE_CLIENT_ID) {
            return match self
                .order_by_client_id(&order.symbol, &order.client_order_id)
                .await?
            {
                Some(s) => Ok(s),
                None => Err(VenueError::new(
                    VENUE,
                    VenueErrorKind::Ambiguous,
                    format!(
                        "order {} is a duplicate but cannot be found yet",
                        order.client_order_id
                    ),
                )
                .with_code(e.code.unwrap_or_default())),
            };
        }
        if codes::is(&e, &[codes::UNKNOWN_INSTRUMENT, "542", "102014", "102015"]) {
            self.invalidate_instruments().await;
        }
        Err(e)
    }

    /// Orders for the same instrument in batches, the others one by one; all at once.
    pub(super) async fn place_many(&self, orders: &[OrderRequest]) -> Results {
        let mut by_symbol: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, o) in orders.iter().enumerate() {
            by_symbol.entry(o.symbol.as_str()).or_default().push(i);
        }
        let groups = by_symbol.into_values().map(|indices| async move {
            let group: Vec<OrderRequest> = indices.iter().map(|i| orders[*i].clone()).collect();
            let results = if group.len() == 1 {
                vec![self.place_order(&group[0]).await]
            } else {
                crate::batch::in_chunks(VENUE, &group, BATCH_MAX, |chunk| self.place_batch(chunk))
                    .await
            };
            indices.into_iter().zip(results).collect::<Vec<_>>()
        });
        let mut slots = Slots::new(VENUE, orders);
        for (i, result) in futures::future::join_all(groups)
            .await
            .into_iter()
            .flatten()
        {
            slots.set(i, result);
        }
        slots.finish()
    }

    /// One `batch-orders` request (its orders all for one instrument).
    async fn place_batch(&self, orders: &[OrderRequest]) -> Results {
        let mut slots = Slots::new(VENUE, orders);
        let mut list = Vec::new();
        let mut sent = Vec::new();
        for (i, order) in slots.pending() {
            match self.order_body(order).await {
                Ok(b) => {
                    list.push(b);
                    sent.push((i, order));
                }
                Err(e) => slots.set(i, Err(e)),
            }
        }
        if sent.is_empty() {
            return slots.finish();
        }
        let data = match self
            .http()
            .post_items(PATH, &Value::Array(list), scope::TRADE)
            .await
            .and_then(|d| order_reply(VENUE, PATH, d))
        {
            Ok(data) => data,
            Err(e) => {
                slots.fail_pending(&e);
                return slots.finish();
            }
        };
        let Ok(entries) = serde_json::from_value::<Vec<Entry>>(data) else {
            tracing::warn!(venue = VENUE, "POST {PATH}: unreadable per-order list");
            return slots.finish();
        };
        let settled = futures::future::join_all(sent.into_iter().zip(entries).map(
            |((i, order), entry)| async move {
                let wire = wire_id(&order.client_order_id).unwrap_or_default();
                if entry.client_order_id != wire {
                    // Not this order's answer: left without one, settled by client id.
                    return (i, None);
                }
                let code = match &entry.code {
                    Value::String(c) => c.clone(),
                    other => other.to_string(),
                };
                let result = if code == "0" {
                    self.status_after_ack(order).await
                } else {
                    self.refused(order, codes::error(&code, &entry.msg, PATH))
                        .await
                };
                (i, Some(result))
            },
        ))
        .await;
        for (i, result) in settled {
            if let Some(r) = result {
                slots.set(i, r);
            }
        }
        slots.finish()
    }
}
