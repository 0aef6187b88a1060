//! Risk: the limits every order passes before a request leaves the process (ARCHITECTURE.md,
//! "Limits before the request leaves"), and the per-account portfolio state that loss limits drive.
//!
//! Pure like the rest of the core: time is an argument, nothing is read or written here. The
//! engine owns the state (an [`ExposureBook`] per cycle, an [`OrderRateWindow`] and a
//! [`PortfolioTracker`] per account) and persists the tracker.
//!
//! ## Pre-trade ([`pretrade`])
//!
//! Each order leg is checked on its own, in plan order, against the account as it will be after
//! the legs already admitted this cycle (other symbols' included):
//!
//! | rule | refuses a non-reducing leg when |
//! |---|---|
//! | `portfolio_halted` / `portfolio_reducing` | the account is HALTED or REDUCING |
//! | `max_leverage` | the leverage the leg runs at > the symbol's and account's limit |
//! | `max_order_notional` | `|qty| × price` > limit |
//! | `price_band` | `|price − mark| / mark` > band (a limit price, or the price the leg was sized at) |
//! | `max_position_notional` | `|position after| × price` > the symbol's limit |
//! | `max_gross_exposure` | `Σ |position| × price` after the leg > limit × equity |
//! | `max_open_positions` | the leg opens a position and the account already holds the limit |
//! | `max_orders_per_minute` | the account sent the limit in the last 60 s ([`OrderRateWindow`]) |
//!
//! A **reducing** leg ([`is_reducing`]: it moves the position toward zero without crossing it)
//! is never refused by any of these rules, in any portfolio state: refusing to reduce risk is
//! never safer. The one exception is a reducing *limit* order priced outside the band, which is a
//! typing error rather than a risk decision. Reducing legs still count toward the order rate.
//!
//! ## Portfolio ([`portfolio`])
//!
//! From the equity history: loss since the start of the UTC day, ISO week and month (fractions
//! of the equity at each period's first reading) and drawdown from the high-water mark. A loss
//! reaching `reduce_at ×` a limit moves the account to REDUCING (only reducing legs go out); a
//! loss reaching the limit moves it to HALTED (flattened, nothing opens). The state only ever
//! rises; an operator reset brings it back to ACTIVE and re-bases every period at the reset.

pub mod portfolio;
pub mod pretrade;
pub mod rate;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use portfolio::{
    Escalation, LossFigures, LossLimits, PeriodStart, PortfolioState, PortfolioTracker, classify,
    evaluate_history, period_starts,
};
pub use pretrade::{
    ExposureBook, LegIntent, PreTradeLimits, admit_leg, is_reducing, reducing_target,
};
pub use rate::{ORDER_RATE_WINDOW_SECS, OrderRateWindow};

/// The rule that refused a leg or moved an account's portfolio state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskRule {
    MaxLeverage,
    MaxPositionNotional,
    MaxGrossExposure,
    MaxOrderNotional,
    PriceBand,
    MaxOrdersPerMinute,
    MaxOpenPositions,
    PortfolioReducing,
    PortfolioHalted,
    DailyLossLimit,
    WeeklyLossLimit,
    MonthlyLossLimit,
    MaxDrawdown,
}

impl RiskRule {
    /// The name used in audit events, order rows and the API (equal to the serde name, and to
    /// the configuration key where there is one).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MaxLeverage => "max_leverage",
            Self::MaxPositionNotional => "max_position_notional",
            Self::MaxGrossExposure => "max_gross_exposure",
            Self::MaxOrderNotional => "max_order_notional",
            Self::PriceBand => "price_band",
            Self::MaxOrdersPerMinute => "max_orders_per_minute",
            Self::MaxOpenPositions => "max_open_positions",
            Self::PortfolioReducing => "portfolio_reducing",
            Self::PortfolioHalted => "portfolio_halted",
            Self::DailyLossLimit => "daily_loss_limit",
            Self::WeeklyLossLimit => "weekly_loss_limit",
            Self::MonthlyLossLimit => "monthly_loss_limit",
            Self::MaxDrawdown => "max_drawdown",
        }
    }
}

impl std::fmt::Display for RiskRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a leg was refused: the rule, and the figures that broke it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskRefusal {
    pub rule: RiskRule,
    pub detail: String,
}

impl RiskRefusal {
    pub fn new(rule: RiskRule, detail: impl Into<String>) -> Self {
        Self {
            rule,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for RiskRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "risk {}: {}", self.rule, self.detail)
    }
}
