//! The bodies the API's handlers answer with, named in their `#[utoipa::path]` declarations.
//! Kept apart from [`crate::openapi`], which lists the handlers: the handlers name these
//! bodies, the document names the handlers, and neither module needs the other.

use serde::Serialize;
use utoipa::ToSchema;

/// The API's error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

/// The FastAPI-style error body (`{"detail": …}`) of the trading endpoints under `/order`,
/// `/account`, `/price` and `/signal`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetailBody {
    /// A message, or a list of validation faults.
    pub detail: serde_json::Value,
}

/// One signal in tradeengine's canonical schema, as `POST /api/v1/signals` and the brokers take
/// it. Unknown keys are refused by name (a typo never silently changes a trade). `mode:
/// "target"` needs `target`; `mode: "delta"` needs `order`. The handler reads the body itself
/// (this type documents it): the parser's refusals name the field at fault.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"v": 1, "id": "client-key-1", "ts": "2026-07-14T14:35:06Z",
    "max_lag_s": 60, "symbol": "BTCUSDT", "mode": "target",
    "target": {"side": "long", "exposure": 0.25, "unit": "equity_fraction", "leverage": 3}}))]
pub struct CanonicalSignal {
    /// Schema version: 1.
    pub v: Option<u32>,
    /// The sender's id for the signal: the idempotency key (a repeat is a duplicate).
    pub id: Option<String>,
    /// When the sender made it: RFC 3339, or epoch seconds or milliseconds.
    #[schema(value_type = Option<String>)]
    pub ts: Option<serde_json::Value>,
    /// With `ts`: older than this many seconds is refused as stale.
    pub max_lag_s: Option<f64>,
    /// The symbol, after the source's mapping (`BTCUSDT`).
    pub symbol: String,
    /// `target` (hold this much) or `delta` (an order-like change).
    #[schema(example = "target")]
    pub mode: String,
    pub target: Option<CanonicalTarget>,
    pub order: Option<CanonicalOrder>,
    /// `{"price": P}` (absolute) or `{"pct": F}` (fraction of entry); delta mode only.
    pub stop_loss: Option<CanonicalLevel>,
    /// At most one level, whole (`portion` 1 or absent); delta mode only.
    pub take_profits: Option<Vec<CanonicalLevel>>,
    /// 0…1; the source's `min_confidence` applies.
    pub confidence: Option<f64>,
    /// The price the sender saw (quote sizes use the mark when the engine has one).
    pub price: Option<f64>,
    /// Informational, kept in the raw payload.
    pub venue: Option<String>,
    /// Informational, kept in the raw payload.
    pub tags: Option<Vec<String>>,
}

/// `mode: "target"`: hold `exposure` of account value on `side`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CanonicalTarget {
    /// `long`, `short` or `flat`.
    pub side: String,
    /// A fraction of account value (0.25 = a quarter of the account).
    pub exposure: f64,
    /// Only `equity_fraction`.
    pub unit: Option<String>,
    pub leverage: Option<f64>,
}

/// `mode: "delta"`: an order-like change to the source's sleeve.
#[derive(Debug, Serialize, ToSchema)]
pub struct CanonicalOrder {
    /// `open`, `increase`, `close` or `hold` (`reduce`, `reverse` and `cancel` are refused with
    /// the reason).
    pub action: String,
    /// `buy`/`long` or `sell`/`short`; not for `close` and `hold`.
    pub side: Option<String>,
    pub size: Option<f64>,
    /// `equity_fraction`, `quote` or `base`.
    pub unit: Option<String>,
    /// Only `market`.
    #[serde(rename = "type")]
    pub order_type: Option<String>,
}

/// A protective level: `price` wins over `pct`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CanonicalLevel {
    pub price: Option<f64>,
    pub pct: Option<f64>,
    pub portion: Option<f64>,
}
