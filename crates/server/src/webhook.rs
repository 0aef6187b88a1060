//! `POST /webhook/{source}`: TradingView alerts, one route per configured source so several
//! strategies can carry their own weights (`/webhook/tradingview` is the usual one).
//!
//! The body is read raw (TradingView sends JSON as `text/plain`) and handed to the engine's
//! endpoint, which authenticates, validates, orders and stores it before this answers; the
//! whole path stays far inside TradingView's 3-second timeout.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tradeengine_engine::sources::tradingview::WebhookError;
use tradeengine_signals::tradingview::TvRequest;

use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct WebhookQuery {
    /// The secret in the URL, for senders that cannot put it in the body.
    token: Option<String>,
}

pub async fn tradingview(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(source): Path<String>,
    Query(query): Query<WebhookQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = app.engine.webhooks.read().await.get(&source).cloned();
    let Some(endpoint) = endpoint else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("no TradingView source named {source:?}"),
        );
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let request = TvRequest {
        body: &body,
        content_type,
        url_token: query.token.as_deref(),
        peer: Some(peer.ip()),
    };
    let now = app.intake.clock().now();
    match endpoint.handle(&request, &app.intake, now).await {
        Ok(outcome) => (StatusCode::OK, Json(outcome)).into_response(),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if status.is_server_error() {
                tracing::error!(%source, error = %e, "webhook failed");
                return error(status, "internal error");
            }
            if let WebhookError::Alert(a) = &e
                && a.is_auth_failure()
            {
                tracing::warn!(%source, %peer, "webhook refused: authentication failed");
                return error(status, "unauthorized");
            }
            error(status, &e.to_string())
        }
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({"error": message}))).into_response()
}
