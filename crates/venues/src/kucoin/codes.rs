//! KuCoin Futures `code`s: what each means for the caller (the futures error codes of
//! https://www.kucoin.com/docs/). `200000` is success; anything else is an error, whatever the HTTP
//! status.

use crate::{VenueError, VenueErrorKind};

use super::VENUE;

pub const SUCCESS: &str = "200000";
/// Timestamp more than 5 s off: resync the clock, then the request may be re-sent.
pub const TIMESTAMP: &str = "400002";
/// The order is done already (filled or cancelled): query it.
pub const NOT_CANCELABLE: &str = "100004";
/// The futures resource pool is used up.
pub const POOL_EXHAUSTED: &str = "429000";
/// An endpoint's own limit was hit.
pub const ENDPOINT_LIMIT: &str = "200002";
/// Internal error: the order's fate is unknown; query by `clientOid`.
pub const INTERNAL: &str = "500000";

fn plain(code: &str) -> Option<&'static str> {
    Some(match code {
        "400001" => "missing authentication headers",
        "400002" => "request timestamp more than 5 s off",
        "400003" => "API key not found",
        "400004" => "passphrase refused",
        "400005" => "signature refused",
        "400006" => "IP not allowed for this key",
        "400007" => "key lacks the permission",
        "400100" | "100001" | "300000" => "invalid parameters",
        "100004" => "order not cancelable (already done)",
        "300001" => "too many active orders",
        "300003" => "insufficient balance",
        "300005" => "risk limit exceeded",
        "300006" => "close price beyond the bankruptcy price",
        "411100" => "account frozen",
        "40010" => "restricted region",
        "429000" | "200002" => "rate limit exceeded",
        "500000" => "venue internal error",
        _ => return None,
    })
}

/// The classified error for a non-success code.
pub fn error(code: &str, msg: &str, path: &str) -> VenueError {
    let kind = match code {
        "400001" | "400003" | "400004" | "400005" | "400006" | "400007" | "411100" | "40010" => {
            VenueErrorKind::Auth
        }
        POOL_EXHAUSTED | ENDPOINT_LIMIT => VenueErrorKind::RateLimited,
        TIMESTAMP | INTERNAL => VenueErrorKind::Retryable,
        _ => VenueErrorKind::Rejected,
    };
    let message = match plain(code) {
        Some(p) => format!("{path}: {p} ({msg})"),
        None => format!("{path}: {msg}"),
    };
    VenueError::new(VENUE, kind, message).with_code(code)
}

/// Whether `e` is a KuCoin error with one of `codes`.
pub fn is(e: &VenueError, codes: &[&str]) -> bool {
    e.venue == VENUE && e.code.as_deref().is_some_and(|c| codes.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(error("400005", "sign", "/x").kind, VenueErrorKind::Auth);
        assert_eq!(error("400004", "pass", "/x").kind, VenueErrorKind::Auth);
        assert_eq!(error("400002", "ts", "/x").kind, VenueErrorKind::Retryable);
        assert_eq!(
            error("429000", "busy", "/x").kind,
            VenueErrorKind::RateLimited
        );
        assert_eq!(
            error("200002", "busy", "/x").kind,
            VenueErrorKind::RateLimited
        );
        let e = error("300003", "Balance insufficient", "/api/v1/orders");
        assert_eq!(
            (e.kind, e.code.as_deref()),
            (VenueErrorKind::Rejected, Some("300003"))
        );
        assert!(e.message.contains("insufficient"), "{}", e.message);
        assert!(is(&error("100004", "done", "/x"), &[NOT_CANCELABLE]));
    }
}
