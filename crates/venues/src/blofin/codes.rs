//! BloFin `code`s: what each means for the caller (the error table of
//! https://docs.blofin.com/index.html). Codes arrive as strings (`"0"` is success) and on HTTP 200.

use crate::{VenueError, VenueErrorKind};

use super::VENUE;

/// Request timestamp outside BloFin's 60 s window: resync the clock, then the request may be
/// re-sent (it was refused, so it did nothing).
pub const TIMESTAMP_EXPIRED: &str = "152405";
/// The nonce was used before: the request was refused; a fresh nonce may re-send it.
pub const NONCE_REUSED: &str = "152407";
/// `clientOrderId` already used: an earlier attempt landed (two codes for one meaning).
pub const DUPLICATE_CLIENT_ID: [&str; 2] = ["102002", "150003"];
/// Reduce-only order with no position to reduce: the position is smaller than we thought.
pub const REDUCE_ONLY_NO_POSITION: &str = "102022";
/// Cancel failed: the order is filled, cancelled or unknown. Query it.
pub const CANCEL_FAILED: &str = "102068";
/// The docs' generic "not found" (an order query for an id BloFin never saw).
pub const NOT_FOUND: &str = "404";
/// The instrument does not exist.
pub const UNKNOWN_INSTRUMENT: &str = "152014";
/// Orders sent in the wrong position mode.
pub const POSITION_MODE_MISMATCH: &str = "102089";

/// What a code means in plain words, when we know better than `msg`.
fn plain(code: &str) -> Option<&'static str> {
    Some(match code {
        "152401" | "152402" | "152403" | "152404" | "152406" | "152410" => {
            "API key refused (missing, unknown, expired, IP or permission)"
        }
        "152405" => "request timestamp outside BloFin's 60 s window",
        "152407" => "request nonce already used",
        "152408" => "passphrase refused",
        "152409" | "401" => "signature refused",
        "429" => "rate limit exceeded",
        "500" | "103013" => "venue internal error",
        "1" => "all operations failed",
        "102002" | "150003" => "duplicate client order id",
        "150004" | "103003" => "insufficient balance or margin",
        "102022" => "reduce-only order refused: no position to reduce",
        "102068" => "cancel failed: the order is filled, cancelled or does not exist",
        "102089" => "position mode mismatch: tradeengine needs net (one-way) mode",
        "110006" | "110019" => "open orders or positions block this setting change",
        "152014" => "instrument does not exist",
        "542" | "102014" | "102015" => "order size above the maximum",
        _ => return None,
    })
}

/// The classified error for a non-`"0"` code.
pub fn error(code: &str, msg: &str, path: &str) -> VenueError {
    let kind = match code {
        "401" | "152401" | "152402" | "152403" | "152404" | "152406" | "152408" | "152409"
        | "152410" => VenueErrorKind::Auth,
        "429" => VenueErrorKind::RateLimited,
        "500" | "103013" | TIMESTAMP_EXPIRED | NONCE_REUSED => VenueErrorKind::Retryable,
        _ => VenueErrorKind::Rejected,
    };
    let message = match plain(code) {
        Some(p) => format!("{path}: {p} ({msg})"),
        None => format!("{path}: {msg}"),
    };
    VenueError::new(VENUE, kind, message).with_code(code)
}

/// Whether `e` is a BloFin error with one of `codes`.
pub fn is(e: &VenueError, codes: &[&str]) -> bool {
    e.venue == VENUE && e.code.as_deref().is_some_and(|c| codes.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(
            error("152409", "Invalid signature", "/x").kind,
            VenueErrorKind::Auth
        );
        assert_eq!(error("152408", "x", "/x").kind, VenueErrorKind::Auth);
        assert_eq!(
            error("152405", "expired", "/x").kind,
            VenueErrorKind::Retryable
        );
        assert_eq!(error("429", "slow", "/x").kind, VenueErrorKind::RateLimited);
        let e = error(
            "102022",
            "You don't have any positions",
            "/api/v1/trade/order",
        );
        assert_eq!(
            (e.kind, e.code.as_deref()),
            (VenueErrorKind::Rejected, Some("102022"))
        );
        assert!(e.message.contains("reduce-only"), "{}", e.message);
        assert!(is(&error("150003", "dup", "/x"), &DUPLICATE_CLIENT_ID));
        assert!(!is(&error("150004", "poor", "/x"), &DUPLICATE_CLIENT_ID));
    }
}
