//! The REST API under `/api/v1`: read endpoints (read scope) and actions (control scope).

pub mod auth;
pub mod cluster;
pub mod config;
pub mod events;
pub mod history;
pub mod kill;
pub mod pnl;
pub mod pnl_history;
pub mod read;
pub mod refusals;
pub mod risk;
pub mod shown;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};

use crate::AppState;

/// Routes needing read scope.
pub fn read_routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/status", get(read::status))
        .route("/api/v1/cluster", get(cluster::cluster))
        .route("/api/v1/accounts", get(read::accounts))
        .route("/api/v1/positions", get(read::positions))
        .route("/api/v1/symbols", get(read::symbols))
        .route("/api/v1/signals", get(read::signals))
        .route("/api/v1/signals/refused", get(refusals::refused))
        .route("/api/v1/sources", get(refusals::sources))
        .route("/api/v1/orders", get(read::orders))
        .route("/api/v1/fills", get(read::fills))
        .route("/api/v1/pnl", get(pnl::pnl))
        .route("/api/v1/pnl/history", get(pnl_history::pnl_history))
        .route("/api/v1/history", get(history::history))
        .route("/api/v1/equity", get(read::equity))
        .route("/api/v1/audit", get(read::audit))
        .route("/api/v1/events", get(events::events))
        .route("/api/v1/weights", get(config::weights))
        .route("/api/v1/mappings", get(config::mappings))
        .route_layer(from_fn_with_state(state, auth::require_read))
}

/// Routes needing control scope.
pub fn control_routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/kill", post(kill::engage).delete(kill::release))
        .route("/api/v1/accounts/{name}/risk/reset", post(risk::reset))
        .route("/api/v1/weights", put(config::put_weights))
        .route("/api/v1/mappings", put(config::put_mappings))
        .route_layer(from_fn_with_state(state, auth::require_control))
}
