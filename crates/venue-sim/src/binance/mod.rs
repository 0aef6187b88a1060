//! The Binance USDⓈ-M futures simulator: one-way mode, USDT perpetuals.
//!
//! Success bodies are the bare JSON objects; errors are `{code, msg}` with HTTP 400 (401 for
//! key problems), as Binance does. Signed requests carry `X-MBX-APIKEY`, `timestamp`,
//! optional `recvWindow` (default 5000, at most 60000) and `signature` = hex HMAC-SHA256 of the
//! query string immediately followed by the form body, `signature` excluded. The timestamp must
//! satisfy `timestamp < server + 1000` and `server − timestamp ≤ recvWindow` (else −1021).
//! Every answer reports `X-MBX-USED-WEIGHT-1M`.

pub mod batch;
pub mod klines;
pub mod orders;
pub mod render;
pub mod rest;
pub mod ws;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::Shared;
use crate::auth::verify_hex;
use crate::book::Reject;
use crate::form;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/fapi/v1/ping", get(rest::ping))
        .route("/fapi/v1/time", get(rest::time))
        .route("/fapi/v1/exchangeInfo", get(rest::exchange_info))
        .route("/fapi/v1/premiumIndex", get(rest::premium_index))
        .route("/fapi/v2/ticker/price", get(rest::ticker_price))
        .route("/fapi/v1/klines", get(klines::klines))
        .route("/fapi/v1/leverageBracket", get(rest::leverage_bracket))
        .route(
            "/fapi/v1/positionSide/dual",
            get(rest::get_dual).post(rest::set_dual),
        )
        .route("/fapi/v3/account", get(rest::account))
        .route(
            "/sapi/v1/account/apiRestrictions",
            get(rest::api_restrictions),
        )
        .route("/fapi/v3/positionRisk", get(rest::position_risk))
        .route("/fapi/v1/symbolConfig", get(rest::symbol_config))
        .route("/fapi/v1/leverage", axum::routing::post(rest::set_leverage))
        .route(
            "/fapi/v1/marginType",
            axum::routing::post(rest::set_margin_type),
        )
        .route(
            "/fapi/v1/order",
            axum::routing::post(orders::new_order)
                .get(orders::query_order)
                .delete(orders::cancel_order),
        )
        .route(
            "/fapi/v1/batchOrders",
            axum::routing::post(batch::batch_orders),
        )
        .route("/fapi/v1/openOrders", get(orders::open_orders))
        .route("/fapi/v1/userTrades", get(orders::user_trades))
        .route(
            "/fapi/v1/listenKey",
            axum::routing::post(orders::listen_key_new)
                .put(orders::listen_key_keep)
                .delete(orders::listen_key_close),
        )
        .route("/ws/{listen_key}", get(ws::upgrade))
        .with_state(shared)
}

/// A Binance error body.
pub fn err(status: StatusCode, code: i64, msg: &str) -> Response {
    (status, axum::Json(json!({"code": code, "msg": msg}))).into_response()
}

pub fn bad(code: i64, msg: &str) -> Response {
    err(StatusCode::BAD_REQUEST, code, msg)
}

/// Binance's code for a refusal; `query` picks −2013 over −2011 for a missing order.
pub fn reject(r: &Reject, query: bool) -> Response {
    let (code, msg) = reject_code(r, query);
    bad(code, &msg)
}

/// Binance's code and message for a refusal.
pub fn reject_code(r: &Reject, query: bool) -> (i64, String) {
    match r {
        Reject::UnknownSymbol(_) => (-1121, "Invalid symbol.".to_string()),
        Reject::BadQty(m) => (
            -1111,
            format!("Precision is over the maximum defined for this asset. ({m})"),
        ),
        Reject::QtyAboveMax(_) => (-4005, "Quantity greater than max quantity.".to_string()),
        Reject::BadPrice(_) => (-4014, "Price not increased by tick size.".to_string()),
        Reject::NotionalBelowMin { min, .. } => (
            -4164,
            format!(
                "Order's notional must be no smaller than {} (unless you choose reduce only).",
                min.normalize()
            ),
        ),
        Reject::DuplicateClientId(_) => (-4116, "ClientOrderId is duplicated.".to_string()),
        Reject::ReduceOnlyRefused(_) => (-2022, "ReduceOnly Order is rejected.".to_string()),
        Reject::InsufficientMargin(_) => (-2019, "Margin is insufficient.".to_string()),
        Reject::HedgeMode => (
            -4061,
            "Order's position side does not match user's setting.".to_string(),
        ),
        Reject::OrderNotFound if query => (-2013, "Order does not exist.".to_string()),
        Reject::OrderNotFound => (-2011, "Unknown order sent.".to_string()),
        Reject::BadLeverage(m) => (-4028, format!("Leverage is not valid ({m})")),
        Reject::NotModified => (-4046, "No need to change margin type.".to_string()),
        Reject::PositionOpen => (
            -4048,
            "Margin type cannot be changed if there exists position.".to_string(),
        ),
    }
}

/// Weight of each endpoint, as documented.
pub fn weight(method: &str, path: &str, params: &BTreeMap<String, String>) -> u32 {
    let with_symbol = params.contains_key("symbol");
    match (method, path) {
        ("POST", "/fapi/v1/order") => 0,
        // https://developers.binance.com/docs/derivatives/usds-margined-futures/trade/rest-api/Place-Multiple-Orders
        ("POST", "/fapi/v1/batchOrders") => 5,
        ("GET", "/fapi/v3/account" | "/fapi/v3/positionRisk" | "/fapi/v1/symbolConfig") => 5,
        ("GET", "/fapi/v1/premiumIndex") if !with_symbol => 10,
        ("GET", "/fapi/v1/openOrders") if !with_symbol => 40,
        ("GET", "/fapi/v1/positionSide/dual") => 30,
        _ => 1,
    }
}

/// Adds the used-weight header (weight counted per minute of the venue's clock).
pub fn with_weight(sh: &Shared, mut resp: Response, weight: u32) -> Response {
    let minute = sh.now_ms().div_euclid(60_000);
    let used = {
        let mut w = sh.weight.lock().unwrap_or_else(|p| p.into_inner());
        if w.0 != minute {
            *w = (minute, 0);
        }
        w.1 += u64::from(weight);
        w.1
    };
    if let Ok(v) = HeaderValue::from_str(&used.to_string()) {
        resp.headers_mut().insert("X-MBX-USED-WEIGHT-1M", v);
    }
    resp
}

/// Checks the key and, for signed requests, the timestamp window and signature; returns every
/// parameter (query and body together).
pub fn authenticate(
    sh: &Shared,
    headers: &HeaderMap,
    query: &str,
    body: &str,
    signed: bool,
) -> Result<BTreeMap<String, String>, Response> {
    let key = headers
        .get("x-mbx-apikey")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if key.is_empty() {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            -2014,
            "API-key format invalid.",
        ));
    }
    if key != sh.options.api_key {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        ));
    }
    let mut params = form::parse(query);
    params.extend(form::parse(body));
    if !signed {
        return Ok(params);
    }
    // The signed text is everything sent before `&signature=`, query then body.
    let (signed_text, signature) = match (
        query.rsplit_once("signature="),
        body.rsplit_once("signature="),
    ) {
        (Some((q, sig)), _) => (
            format!("{}{body}", q.trim_end_matches('&')),
            sig.to_string(),
        ),
        (None, Some((b, sig))) => (
            format!("{query}{}", b.trim_end_matches('&')),
            sig.to_string(),
        ),
        (None, None) => {
            return Err(bad(
                -1102,
                "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
            ));
        }
    };
    let Some(ts) = params.get("timestamp").and_then(|t| t.parse::<i64>().ok()) else {
        return Err(bad(
            -1102,
            "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
        ));
    };
    let recv: i64 = params
        .get("recvWindow")
        .and_then(|r| r.parse().ok())
        .unwrap_or(5000);
    if !(1..=60_000).contains(&recv) {
        return Err(bad(-1131, "recvWindow must be less than 60000"));
    }
    let now = sh.now_ms();
    if ts >= now + 1000 || now - ts > recv {
        return Err(bad(
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        ));
    }
    if !verify_hex(&sh.options.api_secret, signed_text.as_bytes(), &signature) {
        return Err(bad(-1022, "Signature for this request is not valid."));
    }
    params.remove("signature");
    Ok(params)
}
