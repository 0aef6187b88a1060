//! `POST /api/v1/private/order/submit_batch`
//! (https://mexcdevelop.github.io/apidocs/contract_v1_en/, "Bulk order"): a JSON list of at
//! most 50 `order/submit` bodies, one request per 2 s. `data` answers each order in the
//! request's order with `{orderId, externalOid, errorCode, errorMsg}` (`errorCode` 0 for a
//! placed order), so one order's refusal leaves the others placed; a repeated `externalOid`
//! answers with the order already placed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::rest::{place_submit, private_post};
use super::{err, ok};
use crate::Shared;

/// The most orders one request may carry.
pub const BATCH_MAX: usize = 50;
/// One request per this window.
const WINDOW_MS: i64 = 2000;

/// The endpoint's own limit, 1 request per 2 s: `Err` (code 510) when exceeded.
fn batch_budget(sh: &Shared) -> Result<(), Response> {
    let now = sh.now_ms();
    let mut times = sh
        .batch_order_times
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    while times.front().is_some_and(|t| *t <= now - WINDOW_MS) {
        times.pop_front();
    }
    if !times.is_empty() {
        return Err(err(510, "Requests are too frequent"));
    }
    times.push_back(now);
    Ok(())
}

pub async fn submit_batch(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = match private_post(&sh, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if sh.options.order_entry_restricted {
        return err(1002, "Contract not allow place order!");
    }
    let Some(list) = v
        .as_array()
        .filter(|l| !l.is_empty() && l.len() <= BATCH_MAX)
    else {
        return err(600, "Parameter error: a batch carries 1 to 50 orders");
    };
    if let Err(r) = batch_budget(&sh) {
        return r;
    }
    let data: Vec<Value> = list
        .iter()
        .map(|order| {
            let external = order.get("externalOid").cloned().unwrap_or(Value::Null);
            match place_submit(&sh, order) {
                Ok(id) => json!({"orderId": id, "externalOid": external, "errorCode": 0, "errorMsg": "success"}),
                Err((code, msg)) => json!({"orderId": Value::Null, "externalOid": external, "errorCode": code, "errorMsg": msg}),
            }
        })
        .collect();
    ok(Value::Array(data))
}
