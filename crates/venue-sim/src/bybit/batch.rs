//! `POST /v5/order/create-batch` (https://bybit-exchange.github.io/docs/v5/order/batch-place):
//! `{category, request: [order, …]}`, answered with two lists of the same length and order,
//! `result.list` (the created orders) and `retExtInfo.list` (`{code, msg}` per order), so one
//! order's refusal leaves the others placed.
//!
//! Its rate limit is its own, not the single order's, and is consumed **per order**
//! (https://bybit-exchange.github.io/docs/v5/rate-limit, "Instructions for batch endpoints":
//! "Number of consumption = number of requests * number of orders included in a single
//! request"); when a batch carries more orders than the window has left, the first ones are
//! placed and the rest fail with 10006, as documented there.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::rest::{check_category, field, parse_new_order, private_post, with_headers};
use super::{err, reject_code};
use crate::Shared;

/// The most orders one linear batch may carry on the batch page (20).
pub const BATCH_MAX: usize = 20;

/// How many of `n` orders the batch budget still takes this second, and the limit headers.
fn batch_budget(sh: &Shared, n: usize) -> (usize, [(&'static str, String); 3]) {
    let limit = sh.options.order_rate_limit.max(1) as usize;
    let now = sh.now_ms();
    let mut times = sh
        .batch_order_times
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    while times.front().is_some_and(|t| *t <= now - 1000) {
        times.pop_front();
    }
    let allowed = n.min(limit.saturating_sub(times.len()));
    for _ in 0..allowed {
        times.push_back(now);
    }
    let reset = times.front().map_or(now + 1000, |t| t + 1000);
    let remaining = limit.saturating_sub(times.len());
    (
        allowed,
        [
            ("X-Bapi-Limit", limit.to_string()),
            ("X-Bapi-Limit-Status", remaining.to_string()),
            ("X-Bapi-Limit-Reset-Timestamp", reset.to_string()),
        ],
    )
}

pub async fn create_batch(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let v = match private_post(&sh, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = check_category(&sh, Some(field(&v, "category"))) {
        return r;
    }
    let Some(list) = v.get("request").and_then(Value::as_array) else {
        return err(&sh, 10001, "params error: request");
    };
    if list.is_empty() || list.len() > BATCH_MAX {
        return err(
            &sh,
            10001,
            &format!("params error: a batch carries 1 to {BATCH_MAX} orders"),
        );
    }
    let (allowed, limit_headers) = batch_budget(&sh, list.len());
    let now = sh.now_ms();
    let mut rows = Vec::with_capacity(list.len());
    let mut codes = Vec::with_capacity(list.len());
    for (k, item) in list.iter().enumerate() {
        let symbol = field(item, "symbol");
        let failed = |rows: &mut Vec<Value>, codes: &mut Vec<Value>, code: i64, msg: &str| {
            rows.push(json!({"category": "linear", "symbol": symbol, "orderId": "", "orderLinkId": "", "createAt": ""}));
            codes.push(json!({"code": code, "msg": msg}));
        };
        if k >= allowed {
            failed(&mut rows, &mut codes, 10006, "Too many visits!");
            continue;
        }
        let req = match parse_new_order(item) {
            Ok(r) => r,
            Err(what) => {
                failed(
                    &mut rows,
                    &mut codes,
                    10001,
                    &format!("params error: {what}"),
                );
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
        match placed {
            Ok(o) => {
                rows.push(json!({
                    "category": "linear", "symbol": o.symbol, "orderId": o.order_id.to_string(),
                    "orderLinkId": o.client_id, "createAt": now.to_string()
                }));
                codes.push(json!({"code": 0, "msg": "OK"}));
            }
            Err(r) => {
                let (code, msg) = reject_code(&r);
                failed(&mut rows, &mut codes, code, &msg);
            }
        }
    }
    let reply = Json(json!({
        "retCode": 0, "retMsg": "OK", "result": {"list": rows},
        "retExtInfo": {"list": codes}, "time": sh.now_ms()
    }))
    .into_response();
    with_headers(reply, limit_headers)
}
