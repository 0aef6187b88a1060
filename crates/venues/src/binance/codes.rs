//! Binance USDⓈ-M error codes: what each means for the caller
//! (https://developers.binance.com/docs/derivatives/usds-margined-futures/error-code).

use crate::{VenueError, VenueErrorKind};

use super::VENUE;

pub const TIMESTAMP_OUTSIDE_WINDOW: i64 = -1021;
pub const UNKNOWN_ORDER_CANCEL: i64 = -2011;
pub const NO_SUCH_ORDER: i64 = -2013;
pub const DUPLICATE_CLIENT_ID: i64 = -4116;

/// "No need to change" answers: margin type, position side.
pub fn is_not_modified(code: i64) -> bool {
    matches!(code, -4046 | -4059)
}

/// Codes that say our cached filters may be out of date.
pub fn suggests_stale_instrument(code: i64) -> bool {
    matches!(code, -4164 | -1111 | -1013 | -4003 | -4005)
}

fn plain(code: i64) -> Option<&'static str> {
    Some(match code {
        -1021 => "request timestamp outside the receive window",
        -1022 => "signature not valid",
        -2014 | -2015 => "API key, IP or permissions refused",
        -1003 => "rate limit exceeded",
        -1000 | -1001 | -1006 | -1007 => "venue could not confirm the outcome",
        -1008 => "venue overloaded",
        -1111 => "quantity or price precision over the symbol's limit",
        -1013 => "order refused by a symbol filter (lot size or price)",
        -4164 => "order value below the minimum notional",
        -2019 => "insufficient margin",
        -2027 | -2028 => "position would exceed the maximum at this leverage",
        -2022 => "reduce-only order refused: no position to reduce",
        -4118 => "reduce-only order refused by the margin check",
        -2011 | -2013 => "order does not exist",
        -4116 => "duplicate client order id",
        -4048 => "margin type cannot change while a position or order is open",
        -1121 => "invalid symbol",
        -4028 => "leverage not valid",
        _ => return None,
    })
}

/// The classified error for a Binance `{code, msg}`. `write` says whether the request could
/// have changed something (then an "unknown outcome" code is ambiguous).
pub fn error(code: i64, msg: &str, path: &str, write: bool) -> VenueError {
    let kind = match code {
        -1022 | -2014 | -2015 => VenueErrorKind::Auth,
        -1003 => VenueErrorKind::RateLimited,
        -1000 | -1001 | -1006 | -1007 if write => VenueErrorKind::Ambiguous,
        -1000 | -1001 | -1006 | -1007 | -1008 | TIMESTAMP_OUTSIDE_WINDOW => {
            VenueErrorKind::Retryable
        }
        _ => VenueErrorKind::Rejected,
    };
    let message = match plain(code) {
        Some(p) => format!("{path}: {p} ({msg})"),
        None => format!("{path}: {msg}"),
    };
    VenueError::new(VENUE, kind, message).with_code(code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(
            error(-2019, "Margin is insufficient.", "/fapi/v1/order", true).kind,
            VenueErrorKind::Rejected
        );
        assert_eq!(
            error(
                -1007,
                "Timeout waiting for response",
                "/fapi/v1/order",
                true
            )
            .kind,
            VenueErrorKind::Ambiguous
        );
        assert_eq!(
            error(
                -1007,
                "Timeout waiting for response",
                "/fapi/v3/account",
                false
            )
            .kind,
            VenueErrorKind::Retryable
        );
        assert_eq!(
            error(-2015, "Invalid API-key", "/x", false).kind,
            VenueErrorKind::Auth
        );
        let e = error(
            -2022,
            "ReduceOnly Order is rejected.",
            "/fapi/v1/order",
            true,
        );
        assert_eq!(e.code.as_deref(), Some("-2022"));
        assert!(e.message.contains("reduce-only"));
        assert!(is_not_modified(-4046) && is_not_modified(-4059) && !is_not_modified(-2013));
    }
}
