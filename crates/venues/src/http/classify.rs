//! Turning HTTP-level answers (status codes, rate-limit headers) into classified errors, for the
//! cases every venue shares. Venue modules look at their own JSON error codes first and fall
//! back to these.

use std::time::Duration;

use super::RawResponse;
use crate::{VenueError, VenueErrorKind};

/// How long to wait when a venue rate-limits without saying for how long.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// `Retry-After` in seconds (the only form the venues use), if present.
pub fn retry_after(resp: &RawResponse) -> Option<Duration> {
    let secs: u64 = resp.header("retry-after")?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

/// The classified error for a non-2xx status that carried no venue error code we know.
///
/// - 429 (too many requests) and 418 (Binance's IP ban after repeated 429s): rate limited, for
///   `Retry-After` or a second;
/// - 401: credentials refused; 403: forbidden (Bybit's IP limit, a WAF block): rate limited
///   for a minute, because retrying sooner makes a ban longer;
/// - 5xx: retryable — for a write, the client order id makes a retry safe (a duplicate is
///   refused and answered with the first order), so a 5xx never doubles an order;
/// - anything else: rejected.
pub fn status_error(venue: &'static str, resp: &RawResponse) -> VenueError {
    let status = resp.status;
    let body = resp.body_snippet();
    let code = format!("http_{status}");
    match status {
        429 | 418 => VenueError::new(
            venue,
            VenueErrorKind::RateLimited,
            format!("HTTP {status}: rate limited: {body}"),
        )
        .with_code(code)
        .with_retry_after(retry_after(resp).unwrap_or(DEFAULT_RETRY_AFTER)),
        401 => VenueError::new(
            venue,
            VenueErrorKind::Auth,
            format!("HTTP 401: credentials refused: {body}"),
        )
        .with_code(code),
        403 => VenueError::new(
            venue,
            VenueErrorKind::RateLimited,
            format!("HTTP 403: forbidden (IP rate limit or firewall): {body}"),
        )
        .with_code(code)
        .with_retry_after(retry_after(resp).unwrap_or(Duration::from_secs(60))),
        500..=599 => VenueError::new(
            venue,
            VenueErrorKind::Retryable,
            format!("HTTP {status}: venue error: {body}"),
        )
        .with_code(code),
        _ => VenueError::new(
            venue,
            VenueErrorKind::Rejected,
            format!("HTTP {status}: {body}"),
        )
        .with_code(code),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use reqwest::header::{HeaderMap, HeaderValue};

    use super::*;

    fn resp(status: u16, retry: Option<&'static str>) -> RawResponse {
        let mut headers = HeaderMap::new();
        if let Some(r) = retry {
            headers.insert("retry-after", HeaderValue::from_static(r));
        }
        RawResponse {
            status,
            headers,
            body: Bytes::from_static(b"{}"),
        }
    }

    #[test]
    fn rate_limits_carry_their_wait() {
        let e = status_error("binance", &resp(429, Some("7")));
        assert_eq!(e.kind, VenueErrorKind::RateLimited);
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        let ban = status_error("binance", &resp(418, Some("120")));
        assert_eq!(ban.retry_after, Some(Duration::from_secs(120)));
        let bare = status_error("bybit", &resp(429, None));
        assert_eq!(bare.retry_after, Some(DEFAULT_RETRY_AFTER));
    }

    #[test]
    fn server_errors_are_retryable_and_client_errors_rejected() {
        assert_eq!(
            status_error("bybit", &resp(503, None)).kind,
            VenueErrorKind::Retryable
        );
        assert_eq!(
            status_error("bybit", &resp(400, None)).kind,
            VenueErrorKind::Rejected
        );
        assert_eq!(
            status_error("bybit", &resp(401, None)).kind,
            VenueErrorKind::Auth
        );
    }
}
