//! Why a TradingView alert was refused, classified by the HTTP answer it deserves.
//!
//! The server maps [`TvError::class`] to a status: [`TvErrorClass::Unauthorized`] → 401 (counted,
//! audited, never reaches a sleeve), [`TvErrorClass::Malformed`] → 400 (not a message we can
//! read), [`TvErrorClass::Invalid`] → 422 (readable, authenticated, but refused, with the reason).
//! Messages never contain the secret: an auth failure says *what* was wrong, not the value.

use std::net::IpAddr;

/// Which HTTP answer an error deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TvErrorClass {
    /// 400: the body is not a message we can read.
    Malformed,
    /// 401: authentication failed.
    Unauthorized,
    /// 422: authenticated and readable, but refused.
    Invalid,
}

impl TvErrorClass {
    pub fn http_status(self) -> u16 {
        match self {
            Self::Malformed => 400,
            Self::Unauthorized => 401,
            Self::Invalid => 422,
        }
    }
}

/// Why authentication failed. Deliberately coarse towards the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("no secret is configured for this source, so every alert is refused")]
    NoSecretConfigured,
    #[error("the alert carries no secret")]
    MissingSecret,
    #[error("the secret does not match")]
    WrongSecret,
    #[error("sender address {0} is not on the allow-list")]
    PeerNotAllowed(IpAddr),
    #[error("sender address is unknown and an allow-list is configured")]
    PeerUnknown,
    #[error("a client certificate is required and {0} is not a trusted proxy")]
    ClientCertUntrusted(IpAddr),
    #[error("a client certificate with the configured subject is required")]
    ClientCertMissing,
}

/// A refused TradingView alert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TvError {
    #[error("unauthorized: {0}")]
    Unauthorized(AuthFailure),
    #[error("body of {size} bytes exceeds the limit of {limit} bytes")]
    BodyTooLarge { size: usize, limit: usize },
    #[error("content type {0:?} is not accepted; send JSON as application/json or text/plain")]
    UnsupportedContentType(String),
    #[error("body is not valid JSON: {0}")]
    NotJson(String),
    #[error("body must be a JSON object, got {0}")]
    NotAnObject(&'static str),
    #[error("field {field:?} still holds an unreplaced TradingView placeholder ({{{{…}}}})")]
    UnfilledPlaceholder { field: String },
    #[error("missing field: {0} (looked for {1})")]
    MissingField(&'static str, String),
    /// A field that must be a scalar (text or number) holds an object or array.
    #[error("field {field:?} must be a string or a number, not {got}")]
    WrongType { field: String, got: &'static str },
    #[error("field {field:?} has invalid value {value:?}: {reason}")]
    BadField {
        field: String,
        value: String,
        reason: String,
    },
    #[error("unknown symbol: {0}")]
    UnknownSymbol(String),
    #[error("depth {depth} exceeds the cap of {cap}")]
    DepthAboveCap { depth: String, cap: String },
    #[error("leverage {leverage} exceeds the cap of {cap}")]
    LeverageAboveCap { leverage: String, cap: String },
    #[error("alert time {sent} is {age_secs} s old, older than the allowed {limit_secs} s")]
    TooOld {
        sent: String,
        age_secs: i64,
        limit_secs: i64,
    },
    #[error("alert time {sent} is {ahead_secs} s in the future")]
    FromTheFuture { sent: String, ahead_secs: i64 },
}

impl TvError {
    pub fn class(&self) -> TvErrorClass {
        match self {
            Self::Unauthorized(_) => TvErrorClass::Unauthorized,
            Self::BodyTooLarge { .. }
            | Self::UnsupportedContentType(_)
            | Self::NotJson(_)
            | Self::NotAnObject(_)
            | Self::WrongType { .. } => TvErrorClass::Malformed,
            Self::UnfilledPlaceholder { .. }
            | Self::MissingField(..)
            | Self::BadField { .. }
            | Self::UnknownSymbol(_)
            | Self::DepthAboveCap { .. }
            | Self::LeverageAboveCap { .. }
            | Self::TooOld { .. }
            | Self::FromTheFuture { .. } => TvErrorClass::Invalid,
        }
    }

    pub fn http_status(&self) -> u16 {
        self.class().http_status()
    }

    /// The refusal's label for metrics and the `refused_signals` table: a fixed set, never
    /// text from the alert.
    pub fn refusal_code(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "auth",
            Self::BodyTooLarge { .. } => "too_large",
            Self::UnsupportedContentType(_)
            | Self::NotJson(_)
            | Self::NotAnObject(_)
            | Self::WrongType { .. } => "malformed",
            Self::UnfilledPlaceholder { .. } => "placeholder",
            Self::MissingField(..) => "missing_field",
            Self::BadField { .. } => "invalid",
            Self::UnknownSymbol(_) => "unknown_symbol",
            Self::DepthAboveCap { .. } => "depth_cap",
            Self::LeverageAboveCap { .. } => "leverage_cap",
            Self::TooOld { .. } => "stale",
            Self::FromTheFuture { .. } => "future",
        }
    }

    pub fn is_auth_failure(&self) -> bool {
        self.class() == TvErrorClass::Unauthorized
    }

    /// Builds a [`TvError::BadField`], shortening the echoed value so a huge field cannot bloat
    /// logs or the 422 body.
    pub(crate) fn bad(field: &str, value: &str, reason: impl Into<String>) -> Self {
        Self::BadField {
            field: field.to_string(),
            value: value.chars().take(64).collect(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_map_to_statuses() {
        assert_eq!(
            TvError::Unauthorized(AuthFailure::WrongSecret).http_status(),
            401
        );
        assert_eq!(TvError::NotJson("x".into()).http_status(), 400);
        assert_eq!(TvError::UnknownSymbol("X".into()).http_status(), 422);
        assert!(TvError::Unauthorized(AuthFailure::MissingSecret).is_auth_failure());
    }

    #[test]
    fn bad_field_truncates_the_echo() {
        let e = TvError::bad("size", &"9".repeat(1000), "nope");
        assert!(e.to_string().len() < 200);
    }
}
