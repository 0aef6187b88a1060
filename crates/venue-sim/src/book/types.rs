//! What the simulated account holds and says: orders, positions, events, refusals.

use rust_decimal::Decimal;
use tradeengine_model::Side;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    Market,
    Limit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimStatus {
    New,
    PartiallyFilled,
    Filled,
    Cancelled,
    /// Part filled, the rest cancelled (a partial market fill).
    PartiallyFilledCancelled,
}

impl SimStatus {
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::PartiallyFilled)
    }
}

/// One order as the simulated venue keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOrder {
    pub order_id: u64,
    pub client_id: String,
    pub symbol: String,
    pub side: Side,
    pub order_type: OrderType,
    pub price: Option<Decimal>,
    pub qty: Decimal,
    pub filled: Decimal,
    pub avg_price: Option<Decimal>,
    pub fee: Decimal,
    pub reduce_only: bool,
    pub status: SimStatus,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// The latest execution, for streams: (qty, price).
    pub last_fill: Option<(Decimal, Decimal)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimPosition {
    pub size: Decimal,
    pub entry: Decimal,
}

/// What streams push.
#[derive(Debug, Clone)]
pub enum SimEvent {
    /// An order changed; `trade` when the change is an execution (`last_fill` is then it).
    Order {
        order: SimOrder,
        trade: bool,
    },
    Position {
        symbol: String,
        size: Decimal,
        entry: Decimal,
        leverage: Decimal,
        mark: Decimal,
        updated_ms: i64,
    },
    Wallet {
        balance: Decimal,
        equity: Decimal,
    },
}

/// Why the simulated venue refused something; each protocol maps it to its own code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    UnknownSymbol(String),
    BadQty(String),
    QtyAboveMax(String),
    BadPrice(String),
    NotionalBelowMin { notional: Decimal, min: Decimal },
    DuplicateClientId(String),
    ReduceOnlyRefused(String),
    InsufficientMargin(String),
    HedgeMode,
    OrderNotFound,
    BadLeverage(String),
    NotModified,
    PositionOpen,
}

/// A new order as parsed from a request.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub symbol: String,
    pub side: Side,
    pub order_type: OrderType,
    pub qty: Decimal,
    pub price: Option<Decimal>,
    pub client_id: String,
    pub reduce_only: bool,
}
