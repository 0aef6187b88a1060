//! Bearer tokens with two scopes. A `read` token reads; a `control` token reads and acts (kill
//! switch, configuration writes). Tokens come from environment variables named in `[api]`, are
//! held in `secrecy` types and compared in constant time.
//!
//! A request without a valid token is refused, whatever the address the server listens on: a
//! scope whose token is not configured is closed, never open (`[api]` without variable names
//! uses `TRADEENGINE_READ_TOKEN` / `TRADEENGINE_CONTROL_TOKEN`). Only the probes (`/health`,
//! `/ready`), `/metrics` and the dashboard page itself (not its data) are outside this.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use tradeengine_signals::tradingview::secret_matches;

use crate::AppState;

/// What a request may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Read,
    Control,
}

/// The configured tokens.
#[derive(Clone, Default)]
pub struct ApiAuth {
    pub read: Option<SecretString>,
    pub control: Option<SecretString>,
    /// The server listens on a loopback address only. Informational: it opens nothing (reads
    /// on loopback without a token are refused too: a local process is not a trusted one).
    pub loopback: bool,
}

impl std::fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiAuth")
            .field("read", &self.read.as_ref().map(|_| "[redacted]"))
            .field("control", &self.control.as_ref().map(|_| "[redacted]"))
            .field("loopback", &self.loopback)
            .finish()
    }
}

impl ApiAuth {
    /// The scope a presented bearer token grants, if any.
    pub fn scope_of(&self, presented: Option<&str>) -> Option<Scope> {
        let token = presented?;
        if self
            .control
            .as_ref()
            .is_some_and(|c| secret_matches(token, c))
        {
            return Some(Scope::Control);
        }
        if self.read.as_ref().is_some_and(|r| secret_matches(token, r)) {
            return Some(Scope::Read);
        }
        None
    }
}

fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({"error": message}))).into_response()
}

async fn require(scope: Scope, app: AppState, req: Request, next: Next) -> Response {
    let presented = bearer(&req);
    match app.auth.scope_of(presented) {
        Some(granted) if granted >= scope => next.run(req).await,
        Some(_) => refuse(StatusCode::FORBIDDEN, "this token may only read"),
        None if presented.is_none() => {
            refuse(StatusCode::UNAUTHORIZED, "a bearer token is required")
        }
        None => refuse(StatusCode::UNAUTHORIZED, "invalid token"),
    }
}

/// Middleware: the request needs at least read scope.
pub async fn require_read(State(app): State<AppState>, req: Request, next: Next) -> Response {
    require(Scope::Read, app, req, next).await
}

/// Middleware: the request needs control scope.
pub async fn require_control(State(app): State<AppState>, req: Request, next: Next) -> Response {
    require(Scope::Control, app, req, next).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(read: Option<&str>, control: Option<&str>, loopback: bool) -> ApiAuth {
        ApiAuth {
            read: read.map(|s| SecretString::from(s.to_string())),
            control: control.map(|s| SecretString::from(s.to_string())),
            loopback,
        }
    }

    #[test]
    fn scopes() {
        let a = auth(Some("r-token"), Some("c-token"), true);
        assert_eq!(a.scope_of(Some("r-token")), Some(Scope::Read));
        assert_eq!(a.scope_of(Some("c-token")), Some(Scope::Control));
        assert_eq!(a.scope_of(Some("nope")), None);
        assert_eq!(a.scope_of(None), None, "tokens configured: none means none");
    }

    #[test]
    fn no_token_configured_opens_nothing_even_on_loopback() {
        assert_eq!(auth(None, None, true).scope_of(None), None);
        assert_eq!(auth(None, None, false).scope_of(None), None);
        assert_eq!(auth(None, None, true).scope_of(Some("anything")), None);
        assert_eq!(auth(None, None, true).scope_of(Some("")), None);
        // Only the control token configured: reads need it too.
        let c = auth(None, Some("c-token"), true);
        assert_eq!(c.scope_of(None), None);
        assert_eq!(c.scope_of(Some("c-token")), Some(Scope::Control));
    }

    #[test]
    fn debug_hides_tokens() {
        let shown = format!("{:?}", auth(Some("r-secret-1"), Some("c-secret-2"), true));
        assert!(!shown.contains("r-secret-1") && !shown.contains("c-secret-2"));
    }
}
