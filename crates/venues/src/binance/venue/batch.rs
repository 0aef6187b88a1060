//! Binance batch order entry: `POST /fapi/v1/batchOrders`
//! (https://developers.binance.com/docs/derivatives/usds-margined-futures/trade/rest-api/Place-Multiple-Orders).
//!
//! - **Size:** `batchOrders` is a JSON list of at most 5 orders, each with the parameters of a
//!   single new order.
//! - **Cost:** request weight 5; against the account's order counts, 5 in the 10-second bucket
//!   (`X-MBX-ORDER-COUNT-10S`) and 1 in the minute bucket (`X-MBX-ORDER-COUNT-1M`), as that
//!   page states.
//! - **Answer:** a list in the order of the request, each entry the order (as a single order's
//!   answer) or `{code, msg}`: one order's refusal leaves the others placed. The orders of one
//!   batch are processed concurrently; their matching order is not guaranteed.

use serde_json::{Map, Value};
use tradeengine_model::{Instrument, OrderKind, OrderRequest, OrderStatus, Side};

use super::{BinanceVenue, code_of};
use crate::batch::{Results, Slots};
use crate::binance::VENUE;
use crate::binance::codes;
use crate::binance::http::{Auth, has_code, scope};
use crate::http::{Method, Query};
use crate::parse::format_dec;
use crate::{VenueError, VenueErrorKind};

/// Orders per `batchOrders` request.
pub const BATCH_MAX: usize = 5;
const PATH: &str = "/fapi/v1/batchOrders";

/// One order's parameters, in the order a single `POST /fapi/v1/order` sends them.
pub(super) fn order_fields(
    instrument: &Instrument,
    order: &OrderRequest,
) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("symbol", instrument.venue_symbol.clone()),
        (
            "side",
            if order.side == Side::Buy {
                "BUY"
            } else {
                "SELL"
            }
            .to_string(),
        ),
        (
            "type",
            if matches!(order.kind, OrderKind::Market) {
                "MARKET"
            } else {
                "LIMIT"
            }
            .to_string(),
        ),
        ("quantity", format_dec(order.qty)),
    ];
    if let OrderKind::Limit { price } = order.kind {
        fields.push(("price", format_dec(price.get())));
        fields.push(("timeInForce", "GTC".to_string()));
    }
    fields.push(("reduceOnly", order.reduce_only.to_string()));
    fields.push((
        "newClientOrderId",
        order.client_order_id.as_str().to_string(),
    ));
    fields.push(("newOrderRespType", "RESULT".to_string()));
    fields
}

impl BinanceVenue {
    /// An accepted order's answer as its status: a market order not yet final waits briefly
    /// for its fill on the stream.
    pub(super) async fn accepted(
        &self,
        order: &OrderRequest,
        answer: Value,
    ) -> Result<OrderStatus, VenueError> {
        let s = self.status_of(answer).await?;
        if matches!(order.kind, OrderKind::Market)
            && !s.state.is_terminal()
            && self.stream_ready()
            && let Some(p) = self
                .tracker()
                .wait_for(order.client_order_id.as_str(), self.fill_wait(), |p| {
                    p.state.is_terminal()
                })
                .await
        {
            return Ok(p);
        }
        Ok(s)
    }

    /// A refused order: a duplicate client id is the earlier attempt, answered with that
    /// order; a code that says our rules are stale refetches them.
    pub(super) async fn refused(
        &self,
        order: &OrderRequest,
        e: VenueError,
    ) -> Result<OrderStatus, VenueError> {
        if has_code(&e, codes::DUPLICATE_CLIENT_ID) {
            return match crate::Venue::order_by_client_id(
                self,
                &order.symbol,
                &order.client_order_id,
            )
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
                .with_code("-4116")),
            };
        }
        if code_of(&e).is_some_and(codes::suggests_stale_instrument) {
            self.invalidate_instruments().await;
        }
        Err(e)
    }

    /// One `batchOrders` request.
    pub(super) async fn place_batch(&self, orders: &[OrderRequest]) -> Results {
        let mut slots = Slots::new(VENUE, orders);
        let mut list = Vec::new();
        let mut sent = Vec::new();
        for (i, order) in slots.pending() {
            let checked = match self.instrument(&order.symbol).await {
                Ok(instrument) => crate::checks::check_order(VENUE, &instrument, order)
                    .map(|()| order_fields(&instrument, order)),
                Err(e) => Err(e),
            };
            match checked {
                Ok(fields) => {
                    let entry: Map<String, Value> = fields
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), Value::String(v)))
                        .collect();
                    list.push(Value::Object(entry));
                    sent.push((i, order));
                }
                Err(e) => slots.set(i, Err(e)),
            }
        }
        if sent.is_empty() {
            return slots.finish();
        }
        let q = Query::new().with("batchOrders", Value::Array(list).to_string());
        // Weight 5; 5 in the 10-second order count and 1 in the minute's (see the module docs).
        let costs = [
            (scope::WEIGHT, 5),
            (scope::ORDERS_10S, 5),
            (scope::ORDERS_1M, 1),
        ];
        let answer = match self
            .http()
            .request_costing(Method::Post, PATH, &q, Auth::Signed, &costs)
            .await
        {
            Ok(Value::Array(answer)) => answer,
            Ok(other) => {
                tracing::warn!(venue = VENUE, answer = %other, "{PATH}: the answer is not a list");
                return slots.finish();
            }
            Err(e) => {
                slots.fail_pending(&e);
                return slots.finish();
            }
        };
        let settled = futures::future::join_all(sent.iter().zip(answer).map(
            |((i, order), entry)| async move {
                let result = match entry_error(&entry) {
                    Some(e) => self.refused(order, e).await,
                    None => self.accepted(order, entry).await,
                };
                (*i, result)
            },
        ))
        .await;
        for (i, result) in settled {
            slots.set(i, result);
        }
        slots.finish()
    }
}

/// The error of a `{code, msg}` entry; `None` for an order.
fn entry_error(entry: &Value) -> Option<VenueError> {
    let code = entry.get("code")?.as_i64()?;
    let msg = entry.get("msg").and_then(Value::as_str).unwrap_or_default();
    Some(codes::error(code, msg, PATH, true))
}
