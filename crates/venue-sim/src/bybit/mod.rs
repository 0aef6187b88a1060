//! The Bybit v5 simulator: `category=linear`, unified account, one-way mode.
//!
//! Envelope `{retCode, retMsg, result, retExtInfo, time}` with HTTP 200 for venue errors, as
//! Bybit does. Private requests carry `X-BAPI-API-KEY`, `X-BAPI-TIMESTAMP`, `X-BAPI-SIGN` and
//! `X-BAPI-RECV-WINDOW`; the signature is checked over `timestamp + key + recvWindow + payload`
//! (the raw query string, or the raw body), and the timestamp must satisfy
//! `server − recvWindow ≤ timestamp < server + 1000` (else 10002).

pub mod batch;
pub mod klines;
pub mod render;
pub mod rest;
pub mod ws;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::Shared;
use crate::auth::verify_hex;
use crate::book::Reject;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v5/market/time", get(rest::time))
        .route("/v5/market/instruments-info", get(rest::instruments))
        .route("/v5/market/tickers", get(rest::tickers))
        .route("/v5/market/kline", get(klines::klines))
        .route("/v5/account/wallet-balance", get(rest::wallet))
        .route("/v5/account/info", get(rest::account_info))
        .route("/v5/user/query-api", get(rest::query_api))
        .route("/v5/account/set-margin-mode", post(rest::set_margin_mode))
        .route("/v5/position/list", get(rest::positions))
        .route("/v5/position/set-leverage", post(rest::set_leverage))
        .route("/v5/position/switch-mode", post(rest::switch_mode))
        .route("/v5/order/create", post(rest::create_order))
        .route("/v5/order/create-batch", post(batch::create_batch))
        .route("/v5/order/cancel", post(rest::cancel_order))
        .route("/v5/order/realtime", get(rest::realtime))
        .route("/v5/order/history", get(rest::history))
        .route("/v5/private", get(ws::upgrade))
        .with_state(shared)
}

/// A success envelope.
pub fn ok(shared: &Shared, result: Value) -> Response {
    Json(json!({"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": shared.now_ms()})).into_response()
}

/// An error envelope (HTTP 200, as Bybit answers).
pub fn err(shared: &Shared, code: i64, msg: &str) -> Response {
    Json(json!({"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": shared.now_ms()})).into_response()
}

/// Bybit's code and message for a refusal.
pub fn reject(shared: &Shared, r: &Reject) -> Response {
    let (code, msg) = reject_code(r);
    err(shared, code, &msg)
}

/// Bybit's `retCode` and `retMsg` for a refusal.
pub fn reject_code(r: &Reject) -> (i64, String) {
    match r {
        Reject::UnknownSymbol(s) => (10001, format!("params error: symbol invalid ({s})")),
        Reject::BadQty(m) => (10001, format!("Qty invalid: {m}")),
        Reject::QtyAboveMax(m) => (
            10001,
            format!(
                "The quantity of a single market order must be less than the maximum value: {m}"
            ),
        ),
        Reject::BadPrice(m) => (10001, format!("Price invalid: {m}")),
        Reject::NotionalBelowMin { notional, min } => (
            110094,
            format!("Order does not meet minimum order value {min}USDT (value {notional})"),
        ),
        Reject::DuplicateClientId(_) => (110072, "OrderLinkedID is duplicate".to_string()),
        Reject::ReduceOnlyRefused(_) => (110017, "Reduce-only rule not satisfied".to_string()),
        Reject::InsufficientMargin(m) => (110007, format!("ab not enough for new order: {m}")),
        Reject::HedgeMode => (10001, "position idx not match position mode".to_string()),
        Reject::OrderNotFound => (110001, "order not exists or too late to cancel".to_string()),
        Reject::BadLeverage(m) => (10001, format!("leverage invalid: {m}")),
        Reject::NotModified => (110043, "leverage not modified".to_string()),
        Reject::PositionOpen => (110024, "position exists, cannot switch".to_string()),
    }
}

/// Checks a private request's key, timestamp window and signature; `Err` is the response.
pub fn authenticate(shared: &Shared, headers: &HeaderMap, payload: &str) -> Result<(), Response> {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let key = h("x-bapi-api-key");
    if key.is_empty() || key != shared.options.api_key {
        return Err(err(shared, 10003, "API key is invalid."));
    }
    let Ok(ts) = h("x-bapi-timestamp").parse::<i64>() else {
        return Err(err(
            shared,
            10002,
            "invalid request, please check your timestamp",
        ));
    };
    let recv: i64 = match h("x-bapi-recv-window") {
        "" => 5000,
        v => v.parse().unwrap_or(-1),
    };
    let now = shared.now_ms();
    if recv <= 0 || ts < now - recv || ts >= now + 1000 {
        return Err(err(
            shared,
            10002,
            &format!(
                "invalid request, please check your server timestamp or recv_window param. req_timestamp[{ts}],server_timestamp[{now}],recv_window[{recv}]"
            ),
        ));
    }
    let pre_hash = format!("{ts}{key}{recv}{payload}");
    if !verify_hex(
        &shared.options.api_secret,
        pre_hash.as_bytes(),
        h("x-bapi-sign"),
    ) {
        return Err(err(
            shared,
            10004,
            "error sign! please check your signature",
        ));
    }
    Ok(())
}
