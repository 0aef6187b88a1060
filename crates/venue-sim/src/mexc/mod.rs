//! The MEXC Futures (contract API) simulator: USDT perpetuals, one-way position mode.
//!
//! Envelope `{success, code, data, message}` with HTTP 200 for venue errors, numbers as JSON
//! numbers and order ids above 2^53, as MEXC answers. Private requests carry `ApiKey`,
//! `Request-Time`, `Signature` and optional `Recv-Window` (seconds, default 10, max 60); the
//! signature is checked over `key + time + params`, where params are the query's pairs
//! **re-sorted by key** here (GET) or the raw body (POST), and the time must satisfy
//! `server − window ≤ time ≤ server + 2 s` (else 513).
//!
//! Sizes are in contracts on the wire. The account underneath ([`crate::book`]) counts base
//! units; one contract of a simulated instrument is its `qty_step` (MEXC's `volUnit` is 1), so
//! BTC_USDT (step 0.0001) has MEXC's real `contractSize` of 0.0001.
//!
//! Not documented by MEXC, so chosen here (the adapter depends on none of them): a repeated
//! `externalOid` answers with the first order's id (as `submit_batch` is documented to), a
//! query for an unknown `externalOid` answers `data: null`, and a cancel of an unknown or
//! finished order answers code 600.

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
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::Shared;
use crate::auth::verify_hex;
use crate::book::Reject;
use crate::form;

/// Order ids on the wire are this plus the account's order number: larger than 2^53, as
/// MEXC's are, so a client reading them as `f64` is caught.
pub const ORDER_ID_BASE: u64 = 739_113_577_038_000_000;
/// Position ids: this plus the instrument's index.
pub const POSITION_ID_BASE: u64 = 1_394_650;

pub fn router(shared: Arc<Shared>) -> Router {
    let p = "/api/v1/private";
    Router::new()
        .route("/api/v1/contract/ping", get(rest::ping))
        .route("/api/v1/contract/detail", get(rest::detail))
        .route("/api/v1/contract/ticker", get(rest::ticker))
        .route("/api/v1/contract/kline/{symbol}", get(klines::klines))
        .route(&format!("{p}/account/asset/{{currency}}"), get(rest::asset))
        .route(
            &format!("{p}/position/open_positions"),
            get(rest::positions),
        )
        .route(
            &format!("{p}/position/position_mode"),
            get(rest::position_mode),
        )
        .route(
            &format!("{p}/position/change_leverage"),
            post(rest::change_leverage),
        )
        .route(&format!("{p}/order/submit"), post(rest::submit))
        .route(
            &format!("{p}/order/submit_batch"),
            post(batch::submit_batch),
        )
        .route(
            &format!("{p}/order/cancel_with_external"),
            post(rest::cancel_with_external),
        )
        .route(
            &format!("{p}/order/external/{{symbol}}/{{external_oid}}"),
            get(rest::by_external),
        )
        .route(
            &format!("{p}/order/list/open_orders"),
            get(rest::open_orders),
        )
        .route(
            &format!("{p}/order/list/open_orders/{{symbol}}"),
            get(rest::open_orders_of),
        )
        .route("/edge", get(ws::upgrade))
        .with_state(shared)
}

/// MEXC's name of a simulated symbol: `BTCUSDT` → `BTC_USDT`.
pub fn venue_symbol(unified: &str) -> String {
    match unified.strip_suffix("USDT") {
        Some(base) if !base.is_empty() => format!("{base}_USDT"),
        _ => unified.to_string(),
    }
}

/// The simulated symbol of a MEXC name: `BTC_USDT` → `BTCUSDT`.
pub fn unified(venue: &str) -> String {
    venue.replace('_', "")
}

/// A decimal as a JSON number, the way MEXC writes them.
pub fn num(d: Decimal) -> Value {
    let d = d.normalize();
    if d.fract().is_zero()
        && let Ok(i) = i64::try_from(d)
    {
        return Value::from(i);
    }
    // A test tool's reply: the shortest text of the nearest double is the decimal itself for
    // the ≤ 15 significant digits these prices and sizes have.
    serde_json::from_str(&d.to_string()).unwrap_or(Value::Null)
}

pub fn ok(data: Value) -> Response {
    Json(json!({"success": true, "code": 0, "data": data})).into_response()
}

/// An error envelope (HTTP 200, as MEXC answers).
pub fn err(code: i64, message: &str) -> Response {
    Json(json!({"success": false, "code": code, "message": message})).into_response()
}

/// MEXC's code and message for a refusal.
pub fn reject(r: &Reject) -> Response {
    if matches!(r, Reject::NotModified) {
        // A setting already in place is success on MEXC.
        return ok(Value::Null);
    }
    let (code, msg) = reject_code(r);
    err(code, &msg)
}

/// MEXC's code and message for a refusal, for a reply to build.
pub fn reject_code(r: &Reject) -> (i64, String) {
    match r {
        Reject::UnknownSymbol(_) => (1001, "Contract does not exist!".to_string()),
        Reject::BadQty(m) => (2015, format!("Price or quantity accuracy error: {m}")),
        Reject::QtyAboveMax(m) => (2011, format!("Order quantity error: {m}")),
        Reject::NotionalBelowMin { notional, min } => (
            2011,
            format!("Order quantity error: value {notional} below {min}"),
        ),
        Reject::BadPrice(m) => (2015, format!("Price or quantity accuracy error: {m}")),
        Reject::DuplicateClientId(_) => (603, "Repeated request".to_string()),
        Reject::ReduceOnlyRefused(_) => (
            2009,
            "Position does not exist or has been closed".to_string(),
        ),
        Reject::InsufficientMargin(m) => (2005, format!("Insufficient balance: {m}")),
        Reject::HedgeMode => (2022, "Error position type".to_string()),
        Reject::OrderNotFound => (600, "Order does not exist or is finished".to_string()),
        Reject::BadLeverage(m) => (2006, format!("Leverage ratio error: {m}")),
        // Answered as success by `reject`; no order is ever refused with it.
        Reject::NotModified => (0, String::new()),
        Reject::PositionOpen => (2019, "There is an active open position".to_string()),
    }
}

/// Java's `URLEncoder` plus `%20` for spaces: how MEXC re-encodes values it signs.
fn java_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'*' | b'_') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The parameter string MEXC signs for a GET: pairs sorted by key, empty values dropped.
pub fn canonical_query(raw: &str) -> String {
    let mut pairs: Vec<(String, String)> = form::parse(raw)
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", java_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Checks a private request's key, time window and signature over `params`; `Err` is the
/// response.
pub fn authenticate(shared: &Shared, headers: &HeaderMap, params: &str) -> Result<(), Response> {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let key = h("apikey");
    if key.is_empty() || key != shared.options.api_key {
        return Err(err(401, "Not logged in or login has expired"));
    }
    let Ok(ts) = h("request-time").parse::<i64>() else {
        return Err(err(513, "Invalid request: Request-Time missing"));
    };
    let window_s: i64 = match h("recv-window") {
        "" => 10,
        v => v.parse().unwrap_or(-1),
    };
    let now = shared.now_ms();
    if !(1..=60).contains(&window_s) || ts < now - window_s * 1000 || ts > now + 2000 {
        return Err(err(
            513,
            &format!("Invalid request time: request {ts}, server {now}, window {window_s} s"),
        ));
    }
    let pre_hash = format!("{key}{ts}{params}");
    if !verify_hex(
        &shared.options.api_secret,
        pre_hash.as_bytes(),
        h("signature"),
    ) {
        return Err(err(602, "Signature verification failed!"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_params_are_signed_sorted() {
        assert_eq!(
            canonical_query("symbol=BTC_USDT&page_size=100&page_num=1&empty="),
            "page_num=1&page_size=100&symbol=BTC_USDT"
        );
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("note=a%20b"), "note=a%20b");
    }

    #[test]
    fn the_derived_vector_verifies() {
        // The derived MEXC vector (the documented recipe on fixed inputs), checked here
        // independently of the adapter's signing.
        assert!(verify_hex(
            "test_secret",
            b"mx0aBYs33eIilxBW5C1657186536762symbol=BTC_USDT",
            "2fb8d2373c6966986877acf96f0175fbbe3d2106aca00d4782b3f1e643cda111"
        ));
    }

    #[test]
    fn numbers_and_symbols() {
        assert_eq!(num(Decimal::new(1, 4)).to_string(), "0.0001");
        assert_eq!(num(Decimal::new(600001, 1)).to_string(), "60000.1");
        assert_eq!(num(Decimal::new(5000, 2)).to_string(), "50");
        assert_eq!(venue_symbol("S001USDT"), "S001_USDT");
        assert_eq!(unified("BTC_USDT"), "BTCUSDT");
    }
}
