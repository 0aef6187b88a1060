//! The `/exchange` actions we send, as structs whose field order is the order the exchange
//! hashes them in (the official Python SDK's dict order,
//! <https://github.com/hyperliquid-dex/hyperliquid-python-sdk/blob/master/hyperliquid/exchange.py>; documented at
//! <https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/exchange-endpoint>).
//! MessagePack keeps that order ([`super::signing::action_hash`]), so a reordered field would
//! sign a different action and the exchange would recover a different (unknown) signer.

use serde::{Deserialize, Serialize};

use super::signing::{ActionContext, Address, L1Signature};

/// Time in force of a limit order: `Gtc`, `Ioc`, or `Alo` (post-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tif {
    Gtc,
    Ioc,
    Alo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitWire {
    pub tif: Tif,
}

/// A trigger (stop or take-profit) order: `isMarket`, `triggerPx`, `tpsl`, in that order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerWire {
    #[serde(rename = "isMarket")]
    pub is_market: bool,
    #[serde(rename = "triggerPx")]
    pub trigger_px: String,
    /// `"tp"` or `"sl"`.
    pub tpsl: String,
}

/// `{"limit": {...}}` or `{"trigger": {...}}`: exactly one is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTypeWire {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub limit: Option<LimitWire>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trigger: Option<TriggerWire>,
}

impl OrderTypeWire {
    pub fn limit(tif: Tif) -> Self {
        Self {
            limit: Some(LimitWire { tif }),
            trigger: None,
        }
    }

    pub fn trigger(trigger: TriggerWire) -> Self {
        Self {
            limit: None,
            trigger: Some(trigger),
        }
    }
}

/// One order: asset, is buy, price, size, reduce only, type, and the optional cloid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderWire {
    /// Asset id: the index of the coin in `meta.universe` (perpetuals).
    pub a: u32,
    pub b: bool,
    /// Limit price ([`super::wire::decimal_to_wire`]).
    pub p: String,
    /// Size in coins ([`super::wire::decimal_to_wire`]).
    pub s: String,
    pub r: bool,
    pub t: OrderTypeWire,
    /// Client order id: `0x` + 32 hex digits ([`super::wire::cloid_for`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub c: Option<String>,
}

/// `{"type": "order", "orders": [...], "grouping": "na"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAction {
    pub r#type: String,
    pub orders: Vec<OrderWire>,
    /// `na` (independent orders), `normalTpsl` or `positionTpsl`.
    pub grouping: String,
}

impl OrderAction {
    pub fn new(orders: Vec<OrderWire>) -> Self {
        Self {
            r#type: "order".into(),
            orders,
            grouping: "na".into(),
        }
    }
}

/// One cancel by exchange order id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelWire {
    pub a: u32,
    pub o: u64,
}

/// `{"type": "cancel", "cancels": [{"a", "o"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelAction {
    pub r#type: String,
    pub cancels: Vec<CancelWire>,
}

/// One cancel by client order id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelByCloidWire {
    pub asset: u32,
    pub cloid: String,
}

/// `{"type": "cancelByCloid", "cancels": [{"asset", "cloid"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelByCloidAction {
    pub r#type: String,
    pub cancels: Vec<CancelByCloidWire>,
}

impl CancelByCloidAction {
    pub fn new(cancels: Vec<CancelByCloidWire>) -> Self {
        Self {
            r#type: "cancelByCloid".into(),
            cancels,
        }
    }
}

/// `{"type": "scheduleCancel", "time": ms}`: cancel every open order at `time` (at least 5 s
/// ahead); without `time`, the scheduled cancel is removed. The dead-man switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleCancelAction {
    pub r#type: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time: Option<u64>,
}

impl ScheduleCancelAction {
    pub fn new(time: Option<u64>) -> Self {
        Self {
            r#type: "scheduleCancel".into(),
            time,
        }
    }
}

/// `{"type": "updateLeverage", "asset", "isCross", "leverage"}`; leverage is a whole number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateLeverageAction {
    pub r#type: String,
    pub asset: u32,
    #[serde(rename = "isCross")]
    pub is_cross: bool,
    pub leverage: u32,
}

impl UpdateLeverageAction {
    pub fn new(asset: u32, is_cross: bool, leverage: u32) -> Self {
        Self {
            r#type: "updateLeverage".into(),
            asset,
            is_cross,
            leverage,
        }
    }
}

/// The body of `POST /exchange`: the action, its nonce and signature, and the vault and expiry
/// that were signed with it.
#[derive(Debug, Clone, Serialize)]
pub struct ExchangeRequest<'a, A: Serialize> {
    pub action: &'a A,
    pub nonce: u64,
    pub signature: L1Signature,
    #[serde(rename = "vaultAddress", skip_serializing_if = "Option::is_none")]
    pub vault_address: Option<String>,
    #[serde(rename = "expiresAfter", skip_serializing_if = "Option::is_none")]
    pub expires_after: Option<u64>,
}

impl<'a, A: Serialize> ExchangeRequest<'a, A> {
    pub fn new(action: &'a A, context: &ActionContext, signature: L1Signature) -> Self {
        Self {
            action,
            nonce: context.nonce,
            signature,
            vault_address: context.vault.map(|v: Address| v.to_string()),
            expires_after: context.expires_after,
        }
    }
}
