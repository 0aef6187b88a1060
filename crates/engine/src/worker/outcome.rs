//! What became of a plan's legs and of a cycle's symbols, as values rather than text: the cycle
//! decides on them (the account's latest risk refusal is the latest
//! [`SymbolProblem::risk_refusal`], not a search for `"risk "` in a message), and their
//! `Display` is the text the log, the API (`symbol_errors`) and the dashboard have always shown.

use std::fmt;

use rust_decimal::Decimal;
use tradeengine_core::RiskRefusal;
use tradeengine_model::{ClientOrderId, MarginMode, OrderState, Symbol};

/// A cycle that could not run at all (the venue could not be read).
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error("venue: {0}")]
    Venue(#[from] tradeengine_venues::VenueError),
    #[error("store: {0}")]
    Store(#[from] tradeengine_store::StoreError),
    #[error("core: {0}")]
    Core(#[from] tradeengine_core::CoreError),
    #[error("{0}")]
    Other(String),
}

/// Why a plan stopped before its last step. A step that fails stops the plan (a flip never
/// opens before its close is confirmed filled); the rest is marked cancelled with this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegStop {
    /// The venue would not set the margin mode.
    MarginMode { mode: MarginMode, error: String },
    /// The venue would not set the leverage.
    Leverage { leverage: Decimal, error: String },
    /// A pre-trade risk rule refused the leg; nothing about it left the process.
    Risk(RiskRefusal),
    /// Order entry answered with an error that proves the venue did not act: a business
    /// refusal (`VenueErrorKind::Rejected`) or an entry failure (see
    /// `ExecutionReport::entry_error`). The text is the venue error's.
    Refused { error: String },
    /// The venue reported the order rejected.
    RejectedByVenue { order: ClientOrderId },
    /// The venue took the order but it is not (yet) filled; the next cycle settles it.
    NotFilled {
        order: ClientOrderId,
        state: OrderState,
    },
    /// An attempt may have reached the venue and nobody can say yet what it did.
    OutcomeUnknown { order: ClientOrderId, error: String },
}

impl LegStop {
    /// The pre-trade refusal that stopped the plan, if that is why it stopped.
    pub fn risk_refusal(&self) -> Option<&RiskRefusal> {
        match self {
            Self::Risk(r) => Some(r),
            _ => None,
        }
    }
}

impl fmt::Display for LegStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MarginMode { mode, error } => {
                write!(f, "set margin mode {}: {error}", mode.as_str())
            }
            Self::Leverage { leverage, error } => write!(f, "set leverage {leverage}: {error}"),
            Self::Risk(r) => write!(f, "{r}"),
            Self::Refused { error } => f.write_str(error),
            Self::RejectedByVenue { order } => write!(f, "order {order} rejected by the venue"),
            Self::NotFilled { order, state } => write!(
                f,
                "order {order} is {} (not filled); the next cycle settles it",
                state.as_str()
            ),
            Self::OutcomeUnknown { order, error } => {
                write!(f, "order {order} outcome unknown: {error}")
            }
        }
    }
}

/// Why one symbol was left out of a cycle, or what stopped its plan. The account's other
/// symbols trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The venue had no price for it (`detail`: the error of the symbol's own request).
    NoPrice { detail: Option<String> },
    /// The venue cannot describe the instrument (`detail`: the venue's error, when asked).
    NoInstrument { detail: Option<String> },
    /// The core cannot size it (an overflow, a bad instrument).
    CannotSize(String),
    /// The kill switch's flatten could not price or describe a position no `[[symbols]]` entry
    /// names.
    Flatten(String),
    /// An order of the symbol is not settled yet: never plan over an order that may fill.
    Unsettled,
    /// The venue keeps refusing the symbol's orders for a business reason; backed off until
    /// `retry_in_secs` (see `super::rejections`).
    VenueBackoff {
        attempts: u32,
        since: String,
        reason: String,
        /// Whole seconds, rounded up.
        retry_in_secs: u64,
    },
    /// The plan stopped at a leg.
    Stopped(LegStop),
    /// The risk gate still refuses the plan as at the start of its refusal episode: counted,
    /// not recorded again.
    RiskHeld(RiskRefusal),
    /// Planning or executing the symbol failed (the store, the core).
    Failed(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPrice { detail: None } => f.write_str("no price"),
            Self::NoPrice { detail: Some(e) } => write!(f, "no price: {e}"),
            Self::NoInstrument { detail: None } => f.write_str("no instrument"),
            Self::NoInstrument { detail: Some(e) } => write!(f, "no instrument: {e}"),
            Self::CannotSize(e) => write!(f, "cannot size: {e}"),
            Self::Flatten(e) => write!(f, "flatten: {e}"),
            Self::Unsettled => f.write_str("waiting for an unsettled order"),
            Self::VenueBackoff {
                attempts,
                since,
                reason,
                retry_in_secs,
            } => write!(
                f,
                "refused by the venue {attempts} time(s) since {since} ({reason}); retried in {retry_in_secs} s"
            ),
            Self::Stopped(stop) => write!(f, "{stop}"),
            Self::RiskHeld(r) => {
                write!(f, "{r} (still refused; recorded when the refusal began)")
            }
            Self::Failed(e) => f.write_str(e),
        }
    }
}

/// One problem of a cycle that did not stop it: a symbol left out (with why), or the position
/// read after trading failing (not about one symbol).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolProblem {
    Symbol {
        symbol: Symbol,
        reason: SkipReason,
    },
    /// Positions could not be read again after trading; the pre-trade snapshot is not stored.
    PositionsAfterTrading(String),
}

impl SymbolProblem {
    pub fn symbol(symbol: Symbol, reason: SkipReason) -> Self {
        Self::Symbol { symbol, reason }
    }

    /// The pre-trade risk refusal behind this problem, recorded or held.
    pub fn risk_refusal(&self) -> Option<&RiskRefusal> {
        match self {
            Self::Symbol {
                reason: SkipReason::RiskHeld(r),
                ..
            } => Some(r),
            Self::Symbol {
                reason: SkipReason::Stopped(stop),
                ..
            } => stop.risk_refusal(),
            _ => None,
        }
    }
}

impl fmt::Display for SymbolProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Symbol { symbol, reason } => write!(f, "{symbol}: {reason}"),
            Self::PositionsAfterTrading(e) => write!(f, "positions after trading: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradeengine_core::risk::RiskRule;

    fn sym() -> Symbol {
        Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}"))
    }

    fn refusal() -> RiskRefusal {
        RiskRefusal {
            rule: RiskRule::MaxOrderNotional,
            detail: "notional 900 > 500".into(),
        }
    }

    /// The texts the API and the log showed when these were strings.
    #[test]
    fn display_keeps_the_shown_text() {
        let order = ClientOrderId::new("te-1").unwrap_or_else(|e| panic!("{e}"));
        let cases = [
            (
                SymbolProblem::symbol(sym(), SkipReason::NoPrice { detail: None }),
                "BTCUSDT: no price",
            ),
            (
                SymbolProblem::symbol(sym(), SkipReason::NoInstrument { detail: None }),
                "BTCUSDT: no instrument",
            ),
            (
                SymbolProblem::symbol(sym(), SkipReason::Unsettled),
                "BTCUSDT: waiting for an unsettled order",
            ),
            (
                SymbolProblem::symbol(sym(), SkipReason::RiskHeld(refusal())),
                "BTCUSDT: risk max_order_notional: notional 900 > 500 (still refused; recorded when the refusal began)",
            ),
            (
                SymbolProblem::symbol(
                    sym(),
                    SkipReason::Stopped(LegStop::RejectedByVenue {
                        order: order.clone(),
                    }),
                ),
                "BTCUSDT: order te-1 rejected by the venue",
            ),
            (
                SymbolProblem::symbol(
                    sym(),
                    SkipReason::Stopped(LegStop::NotFilled {
                        order,
                        state: OrderState::Acknowledged,
                    }),
                ),
                "BTCUSDT: order te-1 is acknowledged (not filled); the next cycle settles it",
            ),
            (
                SymbolProblem::symbol(
                    sym(),
                    SkipReason::VenueBackoff {
                        attempts: 2,
                        since: "01:02:03".into(),
                        reason: "insufficient margin".into(),
                        retry_in_secs: 2,
                    },
                ),
                "BTCUSDT: refused by the venue 2 time(s) since 01:02:03 (insufficient margin); retried in 2 s",
            ),
            (
                SymbolProblem::PositionsAfterTrading("timeout".into()),
                "positions after trading: timeout",
            ),
        ];
        for (problem, text) in cases {
            assert_eq!(problem.to_string(), text);
        }
    }

    #[test]
    fn only_risk_outcomes_are_risk_refusals() {
        let stopped = SymbolProblem::symbol(sym(), SkipReason::Stopped(LegStop::Risk(refusal())));
        let held = SymbolProblem::symbol(sym(), SkipReason::RiskHeld(refusal()));
        assert_eq!(stopped.risk_refusal(), Some(&refusal()));
        assert_eq!(held.risk_refusal(), Some(&refusal()));
        // A venue's message that happens to contain "risk " is not a risk refusal.
        let venue = SymbolProblem::symbol(
            sym(),
            SkipReason::Stopped(LegStop::Refused {
                error: "rejected: risk limit exceeded".into(),
            }),
        );
        assert_eq!(venue.risk_refusal(), None);
    }
}
