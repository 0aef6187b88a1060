//! `GET /api/v1/cluster`: the processes sharing the accounts (`engine.cluster`), their leases
//! with fencing tokens, and their last heartbeats, as `tradeengine cluster status` shows them.
//! Read from the database on each request: it is what every process agrees on, whichever one
//! answers.

use axum::Json;
use axum::extract::State;
use tradeengine_engine::cluster::Settings;

use crate::AppState;
use crate::error::ApiError;

/// `GET /api/v1/cluster`.
#[utoipa::path(get, path = "/api/v1/cluster", tag = "read",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`{cluster, node_id, holds, nodes: [{node_id, host, pid, started_ms, heartbeat_ms, heartbeat_age_ms, holds (the accounts whose unexpired lease it holds), stale (no heartbeat for longer than a lease)}], leases: [{account, token, holder, pid, since_ms, expires_in_ms}]}`; `cluster: false` (and empty lists) when this engine does not run in a cluster", body = serde_json::Value),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 500, description = "The database cannot be read", body = crate::schema::ErrorBody),
    ))]
pub async fn cluster(State(app): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let config = app.engine.config();
    let Some(settings) = Settings::of(&config) else {
        return Ok(Json(serde_json::json!({
            "cluster": false, "node_id": null, "holds": [], "nodes": [], "leases": [],
        })));
    };
    let (nodes, leases) = tradeengine_store::cluster::status(&config.database_url()).await?;
    let ttl_ms =
        i64::try_from(config.engine.lease_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let nodes = tradeengine_engine::cluster::view::by_leases(&nodes, &leases, ttl_ms);
    let holds: Vec<String> = app
        .engine
        .account_views()
        .await
        .into_iter()
        .filter(|(_, v)| v.lease_holder.is_some())
        .map(|(n, _)| n.to_string())
        .collect();
    Ok(Json(serde_json::json!({
        "cluster": true,
        "node_id": settings.node_id,
        "holds": holds,
        "nodes": nodes,
        "leases": leases,
    })))
}
