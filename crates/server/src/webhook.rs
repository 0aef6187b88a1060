//! `POST /webhook/{source}`: TradingView alerts, one route per configured source so several
//! strategies can carry their own weights (`/webhook/tradingview` is the usual one).
//!
//! The body is read raw (TradingView sends JSON as `text/plain`) and handed to the engine's
//! endpoint, which authenticates, validates, orders and stores it before this answers; the
//! whole path stays far inside TradingView's 3-second timeout.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tradeengine_engine::refusals::{Refused, code, redact};
use tradeengine_engine::sources::tradingview::WebhookError;
use tradeengine_signals::tradingview::{self, TvConfig, TvRequest};

use crate::AppState;
use crate::extract::Query;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookQuery {
    /// The secret in the URL, for senders that cannot put it in the body.
    token: Option<String>,
}

/// A TradingView alert for the source named in the path.
#[utoipa::path(post, path = "/webhook/{source}", tag = "signals",
    params(("source" = String, Path, description = "A `tradingview` source's name"), WebhookQuery),
    request_body(content((String = "text/plain"), (serde_json::Value = "application/json")),
        description = "The alert; the secret in it, or in `?token=`"),
    responses(
        (status = 200, description = "Accepted (applied, duplicate or refused by rule)", body = serde_json::Value),
        (status = 400, description = "Not an alert", body = crate::schema::ErrorBody),
        (status = 401, description = "Bad secret", body = crate::schema::ErrorBody),
        (status = 403, description = "Source disabled", body = crate::schema::ErrorBody),
        (status = 404, description = "No such source", body = crate::schema::ErrorBody),
        (status = 422, description = "Alert refused (unknown symbol, a depth or leverage over the cap, a price outside `price_band` of the mark, a bad field)", body = crate::schema::ErrorBody),
        (status = 500, description = "Internal error", body = crate::schema::ErrorBody),
        (status = 503, description = "Shutting down", body = crate::schema::ErrorBody),
    ))]
pub async fn tradingview(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(source): Path<String>,
    Query(query): Query<WebhookQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = app.engine.webhook(&source).await;
    let Some(endpoint) = endpoint else {
        return unknown_source(&app, peer, &source).await;
    };
    let sender = match authenticate_peer(&app, &endpoint.config, &headers, peer, &source).await {
        Ok(sender) => sender,
        Err(refusal) => return refusal,
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let request = TvRequest {
        body: &body,
        content_type,
        url_token: query.token.as_deref(),
        peer: sender,
    };
    let now = app.intake.clock().now();
    match endpoint.handle(&request, &app.intake, now).await {
        Ok(outcome) => (StatusCode::OK, Json(outcome)).into_response(),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                // Shutting down, the store failing, or this engine's lease taken over: the
                // sender should know the alert was not stored and where to look (the reason
                // itself stays in the log and `/ready`).
                tracing::error!(%source, error = %e, "webhook alert not stored");
                return error(
                    status,
                    "not stored: this engine cannot take signals now (see /ready); send it again",
                );
            }
            if status.is_server_error() {
                tracing::error!(%source, error = %e, "webhook failed");
                return error(status, "internal error");
            }
            if let WebhookError::Alert(a) = &e
                && a.is_auth_failure()
            {
                // Recorded by the endpoint as a refusal: counted, and logged at WARN once per
                // minute with the count. A line per failure here would let anyone on the
                // internet flood the log with wrong secrets.
                tracing::debug!(%source, %peer, ?sender, "webhook refused: authentication failed");
                return error(status, "unauthorized");
            }
            // The sender knows the secret, but proxies in between may log the answer.
            let secret = endpoint.config.secret.as_ref().map(|s| s.expose_secret());
            let text = redact::scrub(&e.to_string(), &secret.into_iter().collect::<Vec<_>>());
            error(status, &text)
        }
    }
}

/// 404 for a path naming no TradingView source, recorded as a refusal.
async fn unknown_source(app: &AppState, peer: SocketAddr, source: &str) -> Response {
    // Counted under one fixed source name: the path is the sender's text.
    let reason = format!("no TradingView source named {source:?}");
    let _ = app
        .intake
        .refuse(Refused {
            source: "webhook",
            key: None,
            code: code::UNKNOWN_SOURCE,
            reason: &crate::error::clip(&reason),
            detail: serde_json::json!({"status": 404, "peer": peer.to_string()}),
            body: None,
            secrets: &[],
        })
        .await;
    error(
        StatusCode::NOT_FOUND,
        &format!("no TradingView source named {source:?}"),
    )
}

/// The sender's address and, when the source requires one, its client certificate. Behind a
/// trusted proxy the sender is in its forwarded header, and the client certificate in the header
/// the operator named. A failed certificate check is answered 401 and recorded.
async fn authenticate_peer(
    app: &AppState,
    cfg: &TvConfig,
    headers: &HeaderMap,
    peer: SocketAddr,
    source: &str,
) -> Result<Option<IpAddr>, Response> {
    let header_lines = |name: &str| -> Vec<&str> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    };
    let sender = tradingview::proxy::client_ip(
        peer.ip(),
        &cfg.forwarded_header,
        &header_lines(&cfg.forwarded_header),
        &cfg.trusted_proxies,
    );
    let subject = cfg
        .client_cert_header
        .as_deref()
        .and_then(|h| headers.get(h))
        .and_then(|v| v.to_str().ok());
    if let Err(reason) = tradingview::proxy::check_client_cert(cfg, peer.ip(), subject) {
        // Recorded below as a refusal (WARN once per minute with the count), not a line each.
        tracing::debug!(%source, %peer, %reason, "webhook refused: authentication failed");
        let text = reason.to_string();
        let _ = app
            .intake
            .refuse(Refused {
                source,
                key: None,
                code: code::AUTH,
                reason: &text,
                detail: serde_json::json!({"status": 401, "peer": peer.to_string()}),
                body: None,
                secrets: &[],
            })
            .await;
        return Err(error(StatusCode::UNAUTHORIZED, "unauthorized"));
    }
    Ok(sender)
}

/// Bounded whatever the alert held (see `crate::error`).
fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": crate::error::clip(message)})),
    )
        .into_response()
}
