//! `POST /api/v1/accounts/{name}/risk/reset`: the operator reset of an account's portfolio risk
//! state (control scope). The account returns to ACTIVE at its next cycle, with its loss periods
//! and high-water mark counted from now; the reset is audited with the state it replaced.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use tradeengine_model::AccountName;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Path;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// Why, for the audit trail.
    #[serde(default)]
    reason: Option<String>,
}

/// Resets an account's portfolio risk state to ACTIVE.
#[utoipa::path(post, path = "/api/v1/accounts/{name}/risk/reset", tag = "control",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Account name")),
    request_body(content = Option<ResetRequest>, description = "Optional; an empty body is `{}`"),
    responses(
        (status = 200, description = "Reset", body = serde_json::Value),
        (status = 400, description = "Malformed body or name", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 403, description = "A read token cannot act", body = crate::schema::ErrorBody),
        (status = 404, description = "No such account", body = crate::schema::ErrorBody),
        (status = 500, description = "The store failed", body = crate::schema::ErrorBody),
    ))]
pub async fn reset(
    State(app): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    // The body is optional: an empty one is `{}`.
    let req: ResetRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ResetRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?
    };
    if app.engine.config().account(&name).is_none() {
        return Err(ApiError::NotFound(format!("no account named {name:?}")));
    }
    let account = AccountName::new(&name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let by = match req.reason {
        Some(r) => format!("api: {r}"),
        None => "api".to_string(),
    };
    let before =
        tradeengine_engine::risk::reset(&*app.store, &account, &by, app.intake.clock().now())
            .await?;
    // Run the account's next cycle now rather than at its drift interval.
    app.engine.notify_targets_changed();
    Ok(Json(serde_json::json!({
        "account": account, "reset": true, "previous_state": before.state,
        "previous_rule": before.rule, "previous_detail": before.detail,
    })))
}
