//! Venue errors, classified by what the caller may safely do next.
//!
//! The classification matters more than the message: a definitive rejection must never be
//! retried blindly, and an ambiguous outcome must be settled by querying the client order id
//! before anything is re-sent (ARCHITECTURE.md, "Stored before sent, settled by client id").

use std::time::Duration;

/// What kind of failure this is, and so what the caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueErrorKind {
    /// Nothing reached the venue, or the venue said to try again (network before send, 5xx
    /// before acceptance). Safe to retry.
    Retryable,
    /// The request may or may not have taken effect (timeout or dropped connection after
    /// sending). Settle by querying the client order id before any resend.
    Ambiguous,
    /// Rate limited; wait at least `retry_after` when given.
    RateLimited,
    /// The venue refused the request for a reason that will not change by retrying
    /// (insufficient margin, bad quantity, reduce-only refused).
    Rejected,
    /// Credentials refused or lacking permission.
    Auth,
    /// The venue does not offer this operation.
    Unsupported,
    /// Our own bug or an unparseable reply.
    Internal,
}

/// A failed venue call. Messages never contain credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{venue}: {kind:?}{}: {message}", code.as_ref().map(|c| format!(" (code {c})")).unwrap_or_default())]
pub struct VenueError {
    pub venue: String,
    pub kind: VenueErrorKind,
    /// The venue's own error code, when it gave one.
    pub code: Option<String>,
    pub message: String,
    /// From `Retry-After` or the venue's ban header.
    pub retry_after: Option<Duration>,
}

impl VenueError {
    pub fn new(venue: impl Into<String>, kind: VenueErrorKind, message: impl Into<String>) -> Self {
        Self {
            venue: venue.into(),
            kind,
            code: None,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    pub fn is_ambiguous(&self) -> bool {
        self.kind == VenueErrorKind::Ambiguous
    }

    /// Whether the venue may have carried out the request although this error came back, so
    /// that only a look-up by client order id can tell what happened:
    /// - `Ambiguous` (timeout or dropped connection after sending): yes;
    /// - `Retryable`: yes, unless the request never left (`connect`): a 5xx or a venue's
    ///   "internal error" code can come from a gateway after the matching engine acted;
    /// - `Internal` (an answer we could not read): yes — the venue answered, maybe with an
    ///   accepted order;
    /// - `RateLimited`, `Rejected`, `Auth`, `Unsupported`: no — the venue answered that it
    ///   refused this request before acting on it (a 429/418/403 is the gateway's or the
    ///   limiter's refusal, a business rejection is the matching engine's).
    pub fn may_have_acted(&self) -> bool {
        match self.kind {
            VenueErrorKind::Ambiguous | VenueErrorKind::Internal => true,
            VenueErrorKind::Retryable => self.code.as_deref() != Some("connect"),
            VenueErrorKind::RateLimited
            | VenueErrorKind::Rejected
            | VenueErrorKind::Auth
            | VenueErrorKind::Unsupported => false,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            VenueErrorKind::Retryable | VenueErrorKind::RateLimited
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_answers_that_prove_nothing_happened_skip_the_look_up() {
        let e = |kind| VenueError::new("x", kind, "m");
        assert!(e(VenueErrorKind::Ambiguous).may_have_acted());
        assert!(e(VenueErrorKind::Internal).may_have_acted());
        assert!(
            e(VenueErrorKind::Retryable)
                .with_code("http_503")
                .may_have_acted()
        );
        assert!(
            !e(VenueErrorKind::Retryable)
                .with_code("connect")
                .may_have_acted()
        );
        for kind in [
            VenueErrorKind::RateLimited,
            VenueErrorKind::Rejected,
            VenueErrorKind::Auth,
            VenueErrorKind::Unsupported,
        ] {
            assert!(!e(kind).may_have_acted(), "{kind:?}");
        }
    }
}
