//! `POST /api/v1/kill` and `DELETE /api/v1/kill`: the kill switch over HTTP (control scope).

use axum::extract::State;
use serde::Deserialize;
use tradeengine_engine::killswitch::{self, KillAction};
use tradeengine_model::AccountName;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Json;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KillRequest {
    /// `freeze` (default) or `flatten`.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "freeze")]
    action: Option<KillAction>,
    /// Only these accounts; all when absent.
    #[serde(default)]
    accounts: Option<Vec<String>>,
    #[serde(default)]
    reason: Option<String>,
}

/// Engages the kill switch (stored, so it holds across restarts).
#[utoipa::path(post, path = "/api/v1/kill", tag = "control",
    security(("bearer" = [])),
    request_body = KillRequest,
    responses(
        (status = 200, description = "Engaged: the switch as it now stands (added to what was engaged)", body = serde_json::Value),
        (status = 400, description = "Malformed body", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 403, description = "A read token cannot act", body = crate::schema::ErrorBody),
        (status = 409, description = "It would lift what the engaged switch holds (a freeze beside a flatten); the switch is unchanged", body = crate::schema::ErrorBody),
        (status = 422, description = "No such account, or an empty list", body = crate::schema::ErrorBody),
        (status = 500, description = "The store failed", body = crate::schema::ErrorBody),
    ))]
pub async fn engage(
    State(app): State<AppState>,
    Json(req): Json<KillRequest>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let config = app.engine.config();
    let accounts = match req.accounts {
        None => None,
        Some(list) if list.is_empty() => {
            // An empty list would engage a switch that holds no account while every status
            // says ENGAGED: a script that meant "all" must say so by leaving the field out.
            return Err(ApiError::Unprocessable(
                "accounts is empty: leave it out to act on every account, or name them".into(),
            ));
        }
        Some(list) => {
            let mut out = Vec::new();
            for name in list {
                if config.account(&name).is_none() {
                    return Err(ApiError::Unprocessable(format!(
                        "no account named {name:?}"
                    )));
                }
                out.push(AccountName::new(&name).map_err(|e| ApiError::BadRequest(e.to_string()))?);
            }
            Some(out)
        }
    };
    let switch = killswitch::new_switch(
        req.action.unwrap_or(KillAction::Freeze),
        accounts,
        req.reason.as_deref().unwrap_or("kill switch via API"),
        &**app.intake.clock(),
    );
    let switch = match killswitch::engage_merged(&*app.store, switch).await {
        Ok(merged) => merged,
        Err(killswitch::EngageError::Conflict(c)) => {
            return Err(ApiError::Conflict(c.to_string()));
        }
        Err(killswitch::EngageError::Store(e)) => return Err(e.into()),
    };
    // Apply at once rather than at the watcher's next read.
    app.engine
        .refresh_kill(&*app.store, &config.engine.data_dir)
        .await;
    app.engine.notify_targets_changed();
    Ok(axum::Json(serde_json::json!({"engaged": switch})))
}

/// Releases the stored switch (a kill file, if any, stays in force until deleted).
#[utoipa::path(delete, path = "/api/v1/kill", tag = "control",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Released", body = serde_json::Value),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 403, description = "A read token cannot act", body = crate::schema::ErrorBody),
        (status = 500, description = "The store failed", body = crate::schema::ErrorBody),
    ))]
pub async fn release(
    State(app): State<AppState>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let config = app.engine.config();
    let was = killswitch::release(&*app.store, "api", app.intake.clock().now()).await?;
    app.engine
        .refresh_kill(&*app.store, &config.engine.data_dir)
        .await;
    app.engine.notify_targets_changed();
    let file = killswitch::read_file(&config.engine.data_dir);
    Ok(axum::Json(
        serde_json::json!({"released": was, "kill_file_still_engaged": file.is_some()}),
    ))
}
