//! `POST /fapi/v1/batchOrders`
//! (https://developers.binance.com/docs/derivatives/usds-margined-futures/trade/rest-api/Place-Multiple-Orders):
//! `batchOrders` is a JSON list of at most 5 orders, each with the parameters of a single new
//! order; the answer is a JSON list in the same order, each entry the order or its
//! `{code, msg}`. Weight 5.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::orders::parse_order_code;
use super::rest::handle;
use super::{bad, reject_code, render};
use crate::Shared;

/// The most orders one request may carry.
pub const BATCH_MAX: usize = 5;

/// One order of the list as the parameters of a single order (values are strings on the wire;
/// a number or a boolean is taken as its text).
fn params(order: &Value) -> Option<BTreeMap<String, String>> {
    let fields = order.as_object()?;
    Some(
        fields
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect(),
    )
}

pub async fn batch_orders(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    handle(
        &sh,
        "POST",
        "/fapi/v1/batchOrders",
        &headers,
        &raw,
        &body,
        true,
        |q| {
            let list: Option<Vec<Value>> = q
                .get("batchOrders")
                .and_then(|t| serde_json::from_str(t).ok());
            let Some(list) = list.filter(|l| !l.is_empty() && l.len() <= BATCH_MAX) else {
                return bad(-1130, "Data sent for parameter 'batchOrders' is not valid.");
            };
            let now = sh.now_ms();
            let mut out = Vec::with_capacity(list.len());
            for (k, item) in list.iter().enumerate() {
                let Some(p) = params(item) else {
                    out.push(json!({"code": -1130, "msg": "Data sent for parameter 'batchOrders' is not valid."}));
                    continue;
                };
                let req = match parse_order_code(&p) {
                    Ok(r) => r,
                    Err((code, msg)) => {
                        out.push(json!({"code": code, "msg": msg}));
                        continue;
                    }
                };
                let partial = if k == 0 {
                    sh.faults.take_partial()
                } else {
                    None
                };
                let mut ex = sh.exchange();
                ex.partial_next = partial;
                let placed = ex.place(req, now);
                ex.partial_next = None;
                drop(ex);
                out.push(match placed {
                    Ok(o) if p.get("newOrderRespType").map(String::as_str) == Some("RESULT") => {
                        render::order(&o)
                    }
                    Ok(o) => {
                        let mut v = render::order(&o);
                        v["status"] = json!("NEW");
                        v["executedQty"] = json!("0");
                        v["avgPrice"] = json!("0.00");
                        v
                    }
                    Err(r) => {
                        let (code, msg) = reject_code(&r, false);
                        json!({"code": code, "msg": msg})
                    }
                });
            }
            Json(Value::Array(out)).into_response()
        },
    )
}
