//! The KuCoin Futures simulator: USDT-margined perpetuals named `XBTUSDTM` / `{BASE}USDTM`,
//! sizes in integer lots of `multiplier`, one-way positions, margin mode per symbol, leverage
//! sent with every order (cross leverage settable per symbol).
//!
//! Envelope `{code, data}` / `{code, msg}`: `200000` is success; business errors come on HTTP
//! 200 and authentication errors on HTTP 401, each with its code. Private requests carry
//! `KC-API-KEY`, `KC-API-SIGN`, `KC-API-TIMESTAMP`, `KC-API-PASSPHRASE` and
//! `KC-API-KEY-VERSION`; the signature is checked as base64 HMAC of
//! `timestamp + METHOD + path?query + body`, the timestamp within 5 s (400002), and — key
//! version 2 — the passphrase header as base64 HMAC of the passphrase (400004). Every reply
//! carries the Rate Limit 2.0 headers (`gw-ratelimit-limit/remaining/reset`).
//!
//! The account behind it ([`crate::book`]) counts in base units; this module converts with the
//! multipliers of [`multiplier`].

pub mod batch;
pub mod klines;
pub mod render;
pub mod rest;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::Shared;
use crate::book::Exchange;
use crate::book::Reject;

/// The futures resource pool per 30 s window (VIP0), reported in `gw-ratelimit-limit`.
pub const POOL: u64 = 2000;

fn d(v: &str) -> Decimal {
    v.parse().unwrap_or_default()
}

/// Base units per lot (`multiplier`). Real KuCoin contracts trade in whole lots (`lotSize` 1),
/// so the simulator's lot is the instrument's quantity step: for the default XBT/ETH/SOL
/// contracts that is KuCoin's own multiplier, and an instrument a test or bench configures with
/// another step gets that step as its multiplier (never a fractional `lotSize`, which no real
/// KuCoin contract has). Symbols the exchange does not list fall back to KuCoin's values.
pub fn multiplier(ex: &Exchange, symbol: &str) -> Decimal {
    ex.instrument(symbol)
        .map(|i| i.qty_step)
        .filter(|step| *step > Decimal::ZERO)
        .unwrap_or_else(|| default_multiplier(symbol))
}

/// KuCoin's multipliers for BTC, ETH and SOL; 1 otherwise.
fn default_multiplier(symbol: &str) -> Decimal {
    match symbol {
        "BTCUSDT" => d("0.001"),
        "ETHUSDT" => d("0.01"),
        "SOLUSDT" => d("0.1"),
        _ => Decimal::ONE,
    }
}

/// `BTCUSDT` → `XBTUSDTM`, `ETHUSDT` → `ETHUSDTM`.
pub fn contract(symbol: &str) -> String {
    match symbol.trim_end_matches("USDT") {
        "BTC" => "XBTUSDTM".into(),
        base => format!("{base}USDTM"),
    }
}

/// `XBTUSDTM` → `BTCUSDT`.
pub fn symbol_of(contract: &str) -> String {
    match contract.trim_end_matches("USDTM") {
        "XBT" => "BTCUSDT".into(),
        base => format!("{base}USDT"),
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/timestamp", get(rest::timestamp))
        .route("/api/v1/contracts/active", get(rest::contracts))
        .route("/api/v1/kline/query", get(klines::klines))
        .route("/api/v1/account-overview", get(rest::account_overview))
        .route("/api/v1/positions", get(rest::positions))
        .route("/api/v2/position/getMarginMode", get(rest::get_margin_mode))
        .route(
            "/api/v2/position/changeMarginMode",
            post(rest::change_margin_mode),
        )
        .route(
            "/api/v2/getCrossUserLeverage",
            get(rest::get_cross_leverage),
        )
        .route(
            "/api/v2/changeCrossUserLeverage",
            post(rest::change_cross_leverage),
        )
        .route(
            "/api/v1/orders",
            post(rest::create_order).get(rest::list_orders),
        )
        .route(
            "/api/v1/orders/client-order/{client_oid}",
            delete(rest::cancel_by_client_oid),
        )
        .route("/api/v1/orders/multi", post(batch::orders_multi))
        .route("/api/v1/orders/byClientOid", get(rest::order_by_client_oid))
        .route("/api/v1/fills", get(rest::fills))
        .route("/api/v1/bullet-private", post(rest::bullet_private))
        .route("/kucoin-ws", get(ws::upgrade))
        .layer(axum::middleware::map_response_with_state(
            shared.clone(),
            pool_headers,
        ))
        .with_state(shared)
}

/// Counts every request against the 30 s pool and reports it, as KuCoin's gateway does.
async fn pool_headers(State(sh): State<Arc<Shared>>, mut response: Response) -> Response {
    let now = sh.now_ms();
    let window = now / 30_000;
    let used = {
        let mut w = sh.weight.lock().unwrap_or_else(|p| p.into_inner());
        if w.0 != window {
            *w = (window, 0);
        }
        w.1 += 1;
        w.1
    };
    let reset = (window + 1) * 30_000 - now;
    for (k, v) in [
        ("gw-ratelimit-limit", POOL.to_string()),
        (
            "gw-ratelimit-remaining",
            POOL.saturating_sub(used).to_string(),
        ),
        ("gw-ratelimit-reset", reset.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            response.headers_mut().entry(k).or_insert(v);
        }
    }
    response
}

pub fn ok(data: Value) -> Response {
    Json(json!({"code": "200000", "data": data})).into_response()
}

/// A business error: HTTP 200 with the code.
pub fn err(code: &str, msg: &str) -> Response {
    Json(json!({"code": code, "msg": msg})).into_response()
}

/// An authentication error: HTTP 401 with the code.
fn auth_err(code: &str, msg: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"code": code, "msg": msg})),
    )
        .into_response()
}

/// The rate-limit fault: HTTP 429, code 429000, the pool empty until `retry_after`.
pub fn rate_limited(retry_after: Duration) -> Response {
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({"code": "429000", "msg": "Too Many Requests"})),
    )
        .into_response();
    for (k, v) in [
        ("gw-ratelimit-limit", POOL.to_string()),
        ("gw-ratelimit-remaining", "0".to_string()),
        ("gw-ratelimit-reset", retry_after.as_millis().to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

/// KuCoin's code and message for a refusal.
pub fn reject(r: &Reject) -> Response {
    let (code, msg) = reject_code(r);
    err(code, &msg)
}

/// KuCoin's code and message for a refusal, for a reply to build.
pub fn reject_code(r: &Reject) -> (&'static str, String) {
    match r {
        Reject::UnknownSymbol(s) => ("100001", format!("contract {s} does not exist")),
        Reject::BadQty(m) | Reject::QtyAboveMax(m) | Reject::BadPrice(m) => {
            ("100001", format!("Parameter error: {m}"))
        }
        Reject::NotionalBelowMin { notional, min } => {
            ("100001", format!("order value {notional} below {min}"))
        }
        Reject::DuplicateClientId(_) => ("100001", "clientOid duplicate".into()),
        Reject::ReduceOnlyRefused(_) => {
            ("300009", "No open positions to close (reduce-only)".into())
        }
        Reject::InsufficientMargin(m) => ("300003", format!("Balance insufficient: {m}")),
        Reject::HedgeMode => ("100001", "position side mismatch".into()),
        Reject::OrderNotFound => ("100004", "order not exist or already done".into()),
        Reject::BadLeverage(m) => ("100001", format!("leverage invalid: {m}")),
        Reject::NotModified => ("200000", String::new()),
        Reject::PositionOpen => (
            "330005",
            "The current symbol has a position or open orders; the margin mode cannot be changed"
                .into(),
        ),
    }
}

/// base64 HMAC-SHA256 check in constant time (apart from the adapter's signing code).
pub fn verify_b64(secret: &str, message: &str, signature: &str) -> bool {
    let Ok(expected) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(message.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

/// Checks a private request's key, key version, passphrase, timestamp and signature; `Err` is
/// the response. `endpoint` is the path plus `?query` when there is one.
pub fn authenticate(
    sh: &Shared,
    headers: &HeaderMap,
    method: &str,
    endpoint: &str,
    body: &str,
) -> Result<(), Response> {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let o = &sh.options;
    if h("kc-api-key").is_empty() || h("kc-api-sign").is_empty() || h("kc-api-timestamp").is_empty()
    {
        return Err(auth_err(
            "400001",
            "Please check the header of your request",
        ));
    }
    if h("kc-api-key") != o.api_key {
        return Err(auth_err("400003", "KC-API-KEY not exists"));
    }
    let Ok(ts) = h("kc-api-timestamp").parse::<i64>() else {
        return Err(auth_err("400002", "KC-API-TIMESTAMP Invalid"));
    };
    let now = sh.now_ms();
    if (ts - now).abs() > 5_000 {
        return Err(auth_err(
            "400002",
            &format!(
                "KC-API-TIMESTAMP Invalid -- Time differs from server time by more than 5 seconds (request {ts}, server {now})"
            ),
        ));
    }
    if !matches!(h("kc-api-key-version"), "2" | "3")
        || !verify_b64(&o.api_secret, &o.passphrase, h("kc-api-passphrase"))
    {
        return Err(auth_err("400004", "Invalid KC-API-PASSPHRASE"));
    }
    let pre_hash = format!("{ts}{method}{endpoint}{body}");
    if !verify_b64(&o.api_secret, &pre_hash, h("kc-api-sign")) {
        return Err(auth_err("400005", "Invalid KC-API-SIGN"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_and_derived_vectors_verify() {
        assert!(verify_b64(
            "test_api_secret",
            "test_plain",
            "jie/gxS38wLFFaBwl/cAzFbAzlI8MIny96jSXrB+iP4="
        ));
        assert!(verify_b64(
            "test_api_secret",
            "test_passphrase",
            "Ikr9KjwgA4urCb5Az1TNKgQELW10z84iOq+wsZsRRz0="
        ));
        assert!(!verify_b64("test_api_secret", "test_plain", "not base64!"));
    }

    #[test]
    fn names_and_multipliers() {
        assert_eq!(contract("BTCUSDT"), "XBTUSDTM");
        assert_eq!(contract("SOLUSDT"), "SOLUSDTM");
        assert_eq!(symbol_of("XBTUSDTM"), "BTCUSDT");
        assert_eq!(default_multiplier("ETHUSDT"), d("0.01"));
    }
}
