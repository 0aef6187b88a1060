//! Blend: every source's sleeve in one symbol → one depth and one leverage for that symbol.
//!
//! ## The weighted blend (sirouk/trade-engine's formula, kept so an imported setup trades the same)
//!
//! For symbol `s`, over the configured sources with weight `w > 0`:
//!
//! - depth (fraction of account value, dimensionless):
//!   `D_s = Σ_src w_src × depth_src(s)`; a source without a sleeve counts as depth 0;
//! - leverage (dimensionless multiple):
//!   `L_s = Σ lev_src × |depth_src| × w_src / Σ |depth_src| × w_src`, over the sources that gave
//!   a positive leverage and have `|depth| × w ≠ 0`; with no such source, `L_s` = the symbol's
//!   configured leverage; then `L_s = max(1, L_s)`;
//! - the leverage used is an integer: `max(1, round_half_even(L_s))` (2.5 → 2, 3.5 → 4).
//!
//! Worked example: TradingView `w = 0.3`, depth 0.5, leverage 10, plus SN8 `w = 0.2`,
//! depth −0.25, no leverage: `D = 0.15 − 0.05 = 0.10`, `L = 10` (only TradingView qualifies).
//!
//! ## Base-unit sleeves
//!
//! Sleeves opened by order intents sized in base or quote units hold `q` base units. They add
//! `B_s = Σ w_src × q_src` base units to every account's target (see [`crate::size`]) and do not
//! enter `D_s`. They enter the leverage average only when no depth sleeve qualifies, weighted by
//! `w × |q|` (all in the same base unit, so the average is well defined).
//!
//! ## Caps and staleness, each switchable in [`BlendPolicy`] and [`SymbolConfig`]
//!
//! - **depth cap**: `|D_s| ≤ min(policy.depth_cap, symbol.depth_cap)`; the sign is kept;
//! - **leverage cap**: the integer leverage `≤ floor(min(policy.leverage_cap,
//!   symbol.leverage_cap))`; sizing caps it again by the instrument's `max_leverage`;
//! - **staleness**: a sleeve not updated within its source's TTL is *stale*; with
//!   [`OnStale::Flat`] it counts as flat (depth, base and leverage), with [`OnStale::Hold`] it
//!   counts as it is and is only flagged;
//! - the leverage override in sizing and the gross-exposure budget live in [`crate::size`].
//!
//! A sleeve that is not `Open` counts as flat. Sleeves of sources not in the symbol's weights
//! are ignored. The result does not depend on the order of the sleeves: contributions are listed
//! in source-id order and sums are exact.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use tradeengine_model::{Sleeve, SleeveOrigin, SleeveState, SourceId, Symbol, Timestamp};

use crate::CoreError;
use crate::instrument::{negative, positive};
use crate::num::{add, div, gt, lt, max, min, mul};

/// What a stale sleeve counts as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnStale {
    /// Counts as flat: a source that went silent stops moving money (safe default).
    #[default]
    Flat,
    /// Keeps counting, only flagged: for sources that speak only on change (TradingView).
    Hold,
}

/// Per-source staleness setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStaleness {
    /// Age past which the sleeve is stale, measured from `Sleeve::updated_at`; `None` = never.
    pub ttl: Option<TimeDelta>,
    pub on_stale: OnStale,
}

/// One symbol's blend configuration (what sirouk/trade-engine's `signal_weight_config.json`
/// held per symbol, plus caps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolConfig {
    pub symbol: Symbol,
    /// Leverage used when no source gives one; ≥ 1.
    pub leverage: Decimal,
    /// Source → weight, each in 0..=1 and summing to at most 1.
    pub weights: BTreeMap<SourceId, Decimal>,
    /// Per-symbol cap on |D|, fraction of account value.
    pub depth_cap: Option<Decimal>,
    /// Per-symbol leverage cap.
    pub leverage_cap: Option<Decimal>,
    /// Per-symbol cap on |target notional| per account, quote units.
    pub max_notional: Option<Decimal>,
}

impl SymbolConfig {
    /// A symbol with leverage and weights only, and no caps.
    pub fn new(symbol: Symbol, leverage: Decimal, weights: BTreeMap<SourceId, Decimal>) -> Self {
        Self {
            symbol,
            leverage,
            weights,
            depth_cap: None,
            leverage_cap: None,
            max_notional: None,
        }
    }

    pub fn validate(&self) -> Result<(), CoreError> {
        if lt(self.leverage, Decimal::ONE) {
            return Err(CoreError::bad(
                "leverage",
                self.leverage,
                "must be at least 1",
            ));
        }
        let mut total = Decimal::ZERO;
        for w in self.weights.values() {
            if negative(*w) || gt(*w, Decimal::ONE) {
                return Err(CoreError::bad("weight", w, "must be between 0 and 1"));
            }
            total = add(total, *w, "sum of weights")?;
        }
        if gt(total, Decimal::ONE) {
            return Err(CoreError::bad("sum of weights", total, "must be at most 1"));
        }
        validate_caps(self.depth_cap, self.leverage_cap)?;
        if let Some(n) = self.max_notional
            && negative(n)
        {
            return Err(CoreError::bad("max_notional", n, "must not be negative"));
        }
        Ok(())
    }
}

fn validate_caps(depth: Option<Decimal>, leverage: Option<Decimal>) -> Result<(), CoreError> {
    if let Some(d) = depth
        && negative(d)
    {
        return Err(CoreError::bad("depth_cap", d, "must not be negative"));
    }
    if let Some(l) = leverage
        && lt(l, Decimal::ONE)
    {
        return Err(CoreError::bad("leverage_cap", l, "must be at least 1"));
    }
    Ok(())
}

/// Engine-wide switches for the caps above. `Default` is the plain weighted blend (all off), so an
/// imported sirouk/trade-engine setup blends as it did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlendPolicy {
    /// Cap on |D| for every symbol.
    pub depth_cap: Option<Decimal>,
    /// Cap on the integer leverage for every symbol.
    pub leverage_cap: Option<Decimal>,
    /// When true an account's leverage override also sizes the target, not only the venue setting
    /// (by default it is set on the venue only, so margin changes but size does not).
    pub apply_leverage_override_to_sizing: bool,
    /// Σ |target notional| over an account's symbols ≤ this × account value.
    pub gross_exposure_budget: Option<Decimal>,
    /// Staleness per source; sources not listed never go stale.
    pub staleness: BTreeMap<SourceId, SourceStaleness>,
}

impl BlendPolicy {
    pub fn validate(&self) -> Result<(), CoreError> {
        validate_caps(self.depth_cap, self.leverage_cap)?;
        if let Some(b) = self.gross_exposure_budget
            && negative(b)
        {
            return Err(CoreError::bad(
                "gross_exposure_budget",
                b,
                "must not be negative",
            ));
        }
        for s in self.staleness.values() {
            if let Some(ttl) = s.ttl
                && ttl < TimeDelta::zero()
            {
                return Err(CoreError::bad("staleness ttl", ttl, "must not be negative"));
            }
        }
        Ok(())
    }
}

/// One source's part of a blend, for the dashboard and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contribution {
    pub source: SourceId,
    pub weight: Decimal,
    /// The sleeve's exposure as held (`None`: the source has no sleeve in this symbol).
    pub exposure: Option<SleeveOrigin>,
    pub leverage: Option<Decimal>,
    /// `weight × exposure` as it entered the sums (zero when flat, not open or stale-as-flat).
    pub contribution: SleeveOrigin,
    pub stale: bool,
}

/// The blended target of one symbol, shared by every account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blend {
    pub symbol: Symbol,
    /// `D_s` after the depth cap, fraction of account value.
    pub depth: Decimal,
    /// `D_s` before the depth cap.
    pub raw_depth: Decimal,
    /// `B_s = Σ w × q`, base units added on every account.
    pub base: Decimal,
    /// `L_s` of the weighted formula, `≥ 1`, before integer rounding.
    pub raw_leverage: Decimal,
    /// Integer leverage after rounding and the caps of policy and symbol (not yet the venue's).
    pub leverage: Decimal,
    pub depth_capped: bool,
    pub leverage_capped: bool,
    /// The tighter of the policy's and the symbol's leverage caps; sizing applies it to an
    /// account's leverage override too.
    pub leverage_cap: Option<Decimal>,
    /// Copied from the symbol's config for sizing.
    pub max_notional: Option<Decimal>,
    pub contributions: Vec<Contribution>,
}

fn is_stale(sleeve: &Sleeve, s: Option<&SourceStaleness>, now: Timestamp) -> bool {
    match s.and_then(|s| s.ttl) {
        // An expiry past the end of time never comes.
        Some(ttl) => sleeve
            .updated_at
            .checked_add_signed(ttl)
            .is_some_and(|expiry| now > expiry),
        None => false,
    }
}

/// `max(1, round_half_even(l))`: the integer leverage the venue is set to.
pub fn integer_leverage(l: Decimal) -> Decimal {
    max(
        l.round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven),
        Decimal::ONE,
    )
}

/// Blends the sleeves of one symbol. `sleeves` must all be of `config.symbol`, at most one per
/// source, in any order.
pub fn blend(
    config: &SymbolConfig,
    sleeves: &[Sleeve],
    policy: &BlendPolicy,
    now: Timestamp,
) -> Result<Blend, CoreError> {
    config.validate()?;
    policy.validate()?;
    check_sleeves(config, sleeves)?;

    let mut sums = Sums::default();
    let mut contributions = Vec::with_capacity(config.weights.len());
    for (source, &weight) in &config.weights {
        let sleeve = sleeves.iter().find(|s| &s.source == source);
        let stale = sleeve.is_some_and(|s| is_stale(s, policy.staleness.get(source), now));
        let counts = positive(weight)
            && sleeve.is_some_and(|s| s.state == SleeveState::Open)
            && !(stale && policy.staleness.get(source).map(|s| s.on_stale) != Some(OnStale::Hold));
        let leverage = sleeve.and_then(|s| s.leverage);
        let contribution = match sleeve {
            Some(s) if counts => sums.count(weight, s.exposure, leverage)?,
            Some(s) => match s.exposure {
                SleeveOrigin::Base(_) => SleeveOrigin::Base(Decimal::ZERO),
                SleeveOrigin::Depth(_) => SleeveOrigin::Depth(Decimal::ZERO),
            },
            None => SleeveOrigin::Depth(Decimal::ZERO),
        };
        contributions.push(Contribution {
            source: source.clone(),
            weight,
            exposure: sleeve.map(|s| s.exposure),
            leverage,
            contribution,
            stale,
        });
    }
    let (depth, base) = (sums.depth.sum, sums.base.sum);
    let raw_leverage = sums.raw_leverage(config.leverage)?;

    let depth_cap = min_opt(policy.depth_cap, config.depth_cap);
    let (capped_depth, depth_capped) = match depth_cap {
        Some(cap) if gt(depth.abs(), cap) => (if negative(depth) { -cap } else { cap }, true),
        _ => (depth, false),
    };

    let rounded = integer_leverage(raw_leverage);
    let leverage_cap = min_opt(policy.leverage_cap, config.leverage_cap);
    let (leverage, leverage_capped) = match leverage_cap {
        Some(cap) if gt(rounded, cap.floor()) => (max(cap.floor(), Decimal::ONE), true),
        _ => (rounded, false),
    };

    Ok(Blend {
        symbol: config.symbol.clone(),
        depth: capped_depth,
        raw_depth: depth,
        base,
        raw_leverage,
        leverage,
        depth_capped,
        leverage_capped,
        leverage_cap,
        max_notional: config.max_notional,
        contributions,
    })
}

/// Every sleeve is of the config's symbol, at most one per source. A handful of sleeves per
/// symbol: a linear scan beats building a map each cycle.
fn check_sleeves(config: &SymbolConfig, sleeves: &[Sleeve]) -> Result<(), CoreError> {
    for (k, s) in sleeves.iter().enumerate() {
        if s.symbol != config.symbol {
            return Err(CoreError::Mismatch {
                what: "sleeve symbol in blend",
                expected: config.symbol.to_string(),
                found: s.symbol.to_string(),
            });
        }
        if sleeves[..k].iter().any(|o| o.source == s.source) {
            return Err(CoreError::DuplicateSleeve {
                source_id: s.source.to_string(),
                symbol: s.symbol.to_string(),
            });
        }
    }
    Ok(())
}

/// The running sums of a blend: `D_s` over depth sleeves and `B_s` over base sleeves, each with
/// its leverage blend.
#[derive(Default)]
struct Sums {
    depth: Side,
    base: Side,
}

/// One kind of sleeve's sums: Σ w × x, and Σ lev × |w × x| and Σ |w × x| over the sleeves that
/// carry a positive leverage.
#[derive(Default)]
struct Side {
    sum: Decimal,
    lev_num: Decimal,
    lev_den: Decimal,
}

impl Side {
    /// Adds `weight × x` (checked arithmetic named by `labels`: the product, then the sum);
    /// returns it.
    fn add(
        &mut self,
        weight: Decimal,
        x: Decimal,
        leverage: Option<Decimal>,
        labels: (&'static str, &'static str),
    ) -> Result<Decimal, CoreError> {
        let c = mul(weight, x, labels.0)?;
        self.sum = add(self.sum, c, labels.1)?;
        if let Some(l) = leverage.filter(|l| positive(*l))
            && !c.is_zero()
        {
            self.lev_num = add(
                self.lev_num,
                mul(l, c.abs(), "leverage blend")?,
                "leverage blend",
            )?;
            self.lev_den = add(self.lev_den, c.abs(), "leverage blend")?;
        }
        Ok(c)
    }
}

impl Sums {
    /// Adds one counted sleeve's weighted exposure (and its leverage, when positive and the
    /// contribution is not zero); returns the contribution.
    fn count(
        &mut self,
        weight: Decimal,
        exposure: SleeveOrigin,
        leverage: Option<Decimal>,
    ) -> Result<SleeveOrigin, CoreError> {
        Ok(match exposure {
            SleeveOrigin::Depth(d) => SleeveOrigin::Depth(self.depth.add(
                weight,
                d,
                leverage,
                ("weight × depth", "blended depth"),
            )?),
            SleeveOrigin::Base(q) => SleeveOrigin::Base(self.base.add(
                weight,
                q,
                leverage,
                ("weight × base", "blended base"),
            )?),
        })
    }

    /// `L_s`: the depth sleeves' weighted leverage, else the base sleeves', else the symbol's
    /// configured leverage; at least 1.
    fn raw_leverage(&self, configured: Decimal) -> Result<Decimal, CoreError> {
        Ok(max(
            if !self.depth.lev_den.is_zero() {
                div(self.depth.lev_num, self.depth.lev_den, "leverage blend")?
            } else if !self.base.lev_den.is_zero() {
                div(self.base.lev_num, self.base.lev_den, "leverage blend")?
            } else {
                configured
            },
            Decimal::ONE,
        ))
    }
}

fn min_opt(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    match (a, b) {
        (Some(a), Some(b)) => Some(min(a, b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
#[path = "blend_tests.rs"]
mod tests;
