//! `GET /api/v1/pnl`: P&L by source or by symbol, the same books `tradeengine pnl` rebuilds
//! from the store, kept up to date between requests (see `tradeengine_engine::pnl::BooksCache`).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use tradeengine_engine::pnl::{self, GroupBy, PnlError, Report};
use utoipa::IntoParams;

use super::read::account_param;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Query;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PnlQuery {
    /// Only this account (default: every account, summed).
    account: Option<String>,
    /// `source` (default: one line per source, then `unattributed`) or `symbol`.
    by: Option<String>,
    /// RFC 3339: only what changed after this time.
    since: Option<String>,
}

/// `GET /api/v1/pnl?account=&by=source|symbol&since=`.
#[utoipa::path(get, path = "/api/v1/pnl", tag = "read",
    security(("bearer" = [])),
    params(PnlQuery),
    responses(
        (status = 200, description = "P&L lines (each with qty, realised, unrealised, fees, funding, slippage, netting_saving, turnover and pnl, exact decimals as strings) and the total, which equals the account's P&L from its fills: `{lines: [...], total: {...}}`", body = serde_json::Value),
        (status = 400, description = "A bad account, grouping or time", body = crate::schema::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::schema::ErrorBody),
        (status = 500, description = "The store failed, or a stored event cannot be read", body = crate::schema::ErrorBody),
    ))]
pub async fn pnl(
    State(app): State<AppState>,
    Query(q): Query<PnlQuery>,
) -> Result<Json<Report>, ApiError> {
    let account = account_param(q.account.as_deref())?;
    let by = match q.by.as_deref() {
        None | Some("source") => GroupBy::Source,
        Some("symbol") => GroupBy::Symbol,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "by must be source or symbol, not {other:?}"
            )));
        }
    };
    let since = q
        .since
        .as_deref()
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|e| ApiError::BadRequest(format!("since {s:?}: {e}")))
        })
        .transpose()?;
    pnl::report_cached(
        &app.engine.pnl_books,
        &*app.store,
        account.as_ref(),
        by,
        since,
    )
    .await
    .map(Json)
    .map_err(api_error)
}

/// A store failure as the store's answer; a stored event that does not read, or books that do
/// not add up, as a 500 naming it.
pub(crate) fn api_error(e: PnlError) -> ApiError {
    match e {
        PnlError::Store(e) => ApiError::from(e),
        other => ApiError::Internal(other.to_string()),
    }
}
