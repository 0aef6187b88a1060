//! A plan: the ordered steps that move one account's actual position in one symbol to its
//! target. Produced by `tradeengine-core::plan`, stored before execution, executed in order.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    AccountName, ClientOrderId, MarginMode, OrderKind, PlanId, Quantity, Side, Symbol, Timestamp,
};

/// One step of a plan. Venue settings come before orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum PlanStep {
    SetMarginMode { mode: MarginMode },
    SetLeverage { leverage: Decimal },
    Order(OrderLeg),
}

/// One order of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLeg {
    /// Position of this order within the plan, from 0.
    pub leg: u16,
    pub client_order_id: ClientOrderId,
    pub side: Side,
    /// Unsigned size in base units (a whole number of venue steps × contract size).
    pub qty: Decimal,
    /// The same size in venue units, as the adapter will send it.
    pub venue_qty: Decimal,
    pub reduce_only: bool,
    pub kind: OrderKind,
}

/// Why a plan's orders do not reach the target (see [`Plan::skipped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanSkip {
    /// Actual already equals the rounded target.
    AtTarget,
    /// The difference is inside the drift band or under one qty step.
    WithinDriftBand,
    /// The difference is worth less than the venue's (or account's) minimum order notional.
    BelowMinNotional,
    /// The difference is smaller than the venue's minimum order size.
    BelowMinQty,
}

/// The plan for one account and symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub id: PlanId,
    pub account: AccountName,
    pub symbol: Symbol,
    pub created_at: Timestamp,
    /// Position before the plan, base units.
    pub current: Quantity,
    /// Target after rounding to the venue's step, base units.
    pub target: Quantity,
    pub steps: Vec<PlanStep>,
    /// Why the plan's orders stop short of the target, if they do: `AtTarget` when nothing was
    /// needed; otherwise the rule that held an order back. That is either the only order (no
    /// order steps at all), or the open of a flip, in which case the reduce-only close still goes
    /// and the position ends flat. `None` means the legs, all filled, land on `target` (exactly,
    /// for a position on the venue's step grid, as venues report them).
    pub skipped: Option<PlanSkip>,
}

impl Plan {
    pub fn legs(&self) -> impl Iterator<Item = &OrderLeg> {
        self.steps.iter().filter_map(|s| match s {
            PlanStep::Order(leg) => Some(leg),
            _ => None,
        })
    }

    /// True when the plan sends nothing at all.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}
