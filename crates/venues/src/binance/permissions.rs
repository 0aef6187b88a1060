//! The key's own permissions, `GET /sapi/v1/account/apiRestrictions` (weight 1, signed): a key
//! with `enableWithdrawals: true` can withdraw and is refused (see [`crate::permissions`]).
//!
//! `sapi` endpoints live on the spot host (`api.binance.com`), not the futures host: the check
//! uses its own client for that host. The futures testnet has no `sapi` host, so there the
//! permission cannot be known and a warning says so.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::VENUE;
use super::http::{Auth, BinanceHttp};
use crate::http::{Method, Query, Transport, VenueClock};
use crate::permissions::WithdrawalPermission;
use crate::{Credentials, VenueError, VenueErrorKind};

pub const PATH: &str = "/sapi/v1/account/apiRestrictions";
/// Where `sapi` lives for the production futures host.
pub const SPOT_URL: &str = "https://api.binance.com";

/// The host serving `sapi` for a futures REST base: the spot host for production, none for the
/// testnets, the same host for anything else (a simulator, a proxy).
pub fn sapi_base(futures_base: &str) -> Option<String> {
    let base = futures_base.trim_end_matches('/');
    match base {
        super::MAINNET_URL => Some(SPOT_URL.to_string()),
        super::TESTNET_URL | "https://testnet.binancefuture.com" => None,
        _ => Some(base.to_string()),
    }
}

/// Asks Binance what the configured key may do. `futures` lends its measured clock offset.
pub async fn withdrawal_permission(
    futures: &BinanceHttp,
    futures_base: &str,
    credentials: Option<Credentials>,
    recv_window_ms: u64,
    timeout: Duration,
    max_wait: Duration,
) -> Result<WithdrawalPermission, VenueError> {
    let Some(base) = sapi_base(futures_base) else {
        return Ok(WithdrawalPermission::Unknown(
            "the Binance futures testnet has no apiRestrictions endpoint".into(),
        ));
    };
    let clock = VenueClock::new(Arc::clone(futures.clock.clock()));
    // Same offset as the futures host (both are Binance's clock): local "now" maps to the
    // futures host's venue time. (A −1021 here would resync against `/fapi/v1/time`, which the
    // spot host does not serve: the request then fails and the start with it, never passes.)
    let now = clock.local_ms();
    clock.observe(futures.clock.venue_ms(), now, now);
    let sapi = BinanceHttp::new(
        Transport::new(VENUE, &base, timeout)?,
        credentials,
        recv_window_ms,
        clock,
        max_wait,
    );
    let v = sapi
        .request(Method::Get, PATH, &Query::new(), Auth::Signed, 1, false)
        .await?;
    parse_withdrawal_permission(&v)
}

/// Reads the reply. A reply without a boolean `enableWithdrawals` is an error, never a pass.
pub fn parse_withdrawal_permission(v: &Value) -> Result<WithdrawalPermission, VenueError> {
    match v.get("enableWithdrawals").and_then(Value::as_bool) {
        Some(true) => Ok(WithdrawalPermission::Enabled),
        Some(false) => Ok(WithdrawalPermission::Disabled),
        None => Err(VenueError::new(
            VENUE,
            VenueErrorKind::Internal,
            format!("{PATH}: reply has no boolean enableWithdrawals"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn enable_withdrawals_is_read() {
        let v = json!({"ipRestrict": true, "enableReading": true, "enableFutures": true, "enableWithdrawals": true});
        assert_eq!(
            parse_withdrawal_permission(&v),
            Ok(WithdrawalPermission::Enabled)
        );
        let v = json!({"enableWithdrawals": false});
        assert_eq!(
            parse_withdrawal_permission(&v),
            Ok(WithdrawalPermission::Disabled)
        );
        for v in [
            json!({}),
            json!({"enableWithdrawals": "false"}),
            json!(null),
        ] {
            assert!(parse_withdrawal_permission(&v).is_err(), "{v}");
        }
    }

    #[test]
    fn sapi_host_per_futures_host() {
        assert_eq!(
            sapi_base("https://fapi.binance.com/").as_deref(),
            Some(SPOT_URL)
        );
        assert_eq!(sapi_base(super::super::TESTNET_URL), None);
        assert_eq!(
            sapi_base("http://127.0.0.1:9000").as_deref(),
            Some("http://127.0.0.1:9000")
        );
    }
}
