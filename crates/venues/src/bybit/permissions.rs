//! The key's own permissions, `GET /v5/user/query-api` (any key may call it): a key whose
//! `permissions.Wallet` lists `Withdraw` can withdraw and is refused (see
//! [`crate::permissions`]). The reply also carries the key itself (`apiKey`); nothing here
//! keeps, logs or echoes any of it.

use serde_json::Value;

use super::VENUE;
use super::http::{BybitHttp, scope};
use crate::http::Query;
use crate::permissions::WithdrawalPermission;
use crate::{VenueError, VenueErrorKind};

pub const PATH: &str = "/v5/user/query-api";

/// Asks Bybit what the configured key may do.
pub async fn withdrawal_permission(http: &BybitHttp) -> Result<WithdrawalPermission, VenueError> {
    let result = http.get(PATH, &Query::new(), scope::QUERY).await?;
    parse_withdrawal_permission(&result)
}

/// Reads the `result` object. A reply without a `permissions` object is an error (never a
/// silent pass); the error names the field, not the reply, which holds the key.
pub fn parse_withdrawal_permission(result: &Value) -> Result<WithdrawalPermission, VenueError> {
    let permissions = result
        .get("permissions")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            VenueError::new(
                VENUE,
                VenueErrorKind::Internal,
                format!("{PATH}: reply has no permissions object"),
            )
        })?;
    let can_withdraw = permissions
        .get("Wallet")
        .and_then(Value::as_array)
        .is_some_and(|w| w.iter().any(|p| p.as_str() == Some("Withdraw")));
    Ok(if can_withdraw {
        WithdrawalPermission::Enabled
    } else {
        WithdrawalPermission::Disabled
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wallet_withdraw_means_enabled() {
        let r = json!({"apiKey": "FAKE", "readOnly": 0, "permissions": {
            "ContractTrade": ["Order", "Position"],
            "Wallet": ["AccountTransfer", "Withdraw"]}});
        assert_eq!(
            parse_withdrawal_permission(&r),
            Ok(WithdrawalPermission::Enabled)
        );
        let r = json!({"permissions": {"ContractTrade": ["Order"], "Wallet": ["AccountTransfer"]}});
        assert_eq!(
            parse_withdrawal_permission(&r),
            Ok(WithdrawalPermission::Disabled)
        );
        let r = json!({"permissions": {}});
        assert_eq!(
            parse_withdrawal_permission(&r),
            Ok(WithdrawalPermission::Disabled)
        );
    }

    #[test]
    fn a_reply_without_permissions_is_an_error_that_does_not_echo_the_key() {
        for r in [
            json!({"apiKey": "FAKE-ECHO-KEY"}),
            json!([]),
            json!({"permissions": "x"}),
        ] {
            let e = parse_withdrawal_permission(&r).err();
            let e = e.unwrap_or_else(|| panic!("{r} must fail"));
            assert!(!e.to_string().contains("FAKE-ECHO-KEY"), "{e}");
            assert_eq!(e.kind, VenueErrorKind::Internal);
        }
    }
}
