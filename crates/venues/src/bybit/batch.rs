//! Bybit batch order entry: `POST /v5/order/create-batch`
//! (https://bybit-exchange.github.io/docs/v5/order/batch-place).
//!
//! - **Size:** the batch page allows 20 linear orders per request; the rate-limit page's
//!   "Instructions for batch endpoints" (https://bybit-exchange.github.io/docs/v5/rate-limit)
//!   says "1-10 orders/request". [`BATCH_MAX`] = 10 is valid under both.
//! - **Rate limit:** the batch endpoint "has its own rate limit and does not share it with
//!   single requests", consumed per order ("Number of consumption = number of requests *
//!   number of orders included in a single request"), at the same per-UID figure as single
//!   order entry (10/s on the default tier). Orders past the window's remainder fail with
//!   10006 while the first ones are placed. So the `batch` scope is charged one unit per order,
//!   a batch never carries more orders than that scope's allowance, and
//!   [`BybitVenue::place_many`] spreads a cycle's orders over **both** endpoints, as the same
//!   page describes ("I can place 200 linear orders in one second if I use both endpoints"):
//!   at the default tier 50 orders take two windows instead of five.
//! - **Answer:** `result.list` and `retExtInfo.list` are two lists in the order of the request,
//!   one created order and one `{code, msg}` per order; a non-zero code refuses that order only.

use futures::future::join_all;
use serde::Deserialize;
use serde_json::{Value, json};
use tradeengine_model::{Instrument, OrderKind, OrderRequest, Side};

use super::VENUE;
use super::codes;
use super::http::scope;
use super::venue::BybitVenue;
use crate::VenueError;
use crate::batch::{Results, Slots, in_chunks};
use crate::parse::format_dec;

/// Orders per `create-batch` request (see the module docs).
pub const BATCH_MAX: usize = 10;
const PATH: &str = "/v5/order/create-batch";
const ENDPOINT: &str = "POST /v5/order/create-batch";

/// One created order of `result.list`; empty ids for a refused one.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    #[serde(default)]
    order_link_id: String,
}

#[derive(Debug, Deserialize)]
struct CreatedList {
    list: Vec<Created>,
}

/// One `{code, msg}` of `retExtInfo.list`.
#[derive(Debug, Deserialize)]
struct Outcome {
    code: i64,
    #[serde(default)]
    msg: String,
}

#[derive(Debug, Deserialize)]
struct OutcomeList {
    list: Vec<Outcome>,
}

fn side_str(side: Side) -> &'static str {
    match side {
        Side::Buy => "Buy",
        Side::Sell => "Sell",
    }
}

/// One order's fields, as `/v5/order/create` and each entry of a batch take them (the single
/// request adds `category`).
pub(super) fn order_fields(instrument: &Instrument, order: &OrderRequest) -> Value {
    let mut body = json!({
        "symbol": instrument.venue_symbol,
        "side": side_str(order.side),
        "orderType": "Market",
        "qty": format_dec(order.qty),
        "orderLinkId": order.client_order_id.as_str(),
        "reduceOnly": order.reduce_only,
        "positionIdx": 0,
    });
    if let OrderKind::Limit { price } = order.kind {
        body["orderType"] = json!("Limit");
        body["price"] = json!(format_dec(price.get()));
        body["timeInForce"] = json!("GTC");
    }
    body
}

impl BybitVenue {
    /// An order checked against its instrument's rules, as its request fields.
    pub(super) async fn checked_order(&self, order: &OrderRequest) -> Result<Value, VenueError> {
        let instrument = self.instrument(&order.symbol).await?;
        crate::checks::check_order(VENUE, &instrument, order)?;
        Ok(order_fields(&instrument, order))
    }

    /// Orders per batch: [`BATCH_MAX`], and never more than the batch budget's allowance (a
    /// batch must fit one window, see the module docs).
    pub fn batch_size(&self) -> usize {
        let allowance = self.http().limits.amount(scope::BATCH).unwrap_or(1);
        BATCH_MAX
            .min(usize::try_from(allowance).unwrap_or(1))
            .max(1)
    }

    /// Places `orders` over both order endpoints in proportion to their budgets: the first
    /// share in batches, the rest one by one, all at once (each scope paces its own).
    pub(super) async fn place_many(&self, orders: &[OrderRequest]) -> Results {
        let limits = &self.http().limits;
        let batch = u64::from(limits.amount(scope::BATCH).unwrap_or(0));
        let single = u64::from(limits.amount(scope::ORDER).unwrap_or(0));
        let n = orders.len() as u64;
        let to_batch = if batch + single == 0 {
            n
        } else {
            (n * batch).div_ceil(batch + single)
        };
        // One order alone goes as a single order: a batch of one saves nothing.
        let to_batch = if n <= 1 { 0 } else { to_batch };
        let (batched, singles) = orders.split_at(usize::try_from(to_batch).unwrap_or(orders.len()));
        let (mut out, one_by_one) = tokio::join!(
            in_chunks(VENUE, batched, self.batch_size(), |chunk| self
                .create_batch(chunk)),
            join_all(singles.iter().map(|o| crate::Venue::place_order(self, o))),
        );
        out.extend(one_by_one);
        out
    }

    /// One `create-batch` request.
    async fn create_batch(&self, orders: &[OrderRequest]) -> Results {
        let mut slots = Slots::new(VENUE, orders);
        let mut entries = Vec::new();
        let mut sent = Vec::new();
        for (i, order) in slots.pending() {
            match self.checked_order(order).await {
                Ok(fields) => {
                    entries.push(fields);
                    sent.push((i, order));
                }
                Err(e) => slots.set(i, Err(e)),
            }
        }
        if sent.is_empty() {
            return slots.finish();
        }
        let cost = u32::try_from(sent.len()).unwrap_or(u32::MAX);
        let body = json!({"category": "linear", "request": entries});
        let (result, ext) = match self
            .http()
            .post_batch(PATH, &body, scope::BATCH, cost)
            .await
        {
            Ok(answer) => answer,
            Err(e) => {
                slots.fail_pending(&e);
                return slots.finish();
            }
        };
        // Unreadable lists leave every sent order without a result: settled by client id.
        let created = serde_json::from_value::<CreatedList>(result).map(|l| l.list);
        let outcomes = serde_json::from_value::<OutcomeList>(ext).map(|l| l.list);
        let (Ok(created), Ok(outcomes)) = (created, outcomes) else {
            tracing::warn!(venue = VENUE, "{ENDPOINT}: unreadable per-order lists");
            return slots.finish();
        };
        let mut accepted = Vec::new();
        let mut stale = false;
        for (k, (i, order)) in sent.into_iter().enumerate() {
            let Some(outcome) = outcomes.get(k) else {
                continue;
            };
            match outcome.code {
                0 => {
                    // The lists are positional; a created row naming another order is not
                    // this order's answer.
                    let id = created.get(k).map(|c| c.order_link_id.as_str());
                    if id.is_none_or(|id| id == order.client_order_id.as_str()) {
                        accepted.push((i, order));
                    }
                }
                codes::DUPLICATE_LINK_ID => accepted.push((i, order)),
                code => {
                    stale |= codes::suggests_stale_instrument(code);
                    slots.set(i, Err(codes::error(code, &outcome.msg, PATH)));
                }
            }
        }
        if stale {
            self.invalidate_instruments().await;
        }
        // Accepted orders (and duplicates, whose earlier attempt landed): their status from the
        // stream or a look-up, all at once.
        let statuses = join_all(accepted.iter().map(|(_, o)| self.status_after_ack(o))).await;
        for ((i, _), status) in accepted.into_iter().zip(statuses) {
            slots.set(i, status);
        }
        slots.finish()
    }
}
