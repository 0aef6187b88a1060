//! `POST /trade`: petrosa-tradeengine's endpoint, in its batch shape and as one signal (see
//! [`post_trade`]).
//! Every refusal (401, 422, a signal the intake refuses) is recorded through
//! `tradeengine_engine::refusals`, as the webhook's are.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tradeengine_engine::refusals::code;
use tradeengine_engine::sources::bus;
use tradeengine_engine::{IntakeError, IntakeOutcome};
use tradeengine_model::{Intent, OrderAction, Signal};
use tradeengine_signals::message::{MessageContext, MessageError, json_object};
use tradeengine_signals::strategy_signal::{
    StrategySignalOptions, looks_like_strategy_signal, strategy_signal,
};

use super::trade_api::{
    RETRY_AFTER_SECS, detail, internal, not_stored, poster_or_refuse, refuse, retryable,
};
use crate::AppState;
use crate::error::{MAX_LISTED_ERRORS, clip};

/// petrosa-tradeengine's documented single-signal body carries only `strategy_id`, `symbol`, `action`,
/// `confidence`, `price` and `quantity`; its `Signal` model also requires `current_price`,
/// `source` and `strategy`. For a single signal posted as the body, those default to `price`,
/// `"rest"` and `strategy_id` when absent (a value that is present is checked as sent). The
/// batch shape stays as strict as that model.
fn with_document_defaults(
    mut obj: serde_json::Map<String, Value>,
) -> serde_json::Map<String, Value> {
    if !obj.contains_key("current_price")
        && let Some(price) = obj.get("price").cloned()
    {
        obj.insert("current_price".into(), price);
    }
    if !obj.contains_key("source") {
        obj.insert("source".into(), Value::from("rest"));
    }
    if !obj.contains_key("strategy")
        && let Some(id) = obj.get("strategy_id").cloned()
    {
        obj.insert("strategy".into(), id);
    }
    obj
}

/// `POST /trade`'s body, for the OpenAPI document: either shape.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only; the handler reads the body itself
#[schema(example = json!({"strategy_id": "test", "symbol": "BTCUSDT", "action": "buy", "confidence": 0.8, "price": 50000, "quantity": 0.001}))]
#[serde(untagged)]
pub(crate) enum TradeRequest {
    /// The batch: `{"signals": [...], "audit_logging": true}`.
    Batch(TradeBatch),
    /// One signal as the body.
    Single(TradeSignal),
}

/// The batch shape.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct TradeBatch {
    signals: Vec<TradeSignal>,
    /// Echo each signal's result in `audit_logs` (default true).
    audit_logging: Option<bool>,
}

/// One petrosa-tradeengine signal (its other fields, as its `Signal` model has them, are read
/// too).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct TradeSignal {
    strategy_id: String,
    symbol: String,
    /// `buy`, `sell`, `hold`, `close`.
    action: String,
    /// 0..=1.
    #[schema(value_type = f64)]
    confidence: serde_json::Number,
    #[schema(value_type = Option<f64>)]
    price: Option<serde_json::Number>,
    #[schema(value_type = Option<f64>)]
    quantity: Option<serde_json::Number>,
}

/// `POST /trade`: petrosa-tradeengine's batch of signals (`{"signals": [...], ...}`), or one signal as the
/// request body (`{"strategy_id": "test", "symbol": "BTCUSDT", "action": "buy", ...}`, the shape
/// its documentation posts). A body is the batch shape when it has a `signals` key, else
/// one signal. As with FastAPI, the whole request is validated first: one invalid signal refuses
/// the request (422, with the location of each fault, the first 20 listed) and nothing is
/// submitted. Both shapes answer alike, and deduplicate alike (a signal's key is the same
/// whichever shape carried it: send `signal_id` or `timestamp` for a key that outlives the
/// one-minute body window). A single signal's missing `current_price`, `source` and `strategy`
/// take defaults (see [`with_document_defaults`]).
///
/// **2xx only when durable.** The valid signals are submitted in order and answered together.
/// When any of them was not stored (the store failed, the engine is stopping), the answer is
/// 503 with `Retry-After`, whatever happened to the others: the client sends the whole request
/// again, and the ones that were stored then answer `duplicate` (see [`trade_not_stored`]).
#[utoipa::path(post, path = "/trade", tag = "signals",
    security(("bearer" = [])),
    request_body(content = TradeRequest, description = "A batch `{\"signals\": [...]}`, or one signal as the body"),
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
    let (source, settings) = match poster_or_refuse(&app, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let request = match trade_request(&app, source.as_str(), &body).await {
        Ok(r) => r,
        Err(refusal) => return refusal,
    };
    let config = app.engine.config();
    let mapping = match bus::symbol_map(source.as_str(), &config) {
        Ok(m) => m,
        Err(e) => return internal(&e),
    };
    let now = app.intake.clock().now();
    let ctx = MessageContext::new(&source, &mapping, now);
    let signals = match read_signals(&request, &ctx, &settings.strategy_signal) {
        Ok(s) => s,
        Err(fault) => {
            // One refusal per request (nothing of it was submitted), labelled by its first fault.
            let (code, reason) = fault.first;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            refuse(&app, source.as_str(), code, &reason, status, &body).await;
            return detail(status, Value::Array(fault.listed));
        }
    };
    submit_and_answer(&app, &request, signals, &now.to_rfc3339()).await
}

/// A `POST /trade` body read as a list of signal objects.
struct TradeItems {
    /// The signals, in request order: the batch's, or the body itself as one signal.
    items: Vec<Value>,
    /// True for the batch shape (fault locations then name the signal's index).
    batch: bool,
    /// Echo each signal's result in `audit_logs`.
    audit_logging: bool,
}

/// Reads the body as the batch shape or as one signal, or answers (and records) why not.
async fn trade_request(app: &AppState, source: &str, body: &[u8]) -> Result<TradeItems, Response> {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let request = match json_object(body) {
        Ok(o) => o,
        Err(e) => {
            let reason = e.to_string();
            refuse(app, source, e.refusal_code(), &reason, unprocessable, body).await;
            return Err(detail(
                unprocessable,
                json!([{"loc": ["body"], "msg": clip(&reason), "type": "value_error"}]),
            ));
        }
    };
    let audit_logging = request
        .get("audit_logging")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    // The batch shape, or the request itself as one signal (loc paths then start at the body).
    let (items, batch) = match request.get("signals") {
        Some(Value::Array(items)) => (items.clone(), true),
        None if looks_like_strategy_signal(&request) || request.contains_key("symbol") => {
            (vec![Value::Object(with_document_defaults(request))], false)
        }
        _ => {
            let reason = "field required: `signals` (a list of signals), or one signal as the body";
            refuse(app, source, code::MALFORMED, reason, unprocessable, body).await;
            return Err(detail(
                unprocessable,
                json!([{"loc": ["body", "signals"], "msg": reason, "type": "missing"}]),
            ));
        }
    };
    Ok(TradeItems {
        items,
        batch,
        audit_logging,
    })
}

/// Why a request's signals were refused: the faults to answer (bounded) and the first one, which
/// labels the recorded refusal.
struct Faults {
    listed: Vec<Value>,
    first: (&'static str, String),
}

/// Reads every signal of the request; any fault refuses them all (as FastAPI validates the whole
/// request first).
fn read_signals(
    request: &TradeItems,
    ctx: &MessageContext<'_>,
    options: &StrategySignalOptions,
) -> Result<Vec<Signal>, Faults> {
    let mut signals = Vec::with_capacity(request.items.len());
    let (mut faults, mut unlisted) = (Vec::new(), 0_usize);
    let mut first_fault: Option<(&'static str, String)> = None;
    for (i, item) in request.items.iter().enumerate() {
        let parsed = match item {
            Value::Object(obj) => strategy_signal(obj, ctx, options),
            _ => Err(MessageError::NotObject),
        };
        if let Err(e) = &parsed {
            first_fault.get_or_insert_with(|| (e.refusal_code(), e.to_string()));
        }
        let field = |e: &MessageError| clip(e.field().unwrap_or(""));
        match parsed {
            Ok(s) => signals.push(s),
            // Bounded answer: the first faults in full, the rest counted (crate::error).
            Err(_) if faults.len() >= MAX_LISTED_ERRORS => unlisted += 1,
            Err(e) => faults.push(json!({
                "loc": if request.batch { json!(["body", "signals", i, field(&e)]) } else { json!(["body", field(&e)]) },
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
    match first_fault {
        Some(first) => Err(Faults {
            listed: faults,
            first,
        }),
        None => Ok(signals),
    }
}

/// A note when the signal's source has no weight on its symbol (its sleeve moves, nothing
/// trades), so "executed" does not read as an order.
fn source_weight(app: &AppState, s: &Signal) -> Option<String> {
    let config = app.engine.config();
    let weight = config
        .symbol(s.symbol.as_str())
        .and_then(|c| c.weights.get(s.source.as_str()).copied())
        .unwrap_or_default();
    weight.is_zero().then(|| {
        format!(
            "source {} has weight 0 on {}: its sleeve changed, no order follows",
            s.source, s.symbol
        )
    })
}

/// Submits the signals in request order and answers them together (one group commit for the
/// batch): petrosa-tradeengine's success shape, or 503 when any was not stored.
async fn submit_and_answer(
    app: &AppState,
    request: &TradeItems,
    signals: Vec<Signal>,
    timestamp: &str,
) -> Response {
    // Queued one after the other (their order is the request's), answered together.
    let mut submissions = Vec::with_capacity(signals.len());
    for (s, raw) in signals.into_iter().zip(request.items.iter()) {
        let hold = matches!(&s.intent, Intent::Order(o) if o.action == OrderAction::Hold);
        let id = s.id.to_string();
        let weight = source_weight(app, &s);
        let submission = bus::submit_now(&app.intake, s).await;
        submissions.push((raw.clone(), id, hold, weight, submission));
    }
    let distributed_state = json!({
        "pod_id": "tradeengine",
        "is_leader": true,
        "leader_info": {"status": "leader", "pod_id": "tradeengine"},
    });
    let (mut orders, mut audit_logs, mut processed) = (Vec::new(), Vec::new(), 0);
    let (mut stored, mut not_taken) = (Vec::new(), Vec::new());
    for (raw, id, hold, weight, submission) in submissions {
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
                let mut result =
                    json!({"status": "executed", "signal_id": id, "sleeve_change": change});
                if let Some(note) = weight {
                    // "executed" is petrosa-tradeengine's word for a taken signal; a source
                    // without weight on the symbol moves its sleeve and no order follows.
                    result["note"] = json!(note);
                }
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
        if request.audit_logging {
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
