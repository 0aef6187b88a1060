//! Size: a symbol's blend → one account's target quantity, in base and venue units.
//!
//! ## Formula and units
//!
//! ```text
//! raw_qty [base]  = V [quote] × D [1] × L [1] / P [quote/base]  +  B [base]
//! venue   [venue] = round_half_even(raw_qty / contract_size, qty_step)
//! qty     [base]  = venue × contract_size
//! ```
//!
//! - `V` is the account value, `D` and `B` the blend's depth and base part (same on every
//!   account), `L` the sizing leverage, `P` the price for this cycle.
//! - Worked example: V = 10,000 USDT, D = 0.10, L = 10, P = 60,000 →
//!   0.1666… BTC → 0.167 at step 0.001. KuCoin BTC (multiplier 0.001): 0.0125 BTC = 12.5 lots
//!   → 12 lots (half-even).
//! - A target that rounds to zero **is** zero: a tiny target is never bumped up
//!   to the venue's minimum. Minimum size is the planner's business.
//!
//! ## Leverage
//!
//! - venue cap `C_v = floor(instrument.max_leverage)`; the blend's integer `L` is capped by it;
//! - an account's `leverage_override > 0` replaces `L` on the venue, capped by `C_v` and by the
//!   blend's leverage cap; with `apply_leverage_override_to_sizing` it sizes the target too
//!   as one would expect; without it the override only moves margin (sirouk/trade-engine's
//!   behaviour, kept as the default so an imported setup trades the same).
//!
//! ## Caps (all round toward zero, so a cap is never exceeded by rounding)
//!
//! - per symbol: `|qty| × P ≤ max_notional` → `venue = floor_toward_zero(±max_notional / P /
//!   contract_size, step)`;
//! - per account ([`apply_gross_budget`]): when `Σ_symbols |qty| × P > budget × V`, every target
//!   is scaled by `k = budget × V / Σ` and floored toward zero to its step.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use tradeengine_model::{Instrument, Price, Quantity, Symbol};

use crate::blend::{Blend, BlendPolicy};
use crate::instrument::{self, positive};
use crate::num::{
    div, floor_toward_zero, gt, le, lt, max, min, mul, round_half_even, to_base, to_venue,
};
use crate::{CoreError, num};

/// What an account brings to sizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountSizing {
    /// Account value `V`, quote units; must be > 0.
    pub value: Decimal,
    /// The account's leverage override; `None` or `≤ 0` means off (an imported configuration's
    /// `0`).
    pub leverage_override: Option<Decimal>,
}

/// One symbol's market inputs for sizing on one account's venue.
#[derive(Debug, Clone, Copy)]
pub struct SizeInput<'a> {
    pub blend: &'a Blend,
    pub price: Price,
    pub instrument: &'a Instrument,
}

/// Which limit cut a target below its formula value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    NotionalCap,
    GrossBudget,
    /// The account's free margin (see [`crate::margin::cap_by_margin`]).
    MarginCap,
}

/// One account's target in one symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SizedTarget {
    pub symbol: Symbol,
    pub price: Price,
    /// `V × D × L / P + B` before rounding and caps, base units.
    pub raw_qty: Decimal,
    /// Rounded and capped target, base units (a whole number of venue steps).
    pub qty: Quantity,
    /// The target before its snap to the step grid, base units: `raw_qty` while no limit has
    /// cut the target; once one has, the cut value itself (on the grid, so the cap holds as
    /// before). The planner decides on it, so a target on a rounding midpoint does not trade one
    /// step back and forth (see [`crate::plan`], rule 4).
    pub unrounded_qty: Decimal,
    /// The same in signed venue units.
    pub venue_qty: Decimal,
    /// `|qty| × P`, quote units.
    pub notional: Decimal,
    /// Leverage to set on the venue.
    pub leverage: Decimal,
    /// Leverage that sized the target.
    pub sizing_leverage: Decimal,
    pub limited_by: Option<Limit>,
    /// Venue step and contract size, kept so the budget can re-floor without the instrument.
    pub qty_step: Decimal,
    pub contract_size: Decimal,
}

impl SizedTarget {
    /// Sets the venue quantity and everything derived from it, the unrounded target included
    /// (a target set here is on the grid already: a cap's cut, or the caller's own value).
    #[inline(always)]
    pub(crate) fn set_venue_qty(&mut self, venue: Decimal) -> Result<(), CoreError> {
        let qty = to_base(venue, self.contract_size)?;
        self.venue_qty = venue;
        self.qty = Quantity::new(qty);
        self.unrounded_qty = qty;
        self.notional = mul(qty.abs(), self.price.get(), "target notional")?;
        Ok(())
    }
}

/// Sizes one account's target in one symbol (no gross budget: see [`account_targets`]).
#[inline]
pub fn size_target(
    input: &SizeInput<'_>,
    account: &AccountSizing,
    policy: &BlendPolicy,
) -> Result<SizedTarget, CoreError> {
    let SizeInput {
        blend,
        price,
        instrument,
    } = *input;
    let venue_cap = check_inputs(blend, account, instrument)?;
    let (leverage, sizing_leverage) = leverages(blend, account, policy, venue_cap)?;

    let notional = mul(
        mul(account.value, blend.depth, "V × D")?,
        sizing_leverage,
        "V × D × L",
    )?;
    let raw_qty = num::add(
        div(notional, price.get(), "V × D × L / P")?,
        blend.base,
        "target + base part",
    )?;
    let venue = round_half_even(
        to_venue(raw_qty, instrument.contract_size)?,
        instrument.qty_step,
        "target rounding",
    )?;
    let mut t = SizedTarget {
        symbol: blend.symbol.clone(),
        price,
        raw_qty,
        qty: Quantity::ZERO,
        unrounded_qty: Decimal::ZERO,
        venue_qty: Decimal::ZERO,
        notional: Decimal::ZERO,
        leverage,
        sizing_leverage,
        limited_by: None,
        qty_step: instrument.qty_step,
        contract_size: instrument.contract_size,
    };
    t.set_venue_qty(venue)?;
    t.unrounded_qty = raw_qty;
    apply_notional_cap(&mut t, blend, instrument, venue)?;
    Ok(t)
}

/// The inputs' own checks, in order; returns `floor(max_leverage)`, the venue's cap as an
/// integer leverage (≥ 1).
#[inline]
fn check_inputs(
    blend: &Blend,
    account: &AccountSizing,
    instrument: &Instrument,
) -> Result<Decimal, CoreError> {
    instrument::check(instrument)?;
    if instrument.symbol != blend.symbol {
        return Err(CoreError::Mismatch {
            what: "instrument symbol in sizing",
            expected: blend.symbol.to_string(),
            found: instrument.symbol.to_string(),
        });
    }
    if lt(blend.leverage, Decimal::ONE) {
        return Err(CoreError::bad(
            "blend leverage",
            blend.leverage,
            "must be at least 1",
        ));
    }
    if !positive(account.value) {
        return Err(CoreError::NonPositiveAccountValue(
            account.value.to_string(),
        ));
    }
    let venue_cap = instrument.max_leverage.floor();
    if venue_cap.is_zero() {
        return Err(CoreError::bad(
            "instrument max_leverage",
            instrument.max_leverage,
            "must be at least 1",
        ));
    }
    Ok(venue_cap)
}

/// The leverage to set on the venue and the one that sizes the target: the blend's under the
/// venue's cap, or the account's override (under the venue's and the blend's caps), which sizes
/// only when the policy says so.
#[inline]
fn leverages(
    blend: &Blend,
    account: &AccountSizing,
    policy: &BlendPolicy,
    venue_cap: Decimal,
) -> Result<(Decimal, Decimal), CoreError> {
    let blended = min(blend.leverage, venue_cap);
    let override_lev = match account.leverage_override {
        Some(o) if positive(o) => {
            if lt(o, Decimal::ONE) {
                return Err(CoreError::bad(
                    "leverage_override",
                    o,
                    "must be at least 1 or off",
                ));
            }
            let capped = min(o, venue_cap);
            Some(
                blend
                    .leverage_cap
                    .map_or(capped, |c| min(capped, max(c.floor(), Decimal::ONE))),
            )
        }
        _ => None,
    };
    let leverage = override_lev.unwrap_or(blended);
    let sizing_leverage = match override_lev {
        Some(o) if policy.apply_leverage_override_to_sizing => o,
        _ => blended,
    };
    Ok((leverage, sizing_leverage))
}

/// Cuts `t` (rounded from `venue`) to the symbol's `max_notional`, keeping its sign.
#[inline]
fn apply_notional_cap(
    t: &mut SizedTarget,
    blend: &Blend,
    instrument: &Instrument,
    venue: Decimal,
) -> Result<(), CoreError> {
    let price = t.price;
    // Compared by multiplication first: the division runs only when the cap binds.
    if let Some(cap) = blend.max_notional
        && gt(t.notional, cap)
    {
        if cap.is_sign_negative() {
            return Err(CoreError::bad("max_notional", cap, "must not be negative"));
        }
        let cap_venue = to_venue(
            div(cap, price.get(), "notional cap / P")?,
            instrument.contract_size,
        )?;
        let capped = floor_toward_zero(cap_venue, instrument.qty_step, "notional cap")?;
        let capped = fit_under_cap(capped, cap, price.get(), instrument)?;
        t.set_venue_qty(if venue.is_sign_negative() {
            -capped
        } else {
            capped
        })?;
        t.limited_by = Some(Limit::NotionalCap);
    }
    Ok(())
}

/// Takes whole steps off `venue` (≥ 0) until `venue × contract_size × price ≤ cap`.
///
/// The floored quotient is already under the cap in exact arithmetic; this only absorbs the last
/// digit of `Decimal`'s 28-digit rounding on extreme inputs (a step of 1e-28, a price of 1e15), so
/// the cap holds exactly rather than almost. Fails rather than loop when a step is below the
/// resolution of the number.
fn fit_under_cap(
    mut venue: Decimal,
    cap: Decimal,
    price: Decimal,
    instrument: &Instrument,
) -> Result<Decimal, CoreError> {
    for _ in 0..8 {
        let notional = mul(
            to_base(venue, instrument.contract_size)?,
            price,
            "capped notional",
        )?;
        if le(notional, cap) || venue.is_zero() {
            return Ok(venue);
        }
        venue = max(
            num::sub(venue, instrument.qty_step, "notional cap")?,
            Decimal::ZERO,
        );
    }
    Err(CoreError::Overflow("notional cap beyond decimal precision"))
}

/// Scales `targets` down so `Σ notional ≤ budget × account_value`, flooring each toward zero to
/// its step. Returns the scale factor applied, `None` when the targets already fit.
///
/// All or nothing: on error `targets` are left as they were.
pub fn apply_gross_budget(
    targets: &mut [SizedTarget],
    account_value: Decimal,
    budget: Decimal,
) -> Result<Option<Decimal>, CoreError> {
    if budget.is_sign_negative() && !budget.is_zero() {
        return Err(CoreError::bad(
            "gross_exposure_budget",
            budget,
            "must not be negative",
        ));
    }
    let limit = mul(budget, account_value, "gross budget × V")?;
    let mut total = Decimal::ZERO;
    for t in targets.iter() {
        total = num::add(total, t.notional, "gross notional")?;
    }
    if le(total, limit) {
        return Ok(None);
    }
    // Truncated to 12 places so `k` never exceeds the exact ratio (flooring each target then
    // keeps Σ under the limit) and so `venue × k` has few digits to round away. Cutting k by
    // < 1e-12 can cost at most one step on a target, always toward zero.
    let k = div(limit, total, "gross budget scale")?
        .round_dp_with_strategy(12, RoundingStrategy::ToZero);
    // (venue qty, base qty, notional) per target, computed aside so an error leaves `targets`
    // untouched.
    let mut scaled: Vec<(Decimal, Decimal, Decimal)> = Vec::with_capacity(targets.len());
    let mut sum = Decimal::ZERO;
    for t in targets.iter() {
        let venue = floor_toward_zero(
            mul(t.venue_qty, k, "budget scaling")?,
            t.qty_step,
            "budget scaling",
        )?;
        let (qty, notional) = notional_of(t, venue)?;
        sum = num::add(sum, notional, "gross notional")?;
        scaled.push((venue, qty, notional));
    }
    // Guard against the last digit of decimal rounding: take one step off the largest until the
    // budget holds. Mathematically unreachable; kept so the invariant does not rest on it.
    let mut guard = 0;
    while gt(sum, limit) {
        guard += 1;
        let largest = scaled
            .iter()
            .enumerate()
            .filter(|(_, (v, _, _))| !v.is_zero())
            .max_by_key(|(_, (_, _, n))| *n)
            .map(|(idx, _)| idx);
        let (Some(idx), true) = (largest, guard <= targets.len() + 1) else {
            return Err(CoreError::Overflow("gross budget beyond decimal precision"));
        };
        let (Some(t), Some(entry)) = (targets.get(idx), scaled.get_mut(idx)) else {
            return Err(CoreError::Overflow("gross budget beyond decimal precision"));
        };
        let one = if entry.0.is_sign_negative() {
            t.qty_step
        } else {
            -t.qty_step
        };
        let venue = num::add(entry.0, one, "budget step")?;
        let (qty, smaller) = notional_of(t, venue)?;
        let freed = num::sub(entry.2, smaller, "budget step")?;
        sum = num::sub(sum, freed, "budget step")?;
        *entry = (venue, qty, smaller);
    }
    // Infallible from here on, so `targets` are either all scaled or untouched.
    for (t, (venue, qty, notional)) in targets.iter_mut().zip(scaled) {
        t.venue_qty = venue;
        t.qty = Quantity::new(qty);
        t.unrounded_qty = qty;
        t.notional = notional;
        t.limited_by = Some(Limit::GrossBudget);
    }
    Ok(Some(k))
}

/// `(qty, |qty| × price)` with `qty = venue × contract_size`: base and quote units of target `t`.
#[inline(always)]
fn notional_of(t: &SizedTarget, venue: Decimal) -> Result<(Decimal, Decimal), CoreError> {
    let qty = to_base(venue, t.contract_size)?;
    Ok((qty, mul(qty.abs(), t.price.get(), "target notional")?))
}

/// Sizes every symbol of one account, then applies the policy's gross-exposure budget.
pub fn account_targets(
    inputs: &[SizeInput<'_>],
    account: &AccountSizing,
    policy: &BlendPolicy,
) -> Result<Vec<SizedTarget>, CoreError> {
    policy.validate()?;
    // A plain loop: collecting an iterator of `Result`s copies each ~200-byte target twice more.
    let mut targets = Vec::with_capacity(inputs.len());
    for i in inputs {
        targets.push(size_target(i, account, policy)?);
    }
    if let Some(budget) = policy.gross_exposure_budget {
        apply_gross_budget(&mut targets, account.value, budget)?;
    }
    Ok(targets)
}

#[cfg(test)]
#[path = "size_tests.rs"]
mod tests;
