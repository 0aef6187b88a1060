//! What an account actually holds, as read back from a venue. The venue is the truth
//! (ARCHITECTURE.md, "Reconciliation"): these values are never computed from our own orders.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{AccountName, Price, Quantity, Symbol, Timestamp};

/// How margin is shared between positions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarginMode {
    #[default]
    Cross,
    Isolated,
}

impl MarginMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cross => "cross",
            Self::Isolated => "isolated",
        }
    }
}

/// One-way (net) position in one symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub symbol: Symbol,
    /// Signed size in base units.
    pub size: Quantity,
    /// Average entry price; `None` when flat.
    pub entry_price: Option<Price>,
    /// Leverage set on the venue for this symbol.
    pub leverage: Decimal,
    pub margin_mode: MarginMode,
}

impl Position {
    pub fn flat(symbol: Symbol) -> Self {
        Self {
            symbol,
            size: Quantity::ZERO,
            entry_price: None,
            leverage: Decimal::ONE,
            margin_mode: MarginMode::default(),
        }
    }

    /// Unrealised profit at `mark`, in quote units. `None` when flat or on overflow.
    pub fn unrealised_pnl(&self, mark: Price) -> Option<Decimal> {
        let entry = self.entry_price?;
        mark.get()
            .checked_sub(entry.get())?
            .checked_mul(self.size.get())
    }
}

/// One consistent read of an account, taken at the start of a cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    pub account: AccountName,
    /// Account value `V` in quote units: the capital sizing is a fraction of. Each venue adapter
    /// documents which balance fields make it.
    pub value: Decimal,
    pub positions: BTreeMap<Symbol, Position>,
    /// Mark or last prices used for this cycle.
    pub prices: BTreeMap<Symbol, Price>,
    pub taken_at: Timestamp,
}

impl AccountSnapshot {
    /// The signed size held in `symbol`, zero when there is no position.
    pub fn size_of(&self, symbol: &Symbol) -> Quantity {
        self.positions
            .get(symbol)
            .map(|p| p.size)
            .unwrap_or(Quantity::ZERO)
    }

    /// Σ |size| × price over all positions with a known price, in quote units.
    pub fn gross_exposure(&self) -> Option<Decimal> {
        let mut total = Decimal::ZERO;
        for (symbol, pos) in &self.positions {
            if let Some(price) = self.prices.get(symbol) {
                total = total.checked_add(pos.size.notional_at(*price)?)?;
            }
        }
        Some(total)
    }
}
