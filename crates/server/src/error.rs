//! One mapping from errors to HTTP responses. Bodies are JSON `{"error": "..."}`; internal
//! details (store errors) are logged, and the client gets a generic message.
//!
//! **Error answers are bounded.** A message may echo what the client sent (a serde rejection
//! quotes the offending value, a configuration check names the key), so every message is cut to
//! [`MAX_ERROR_TEXT`] bytes ([`clip`]) and every list of faults to [`MAX_LISTED_ERRORS`]
//! entries: whatever the input, an error answer stays a few kilobytes, and a flood of bad
//! requests cannot make the engine build megabytes per answer.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Longest message text (bytes) an error answer carries.
pub const MAX_ERROR_TEXT: usize = 512;
/// Most per-item faults one error answer lists; the rest are counted.
pub const MAX_LISTED_ERRORS: usize = 20;

/// `text` cut to [`MAX_ERROR_TEXT`] bytes (on a character boundary), marked when cut.
pub fn clip(text: &str) -> String {
    if text.len() <= MAX_ERROR_TEXT {
        return text.to_string();
    }
    let mut cut = MAX_ERROR_TEXT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes, cut)", &text[..cut], text.len())
}

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
        (
            status,
            Json(serde_json::json!({"error": clip(&self.to_string())})),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(1000);
        let cut = clip(&long);
        assert!(cut.len() < MAX_ERROR_TEXT + 40, "{}", cut.len());
        assert!(cut.ends_with("(2000 bytes, cut)"), "{cut}");
    }
}
