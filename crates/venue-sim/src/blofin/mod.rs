//! The BloFin simulator: USDT perpetuals named `BTC-USDT`, sizes in contracts of
//! `contractValue`, one-way (`net`) mode, account-wide margin mode.
//!
//! Envelope `{code, msg, data}` with HTTP 200 for venue errors, as BloFin does; order and
//! cancel replies carry a code **per item** too, and a refused order answers the top-level
//! code `1` ("All operations failed") with the reason in the item. Private requests carry
//! `ACCESS-KEY`, `ACCESS-SIGN`, `ACCESS-TIMESTAMP`, `ACCESS-NONCE` and `ACCESS-PASSPHRASE`; the
//! signature is checked as base64 of the hex HMAC of `path?query + METHOD + ts + nonce + body`,
//! the timestamp within 60 s (152405), the nonce unused (152407), the passphrase (152408).
//! Every reply carries a `Date` from the simulator's (possibly skewed) clock, because BloFin has
//! no time endpoint and clients read its clock from that header.
//!
//! The account behind it ([`crate::book`]) counts in base units; this module converts with the
//! contract values of [`contract_value`].

pub mod batch;
pub mod klines;
pub mod render;
pub mod rest;
pub mod ws;

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::Shared;
use crate::auth::verify_hex;
use crate::book::Reject;

/// How many recent nonces are remembered (a reuse within them is refused).
const NONCE_MEMORY: usize = 100_000;

/// The simulator's state: the shared account plus BloFin's nonce memory.
#[derive(Debug)]
pub struct Blofin {
    pub sh: Arc<Shared>,
    nonces: Mutex<(HashSet<String>, VecDeque<String>)>,
}

impl Blofin {
    /// Records a nonce; `false` when it was seen before.
    fn fresh_nonce(&self, nonce: &str) -> bool {
        let mut guard = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        let (seen, order) = &mut *guard;
        if !seen.insert(nonce.to_string()) {
            return false;
        }
        order.push_back(nonce.to_string());
        while order.len() > NONCE_MEMORY {
            if let Some(old) = order.pop_front() {
                seen.remove(&old);
            }
        }
        true
    }
}

fn d(v: &str) -> Decimal {
    v.parse().unwrap_or_default()
}

/// Base units per contract (`contractValue`): BloFin's values for BTC and ETH; 1 for the
/// others (SOL and synthetic symbols).
pub fn contract_value(symbol: &str) -> Decimal {
    match symbol {
        "BTCUSDT" => d("0.001"),
        "ETHUSDT" => d("0.01"),
        _ => Decimal::ONE,
    }
}

/// `BTCUSDT` → `BTC-USDT`.
pub fn inst_id(symbol: &str) -> String {
    format!("{}-USDT", symbol.trim_end_matches("USDT"))
}

/// `BTC-USDT` → `BTCUSDT`.
pub fn symbol_of(inst_id: &str) -> String {
    inst_id.replace('-', "")
}

pub fn router(shared: Arc<Shared>) -> Router {
    let state = Arc::new(Blofin {
        sh: shared,
        nonces: Mutex::new((HashSet::new(), VecDeque::new())),
    });
    Router::new()
        .route("/api/v1/market/instruments", get(rest::instruments))
        .route("/api/v1/market/tickers", get(rest::tickers))
        .route("/api/v1/market/candles", get(klines::candles))
        .route("/api/v1/account/balance", get(rest::balance))
        .route("/api/v1/account/positions", get(rest::positions))
        .route("/api/v1/account/margin-mode", get(rest::margin_mode))
        .route(
            "/api/v1/account/set-margin-mode",
            post(rest::set_margin_mode),
        )
        .route("/api/v1/account/position-mode", get(rest::position_mode))
        .route(
            "/api/v1/account/set-position-mode",
            post(rest::set_position_mode),
        )
        .route("/api/v1/account/set-leverage", post(rest::set_leverage))
        .route("/api/v1/trade/order", post(rest::create_order))
        .route("/api/v1/trade/batch-orders", post(batch::batch_orders))
        .route("/api/v1/trade/cancel-order", post(rest::cancel_order))
        .route("/api/v1/trade/order-detail", get(rest::order_detail))
        .route("/api/v1/trade/orders-pending", get(rest::orders_pending))
        .route("/api/v1/trade/orders-history", get(rest::orders_history))
        .route("/ws/private", get(ws::upgrade))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            stamp_date,
        ))
        .with_state(state)
}

/// `Date` from the simulator's clock (skew included), as BloFin clients read it.
async fn stamp_date(State(b): State<Arc<Blofin>>, mut response: Response) -> Response {
    let now = chrono::DateTime::from_timestamp_millis(b.sh.now_ms()).unwrap_or_default();
    let text = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(v) = HeaderValue::from_str(&text) {
        response.headers_mut().insert("date", v);
    }
    response
}

/// A success envelope.
pub fn ok(data: Value) -> Response {
    Json(json!({"code": "0", "msg": "success", "data": data})).into_response()
}

/// A top-level error envelope (HTTP 200, as BloFin answers).
pub fn err(code: &str, msg: &str) -> Response {
    Json(json!({"code": code, "msg": msg, "data": null})).into_response()
}

/// "All operations failed": the reason is in the item.
pub fn item_err(code: &str, msg: &str, client_id: &str) -> Response {
    Json(
        json!({"code": "1", "msg": "All operations failed", "data": [
            {"orderId": null, "clientOrderId": client_id, "code": code, "msg": msg}
        ]}),
    )
    .into_response()
}

/// BloFin's code and message for a refusal.
pub fn reject_code(r: &Reject) -> (&'static str, String) {
    match r {
        Reject::UnknownSymbol(s) => ("152014", format!("Instrument ID does not exist ({s})")),
        Reject::BadQty(m) | Reject::BadPrice(m) => ("152002", format!("Parameter error: {m}")),
        Reject::QtyAboveMax(m) => ("102015", format!("Market order exceeds maximum order size limit: {m}")),
        Reject::NotionalBelowMin { notional, min } => (
            "152002",
            format!("Parameter size error: value {notional} below {min}"),
        ),
        Reject::DuplicateClientId(_) => ("102002", "Duplicate customized order ID".into()),
        Reject::ReduceOnlyRefused(_) => (
            "102022",
            "Failed to place order. You don't have any positions of this contract. Turn off Reduce-only to continue.".into(),
        ),
        Reject::InsufficientMargin(m) => ("103003", format!("Order failed. Insufficient USDT margin in account: {m}")),
        Reject::HedgeMode => ("102089", "Position mode mismatch".into()),
        Reject::OrderNotFound => (
            "102068",
            "Cancel failed as the order has been filled, triggered, canceled or does not exist.".into(),
        ),
        Reject::BadLeverage(m) => ("152002", format!("Parameter leverage error: {m}")),
        Reject::NotModified => ("0", String::new()),
        Reject::PositionOpen => ("110019", "Positions exist; cannot change the setting".into()),
    }
}

/// The rate-limit fault: HTTP 429, as BloFin answers, with `Retry-After` in whole seconds.
pub fn rate_limited(retry_after: Duration) -> Response {
    let secs = retry_after.as_millis().div_ceil(1000).max(1);
    let mut r = (
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        Json(json!({"code": "429", "msg": "Too Many Requests"})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

/// Whether `sign` is base64 of the lowercase hex HMAC of `pre_hash` (checked in constant time
/// on the decoded hex; implemented apart from the adapter's signing code).
pub fn verify_sign(secret: &str, pre_hash: &str, sign: &str) -> bool {
    let Ok(hex_text) = STANDARD.decode(sign.trim()) else {
        return false;
    };
    let Ok(hex_text) = String::from_utf8(hex_text) else {
        return false;
    };
    hex_text.len() == 64 && verify_hex(secret, pre_hash.as_bytes(), &hex_text)
}

/// Checks a private request's key, passphrase, timestamp, nonce and signature; `Err` is the
/// response. `path_and_query` is the request path plus `?query` when there is one.
pub fn authenticate(
    b: &Blofin,
    headers: &HeaderMap,
    method: &str,
    path_and_query: &str,
    body: &str,
) -> Result<(), Response> {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let o = &b.sh.options;
    if h("access-key").is_empty() || h("access-key") != o.api_key {
        return Err(err("152401", "Access key does not exist"));
    }
    if h("access-passphrase") != o.passphrase {
        return Err(err("152408", "Passphrase error"));
    }
    let Ok(ts) = h("access-timestamp").parse::<i64>() else {
        return Err(err("152405", "Timestamp request expired"));
    };
    let now = b.sh.now_ms();
    if (ts - now).abs() > 60_000 {
        return Err(err(
            "152405",
            &format!("Timestamp request expired (request {ts}, server {now})"),
        ));
    }
    let nonce = h("access-nonce");
    if nonce.is_empty() {
        return Err(err("152001", "Parameter ACCESS-NONCE cannot be empty."));
    }
    let pre_hash = format!("{path_and_query}{method}{ts}{nonce}{body}");
    if !verify_sign(&o.api_secret, &pre_hash, h("access-sign")) {
        return Err(err("152409", "Signature verification failed"));
    }
    if !b.fresh_nonce(nonce) {
        return Err(err("152407", "Nonce has been used"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_vector_verifies_and_a_raw_digest_does_not() {
        // The derived BloFin GET vector (the documented recipe on fixed inputs), as the adapter
        // tests use it.
        let pre = "/api/v1/asset/balances?accountType=futuresGET1597026383085123e4567-e89b-12d3-a456-426614174000";
        assert!(verify_sign(
            "test_secret",
            pre,
            "ZDJkOTI0NjI2ZjlkYWRhYmMyZmFlYTU4M2RjZDRkMzdmMWE3ZTUzODU2Y2MxZTJjN2I5M2VjYmI1OTI0ZGQ1Yg=="
        ));
        // base64 of the raw digest (44 characters) is the classic mistake: refused.
        let raw = hex::decode("d2d924626f9dadabc2faea583dcd4d37f1a7e53856cc1e2c7b93ecbb5924dd5b")
            .unwrap_or_default();
        assert!(!verify_sign("test_secret", pre, &STANDARD.encode(raw)));
        assert!(!verify_sign("other", pre, "ZDJk"));
    }

    #[test]
    fn names_and_sizes() {
        assert_eq!(inst_id("BTCUSDT"), "BTC-USDT");
        assert_eq!(symbol_of("ETH-USDT"), "ETHUSDT");
        assert_eq!(contract_value("BTCUSDT"), d("0.001"));
        assert_eq!(contract_value("S001USDT"), Decimal::ONE);
    }
}
