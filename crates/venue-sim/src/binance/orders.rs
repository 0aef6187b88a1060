//! Binance USDⓈ-M order and listen-key handlers.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_model::Side;

use super::render;
use super::rest::handle;
use super::{bad, reject};
use crate::Shared;
use crate::book::{NewOrder, OrderType, Reject};

type Sh = State<Arc<Shared>>;

fn parse_order(q: &BTreeMap<String, String>) -> Result<NewOrder, Response> {
    parse_order_code(q).map_err(|(code, msg)| bad(code, msg))
}

/// An order's parameters, or Binance's code and message for the first one it refuses.
pub(super) fn parse_order_code(
    q: &BTreeMap<String, String>,
) -> Result<NewOrder, (i64, &'static str)> {
    let side = match q.get("side").map(String::as_str) {
        Some("BUY") => Side::Buy,
        Some("SELL") => Side::Sell,
        _ => return Err((-1117, "Invalid side.")),
    };
    let order_type = match q.get("type").map(String::as_str) {
        Some("MARKET") => OrderType::Market,
        Some("LIMIT") => OrderType::Limit,
        _ => return Err((-1116, "Invalid orderType.")),
    };
    let qty = q
        .get("quantity")
        .and_then(|v| v.parse::<Decimal>().ok())
        .ok_or((
            -1102,
            "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
        ))?;
    let price = match order_type {
        OrderType::Limit => Some(
            q.get("price")
                .and_then(|v| v.parse::<Decimal>().ok())
                .ok_or((
                    -1102,
                    "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
                ))?,
        ),
        OrderType::Market => None,
    };
    let client_id = q.get("newClientOrderId").cloned().unwrap_or_default();
    let ok_id = client_id.len() <= 36
        && client_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:/_-".contains(&b));
    if !ok_id {
        return Err((
            -1100,
            "Illegal characters found in parameter 'newClientOrderId'.",
        ));
    }
    if q.get("positionSide").is_some_and(|p| p != "BOTH") {
        return Err((
            -4061,
            "Order's position side does not match user's setting.",
        ));
    }
    Ok(NewOrder {
        symbol: q.get("symbol").cloned().unwrap_or_default(),
        side,
        order_type,
        qty,
        price,
        client_id,
        reduce_only: q.get("reduceOnly").map(String::as_str) == Some("true"),
    })
}

pub async fn new_order(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    handle(
        &sh,
        "POST",
        "/fapi/v1/order",
        &headers,
        &raw,
        &body,
        true,
        |q| {
            let req = match parse_order(q) {
                Ok(r) => r,
                Err(r) => return r,
            };
            let now = sh.now_ms();
            let partial = sh.faults.take_partial();
            let mut ex = sh.exchange();
            ex.partial_next = partial;
            let placed = ex.place(req, now);
            ex.partial_next = None;
            drop(ex);
            match placed {
                Ok(o) if q.get("newOrderRespType").map(String::as_str) == Some("RESULT") => {
                    Json(render::order(&o)).into_response()
                }
                Ok(o) => {
                    // ACK: the order as first accepted, before any fill.
                    let mut v = render::order(&o);
                    v["status"] = json!("NEW");
                    v["executedQty"] = json!("0");
                    v["avgPrice"] = json!("0.00");
                    Json(v).into_response()
                }
                Err(r) => reject(&r, false),
            }
        },
    )
}

fn order_ref(q: &BTreeMap<String, String>) -> (Option<String>, Option<u64>) {
    (
        q.get("origClientOrderId").cloned(),
        q.get("orderId").and_then(|i| i.parse().ok()),
    )
}

pub async fn query_order(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    handle(
        &sh,
        "GET",
        "/fapi/v1/order",
        &headers,
        &raw,
        &[],
        true,
        |q| {
            let (client, id) = order_ref(q);
            let ex = sh.exchange();
            match ex.find(q.get("symbol").map(String::as_str), client.as_deref(), id) {
                Some(o) => Json(render::order(o)).into_response(),
                None => reject(&Reject::OrderNotFound, true),
            }
        },
    )
}

/// `GET /fapi/v1/userTrades?symbol=[&orderId=]`: the account's trades in a symbol.
pub async fn user_trades(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    handle(
        &sh,
        "GET",
        "/fapi/v1/userTrades",
        &headers,
        &raw,
        &[],
        true,
        |q| {
            let symbol = q.get("symbol").cloned().unwrap_or_default();
            let order_id = q.get("orderId").and_then(|i| i.parse::<u64>().ok());
            let ex = sh.exchange();
            let rows: Vec<Value> = ex
                .orders()
                .iter()
                .filter(|o| o.symbol == symbol && o.filled > Decimal::ZERO)
                .filter(|o| order_id.is_none_or(|id| id == o.order_id))
                .map(render::user_trade)
                .collect();
            Json(rows).into_response()
        },
    )
}

pub async fn cancel_order(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    handle(
        &sh,
        "DELETE",
        "/fapi/v1/order",
        &headers,
        &raw,
        &body,
        true,
        |q| {
            let (client, id) = order_ref(q);
            let now = sh.now_ms();
            match sh.exchange().cancel(
                q.get("symbol").map(String::as_str).unwrap_or_default(),
                client.as_deref(),
                id,
                now,
            ) {
                Ok(o) => Json(render::order(&o)).into_response(),
                Err(r) => reject(&r, false),
            }
        },
    )
}

pub async fn open_orders(State(sh): Sh, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    handle(
        &sh,
        "GET",
        "/fapi/v1/openOrders",
        &headers,
        &raw,
        &[],
        true,
        |q| {
            let rows: Vec<Value> = sh
                .exchange()
                .open_orders(q.get("symbol").map(String::as_str))
                .iter()
                .map(render::order)
                .collect();
            Json(rows).into_response()
        },
    )
}

pub async fn listen_key_new(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    handle(
        &sh,
        "POST",
        "/fapi/v1/listenKey",
        &headers,
        &raw,
        &body,
        false,
        |_| {
            let mut keys = sh.listen_keys.lock().unwrap_or_else(|p| p.into_inner());
            // One key per account, as Binance: asking again returns the live key.
            let key = match keys.iter().next() {
                Some(k) => k.clone(),
                None => {
                    let k = format!("simlistenkey{:016x}", sh.now_ms());
                    keys.insert(k.clone());
                    k
                }
            };
            Json(json!({"listenKey": key})).into_response()
        },
    )
}

pub async fn listen_key_keep(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    handle(
        &sh,
        "PUT",
        "/fapi/v1/listenKey",
        &headers,
        &raw,
        &body,
        false,
        |_| {
            if sh
                .listen_keys
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_empty()
            {
                return bad(-1125, "This listenKey does not exist.");
            }
            Json(json!({})).into_response()
        },
    )
}

pub async fn listen_key_close(
    State(sh): Sh,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    handle(
        &sh,
        "DELETE",
        "/fapi/v1/listenKey",
        &headers,
        &raw,
        &body,
        false,
        |_| {
            sh.listen_keys
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
            Json(json!({})).into_response()
        },
    )
}
