//! The `/info` and `/exchange` reply shapes we read
//! (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint/perpetuals>,
//! <https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint>,
//! <https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/exchange-endpoint>).
//! Only the fields we use are declared; numbers arrive as decimal strings.

use serde::Deserialize;

/// `{"type": "meta"}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Meta {
    pub universe: Vec<AssetMeta>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetMeta {
    pub name: String,
    pub sz_decimals: u32,
    pub max_leverage: u32,
    /// Delisted coins stay in the universe (their index is their asset id) but cannot trade.
    #[serde(default)]
    pub is_delisted: bool,
}

/// One row of `metaAndAssetCtxs`' second element.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetCtx {
    #[serde(default)]
    pub mark_px: Option<String>,
    #[serde(default)]
    pub mid_px: Option<String>,
}

/// `{"type": "clearinghouseState", "user"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClearinghouseState {
    pub asset_positions: Vec<AssetPosition>,
    pub margin_summary: MarginSummary,
    #[serde(default)]
    pub withdrawable: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarginSummary {
    pub account_value: String,
    pub total_margin_used: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AssetPosition {
    pub position: PositionData,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionData {
    pub coin: String,
    pub szi: String,
    #[serde(default)]
    pub entry_px: Option<String>,
    pub leverage: Leverage,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Leverage {
    /// `cross` or `isolated`.
    pub r#type: String,
    pub value: u32,
}

/// A row of `frontendOpenOrders`, and the order inside `orderStatus`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrontendOrder {
    pub coin: String,
    /// `B` (bid, buy) or `A` (ask, sell).
    pub side: String,
    pub limit_px: String,
    /// What is left to fill.
    pub sz: String,
    pub oid: u64,
    pub timestamp: i64,
    pub orig_sz: String,
    #[serde(default)]
    pub reduce_only: bool,
    #[serde(default)]
    pub cloid: Option<String>,
}

/// `{"type": "orderStatus", "user", "oid"}`.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderStatusReply {
    pub status: String,
    #[serde(default)]
    pub order: Option<OrderStatusOrder>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderStatusOrder {
    pub order: FrontendOrder,
    /// `open`, `filled`, `canceled`, `triggered`, `rejected`, `marginCanceled`, …
    pub status: String,
    pub status_timestamp: i64,
}

/// What an order's `status` (in `orderStatus`, `historicalOrders` and the `orderUpdates`
/// push) says, by the table of "Query order status by oid or cloid"
/// (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint>): `open`
/// and `triggered` work; `filled`; `rejected` and every `…Rejected` (`tickRejected`,
/// `iocCancelRejected`, …) were refused at placement; `canceled`, every `…Canceled`
/// (`marginCanceled`, …) and `scheduledCancel` (the dead-man switch) were cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Working,
    Filled,
    Rejected,
    Cancelled,
    Unknown,
}

impl StatusClass {
    pub fn of(status: &str) -> Self {
        match status {
            "open" | "triggered" => Self::Working,
            "filled" => Self::Filled,
            "scheduledCancel" => Self::Cancelled,
            s if s == "rejected" || s.ends_with("Rejected") => Self::Rejected,
            s if s == "canceled" || s.ends_with("Canceled") => Self::Cancelled,
            _ => Self::Unknown,
        }
    }
}

/// A row of `userFills`.
#[derive(Debug, Clone, Deserialize)]
pub struct UserFill {
    pub px: String,
    pub sz: String,
    pub oid: u64,
    pub fee: String,
}

/// `{"type": "userRole", "user"}`: `user`, `agent` (with the master in `data.user`), `vault`,
/// `subAccount` or `missing`.
#[derive(Debug, Clone, Deserialize)]
pub struct UserRole {
    pub role: String,
    #[serde(default)]
    pub data: Option<UserRoleData>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UserRoleData {
    #[serde(default)]
    pub user: Option<String>,
}

/// `{"type": "userRateLimit", "user"}`: the address's action budget.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRateLimit {
    pub n_requests_used: u64,
    pub n_requests_cap: u64,
}

/// One entry of an order action's `statuses`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OrderOutcome {
    Resting(Resting),
    Filled(Filled),
    Error(String),
}

#[derive(Debug, Clone, Deserialize)]
pub struct Resting {
    pub oid: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filled {
    pub total_sz: String,
    pub avg_px: String,
    pub oid: u64,
}

/// `response.data` of an order action.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderData {
    pub statuses: Vec<OrderOutcome>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderResponse {
    pub data: OrderData,
}

#[cfg(test)]
mod tests {
    use super::StatusClass;

    #[test]
    fn every_documented_status_has_its_class() {
        assert_eq!(StatusClass::of("open"), StatusClass::Working);
        assert_eq!(StatusClass::of("triggered"), StatusClass::Working);
        assert_eq!(StatusClass::of("filled"), StatusClass::Filled);
        for s in [
            "canceled",
            "marginCanceled",
            "reduceOnlyCanceled",
            "scheduledCancel",
        ] {
            assert_eq!(StatusClass::of(s), StatusClass::Cancelled, "{s}");
        }
        for s in [
            "rejected",
            "tickRejected",
            "iocCancelRejected",
            "perpMarginRejected",
        ] {
            assert_eq!(StatusClass::of(s), StatusClass::Rejected, "{s}");
        }
        assert_eq!(StatusClass::of("somethingNew"), StatusClass::Unknown);
    }
}
