//! A sleeve is the virtual position one source holds in one symbol (ARCHITECTURE.md). The engine
//! never sends an order per signal: it nets every source's sleeve into one target per symbol.
//! The rules that move a sleeve live in `tradeengine-core::sleeve`; this is the stored shape.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Price, SignalId, SourceId, Symbol, Timestamp};

/// Which kind of intent last set the sleeve, and so in which unit its exposure is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "unit", content = "value", rename_all = "snake_case")]
pub enum SleeveOrigin {
    /// Signed fraction of account value (target intents, and order intents sized as a fraction).
    Depth(Decimal),
    /// Signed base units (order intents sized in base or quote units): the same quantity on every
    /// account, scaled only by the source weight.
    Base(Decimal),
}

impl SleeveOrigin {
    pub fn is_flat(&self) -> bool {
        match self {
            Self::Depth(d) | Self::Base(d) => d.is_zero(),
        }
    }
}

/// Life of a sleeve opened by order intents. Target-intent sleeves are always `Open` or `Flat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SleeveState {
    Flat,
    Open,
    /// Closed at `closed_at`; refuses new opens until the source's cooling period has passed.
    Cooling,
}

/// One source's virtual position in one symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sleeve {
    pub source: SourceId,
    pub symbol: Symbol,
    pub state: SleeveState,
    pub exposure: SleeveOrigin,
    /// Leverage the source asked for, if any (enters the leverage blend).
    pub leverage: Option<Decimal>,
    pub entry_price: Option<Price>,
    pub stop_loss: Option<Price>,
    pub take_profit: Option<Price>,
    pub opened_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// Last time a signal touched this sleeve; staleness is measured from here.
    pub updated_at: Timestamp,
    pub last_signal: Option<SignalId>,
}

impl Sleeve {
    pub fn flat(source: SourceId, symbol: Symbol, now: Timestamp) -> Self {
        Self {
            source,
            symbol,
            state: SleeveState::Flat,
            exposure: SleeveOrigin::Depth(Decimal::ZERO),
            leverage: None,
            entry_price: None,
            stop_loss: None,
            take_profit: None,
            opened_at: None,
            closed_at: None,
            updated_at: now,
            last_signal: None,
        }
    }
}
