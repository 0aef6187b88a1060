//! `POST /api/v1/trade/batch-orders` (https://docs.blofin.com/index.html#place-multiple-orders):
//! a JSON list of orders, each as `trade/order` takes it, all for **one** `instId` (152007) and at
//! most 20 (152006). `data` answers each order in the request's order with `{orderId,
//! clientOrderId, code, msg}`; the top-level code is `0` when all were placed, `1` when none
//! was, `2` when some were. One request against the trading budget.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::rest::{Refusal, field, place_one, private_post, trade_budget};
use super::{Blofin, err};

/// The most orders one request may carry (BloFin's 152006).
pub const BATCH_MAX: usize = 20;

pub async fn batch_orders(
    State(b): State<Arc<Blofin>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = match private_post(&b, &headers, "/api/v1/trade/batch-orders", &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(list) = v.as_array().filter(|l| !l.is_empty()) else {
        return err("152001", "Parameter orders cannot be empty");
    };
    if list.len() > BATCH_MAX {
        return err("152006", "Batch orders can be placed for up to 20 at once");
    }
    let inst = field(&list[0], "instId");
    if list.iter().any(|o| field(o, "instId") != inst) {
        return err(
            "152007",
            "Batch orders can only be placed with the same instId",
        );
    }
    if let Err(r) = trade_budget(&b) {
        return r;
    }
    let mut placed = 0;
    let mut items = Vec::with_capacity(list.len());
    for order in list {
        let client_id = field(order, "clientOrderId").to_string();
        items.push(match place_one(&b, order) {
            Ok(item) => {
                placed += 1;
                item
            }
            Err(Refusal::Request(code, msg) | Refusal::Item(code, msg)) => {
                json!({"orderId": null, "clientOrderId": client_id, "code": code, "msg": msg})
            }
        });
    }
    let (code, msg) = match placed {
        n if n == items.len() => ("0", "success"),
        0 => ("1", "All operations failed"),
        _ => ("2", "Bulk operation partially succeeded"),
    };
    Json(json!({"code": code, "msg": msg, "data": Value::Array(items)})).into_response()
}
