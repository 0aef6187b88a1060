//! Orders as the engine sends them and as venues report them.
//!
//! ## Order state machine
//!
//! ```text
//!             ┌──────────► Rejected   (refused by risk, or by the venue)
//! Intended ──► Sent ──► Acknowledged ──► PartiallyFilled ──► Filled
//!    │           │            │                 │
//!    │           │            └──────┬──────────┴──────────► Cancelled
//!    │           └──► Unknown ───────┘ (settled by querying the client id)
//!    └──► Cancelled (plan abandoned before sending)
//! ```
//!
//! A `Rejected` order may still become `Filled` or `Cancelled` (with a fill) when the venue
//! reports it so: see `OrderState::can_become`.
//!
//! `Intended` is written to the store *before* the request leaves the process (ARCHITECTURE.md,
//! "Stored before sent, settled by client id"). `Unknown` is an ambiguous outcome (timeout, 5xx,
//! dropped connection after sending); it is settled by asking the venue about the client order id,
//! never by re-sending.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{ClientOrderId, ModelError, Price, Quantity, Symbol, Timestamp};

/// Direction of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// The side that moves a position by a signed `delta`; `None` for zero.
    pub fn for_delta(delta: Decimal) -> Option<Self> {
        if delta > Decimal::ZERO {
            Some(Self::Buy)
        } else if delta < Decimal::ZERO {
            Some(Self::Sell)
        } else {
            None
        }
    }

    /// +1 for buys, −1 for sells.
    pub fn sign(self) -> Decimal {
        match self {
            Self::Buy => Decimal::ONE,
            Self::Sell => Decimal::NEGATIVE_ONE,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "buy",
            Self::Sell => "sell",
        }
    }
}

/// Market or limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderKind {
    Market,
    Limit { price: Price },
}

/// One order as the engine asks a venue to place it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub client_order_id: ClientOrderId,
    pub symbol: Symbol,
    pub side: Side,
    /// Unsigned size in base units; a whole number of the instrument's venue steps.
    pub qty: Decimal,
    pub kind: OrderKind,
    pub reduce_only: bool,
}

impl OrderRequest {
    /// The signed change this order makes to a position when fully filled.
    pub fn signed_qty(&self) -> Quantity {
        Quantity::new(self.qty * self.side.sign())
    }
}

/// Where an order is in its life. See the module docs for the transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Intended,
    Sent,
    Acknowledged,
    PartiallyFilled,
    Filled,
    Rejected,
    Cancelled,
    Unknown,
}

impl OrderState {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Filled | Self::Rejected | Self::Cancelled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intended => "intended",
            Self::Sent => "sent",
            Self::Acknowledged => "acknowledged",
            Self::PartiallyFilled => "partially_filled",
            Self::Filled => "filled",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "intended" => Self::Intended,
            "sent" => Self::Sent,
            "acknowledged" => Self::Acknowledged,
            "partially_filled" => Self::PartiallyFilled,
            "filled" => Self::Filled,
            "rejected" => Self::Rejected,
            "cancelled" => Self::Cancelled,
            "unknown" => Self::Unknown,
            _ => return None,
        })
    }

    /// Whether `self → next` is allowed. Staying in the same state is allowed (repeated reports).
    pub fn can_become(self, next: Self) -> bool {
        use OrderState::*;
        if self == next {
            return true;
        }
        match self {
            Intended => matches!(next, Sent | Rejected | Cancelled),
            Sent | Unknown => matches!(
                next,
                Acknowledged | PartiallyFilled | Filled | Rejected | Cancelled | Unknown
            ),
            Acknowledged => matches!(next, PartiallyFilled | Filled | Cancelled | Rejected),
            PartiallyFilled => matches!(next, Filled | Cancelled),
            // A rejection recorded from an error answer (older versions stored a 5xx on the
            // last attempt as one) is corrected when the venue reports the order filled:
            // the venue's word on its own order is final, ours is not.
            Rejected => matches!(next, Filled | Cancelled),
            Filled | Cancelled => false,
        }
    }

    /// `next` if the transition is allowed, else an error naming both states.
    pub fn transition(self, next: Self) -> Result<Self, ModelError> {
        if self.can_become(next) {
            Ok(next)
        } else {
            Err(ModelError::BadTransition {
                from: self,
                to: next,
            })
        }
    }
}

/// What a venue says about one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatus {
    pub client_order_id: ClientOrderId,
    pub venue_order_id: Option<String>,
    pub symbol: Symbol,
    pub side: Side,
    pub state: OrderState,
    /// Requested size, base units.
    pub qty: Decimal,
    /// Filled so far, base units.
    pub filled_qty: Decimal,
    pub avg_fill_price: Option<Price>,
    /// Fees paid on this order so far, quote units (negative for a rebate).
    pub fee: Decimal,
    pub reduce_only: bool,
    pub updated_at: Timestamp,
}

/// One execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub client_order_id: ClientOrderId,
    pub venue_order_id: Option<String>,
    pub symbol: Symbol,
    pub side: Side,
    /// Base units, positive.
    pub qty: Decimal,
    pub price: Price,
    /// Fee paid in quote units (negative for a rebate).
    pub fee: Decimal,
    pub filled_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_do_not_move() {
        for t in [
            OrderState::Filled,
            OrderState::Rejected,
            OrderState::Cancelled,
        ] {
            assert!(!t.can_become(OrderState::Sent));
            assert!(t.transition(OrderState::Unknown).is_err());
        }
    }

    #[test]
    fn a_rejection_yields_only_to_the_venues_final_report() {
        assert!(OrderState::Rejected.can_become(OrderState::Filled));
        assert!(OrderState::Rejected.can_become(OrderState::Cancelled));
        for s in [
            OrderState::Intended,
            OrderState::Sent,
            OrderState::Acknowledged,
            OrderState::PartiallyFilled,
            OrderState::Unknown,
        ] {
            assert!(!OrderState::Rejected.can_become(s), "{s:?}");
        }
        assert!(!OrderState::Filled.can_become(OrderState::Rejected));
    }

    #[test]
    fn unknown_is_settled_by_a_query() {
        assert!(OrderState::Sent.can_become(OrderState::Unknown));
        assert!(OrderState::Unknown.can_become(OrderState::Filled));
        assert!(OrderState::Unknown.can_become(OrderState::Rejected));
        assert!(!OrderState::Intended.can_become(OrderState::Filled));
    }

    #[test]
    fn state_names_round_trip() {
        for s in [
            OrderState::Intended,
            OrderState::Sent,
            OrderState::Acknowledged,
            OrderState::PartiallyFilled,
            OrderState::Filled,
            OrderState::Rejected,
            OrderState::Cancelled,
            OrderState::Unknown,
        ] {
            assert_eq!(OrderState::parse(s.as_str()), Some(s));
        }
    }
}
