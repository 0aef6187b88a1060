//! One mapping from errors to HTTP responses. Bodies are JSON `{"error": "..."}`; internal
//! details (store errors) are logged, and the client gets a generic message.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("internal error")]
    Internal(String),
}

impl From<tradeengine_store::StoreError> for ApiError {
    fn from(e: tradeengine_store::StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<tradeengine_engine::config::edit::EditError> for ApiError {
    fn from(e: tradeengine_engine::config::edit::EditError) -> Self {
        use tradeengine_engine::config::edit::EditError;
        match e {
            EditError::NotFound(m) => Self::NotFound(m),
            EditError::Invalid(c) => Self::Unprocessable(c.to_string()),
            EditError::Parse(m) => {
                Self::Conflict(format!("the configuration file cannot be edited: {m}"))
            }
            EditError::Io { .. } => Self::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(serde_json::json!({"error": self.to_string()}))).into_response()
    }
}
