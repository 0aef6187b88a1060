//! MEXC batch order entry: `POST /api/v1/private/order/submit_batch`
//! (https://mexcdevelop.github.io/apidocs/contract_v1_en/, "Bulk order (Under maintenance)").
//!
//! - **Size and cost:** at most 50 orders per request ("Request parameters: (maximum 50)"),
//!   rate limit 1 request per 2 seconds (CCXT's `mexc` weighs it 40 against 2 for a single
//!   submission: the same ratio). The page also says "each contract can place 50 orders in the
//!   batch" and its example names one symbol; it does not say a batch may not mix symbols, and
//!   this adapter sends a cycle's orders for many symbols together.
//! - **Body:** a JSON list of `order/submit` bodies ([`MexcVenue::submit_body`]); a repeated
//!   `externalOid` "returns the existing order id", so a re-sent order is never doubled.
//! - **Answer:** `data` lists the orders in the order of the request, each `{orderId,
//!   externalOid, errorCode, errorMsg}` (`errorCode` 0 for a placed order); a refused entry
//!   refuses that order only.
//! - Like single order entry, the endpoint is "under maintenance" for API users, and it is
//!   "not available for all users, please contact customer service to get this permission".
//!   A refusal of the whole request that says the venue did nothing (a business or permission
//!   error, not a 5xx or a timeout) turns batching off for this connection, and the same orders
//!   go one by one through `order/submit` at once: an account without the batch permission
//!   trades as before instead of having every order refused. Re-sending is safe because the
//!   venue did not act, and a repeated `externalOid` returns the existing order anyway.

use serde::Deserialize;
use serde_json::Value;

use super::*;
use crate::batch::{Results, Slots};

/// Orders per `submit_batch` request.
pub const BATCH_MAX: usize = 50;
const PATH: &str = "/api/v1/private/order/submit_batch";

/// One order's entry of the answer's `data`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(default)]
    external_oid: String,
    /// A number on the wire, read as text like every MEXC number (see `super::super::json`).
    #[serde(default)]
    error_code: Value,
    #[serde(default)]
    error_msg: String,
}

/// Whether a failed `submit_batch` request was refused as a whole before the venue acted on
/// any of its orders, for a reason single order entry may not share (no permission for the
/// endpoint, the endpoint closed): a business or permission refusal, never a 5xx, timeout or
/// rate limit.
fn refuses_the_endpoint(e: &VenueError) -> bool {
    !e.may_have_acted()
        && matches!(
            e.kind,
            VenueErrorKind::Rejected | VenueErrorKind::Auth | VenueErrorKind::Unsupported
        )
}

impl MexcVenue {
    /// Whether batching is off for this connection (see the module docs).
    pub(super) fn batch_refused(&self) -> bool {
        self.batch_refused
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// An order checked against its instrument's rules and MEXC's API restrictions, as its
    /// `order/submit` body. From here the positions snapshot no longer has the symbol's last
    /// word (the order may change it).
    pub(super) async fn checked_submit(&self, order: &OrderRequest) -> Result<String, VenueError> {
        let instrument = self.instrument(&order.symbol).await?;
        crate::checks::check_order(VENUE, &instrument, order)?;
        if self.contracts.read().api_disallowed.contains(&order.symbol) {
            return Err(codes::restricted_locally(&instrument.venue_symbol));
        }
        let vol = instrument
            .base_to_venue(order.qty)
            .ok_or_else(|| rejected("bad_qty", format!("{}: quantity overflow", order.symbol)))?;
        let body = self.submit_body(order, &instrument, vol);
        lock(&self.snapshot).touched.insert(order.symbol.clone());
        Ok(body)
    }

    /// One `submit_batch` request.
    pub(super) async fn submit_batch(&self, orders: &[OrderRequest]) -> Results {
        let mut slots = Slots::new(VENUE, orders);
        let mut bodies = Vec::new();
        let mut sent = Vec::new();
        for (i, order) in slots.pending() {
            match self.checked_submit(order).await {
                Ok(b) => {
                    bodies.push(b);
                    sent.push((i, order));
                }
                Err(e) => slots.set(i, Err(e)),
            }
        }
        if sent.is_empty() {
            return slots.finish();
        }
        // Built by hand like each body, so decimals stay exact.
        let body = format!("[{}]", bodies.join(","));
        let data = match self
            .http
            .post(PATH, body, scope::BATCH)
            .await
            .and_then(|d| order_reply(VENUE, PATH, d))
        {
            Ok(data) => data,
            Err(e) if refuses_the_endpoint(&e) => {
                tracing::warn!(venue = VENUE, error = %e, "the venue refused batch order entry; orders go one by one from now on");
                self.batch_refused
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                for (i, order) in sent {
                    slots.set(i, self.place_order(order).await);
                }
                return slots.finish();
            }
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
        let mut stale = false;
        for ((i, order), entry) in sent.into_iter().zip(entries) {
            if entry.external_oid != order.client_order_id.as_str() {
                // Not this order's answer: left without one, settled by client id.
                continue;
            }
            let code = match &entry.error_code {
                Value::String(c) => c.parse::<i64>().ok(),
                Value::Number(n) => n.as_i64(),
                Value::Null => Some(0),
                _ => None,
            };
            match code {
                Some(0) => accepted.push((i, order)),
                Some(code) => {
                    stale |= codes::suggests_stale_instrument(code);
                    slots.set(i, Err(codes::error(code, &entry.error_msg, PATH, true)));
                }
                // An unreadable code: left without a result, settled by client id.
                None => {}
            }
        }
        if stale {
            self.invalidate_instruments();
        }
        let statuses =
            futures::future::join_all(accepted.iter().map(|(_, o)| self.status_after_ack(o))).await;
        for ((i, _), status) in accepted.into_iter().zip(statuses) {
            slots.set(i, status);
        }
        slots.finish()
    }
}
