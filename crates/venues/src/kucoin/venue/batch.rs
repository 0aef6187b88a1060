//! KuCoin Futures batch order entry: `POST /api/v1/orders/multi`
//! (https://www.kucoin.com/docs/rest/futures-trading/orders/place-multiple-orders).
//!
//! - **Size:** "up to 20 orders at one time"; the body is a JSON list of orders, each with the
//!   parameters of a single `POST /api/v1/orders`.
//! - **Cost:** futures weight 20 from the account's resource pool (2,000 per 30 s on VIP0),
//!   against 2 for a single order: one per order in a full batch.
//! - **Answer:** `data` is a list in the order of the request, `{orderId, clientOid, symbol,
//!   code, msg}` per order; a `code` other than `200000` refuses that order only.
//! - **Idempotency:** as for a single order (see [`crate::kucoin::venue`]), a client id sent before is
//!   looked up first and answered with the order found instead of being placed again.

use serde::Deserialize;
use serde_json::{Value, json};
use tradeengine_model::{Instrument, OrderKind, OrderRequest};

use super::{KucoinVenue, side_text, whole};
use crate::Venue;
use crate::VenueError;
use crate::batch::{Results, Slots};
use crate::checks::to_venue_units;
use crate::http::envelope::order_reply;
use crate::kucoin::VENUE;
use crate::kucoin::codes;
use crate::kucoin::models::margin_mode_text;
use crate::parse::format_dec;

/// Orders per `orders/multi` request.
pub const BATCH_MAX: usize = 20;
/// Futures weight of one `orders/multi` request.
const WEIGHT: u32 = 20;
const PATH: &str = "/api/v1/orders/multi";

/// One order's entry of the answer's `data`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(default)]
    client_oid: String,
    code: String,
    #[serde(default)]
    msg: String,
}

impl KucoinVenue {
    /// An order checked against its instrument's rules: the instrument and the size in lots.
    pub(super) async fn checked_lots(
        &self,
        order: &OrderRequest,
    ) -> Result<(Instrument, Value), VenueError> {
        let i = self.instrument(&order.symbol).await?;
        crate::checks::check_order(VENUE, &i, order)?;
        let lots = whole(to_venue_units(VENUE, &i, order.qty, "lots")?, "size (lots)")?;
        Ok((i, lots))
    }

    /// An order's request body, with the symbol's margin mode and leverage (KuCoin takes both
    /// on every order).
    pub(super) async fn order_body(
        &self,
        i: &Instrument,
        lots: Value,
        order: &OrderRequest,
    ) -> Result<Value, VenueError> {
        let mode = self.symbol_margin(i, false).await?;
        let leverage = self.order_leverage(i, mode).await?;
        let mut body = json!({
            "clientOid": order.client_order_id.as_str(),
            "side": side_text(order.side),
            "symbol": i.venue_symbol,
            "type": "market",
            "leverage": format_dec(leverage),
            "size": lots,
            "marginMode": margin_mode_text(mode),
            "reduceOnly": order.reduce_only,
        });
        if let OrderKind::Limit { price } = order.kind {
            body["type"] = json!("limit");
            body["price"] = json!(format_dec(price.get()));
            body["timeInForce"] = json!("GTC");
        }
        Ok(body)
    }

    /// One `orders/multi` request.
    pub(super) async fn place_batch(&self, orders: &[OrderRequest]) -> Results {
        let mut slots = Slots::new(VENUE, orders);
        let mut list = Vec::new();
        let mut sent = Vec::new();
        for (i, order) in slots.pending() {
            let body = match self.checked_lots(order).await {
                Ok((instrument, lots)) => {
                    if self.mark_sent(order.client_order_id.as_str()) {
                        // Sent before: an order that landed is never placed twice.
                        match self
                            .order_by_client_id(&order.symbol, &order.client_order_id)
                            .await
                        {
                            Ok(Some(s)) => {
                                slots.set(i, Ok(s));
                                continue;
                            }
                            Ok(None) => {}
                            Err(e) => {
                                slots.set(i, Err(e));
                                continue;
                            }
                        }
                    }
                    self.order_body(&instrument, lots, order).await
                }
                Err(e) => Err(e),
            };
            match body {
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
            .post(PATH, &Value::Array(list), WEIGHT)
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
        let mut accepted = Vec::new();
        for ((i, order), entry) in sent.into_iter().zip(entries) {
            if entry.client_oid != order.client_order_id.as_str() {
                // Not this order's answer: left without one, settled by client id.
                continue;
            }
            if entry.code == codes::SUCCESS {
                accepted.push((i, order));
            } else {
                slots.set(i, Err(codes::error(&entry.code, &entry.msg, PATH)));
            }
        }
        let statuses =
            futures::future::join_all(accepted.iter().map(|(_, o)| self.status_after_ack(o))).await;
        for ((i, _), status) in accepted.into_iter().zip(statuses) {
            slots.set(i, status);
        }
        slots.finish()
    }
}
