//! Refusing API keys that can withdraw funds.
//!
//! tradeengine only trades; a key that can also withdraw turns a leaked key (or a bug) into
//! lost funds. Where the venue reports a key's permissions (Bybit `GET /v5/user/query-api`,
//! Binance `GET /sapi/v1/account/apiRestrictions`) the adapter asks at connect time and a key
//! with withdrawal permission is refused before anything else happens. Where it cannot be known
//! (other venues, or a Binance testnet without the `sapi` host), a warning says so. Which
//! venues report it is a column of [`crate::registry`].

use crate::{VenueError, VenueErrorKind};

/// What the venue says about a key's withdrawal permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WithdrawalPermission {
    /// The key cannot withdraw.
    Disabled,
    /// The key can withdraw: refused.
    Enabled,
    /// The venue cannot tell us; why.
    Unknown(String),
}

/// The error code of a refused key.
pub const WITHDRAWAL_ENABLED: &str = "withdrawal_enabled";

/// The warning logged for a keyed account whose venue cannot report permissions.
pub fn warn_unknown(venue: &str, why: &str) {
    tracing::warn!(
        venue,
        "cannot verify that this API key lacks withdrawal permission ({why}); use a trade-only key"
    );
}

/// `Enabled` becomes an `Auth` error with code [`WITHDRAWAL_ENABLED`] and a reason that says
/// what to do; `Unknown` logs a warning and passes.
pub fn enforce(venue: &'static str, permission: WithdrawalPermission) -> Result<(), VenueError> {
    match permission {
        WithdrawalPermission::Disabled => Ok(()),
        WithdrawalPermission::Unknown(why) => {
            warn_unknown(venue, &why);
            Ok(())
        }
        WithdrawalPermission::Enabled => Err(VenueError::new(
            venue,
            VenueErrorKind::Auth,
            "this API key has withdrawal permission; tradeengine refuses such keys. Create a key with trading permission only (no withdrawals) and use that",
        )
        .with_code(WITHDRAWAL_ENABLED)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enabled_is_refused_with_a_clear_reason() {
        let e = enforce("bybit", WithdrawalPermission::Enabled).err();
        let e = e.unwrap_or_else(|| panic!("must refuse"));
        assert_eq!(e.kind, VenueErrorKind::Auth);
        assert_eq!(e.code.as_deref(), Some(WITHDRAWAL_ENABLED));
        assert!(e.to_string().contains("withdrawal permission"), "{e}");
    }

    #[test]
    fn disabled_and_unknown_pass() {
        assert!(enforce("bybit", WithdrawalPermission::Disabled).is_ok());
        assert!(enforce("binance", WithdrawalPermission::Unknown("testnet".into())).is_ok());
    }
}
