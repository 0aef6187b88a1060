//! `POST /api/v1/kill` and `DELETE /api/v1/kill`: the kill switch over HTTP (control scope).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use tradeengine_engine::killswitch::{self, KillAction};
use tradeengine_model::AccountName;

use crate::AppState;
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KillRequest {
    /// `freeze` (default) or `flatten`.
    #[serde(default)]
    action: Option<KillAction>,
    /// Only these accounts; all when absent.
    #[serde(default)]
    accounts: Option<Vec<String>>,
    #[serde(default)]
    reason: Option<String>,
}

pub async fn engage(
    State(app): State<AppState>,
    Json(req): Json<KillRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let config = app.engine.config();
    let accounts = match req.accounts {
        None => None,
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
    killswitch::engage(&*app.store, &switch).await?;
    // Apply at once rather than at the watcher's next read.
    killswitch::refresh(&app.engine.kill, &*app.store, &config.engine.data_dir).await;
    app.engine.notify_targets_changed();
    Ok(Json(serde_json::json!({"engaged": switch})))
}

pub async fn release(State(app): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let config = app.engine.config();
    let was = killswitch::release(&*app.store, "api", app.intake.clock().now()).await?;
    killswitch::refresh(&app.engine.kill, &*app.store, &config.engine.data_dir).await;
    app.engine.notify_targets_changed();
    let file = killswitch::read_file(&config.engine.data_dir);
    Ok(Json(
        serde_json::json!({"released": was, "kill_file_still_engaged": file.is_some()}),
    ))
}
