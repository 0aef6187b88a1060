//! What the engine refused and how fresh its polled sources are: `GET /api/v1/signals/refused`
//! and `GET /api/v1/sources` (read scope). See `tradeengine_engine::refusals` and
//! `tradeengine_engine::freshness`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Query;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RefusedQuery {
    /// Only this source's refusals (`rest` for unauthenticated trade API requests, `webhook`
    /// for webhooks to a source that does not exist).
    source: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// `GET /api/v1/signals/refused?source=&limit=`: refused signals, newest first, with the reason
/// label, the reason and the body as received (secrets redacted, at most 4 KiB).
#[utoipa::path(get, path = "/api/v1/signals/refused", tag = "read",
    security(("bearer" = [])),
    params(RefusedQuery),
    responses(
        (status = 200, description = "Refusals, newest first: seq, source, idempotency_key, code, reason, body, refused_at", body = Vec<serde_json::Value>),
        (status = 400, description = "A bad filter or limit", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 500, description = "The store failed", body = crate::schema::ErrorBody),
    ))]
pub async fn refused(
    State(app): State<AppState>,
    Query(q): Query<RefusedQuery>,
) -> Result<Json<Vec<tradeengine_store::RefusedSignal>>, ApiError> {
    let limit = match q.limit.unwrap_or(50) {
        l if (1..=1000).contains(&l) => l,
        l => {
            return Err(ApiError::BadRequest(format!(
                "limit {l} must be between 1 and 1000"
            )));
        }
    };
    let source = q.source.as_deref().filter(|s| !s.is_empty());
    Ok(Json(app.store.refused_signals(source, limit).await?))
}

/// `GET /api/v1/sources`: every source with its type and, for polled ones (SN8, strategy), its
/// freshness: `stale`, `stale_since`, `last_success`, `last_error` (why), failures in a row. SN8
/// sources also carry their data `tier` (0, 30, 50, 100: how much of the validator's data is a
/// day late) and whether a WebSocket `stream` is configured for them.
#[utoipa::path(get, path = "/api/v1/sources", tag = "read",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Each source by name: type, enabled, and freshness for polled sources", body = serde_json::Value),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
    ))]
pub async fn sources(State(app): State<AppState>) -> Json<serde_json::Value> {
    let config = app.engine.config();
    let fresh = app.engine.source_freshness();
    let rows: serde_json::Map<String, serde_json::Value> = config
        .sources
        .iter()
        .map(|(name, s)| {
            let mut row = serde_json::json!({
                "type": s.kind.as_str(),
                "enabled": s.enabled,
                "freshness": fresh.get(name),
            });
            if s.kind == tradeengine_engine::config::SourceKind::Sn8 {
                let tier = tradeengine_engine::sources::sn8::tier_of(&s.settings);
                row["tier"] = tier.into();
                row["stream"] = (tier == 100 && s.settings.contains_key("stream_url")).into();
            }
            (name.clone(), row)
        })
        .collect();
    Json(serde_json::Value::Object(rows))
}
