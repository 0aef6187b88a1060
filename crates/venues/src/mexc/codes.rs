//! MEXC contract `code`s: what each means for the caller
//! (https://mexcdevelop.github.io/apidocs/contract_v1_en/, "Error code").
//!
//! ## Order entry restricted
//!
//! Since 2022-07-25 MEXC has marked its contract order endpoints "under maintenance" and
//! refuses API orders on many accounts and contracts: observed answers are `1002` ("Contract
//! not allow place order!"), `6001`/`6002` (trading or opening forbidden) and `511`
//! (interface inaccessible). Retrying cannot help and nothing was executed, so these are
//! [`VenueErrorKind::Unsupported`] with a message that says so, code kept. Contract details
//! with `apiAllowed = false` are refused the same way before anything is sent
//! ([`RESTRICTED_LOCAL`]).

use crate::{VenueError, VenueErrorKind};

use super::VENUE;

/// Too many requests.
pub const RATE_LIMITED: i64 = 510;
/// Request time outside the window: resync the clock; the request did nothing.
pub const TIME_WINDOW: i64 = 513;
/// Position does not exist or is closed: a close (reduce-only) order found nothing to close.
pub const NO_POSITION: i64 = 2009;
/// Our own code when a contract's detail says `apiAllowed = false`.
pub const RESTRICTED_LOCAL: &str = "api_not_allowed";

/// Codes that say API order entry is switched off for this account or contract.
pub fn is_restricted(code: i64) -> bool {
    matches!(code, 511 | 1002 | 6001 | 6002)
}

/// Codes that say our cached contract rules may be out of date.
pub fn suggests_stale_instrument(code: i64) -> bool {
    matches!(code, 1001 | 2011 | 2015)
}

fn plain(code: i64) -> Option<&'static str> {
    Some(match code {
        401 | 402 => "API key refused or expired",
        406 => "IP address not on the key's whitelist",
        500 | 501 | 9999 => "venue internal error",
        510 => "rate limit exceeded",
        511 | 1002 | 6001 | 6002 => {
            "MEXC refuses API order entry here (order endpoints restricted or under maintenance since 2022-07-25); nothing was executed"
        }
        513 => "request time outside the receive window",
        600 => "parameter error",
        602 => "signature verification failed",
        603 => "repeated request",
        701..=704 => "API key lacks the permission",
        1001 => "contract does not exist",
        2005 => "insufficient balance",
        2006 | 2021 => "leverage not valid, or not the open position's leverage",
        2008 | 2011 => "order quantity out of range",
        2009 => "close (reduce-only) order refused: no position to close",
        2015 => "price or quantity precision over the contract's scale",
        2019 => "an open position or order blocks this change",
        2026 => "leverage change not supported for this position",
        2030 => "externalOid longer than 32 characters",
        _ => return None,
    })
}

/// The classified error for a non-zero `code`. `write` says whether the request could have
/// changed something: then MEXC's "internal error" answers leave the outcome unknown
/// (ambiguous), as the docs warn for 5xx.
pub fn error(code: i64, message: &str, path: &str, write: bool) -> VenueError {
    let kind = match code {
        401 | 402 | 406 | 602 | 701..=704 => VenueErrorKind::Auth,
        RATE_LIMITED => VenueErrorKind::RateLimited,
        500 | 501 | 9999 if write => VenueErrorKind::Ambiguous,
        500 | 501 | 9999 | TIME_WINDOW => VenueErrorKind::Retryable,
        c if is_restricted(c) => VenueErrorKind::Unsupported,
        _ => VenueErrorKind::Rejected,
    };
    let text = match plain(code) {
        Some(p) => format!("{path}: {p} ({message})"),
        None => format!("{path}: {message}"),
    };
    VenueError::new(VENUE, kind, text).with_code(code.to_string())
}

/// The error for a contract whose detail says API trading is off.
pub fn restricted_locally(venue_symbol: &str) -> VenueError {
    VenueError::new(
        VENUE,
        VenueErrorKind::Unsupported,
        format!(
            "{venue_symbol}: MEXC does not allow API orders on this contract (apiAllowed = false); nothing was sent"
        ),
    )
    .with_code(RESTRICTED_LOCAL)
}

/// Whether `e` carries MEXC `code`.
pub fn has_code(e: &VenueError, code: i64) -> bool {
    e.venue == VENUE && e.code.as_deref() == Some(code.to_string().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let path = "/api/v1/private/order/submit";
        assert_eq!(
            error(2005, "balance", path, true).kind,
            VenueErrorKind::Rejected
        );
        assert_eq!(error(602, "sign", path, true).kind, VenueErrorKind::Auth);
        assert_eq!(error(401, "x", path, true).kind, VenueErrorKind::Auth);
        assert_eq!(
            error(510, "freq", path, true).kind,
            VenueErrorKind::RateLimited
        );
        assert_eq!(
            error(513, "time", path, true).kind,
            VenueErrorKind::Retryable
        );
        assert_eq!(
            error(500, "internal", path, true).kind,
            VenueErrorKind::Ambiguous
        );
        assert_eq!(
            error(
                500,
                "internal",
                "/api/v1/private/position/open_positions",
                false
            )
            .kind,
            VenueErrorKind::Retryable
        );
        let e = error(2009, "position does not exist", path, true);
        assert_eq!(
            (e.kind, e.code.as_deref()),
            (VenueErrorKind::Rejected, Some("2009"))
        );
        assert!(e.message.contains("no position to close"), "{}", e.message);
    }

    #[test]
    fn a_restricted_order_endpoint_is_unsupported_not_retryable() {
        for code in [1002, 6001, 6002, 511] {
            let e = error(code, "Contract not allow place order!", "/x", true);
            assert_eq!(e.kind, VenueErrorKind::Unsupported, "{code}");
            assert!(!e.is_retryable() && !e.is_ambiguous());
            assert!(
                e.message.contains("refuses API order entry"),
                "{}",
                e.message
            );
        }
        let local = restricted_locally("BTC_USDT");
        assert_eq!(
            (local.kind, local.code.as_deref()),
            (VenueErrorKind::Unsupported, Some(RESTRICTED_LOCAL))
        );
        assert!(has_code(&error(2009, "m", "/x", true), NO_POSITION));
    }
}
