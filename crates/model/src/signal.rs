//! Normalised signals: what every source (TradingView, SN8, NATS, RabbitMQ, REST, strategies)
//! turns its own message into before the engine looks at it.
//!
//! Two intents exist:
//! - a **target** intent says "this source wants depth `d` in this symbol", where depth is a
//!   signed fraction of account value (TradingView `direction/size`, SN8 net leverage);
//! - an **order** intent says "buy/sell this much" (the broker and REST schemas) and opens, adds
//!   to, reduces or closes the source's sleeve under the sleeve rules of `tradeengine-core`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Price, SignalId, SourceId, Symbol, Timestamp};

/// One normalised signal, as stored and audited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub id: SignalId,
    pub source: SourceId,
    /// Unified symbol, after the source's symbol mapping.
    pub symbol: Symbol,
    pub intent: Intent,
    /// When the sender says it produced the signal, if it says.
    pub emitted_at: Option<Timestamp>,
    /// When the engine accepted it.
    pub received_at: Timestamp,
    /// Duplicate-suppression key: the sender's event or message id, else a hash of the body.
    pub idempotency_key: String,
    /// The payload as received, kept for the audit trail.
    pub raw: serde_json::Value,
}

/// What the source wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Intent {
    Target(TargetIntent),
    Order(OrderIntent),
}

/// "Hold `depth` of account value in this symbol", optionally at a leverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetIntent {
    /// Signed fraction of account value: 0.5 is half the account long, −1 the whole account short.
    pub depth: Decimal,
    /// Leverage the source asks for; `None` leaves it to the symbol's configuration.
    pub leverage: Option<Decimal>,
    /// Price the sender saw, informational.
    pub reference_price: Option<Price>,
}

/// What an order intent does to the source's sleeve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    Buy,
    Sell,
    /// Close the sleeve whatever its side.
    Close,
    /// Explicitly nothing (an amount signal's NOTHING, a strategy signal's hold): recorded, changes
    /// nothing.
    Hold,
}

/// How big an order intent is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "unit", content = "value", rename_all = "snake_case")]
pub enum OrderSize {
    /// Base units (0.001 BTC).
    Base(Decimal),
    /// Quote units (100 USDT), converted at the price when the sleeve is opened.
    Quote(Decimal),
    /// Fraction of account value (0.05 = 5 %), the same unit as a target depth.
    AccountFraction(Decimal),
}

/// A stop-loss or take-profit level, absolute or relative to the entry price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ProtectiveLevel {
    Price(Price),
    /// A fraction of the entry price: 0.02 is 2 % away from entry.
    Fraction(Decimal),
}

/// Buy/sell with a size, as the strategy and amount signal schemas send them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderIntent {
    pub action: OrderAction,
    pub size: Option<OrderSize>,
    /// 0..=1; below the source's threshold the intent is refused.
    pub confidence: Option<Decimal>,
    pub stop_loss: Option<ProtectiveLevel>,
    pub take_profit: Option<ProtectiveLevel>,
    /// Leverage the sender asks for, if any.
    pub leverage: Option<Decimal>,
    /// Price the sender saw.
    pub reference_price: Option<Price>,
}
