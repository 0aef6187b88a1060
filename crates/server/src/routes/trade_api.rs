//! The trade API: `POST /api/v1/signals` (our canonical schema) and seed 003's endpoints
//! answering in its shapes (spec/seed-002-003-004 §A.11), so its clients work as they are:
//! `POST /trade`, `GET /account`, `GET /price/{symbol}`, `DELETE /order/{symbol}/{order_id}`.
//!
//! **Authentication.** Posting needs the bearer token of a `type = "rest"` source
//! (`[sources.<name>.settings] token_env`); the token says which source the signals are from.
//! The reads (`/account`, `/price`) take that token or any API token with read scope, and
//! `DELETE /order` that token or a control token.
//!
//! **What "executed" means here.** A signal moves its source's sleeve; the account workers then
//! net every sleeve into targets and trade the difference. So `POST /trade` answers `executed`
//! once the signal is stored and applied to the sleeve, not when an order fills (orders and
//! fills are in `/api/v1/orders` and the execution events).
//!
//! Numbers in seed 003's shapes are JSON numbers, as its clients expect.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_engine::sources::bus;
use tradeengine_engine::sources::rest::{self, RestSettings};
use tradeengine_engine::{IntakeError, IntakeOutcome};
use tradeengine_model::{ClientOrderId, Intent, OrderAction, SourceId, Symbol};
use tradeengine_signals::canonical::canonical_signal;
use tradeengine_signals::message::{MessageContext, MessageError, json_object};
use tradeengine_signals::petrosa::petrosa_signal;
use tradeengine_store::{MAX_PAGE, OrderFilter};

use crate::AppState;
use crate::api::auth::Scope;
use crate::error::{MAX_LISTED_ERRORS, clip};
use crate::extract::Path;

/// The trade API's routes.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/signals", post(post_signal))
        .route("/trade", post(post_trade))
        .route("/account", get(account))
        .route("/price/{symbol}", get(price))
        .route("/order/{symbol}/{order_id}", delete(cancel_order))
}

/// FastAPI's error shape, which seed 003's clients read. A text detail is clipped (it may echo
/// the request).
fn detail(status: StatusCode, message: impl Into<Value>) -> Response {
    let message = match message.into() {
        Value::String(s) => Value::String(clip(&s)),
        other => other,
    };
    (status, Json(json!({"detail": message}))).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The REST source the request posts as (the refusal is boxed: responses are large).
fn poster(app: &AppState, headers: &HeaderMap) -> Result<(SourceId, RestSettings), Box<Response>> {
    let unauthorized = |m: &str| Box::new(detail(StatusCode::UNAUTHORIZED, m));
    let Some(token) = bearer(headers) else {
        return Err(unauthorized("a bearer token is required"));
    };
    rest::authenticate(&app.engine.config(), token).ok_or_else(|| unauthorized("invalid token"))
}

/// Allowed with a REST source's token or an API token of `scope`.
fn allow(app: &AppState, headers: &HeaderMap, scope: Scope) -> Result<(), Box<Response>> {
    let presented = bearer(headers);
    if presented.is_some_and(|t| rest::authenticate(&app.engine.config(), t).is_some()) {
        return Ok(());
    }
    let refuse = |status: StatusCode, m: &str| Err(Box::new(detail(status, m)));
    match app.auth.scope_of(presented) {
        Some(granted) if granted >= scope => Ok(()),
        Some(_) => refuse(StatusCode::FORBIDDEN, "this token may only read"),
        None if presented.is_none() => {
            refuse(StatusCode::UNAUTHORIZED, "a bearer token is required")
        }
        None => refuse(StatusCode::UNAUTHORIZED, "invalid token"),
    }
}

fn num(d: Decimal) -> Value {
    serde_json::from_str::<serde_json::Number>(&d.normalize().to_string())
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn message_error(e: &MessageError) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(
            json!({"error": clip(&e.to_string()), "field": e.field().map(clip), "kind": e.kind()}),
        ),
    )
        .into_response()
}

/// `POST /api/v1/signals`: one signal in the canonical schema.
#[utoipa::path(post, path = "/api/v1/signals", tag = "signals",
    security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "One signal in the canonical schema"),
    responses(
        (status = 200, description = "Applied, duplicate or refused by rule", body = serde_json::Value),
        (status = 401, description = "No or unknown REST source token", body = serde_json::Value),
        (status = 403, description = "Source disabled", body = serde_json::Value),
        (status = 422, description = "Not a valid signal", body = serde_json::Value),
        (status = 500, description = "Internal error", body = serde_json::Value),
        (status = 503, description = "Not stored (store unavailable, shutting down): send again after Retry-After", body = serde_json::Value),
    ))]
pub(crate) async fn post_signal(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (source, _) = match poster(&app, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let config = app.engine.config();
    let mapping = match bus::symbol_map(source.as_str(), &config) {
        Ok(m) => m,
        Err(e) => return internal(&e),
    };
    let ctx = MessageContext::new(&source, &mapping, app.intake.clock().now());
    let signal = match json_object(&body).and_then(|obj| canonical_signal(&obj, &ctx)) {
        Ok(s) => s,
        Err(e) => return message_error(&e),
    };
    let (id, key) = (signal.id.to_string(), signal.idempotency_key.clone());
    match app.intake.submit(signal).await {
        Ok(IntakeOutcome::Applied(change)) => Json(
            json!({"status": "applied", "signal_id": id, "idempotency_key": key, "change": change}),
        )
        .into_response(),
        Ok(IntakeOutcome::Duplicate) => {
            Json(json!({"status": "duplicate", "idempotency_key": key})).into_response()
        }
        Ok(IntakeOutcome::Refused(r)) => Json(
            json!({"status": "refused", "signal_id": id, "reason": r.to_string(), "refusal": r}),
        )
        .into_response(),
        Err(e) => intake_error(&e),
    }
}

fn intake_error(e: &IntakeError) -> Response {
    let status = match e {
        IntakeError::UnknownSymbol(_) | IntakeError::UnknownSource(_) | IntakeError::Core(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        IntakeError::SourceDisabled(_) => StatusCode::FORBIDDEN,
        IntakeError::Closed
        | IntakeError::StoreUnavailable(_)
        | IntakeError::Store(_)
        | IntakeError::BatchFailed(_) => {
            tracing::error!(error = %e, "a signal was not stored");
            return not_stored(json!({"error": "the signal was not stored; send it again"}));
        }
    };
    (status, Json(json!({"error": clip(&e.to_string())}))).into_response()
}

/// Seconds a client should wait before sending a signal that was not stored again.
const RETRY_AFTER_SECS: u64 = 1;

/// True for an intake error after which the same signal may well be taken (the store or the
/// engine was unavailable), as opposed to one that refuses the signal itself.
fn retryable(e: &IntakeError) -> bool {
    matches!(
        e,
        IntakeError::Closed
            | IntakeError::StoreUnavailable(_)
            | IntakeError::Store(_)
            | IntakeError::BatchFailed(_)
    )
}

/// 503 with a `Retry-After` hint: the request's signal(s) were not (all) stored.
fn not_stored(body: Value) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())],
        Json(body),
    )
        .into_response()
}

fn internal(detail_text: &str) -> Response {
    tracing::error!(detail = %detail_text, "trade API request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"error": "internal error"})),
    )
        .into_response()
}

/// `POST /trade`: seed 003's batch of signals (`{"signals": [...], ...}`). As with FastAPI,
/// the whole request is validated first: one invalid signal refuses the request (422, with the
/// location of each fault, the first 20 listed) and nothing is submitted.
///
/// **2xx only when durable.** The valid signals are submitted in order and answered together.
/// When any of them was not stored (the store failed, the engine is stopping), the answer is
/// 503 with `Retry-After`, whatever happened to the others: the client sends the whole request
/// again, and the ones that were stored then answer `duplicate` (see [`trade_not_stored`]).
#[utoipa::path(post, path = "/trade", tag = "signals",
    security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "Seed 003's batch: `{\"signals\": [...]}`"),
    responses(
        (status = 200, description = "Each signal's outcome", body = serde_json::Value),
        (status = 401, description = "No or unknown REST source token", body = serde_json::Value),
        (status = 403, description = "Source disabled", body = serde_json::Value),
        (status = 422, description = "A signal is invalid; nothing submitted (at most 20 faults listed)", body = serde_json::Value),
        (status = 500, description = "Internal error", body = serde_json::Value),
        (status = 503, description = "A signal was not stored (store unavailable, shutting down): send again after Retry-After", body = serde_json::Value),
    ))]
pub(crate) async fn post_trade(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (source, settings) = match poster(&app, &headers) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let request = match json_object(&body) {
        Ok(o) => o,
        Err(e) => {
            return detail(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!([{"loc": ["body"], "msg": clip(&e.to_string()), "type": "value_error"}]),
            );
        }
    };
    let Some(Value::Array(items)) = request.get("signals") else {
        return detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!([{"loc": ["body", "signals"], "msg": "field required (a list of signals)", "type": "missing"}]),
        );
    };
    let audit_logging = request
        .get("audit_logging")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let config = app.engine.config();
    let mapping = match bus::symbol_map(source.as_str(), &config) {
        Ok(m) => m,
        Err(e) => return internal(&e),
    };
    let now = app.intake.clock().now();
    let ctx = MessageContext::new(&source, &mapping, now);
    let mut signals = Vec::with_capacity(items.len());
    let (mut faults, mut unlisted) = (Vec::new(), 0_usize);
    for (i, item) in items.iter().enumerate() {
        let parsed = match item {
            Value::Object(obj) => petrosa_signal(obj, &ctx, &settings.petrosa),
            _ => Err(MessageError::NotObject),
        };
        match parsed {
            Ok(s) => signals.push(s),
            // Bounded answer: the first faults in full, the rest counted (crate::error).
            Err(_) if faults.len() >= MAX_LISTED_ERRORS => unlisted += 1,
            Err(e) => faults.push(json!({
                "loc": ["body", "signals", i, clip(e.field().unwrap_or(""))],
                "msg": clip(&e.to_string()),
                "type": e.kind(),
            })),
        }
    }
    if unlisted > 0 {
        faults.push(json!({
            "loc": ["body", "signals"],
            "msg": format!("{unlisted} more invalid signals not listed"),
            "type": "too_many_errors",
        }));
    }
    if !faults.is_empty() {
        return detail(StatusCode::UNPROCESSABLE_ENTITY, Value::Array(faults));
    }

    // Submitted in request order, answered together (one group commit for the batch).
    let submissions: Vec<_> = signals
        .into_iter()
        .zip(items.iter())
        .map(|(s, raw)| {
            let hold = matches!(&s.intent, Intent::Order(o) if o.action == OrderAction::Hold);
            let id = s.id.to_string();
            (raw.clone(), id, hold, bus::submit_now(&app.intake, s))
        })
        .collect();
    let timestamp = now.to_rfc3339();
    let distributed_state = json!({
        "pod_id": "tradeengine",
        "is_leader": true,
        "leader_info": {"status": "leader", "pod_id": "tradeengine"},
    });
    let (mut orders, mut audit_logs, mut processed) = (Vec::new(), Vec::new(), 0);
    let (mut stored, mut not_taken) = (Vec::new(), Vec::new());
    for (raw, id, hold, submission) in submissions {
        let outcome = bus::answer(submission).await;
        match &outcome {
            Err(e) if retryable(e) => not_taken.push(id.clone()),
            Ok(_) => stored.push(id.clone()),
            Err(_) => {}
        }
        let result = match outcome {
            Ok(IntakeOutcome::Applied(_)) if hold => json!({"status": "hold", "signal_id": id}),
            Ok(IntakeOutcome::Applied(change)) => {
                processed += 1;
                let result =
                    json!({"status": "executed", "signal_id": id, "sleeve_change": change});
                orders.push(json!({"signal": raw, "result": result, "distributed_state": distributed_state}));
                result
            }
            Ok(IntakeOutcome::Duplicate) => json!({"status": "duplicate", "signal_id": id}),
            Ok(IntakeOutcome::Refused(r)) => json!({
                "status": "rejected", "signal_id": id, "reason": r.to_string(),
                "rejection_source": "sleeve_rules",
            }),
            Err(e @ IntakeError::UnknownSymbol(_)) => json!({
                "status": "rejected", "signal_id": id, "reason": e.to_string(),
                "rejection_source": "validation",
            }),
            Err(e) => {
                tracing::error!(error = %e, "a /trade signal was not taken");
                orders.push(json!({"signal": raw, "error": e.to_string(), "distributed_state": distributed_state}));
                json!({"status": "error", "signal_id": id, "error": e.to_string()})
            }
        };
        if audit_logging {
            audit_logs.push(json!({"signal": raw, "result": result, "timestamp": timestamp}));
        }
    }
    if !not_taken.is_empty() {
        return trade_not_stored(&stored, &not_taken);
    }
    Json(json!({
        "status": "success",
        "orders": orders,
        "signals_processed": processed,
        "conflicts_resolved": 0,
        "audit_logs": audit_logs,
    }))
    .into_response()
}

/// The answer of a `POST /trade` whose signals were not all stored: 503 with `Retry-After`, and
/// no per-signal results beyond the ids (bounded: see `crate::error`). The whole request may be
/// sent again: a signal that was stored then answers `duplicate`, provided it carries a
/// `signal_id` or a `timestamp` (else its key is its body within a one-minute window, README).
fn trade_not_stored(stored: &[String], not_taken: &[String]) -> Response {
    let listed =
        |ids: &[String]| -> Vec<String> { ids.iter().take(MAX_LISTED_ERRORS).cloned().collect() };
    not_stored(json!({
        "detail": format!(
            "{} of {} signals were not stored (the store or the engine is unavailable); send              the request again after {RETRY_AFTER_SECS} s: stored signals answer duplicate",
            not_taken.len(),
            stored.len() + not_taken.len(),
        ),
        "status": "error",
        "signals_stored": stored.len(),
        "signals_not_stored": not_taken.len(),
        "not_stored": listed(not_taken),
        "retry_after_secs": RETRY_AFTER_SECS,
    }))
}

/// `GET /account`: balances, positions, P&L and risk figures of every account, combined, in
/// seed 003's `AccountResponse` shape. Values are the engine's last reading of each venue.
#[utoipa::path(get, path = "/account", tag = "signals",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Balances, positions and P&L of every account (seed 003's shape)", body = serde_json::Value),
        (status = 401, description = "No or unknown token", body = serde_json::Value),
        (status = 403, description = "Token lacks the scope", body = serde_json::Value),
    ))]
pub(crate) async fn account(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = allow(&app, &headers, Scope::Read) {
        return *r;
    }
    let views = app.engine.account_views().await;
    let prices = app.engine.prices().await;
    let single = views.len() <= 1;
    let mut balances = BTreeMap::<String, Value>::new();
    let (mut positions, mut pnl) = (serde_json::Map::new(), serde_json::Map::new());
    let (mut total, mut exposure, mut unrealised, mut open) =
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, 0_usize);
    for (name, view) in views.iter() {
        let value = view.value.unwrap_or_default();
        total = total.checked_add(value).unwrap_or(total);
        balances.insert(
            name.to_string(),
            json!({"USDT": {"asset": "USDT", "wallet_balance": num(value), "margin_balance": num(value)}}),
        );
        for p in view.positions.iter().filter(|p| !p.size.is_zero()) {
            open += 1;
            let mark = prices.get(&p.symbol).copied();
            let notional = mark.and_then(|m| p.size.notional_at(m));
            let upnl = mark.and_then(|m| p.unrealised_pnl(m));
            exposure = exposure
                .checked_add(notional.unwrap_or_default())
                .unwrap_or(exposure);
            unrealised = unrealised
                .checked_add(upnl.unwrap_or_default())
                .unwrap_or(unrealised);
            let key = if single {
                p.symbol.to_string()
            } else {
                format!("{name}:{}", p.symbol)
            };
            positions.insert(
                key.clone(),
                json!({
                    "symbol": p.symbol, "account": name,
                    "side": if p.size.is_long() { "LONG" } else { "SHORT" },
                    "quantity": num(p.size.get().abs()), "size": num(p.size.get()),
                    "entry_price": p.entry_price.map(|e| num(e.get())),
                    "mark_price": mark.map(|m| num(m.get())),
                    "notional": notional.map(num), "unrealized_pnl": upnl.map(num),
                    "leverage": num(p.leverage),
                }),
            );
            pnl.insert(
                key,
                json!({"unrealized": upnl.map(num), "realized": Value::Null}),
            );
        }
    }
    balances.insert(
        "combined".into(),
        json!({"USDT": {"asset": "USDT", "wallet_balance": num(total)}}),
    );
    Json(json!({
        "account_type": "combined",
        "balances": balances,
        "total_balance_usdt": num(total),
        "positions": positions,
        "pnl": pnl,
        "risk_metrics": {"total_exposure": num(exposure), "open_positions": open, "total_pnl": num(unrealised)},
    }))
    .into_response()
}

/// `GET /price/{symbol}`: the engine's latest price for a traded symbol.
#[utoipa::path(get, path = "/price/{symbol}", tag = "signals",
    security(("bearer" = [])),
    params(("symbol" = String, Path, description = "A traded symbol")),
    responses(
        (status = 200, description = "The latest price", body = serde_json::Value),
        (status = 400, description = "Bad path", body = serde_json::Value),
        (status = 401, description = "No or unknown token", body = serde_json::Value),
        (status = 403, description = "Token lacks the scope", body = serde_json::Value),
        (status = 404, description = "No price yet", body = serde_json::Value),
        (status = 422, description = "Not a traded symbol", body = serde_json::Value),
    ))]
pub(crate) async fn price(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(symbol): Path<String>,
) -> Response {
    if let Err(r) = allow(&app, &headers, Scope::Read) {
        return *r;
    }
    let Ok(sym) = Symbol::new(&symbol) else {
        return detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{symbol:?} is not a symbol"),
        );
    };
    match app.engine.price(&sym).await {
        Some(p) => Json(json!({
            "symbol": sym, "price": num(p.get()), "source": "tradeengine",
            "timestamp": app.intake.clock().now().to_rfc3339(),
        }))
        .into_response(),
        None => detail(StatusCode::NOT_FOUND, format!("no price for {sym} yet")),
    }
}

/// `DELETE /order/{symbol}/{order_id}` (client or venue order id). The engine's orders are
/// market orders it settles itself within a cycle, so there is never a resting order to cancel:
/// a finished order is reported as it ended, and one still being worked is refused (409) with
/// what to do instead.
#[utoipa::path(delete, path = "/order/{symbol}/{order_id}", tag = "signals",
    security(("bearer" = [])),
    params(("symbol" = String, Path, description = "The order's symbol"),
        ("order_id" = String, Path, description = "Client or venue order id")),
    responses(
        (status = 200, description = "How the order ended", body = serde_json::Value),
        (status = 400, description = "Bad path", body = serde_json::Value),
        (status = 401, description = "No or unknown token", body = serde_json::Value),
        (status = 403, description = "Token lacks the scope", body = serde_json::Value),
        (status = 404, description = "No such order", body = serde_json::Value),
        (status = 409, description = "The order is still being worked", body = serde_json::Value),
        (status = 422, description = "Not a traded symbol", body = serde_json::Value),
        (status = 500, description = "Internal error", body = serde_json::Value),
    ))]
pub(crate) async fn cancel_order(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((symbol, order_id)): Path<(String, String)>,
) -> Response {
    if let Err(r) = allow(&app, &headers, Scope::Control) {
        return *r;
    }
    let Ok(sym) = Symbol::new(&symbol) else {
        return detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{symbol:?} is not a symbol"),
        );
    };
    let by_client = match ClientOrderId::new(&order_id) {
        Ok(id) => app.store.order(&id).await,
        Err(_) => Ok(None),
    };
    let found = match by_client {
        Ok(Some(o)) => Some(o),
        Ok(None) => {
            let filter = OrderFilter {
                symbol: Some(sym.clone()),
                limit: Some(MAX_PAGE),
                ..OrderFilter::default()
            };
            match app.store.orders(&filter).await {
                Ok(list) => list
                    .into_iter()
                    .find(|o| o.venue_order_id.as_deref() == Some(order_id.as_str())),
                Err(e) => return internal(&e.to_string()),
            }
        }
        Err(e) => return internal(&e.to_string()),
    };
    let Some(order) = found.filter(|o| o.symbol == sym) else {
        return detail(
            StatusCode::NOT_FOUND,
            format!("no order {order_id} for {sym}"),
        );
    };
    if !order.state.is_terminal() {
        return detail(
            StatusCode::CONFLICT,
            format!(
                "order {order_id} is {} and is being settled by the engine within its cycle; to \
                 trade less, send a close signal or engage the kill switch",
                order.state.as_str()
            ),
        );
    }
    Json(json!({
        "status": "success",
        "symbol": sym,
        "order_id": order_id,
        "result": {
            "status": order.state.as_str(), "cancelled": false,
            "reason": format!("the order is already {}", order.state.as_str()),
            "client_order_id": order.client_order_id, "venue_order_id": order.venue_order_id,
        },
        "source": "tradeengine",
        "timestamp": app.intake.clock().now().to_rfc3339(),
    }))
    .into_response()
}
