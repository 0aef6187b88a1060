//! The actions the simulator understands, as the exchange reads them
//! (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/exchange-endpoint>).
//! The exchange hashes the action it parsed, re-encoded as MessagePack with its own field
//! order, so a client that sends the fields in another order, or an extra field, signs
//! something else: the fields below are declared in the documented order for that reason.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub tif: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    #[serde(rename = "isMarket")]
    pub is_market: bool,
    #[serde(rename = "triggerPx")]
    pub trigger_px: String,
    pub tpsl: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderKind {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub limit: Option<Limit>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trigger: Option<Trigger>,
}

/// One order: `a` asset, `b` is buy, `p` price, `s` size, `r` reduce only, `t` type, `c` cloid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub a: u32,
    pub b: bool,
    pub p: String,
    pub s: String,
    pub r: bool,
    pub t: OrderKind,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub c: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cancel {
    pub a: u32,
    pub o: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelByCloid {
    pub asset: u32,
    pub cloid: String,
}

/// `{"type": ..., fields}`; the tag is the first key of the hashed map.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Action {
    #[serde(rename = "order")]
    Order {
        orders: Vec<Order>,
        grouping: String,
    },
    #[serde(rename = "cancel")]
    Cancel { cancels: Vec<Cancel> },
    #[serde(rename = "cancelByCloid")]
    CancelByCloid { cancels: Vec<CancelByCloid> },
    #[serde(rename = "scheduleCancel")]
    ScheduleCancel {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        time: Option<u64>,
    },
    #[serde(rename = "updateLeverage")]
    UpdateLeverage {
        asset: u32,
        #[serde(rename = "isCross")]
        is_cross: bool,
        leverage: u32,
    },
}

impl Action {
    /// The bytes the exchange hashes.
    pub fn msgpack(&self) -> Result<Vec<u8>, String> {
        rmp_serde::to_vec_named(self).map_err(|e| e.to_string())
    }

    /// The `response.type` of a success (`default` for actions without data).
    pub fn reply_type(&self) -> &'static str {
        match self {
            Self::Order { .. } => "order",
            Self::Cancel { .. } => "cancel",
            Self::CancelByCloid { .. } => "cancel",
            Self::ScheduleCancel { .. } | Self::UpdateLeverage { .. } => "default",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_hashed_first_and_fields_in_declared_order() {
        let json = r#"{"type":"scheduleCancel","time":123456789}"#;
        let a: Action = serde_json::from_str(json).unwrap_or(Action::ScheduleCancel { time: None });
        let bytes = a.msgpack().unwrap_or_default();
        // fixmap(2), "type", "scheduleCancel", "time", uint32 123456789.
        let mut want = vec![0x82, 0xa4];
        want.extend_from_slice(b"type");
        want.push(0xae);
        want.extend_from_slice(b"scheduleCancel");
        want.push(0xa4);
        want.extend_from_slice(b"time");
        want.push(0xce);
        want.extend_from_slice(&123_456_789u32.to_be_bytes());
        assert_eq!(bytes, want);
        // An unknown field is refused, not silently dropped from the hash.
        assert!(serde_json::from_str::<Action>(r#"{"type":"scheduleCancel","x":1}"#).is_err());
    }
}
