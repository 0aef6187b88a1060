//! Bybit v5 `retCode`s: what each means for the caller
//! (https://bybit-exchange.github.io/docs/v5/error).

use crate::{VenueError, VenueErrorKind};

use super::VENUE;

/// Timestamp outside the receive window: resync the clock, then the request may be re-sent
/// (it was refused, so it did nothing).
pub const TIME_WINDOW: i64 = 10002;
/// Too many visits: rate limited.
pub const RATE_LIMITED: i64 = 10006;
/// The order does not exist (or is already too late to cancel).
pub const ORDER_NOT_FOUND: i64 = 110001;
/// Duplicate `orderLinkId`: an earlier attempt landed.
pub const DUPLICATE_LINK_ID: i64 = 110072;

/// "Not modified" answers to a setting change: position mode, margin mode, leverage.
pub fn is_not_modified(code: i64) -> bool {
    matches!(code, 110025 | 110026 | 110043)
}

/// Codes that say our cached instrument rules may be out of date.
pub fn suggests_stale_instrument(code: i64) -> bool {
    matches!(code, 110094 | 170136 | 170137 | 10001)
}

/// What a code means in plain words, when we know better than `retMsg`.
fn plain(code: i64) -> Option<&'static str> {
    Some(match code {
        10002 => "request timestamp outside the receive window",
        10003 | 10004 | 10005 | 10007 | 10009 | 10010 => {
            "API key, signature, permission or IP refused"
        }
        10006 => "rate limit exceeded",
        10016 | 10000 => "venue server error",
        110001 => "order does not exist",
        110004 | 110007 | 110012 | 110044 | 110045 => "insufficient balance or margin",
        110017 => "reduce-only order refused: no position to reduce, or quantity rounds to zero",
        110020 => "too many active orders",
        110023 | 110042 => "this contract accepts reduce-only orders only",
        110024 => "cannot switch position mode while holding a position or order",
        110072 => "duplicate order link id",
        110090 => "position would exceed the maximum at this leverage",
        110094 => "order value below the minimum notional",
        _ => return None,
    })
}

/// The classified error for a non-zero `retCode`.
pub fn error(code: i64, ret_msg: &str, path: &str) -> VenueError {
    let kind = match code {
        10003 | 10004 | 10005 | 10007 | 10009 | 10010 => VenueErrorKind::Auth,
        10006 => VenueErrorKind::RateLimited,
        10000 | 10016 | TIME_WINDOW => VenueErrorKind::Retryable,
        _ => VenueErrorKind::Rejected,
    };
    let message = match plain(code) {
        Some(p) => format!("{path}: {p} ({ret_msg})"),
        None => format!("{path}: {ret_msg}"),
    };
    VenueError::new(VENUE, kind, message).with_code(code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(
            error(110007, "ab not enough", "/v5/order/create").kind,
            VenueErrorKind::Rejected
        );
        assert_eq!(error(10004, "error sign", "/x").kind, VenueErrorKind::Auth);
        assert_eq!(
            error(10006, "Too many visits", "/x").kind,
            VenueErrorKind::RateLimited
        );
        assert_eq!(
            error(10016, "server error", "/x").kind,
            VenueErrorKind::Retryable
        );
        let e = error(110017, "Reduce-only rule not satisfied", "/v5/order/create");
        assert_eq!(e.code.as_deref(), Some("110017"));
        assert!(e.message.contains("reduce-only"), "{}", e.message);
        assert!(is_not_modified(110043) && is_not_modified(110026) && !is_not_modified(110001));
    }
}
