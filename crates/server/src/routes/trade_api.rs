//! The trade API: `POST /api/v1/signals` (our canonical schema) and PetroSa2/petrosa-tradeengine's
//! endpoints answering in its shapes, so its clients work as they are:
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
//! Numbers in petrosa-tradeengine's shapes are JSON numbers, as its clients expect.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradeengine_engine::refusals::{Refused, code};
use tradeengine_engine::sources::bus;
use tradeengine_engine::sources::rest::{self, RestSettings};
use tradeengine_engine::{IntakeError, IntakeOutcome};
use tradeengine_model::{ClientOrderId, SourceId, Symbol};
use tradeengine_signals::canonical::canonical_signal;
use tradeengine_signals::message::{MessageContext, MessageError, json_object};
use tradeengine_store::{MAX_PAGE, OrderFilter};

use crate::AppState;
use crate::api::auth::Scope;
use crate::error::clip;
use crate::extract::Path;

/// The trade API's routes but `POST /trade`, which the crate root adds from
/// [`super::trade_post`] (that module uses this one's helpers, so this one does not name it back).
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/signals", post(post_signal))
        .route("/account", get(account))
        .route("/price/{symbol}", get(price))
        .route("/order/{symbol}/{order_id}", delete(cancel_order))
}

/// FastAPI's error shape, which petrosa-tradeengine's clients read. A text detail is clipped (it may echo
/// the request).
pub(super) fn detail(status: StatusCode, message: impl Into<Value>) -> Response {
    let message = match message.into() {
        Value::String(s) => Value::String(clip(&s)),
        other => other,
    };
    (status, Json(json!({"detail": message}))).into_response()
}

pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The REST source the request posts as (the refusal is boxed: responses are large).
pub(super) fn poster(
    app: &AppState,
    headers: &HeaderMap,
) -> Result<(SourceId, RestSettings), Box<Response>> {
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

pub(super) fn message_error(e: &MessageError) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(
            json!({"error": clip(&e.to_string()), "field": e.field().map(clip), "kind": e.kind()}),
        ),
    )
        .into_response()
}

/// The source name unauthenticated requests are counted under (the token names the source, and
/// there is none).
pub(super) const UNAUTHENTICATED: &str = "rest";

/// Records a request refused before any signal was submitted (see
/// `tradeengine_engine::refusals`): 401s under [`UNAUTHENTICATED`], 422s under the source.
pub(super) async fn refuse(
    app: &AppState,
    source: &str,
    code: &str,
    reason: &str,
    status: StatusCode,
    body: &[u8],
) {
    let _ = app
        .intake
        .refuse(Refused {
            source,
            key: None,
            code,
            reason: &clip(reason),
            detail: json!({"status": status.as_u16()}),
            body: Some(body),
            secrets: &[],
        })
        .await;
}

/// The source of an authenticated request, or the refusal (recorded) to answer.
pub(super) async fn poster_or_refuse(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(SourceId, RestSettings), Response> {
    match poster(app, headers) {
        Ok(p) => Ok(p),
        Err(r) => {
            let reason = if bearer(headers).is_some() {
                "invalid token"
            } else {
                "no bearer token"
            };
            refuse(
                app,
                UNAUTHENTICATED,
                code::AUTH,
                reason,
                StatusCode::UNAUTHORIZED,
                body,
            )
            .await;
            Err(*r)
        }
    }
}

/// `POST /api/v1/signals`: one signal in the canonical schema.
#[utoipa::path(post, path = "/api/v1/signals", tag = "signals",
    security(("bearer" = [])),
    request_body(content = crate::schema::CanonicalSignal, description = "One signal in the canonical schema"),
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
    let (source, _) = match poster_or_refuse(&app, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let config = app.engine.config();
    let mapping = match bus::symbol_map(source.as_str(), &config) {
        Ok(m) => m,
        Err(e) => return internal(&e),
    };
    let ctx = MessageContext::new(&source, &mapping, app.intake.clock().now());
    let signal = match json_object(&body).and_then(|obj| canonical_signal(&obj, &ctx)) {
        Ok(s) => s,
        Err(e) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            refuse(
                &app,
                source.as_str(),
                e.refusal_code(),
                &e.to_string(),
                status,
                &body,
            )
            .await;
            return message_error(&e);
        }
    };
    let (id, key) = (signal.id.to_string(), signal.idempotency_key.clone());
    if let Err(newest) = app
        .engine
        .sent_order
        .take(&**app.intake.store(), &signal)
        .await
    {
        let reason = tradeengine_engine::sent_order::superseded_reason(&signal, newest);
        refuse(
            &app,
            source.as_str(),
            tradeengine_engine::refusals::code::SUPERSEDED,
            &reason,
            StatusCode::OK,
            &body,
        )
        .await;
        return Json(json!({"status": "superseded", "signal_id": id, "reason": reason}))
            .into_response();
    }
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

pub(super) fn intake_error(e: &IntakeError) -> Response {
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
pub(super) const RETRY_AFTER_SECS: u64 = 1;

/// True for an intake error after which the same signal may well be taken (the store or the
/// engine was unavailable), as opposed to one that refuses the signal itself.
pub(super) fn retryable(e: &IntakeError) -> bool {
    matches!(
        e,
        IntakeError::Closed
            | IntakeError::StoreUnavailable(_)
            | IntakeError::Store(_)
            | IntakeError::BatchFailed(_)
    )
}

/// 503 with a `Retry-After` hint: the request's signal(s) were not (all) stored.
pub(super) fn not_stored(body: Value) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())],
        Json(body),
    )
        .into_response()
}

pub(super) fn internal(detail_text: &str) -> Response {
    tracing::error!(detail = %detail_text, "trade API request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"error": "internal error"})),
    )
        .into_response()
}

/// `GET /account`: balances, positions, P&L and risk figures of every account, combined, in
/// petrosa-tradeengine's `AccountResponse` shape. Values are the engine's last reading of each
/// venue.
#[utoipa::path(get, path = "/account", tag = "signals",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Balances, positions and P&L of every account (petrosa-tradeengine's `AccountResponse` shape)", body = serde_json::Value),
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
