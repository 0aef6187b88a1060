//! Portfolio state per account: ACTIVE → REDUCING → HALTED, driven by loss limits over UTC
//! periods and drawdown from the equity high-water mark.
//!
//! ## Figures, at each equity reading `E` (time `t`)
//!
//! ```text
//! period loss = (E_start − E) / E_start      E_start: the first reading in t's UTC day / ISO
//!                                            week (from Monday) / month, at or after the baseline
//! drawdown    = (HWM − E) / HWM              HWM: the highest reading since the baseline
//! ```
//!
//! The baseline is the last operator reset (none: the whole history). Readings before it are
//! ignored, so a reset re-bases every period instead of re-tripping on the loss that caused it.
//!
//! ## States
//!
//! A figure reaching its limit gives HALTED; reaching `reduce_at ×` its limit gives REDUCING.
//! The account's state is the highest ever reached since the baseline: it never falls on its
//! own (a new day does not un-halt an account; a recovering price does not end REDUCING). Only
//! [`PortfolioTracker::reset`] brings it back to ACTIVE.
//!
//! [`PortfolioTracker`] does this incrementally (one reading at a time, O(1), persisted by the
//! engine); [`evaluate_history`] recomputes it from a whole history, and the tests check the two
//! agree.

use chrono::{Datelike, NaiveTime, TimeDelta, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tradeengine_model::Timestamp;

use super::RiskRule;

/// Where an account stands.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PortfolioState {
    /// Everything the limits allow goes out.
    #[default]
    Active,
    /// Only risk-reducing orders go out.
    Reducing,
    /// Every position is closed and nothing opens until an operator reset.
    Halted,
}

impl PortfolioState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Reducing => "reducing",
            Self::Halted => "halted",
        }
    }
}

/// Loss limits, fractions (0.05 = 5 %). `None` = no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LossLimits {
    pub daily: Option<Decimal>,
    pub weekly: Option<Decimal>,
    pub monthly: Option<Decimal>,
    pub max_drawdown: Option<Decimal>,
    /// Fraction of a limit at which REDUCING starts (0.75: a 4 % daily limit reduces from 3 %).
    pub reduce_at: Decimal,
}

impl Default for LossLimits {
    fn default() -> Self {
        Self {
            daily: None,
            weekly: None,
            monthly: None,
            max_drawdown: None,
            reduce_at: Decimal::new(75, 2),
        }
    }
}

/// The first reading of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodStart {
    /// When the period began (UTC midnight of the day, Monday of the week, 1st of the month).
    pub period: Timestamp,
    pub equity: Decimal,
}

/// The figures at one reading, fractions; `None` when there is nothing to compare against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossFigures {
    pub daily: Option<Decimal>,
    pub weekly: Option<Decimal>,
    pub monthly: Option<Decimal>,
    pub drawdown: Option<Decimal>,
}

/// UTC midnight of `at`'s day, of the Monday of its ISO week, and of the 1st of its month.
pub fn period_starts(at: Timestamp) -> (Timestamp, Timestamp, Timestamp) {
    let date = at.date_naive();
    let midnight = |d: chrono::NaiveDate| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN));
    let day = midnight(date);
    let week = day - TimeDelta::days(i64::from(date.weekday().num_days_from_monday()));
    let month = midnight(date.with_day(1).unwrap_or(date));
    (day, week, month)
}

/// `(start − now) / start`, when `start > 0`.
fn loss(start: Decimal, now: Decimal) -> Option<Decimal> {
    if start <= Decimal::ZERO {
        return None;
    }
    start.checked_sub(now)?.checked_div(start)
}

/// The state the figures call for, and the rule that calls for it (the first, in the order
/// daily, weekly, monthly, drawdown, among those giving the highest state).
pub fn classify(
    figures: &LossFigures,
    limits: &LossLimits,
) -> (PortfolioState, Option<(RiskRule, String)>) {
    let checks = [
        (
            RiskRule::DailyLossLimit,
            figures.daily,
            limits.daily,
            "daily loss",
        ),
        (
            RiskRule::WeeklyLossLimit,
            figures.weekly,
            limits.weekly,
            "weekly loss",
        ),
        (
            RiskRule::MonthlyLossLimit,
            figures.monthly,
            limits.monthly,
            "monthly loss",
        ),
        (
            RiskRule::MaxDrawdown,
            figures.drawdown,
            limits.max_drawdown,
            "drawdown",
        ),
    ];
    let mut best = (PortfolioState::Active, None);
    for (rule, figure, limit, what) in checks {
        let (Some(figure), Some(limit)) = (figure, limit) else {
            continue;
        };
        let reduce = limit.checked_mul(limits.reduce_at).unwrap_or(limit);
        let state = if figure >= limit {
            PortfolioState::Halted
        } else if figure >= reduce {
            PortfolioState::Reducing
        } else {
            continue;
        };
        if state > best.0 {
            let pct = |d: Decimal| format!("{:.2} %", d * Decimal::ONE_HUNDRED);
            let detail = format!(
                "{what} {} reached {} of the {} limit",
                pct(figure),
                if state == PortfolioState::Halted {
                    "100 %".to_string()
                } else {
                    pct(limits.reduce_at)
                },
                pct(limit)
            );
            best = (state, Some((rule, detail)));
        }
    }
    best
}

/// The persisted portfolio state of one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortfolioTracker {
    pub state: PortfolioState,
    /// The rule that set the current state (none while ACTIVE).
    pub rule: Option<RiskRule>,
    pub detail: Option<String>,
    /// When the current state began.
    pub since: Option<Timestamp>,
    /// The last operator reset; readings before it are ignored.
    pub baseline_at: Option<Timestamp>,
    pub high_water: Option<Decimal>,
    pub day: Option<PeriodStart>,
    pub week: Option<PeriodStart>,
    pub month: Option<PeriodStart>,
    /// The latest reading taken into account.
    pub last_at: Option<Timestamp>,
    pub last_equity: Option<Decimal>,
    /// Figures at the latest reading, for the API.
    #[serde(default)]
    pub figures: LossFigures,
}

/// What one reading did to the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub from: PortfolioState,
    pub to: PortfolioState,
    pub rule: RiskRule,
    pub detail: String,
}

impl PortfolioTracker {
    /// A tracker whose readings count from `baseline_at` (none: from the first).
    pub fn new(baseline_at: Option<Timestamp>) -> Self {
        Self {
            baseline_at,
            ..Self::default()
        }
    }

    /// Takes one equity reading. Readings before the baseline or older than the latest one are
    /// ignored (a clock step back must not re-open a period). Returns the escalation, if the
    /// state rose.
    pub fn observe(
        &mut self,
        at: Timestamp,
        equity: Decimal,
        limits: &LossLimits,
    ) -> Option<Escalation> {
        if self.baseline_at.is_some_and(|b| at < b) || self.last_at.is_some_and(|l| at < l) {
            return None;
        }
        let (day, week, month) = period_starts(at);
        for (slot, period) in [
            (&mut self.day, day),
            (&mut self.week, week),
            (&mut self.month, month),
        ] {
            if slot.is_none_or(|s| s.period != period) {
                *slot = Some(PeriodStart { period, equity });
            }
        }
        let hwm = self.high_water.map_or(equity, |h| h.max(equity));
        self.high_water = Some(hwm);
        self.last_at = Some(at);
        self.last_equity = Some(equity);
        self.figures = LossFigures {
            daily: self.day.and_then(|s| loss(s.equity, equity)),
            weekly: self.week.and_then(|s| loss(s.equity, equity)),
            monthly: self.month.and_then(|s| loss(s.equity, equity)),
            drawdown: loss(hwm, equity),
        };
        let (state, why) = classify(&self.figures, limits);
        if state <= self.state {
            return None;
        }
        let (rule, detail) = why?;
        let escalation = Escalation {
            from: self.state,
            to: state,
            rule,
            detail: detail.clone(),
        };
        self.state = state;
        self.rule = Some(rule);
        self.detail = Some(detail);
        self.since = Some(at);
        Some(escalation)
    }

    /// The operator reset: ACTIVE again, every period and the high-water mark re-based at the
    /// next reading from `at` on.
    pub fn reset(&mut self, at: Timestamp) {
        *self = Self::new(Some(at));
    }
}

/// The state a whole equity history (sorted by time) leads to, computed directly from its
/// definition: at each reading, each period's first reading and the running maximum.
pub fn evaluate_history(
    points: &[(Timestamp, Decimal)],
    baseline_at: Option<Timestamp>,
    limits: &LossLimits,
) -> PortfolioState {
    let kept: Vec<(Timestamp, Decimal)> = points
        .iter()
        .copied()
        .filter(|(t, _)| baseline_at.is_none_or(|b| *t >= b))
        .collect();
    let mut worst = PortfolioState::Active;
    for (i, (at, equity)) in kept.iter().enumerate() {
        let (day, week, month) = period_starts(*at);
        let first_since = |start: Timestamp| {
            kept[..=i]
                .iter()
                .find(|(t, _)| *t >= start)
                .map(|(_, e)| *e)
        };
        let hwm = kept[..=i].iter().map(|(_, e)| *e).max().unwrap_or(*equity);
        let figures = LossFigures {
            daily: first_since(day).and_then(|s| loss(s, *equity)),
            weekly: first_since(week).and_then(|s| loss(s, *equity)),
            monthly: first_since(month).and_then(|s| loss(s, *equity)),
            drawdown: loss(hwm, *equity),
        };
        worst = worst.max(classify(&figures, limits).0);
    }
    worst
}
