//! `POST /api/v1/orders/multi`
//! (https://www.kucoin.com/docs/rest/futures-trading/orders/place-multiple-orders): a JSON list
//! of up to 20 orders, each as a single `POST /api/v1/orders` takes it; `data` answers each in
//! the order of the request with `{orderId, clientOid, symbol, code, msg}`, so one order's
//! refusal leaves the others placed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::rest::{place_one, private_post};
use super::{err, ok};
use crate::Shared;

/// The most orders one request may carry.
pub const BATCH_MAX: usize = 20;

pub async fn orders_multi(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = match private_post(&sh, &headers, "/api/v1/orders/multi", &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(list) = v
        .as_array()
        .filter(|l| !l.is_empty() && l.len() <= BATCH_MAX)
    else {
        return err("400100", "the body must be a list of 1 to 20 orders");
    };
    let data: Vec<Value> = list
        .iter()
        .map(|order| {
            let client_oid = order.get("clientOid").cloned().unwrap_or(Value::Null);
            let symbol = order.get("symbol").cloned().unwrap_or(Value::Null);
            match place_one(&sh, order) {
                Ok(placed) => json!({
                    "orderId": placed.get("orderId").cloned().unwrap_or(Value::Null),
                    "clientOid": client_oid, "symbol": symbol, "code": "200000", "msg": "success"
                }),
                Err((code, msg)) => json!({
                    "orderId": Value::Null, "clientOid": client_oid, "symbol": symbol,
                    "code": code, "msg": msg
                }),
            }
        })
        .collect();
    ok(Value::Array(data))
}
