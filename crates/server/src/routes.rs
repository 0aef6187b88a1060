//! The public probes and the dashboard; the trading endpoints in [`trade_api`]. The router is
//! assembled in the crate root ([`crate::router`]).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use tradeengine_model::AccountName;

use crate::AppState;

pub(crate) mod trade_api;
pub(crate) mod trade_post;

/// Alive: the process answers.
#[utoipa::path(get, path = "/health", tag = "probes",
    responses((status = 200, description = "The process answers", body = serde_json::Value)))]
pub(crate) async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Ready: the store answers and every enabled account has completed a reconciliation and is
/// not failing (a failed venue read or failing order entry takes `reconciled` away);
/// `account_errors` gives each such account's last error. In a cluster, accounts another
/// process trades are not waited for, and `holds_accounts` lists the ones this process trades
/// (none on a standby, which is ready).
#[utoipa::path(get, path = "/ready", tag = "probes",
    responses(
        (status = 200, description = "Ready", body = serde_json::Value),
        (status = 503, description = "Store unreachable or an account not reconciled yet",
            body = serde_json::Value),
    ))]
pub(crate) async fn ready(
    State(app): State<AppState>,
) -> (axum::http::StatusCode, Json<serde_json::Value>) {
    // A store fault (file deleted or replaced, writes failing) is not ready, with its reason.
    let store_fault = app.store.fault();
    let store_ok = store_fault.is_none() && app.store.get_state("engine.boot").await.is_ok();
    let views = app.engine.account_views().await;
    let config = app.engine.config();
    let pending: Vec<&str> = config
        .accounts
        .iter()
        .filter(|a| a.state != tradeengine_engine::config::AccountState::Disabled)
        .filter(|a| {
            AccountName::new(&a.name)
                .ok()
                // In a cluster, an account another process trades is not this one's to reconcile.
                .and_then(|n| views.get(&n).map(|v| !v.reconciled && v.standby.is_none()))
                .unwrap_or(true)
        })
        .map(|a| a.name.as_str())
        .collect();
    // Accounts still waiting for their venue, with why (retrying with back-off).
    let connecting: BTreeMap<String, String> = views
        .iter()
        .filter(|(_, v)| v.connection.as_deref() == Some("connecting"))
        .map(|(n, v)| (n.to_string(), v.last_error.clone().unwrap_or_default()))
        .collect();
    // Why each of them is not reconciled, when its last cycle said (a failing read, failing
    // order entry), so a probe's answer names the account and the cause.
    let reasons: std::collections::BTreeMap<&str, &str> = pending
        .iter()
        .filter_map(|name| {
            let view = views.get(&AccountName::new(name).ok()?)?;
            Some((*name, view.last_error.as_deref()?))
        })
        .collect();
    // Another engine took an account's lease over: this one trades nothing and takes no signal.
    let lease_lost = app.engine.lease_lost().await;
    let ready = store_ok && pending.is_empty() && lease_lost.is_none();
    let mut body = serde_json::json!({"ready": ready, "store": store_ok, "accounts_not_reconciled": pending, "accounts_connecting": connecting, "account_errors": reasons});
    if let Some(reason) = store_fault {
        body["store_fault"] = serde_json::Value::String(reason);
    }
    // Reconciled is not "at target": a symbol the pre-trade gate or the venue keeps refusing
    // stays off target cycle after cycle, and a probe (or `status`) that says only "ready"
    // hid it. Ready stays true (the account is read and traded); the symbols are named.
    let off_target: BTreeMap<String, &[String]> = views
        .iter()
        .filter(|(_, v)| !v.symbol_errors.is_empty())
        .map(|(n, v)| (n.to_string(), v.symbol_errors.as_slice()))
        .collect();
    if !off_target.is_empty() {
        body["symbol_problems"] = serde_json::json!(off_target);
    }
    if let Some(reason) = lease_lost {
        body["lease_lost"] = serde_json::Value::String(reason);
    }
    if config.engine.cluster {
        // A standby is ready (it serves the API and takes signals) and says it trades nothing.
        let holds: Vec<String> = views
            .iter()
            .filter(|(_, v)| v.lease_holder.is_some())
            .map(|(n, _)| n.to_string())
            .collect();
        body["holds_accounts"] = serde_json::json!(holds);
        body["standby"] = serde_json::json!(holds.is_empty());
    }
    let status = if ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// The dashboard: one self-contained page (no asset from the internet); its data comes from the
/// API with the token the operator enters.
#[utoipa::path(get, path = "/", tag = "probes",
    responses((status = 200, description = "The dashboard page", content_type = "text/html", body = String)))]
pub(crate) async fn dashboard() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("../assets/dashboard.html"))
}

/// A static asset compiled into the binary, so the dashboard works offline and loads nothing
/// from the internet.
fn asset(content_type: &'static str, body: &'static str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            // The file name carries no version for the page's own script, so revalidate.
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The dashboard's script.
#[utoipa::path(get, path = "/assets/dashboard.js", tag = "probes",
    responses((status = 200, description = "The dashboard's script", content_type = "text/javascript", body = String)))]
pub(crate) async fn dashboard_js() -> axum::response::Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../assets/dashboard.js"),
    )
}

/// TradingView Lightweight Charts 5.3.0, vendored unchanged
/// (`assets/lightweight-charts-VENDORED.md` says from where and how to upgrade).
#[utoipa::path(get, path = "/assets/lightweight-charts.js", tag = "probes",
    responses((status = 200, description = "TradingView Lightweight Charts 5.3.0 (Apache-2.0)", content_type = "text/javascript", body = String)))]
pub(crate) async fn lightweight_charts_js() -> axum::response::Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../assets/lightweight-charts-5.3.0.standalone.production.js"),
    )
}

/// Lightweight Charts' licence (Apache-2.0), served beside it as the licence asks.
#[utoipa::path(get, path = "/assets/lightweight-charts-LICENSE.txt", tag = "probes",
    responses((status = 200, description = "Lightweight Charts' licence", content_type = "text/plain", body = String)))]
pub(crate) async fn lightweight_charts_license() -> axum::response::Response {
    asset(
        "text/plain; charset=utf-8",
        include_str!("../assets/lightweight-charts-LICENSE.txt"),
    )
}
