//! The HTTP face of tradeengine. Handlers are thin: they read the engine's shared state or the
//! store, or hand a signal to the intake, and map errors to status codes in one place
//! ([`error::ApiError`]).

pub mod api;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod metrics_help;
pub mod openapi;
pub mod routes;
pub mod schema;
pub mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio_util::sync::CancellationToken;
use tradeengine_engine::{SharedState, SignalIntake};
use tradeengine_store::Store;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub engine: SharedState,
    pub intake: SignalIntake,
    pub store: Arc<dyn Store>,
    pub auth: api::auth::ApiAuth,
    pub started_at: tradeengine_model::Timestamp,
    /// The Prometheus recorder's handle, when the binary installed one.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

/// All routes: the public probes, the dashboard, the OpenAPI document and webhooks, the REST
/// API from [`api`], and the trading endpoints. Assembled here, at the crate root, so that
/// [`openapi`] can list the handlers of [`routes`] without `routes` needing `openapi` back.
pub fn router(state: AppState) -> Router {
    use axum::routing::{get, post};
    Router::new()
        .route("/health", get(routes::health))
        .route("/ready", get(routes::ready))
        .route("/metrics", get(metrics::render))
        .route("/", get(routes::dashboard))
        .route("/assets/dashboard.js", get(routes::dashboard_js))
        .route(
            "/assets/lightweight-charts.js",
            get(routes::lightweight_charts_js),
        )
        .route(
            "/assets/lightweight-charts-LICENSE.txt",
            get(routes::lightweight_charts_license),
        )
        .route("/api/openapi.json", get(openapi::openapi_json))
        .merge(api::read_routes(state.clone()))
        .merge(api::control_routes(state.clone()))
        .route("/webhook/{source}", post(webhook::tradingview))
        .merge(routes::trade_api::routes())
        .route("/trade", post(routes::trade_post::post_trade))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(1024 * 1024))
        .with_state(state)
}

/// Binds `addr` (before returning, so a port in use is an error at start, not later) and serves
/// until `shutdown`, letting in-flight requests finish.
pub async fn serve(
    addr: SocketAddr,
    state: AppState,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), std::io::Error> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = router(state).layer(axum::Extension(api::events::ServerStopping(
        shutdown.clone(),
    )));
    let handle = tokio::spawn(async move {
        let result = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok((local, handle))
}
