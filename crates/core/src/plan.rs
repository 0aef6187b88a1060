//! Plan: the ordered steps that move an account's *actual* position in one symbol to its target.
//!
//! All quantities are handled in **venue units** (`venue = base / contract_size`) because steps,
//! minimums and maximums are; legs carry both units.
//!
//! ## Rules
//!
//! 1. The target is snapped half-even to the venue step (a no-op for targets from
//!    [`crate::size`]).
//! 2. **Flip** (current and target on opposite sides): a reduce-only close of the whole current
//!    position, then an open of the whole target. The close always goes; the open is subject to
//!    the minimums of rule 5 (when it fails them the plan closes and reports why it stopped).
//! 3. **Close to zero**: always goes, reduce-only, whatever its size or notional (dust included):
//!    a position the target says to drop is never left behind.
//! 4. **Same side** (or from flat): the planner decides on the *unrounded* target `raw` (the
//!    sizer's value before its snap to the step grid) and trades to the rounded one. No order
//!    when `|raw − current| < max(qty_step, drift_band × |raw|)`: a price move alone must not
//!    churn (the drift band), and a target sitting on a rounding midpoint must not trade one step
//!    back and forth each cycle (the `qty_step` floor is hysteresis around the grid: the
//!    position only moves once the unrounded target is a whole step away from it). Otherwise
//!    the order is `target − current`; a reduction is reduce-only, an increase is not. A raw
//!    target that does not round to the target (a cap cut it, or the engine moved it) is
//!    replaced by the target itself, so a cap is never overstayed by the hysteresis.
//! 5. No order under the venue's `min_qty`, or under `min_notional` (quote units,
//!    `|diff| × contract_size × price`; the caller passes the larger of the venue's and the
//!    account's minimum). Rule 3 overrides this for closes.
//! 6. Every order larger than `max_market_qty` is split into `n = ⌈size / chunk⌉` legs of near
//!    equal size on the step grid (`chunk = floor(max_market_qty, step)`), largest first, so no leg
//!    is a tiny remainder below the venue minimum.
//! 7. `SetMarginMode` and `SetLeverage` come before any order, only when the target is non-zero and
//!    the venue's setting differs.
//! 8. Each leg's client order id is derived from (account, symbol, plan id, leg)
//!    ([`crate::client_id`]).
//!
//! Along the legs, in order, the position never leaves the range between zero and
//! `max(|current|, |target|)` on each side, and never opens before its close.
//!
//! Positions read from a venue sit on its step grid. Should one not (a contract size changed
//! under an open position), orders still do: a close closes the exact size, but an adjustment
//! is floored to the grid, so its legs may end up to one step short of the target.

use std::cmp::Ordering;

use rust_decimal::Decimal;
use tradeengine_model::{
    AccountName, Instrument, MarginMode, OrderKind, OrderLeg, Plan, PlanId, PlanSkip, PlanStep,
    Position, Price, Quantity, Side, Timestamp,
};

use crate::client_id::{PREFIX_LEN, leg_id_of, prefix_bytes};
use crate::instrument::{self, non_negative, positive};
use crate::num::{floor_toward_zero, ge, gt, lt, max, mul, round_half_even, to_base, to_venue};
pub use crate::plan_split::MAX_LEGS;
use crate::plan_split::{split_general, split_whole};
use crate::{CoreError, num};

/// Everything [`plan`] needs, borrowed from the engine's cycle state.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub plan_id: &'a PlanId,
    pub account: &'a AccountName,
    pub now: Timestamp,
    /// The position as read from the venue: size, leverage and margin mode.
    pub current: &'a Position,
    /// The target in base units, normally [`crate::size::SizedTarget::qty`].
    pub target: Quantity,
    /// The same target before its snap to the step grid, base units, normally
    /// [`crate::size::SizedTarget::unrounded_qty`]: rule 4 compares it, not the rounded target,
    /// with the position. Pass `target` itself where there is no such value.
    pub unrounded_target: Decimal,
    /// Leverage the symbol should be set to ([`crate::size::SizedTarget::leverage`]).
    pub target_leverage: Decimal,
    pub margin_mode: MarginMode,
    pub instrument: &'a Instrument,
    /// Price for minimum-notional checks, quote units per base unit.
    pub price: Price,
    /// Fraction of |target| inside which no order is sent (0.001 = 0.1 %).
    pub drift_band: Decimal,
    /// Smallest order value allowed, quote units: max of the venue's and the account's.
    pub min_notional: Decimal,
    pub kind: OrderKind,
}

/// Builds the plan. Pure: the same input always gives the same plan, ids included.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, CoreError> {
    let i = input.instrument;
    validate(input)?;
    let cs = i.contract_size;
    let current = input.current.size.get();
    let cur_v = to_venue(current, cs)?;
    let tgt_v = round_half_even(
        to_venue(input.target.get(), cs)?,
        i.qty_step,
        "target rounding",
    )?;
    let target = Quantity::new(to_base(tgt_v, cs)?);

    // Venue settings first (rule 7). `steps` allocates only when there is a step: most plans of
    // a quiet cycle have none.
    let mut steps = Vec::new();
    if !tgt_v.is_zero() {
        if input.current.margin_mode != input.margin_mode {
            steps.push(PlanStep::SetMarginMode {
                mode: input.margin_mode,
            });
        }
        if num::cmp(input.current.leverage, input.target_leverage) != Ordering::Equal {
            steps.push(PlanStep::SetLeverage {
                leverage: input.target_leverage,
            });
        }
    }
    let mut orders = Orders {
        input,
        prefix: None,
        legs: 0,
        steps,
    };
    let mut skipped = None;
    // Signs read from the fields: both non-zero and on opposite sides.
    let opposite = !cur_v.is_zero()
        && !tgt_v.is_zero()
        && cur_v.is_sign_negative() != tgt_v.is_sign_negative();
    if opposite {
        orders.push(side_to_flat(cur_v), cur_v.abs(), true)?;
        match below_minimum(input, tgt_v.abs())? {
            Some(reason) => skipped = Some(reason),
            None => orders.push(side_of(tgt_v), tgt_v.abs(), false)?,
        }
    } else if tgt_v.is_zero() && !cur_v.is_zero() {
        orders.push(side_to_flat(cur_v), cur_v.abs(), true)?;
    } else {
        let diff = num::sub(tgt_v, cur_v, "target − current")?;
        if diff.is_zero() {
            skipped = Some(PlanSkip::AtTarget);
        } else {
            let raw_v = unrounded_venue(input, tgt_v)?;
            let band = max(
                mul(input.drift_band, raw_v.abs(), "drift band")?,
                i.qty_step,
            );
            let gap = num::sub(raw_v, cur_v, "unrounded target − current")?;
            // Snapped toward zero so an off-step position never makes an off-step order.
            let size = floor_toward_zero(diff.abs(), i.qty_step, "order size")?;
            if lt(gap.abs(), band) || size.is_zero() {
                skipped = Some(PlanSkip::WithinDriftBand);
            } else if let Some(reason) = below_minimum(input, size)? {
                skipped = Some(reason);
            } else {
                let reduce_only = lt(tgt_v.abs(), cur_v.abs());
                orders.push(side_of(diff), size, reduce_only)?;
            }
        }
    }

    Ok(Plan {
        id: input.plan_id.clone(),
        account: input.account.clone(),
        symbol: i.symbol.clone(),
        created_at: input.now,
        current: input.current.size,
        target,
        steps: orders.steps,
        skipped,
    })
}

fn validate(input: &PlanInput<'_>) -> Result<(), CoreError> {
    let i = input.instrument;
    instrument::check(i)?;
    if input.current.symbol != i.symbol {
        return Err(CoreError::Mismatch {
            what: "position symbol in plan",
            expected: i.symbol.to_string(),
            found: input.current.symbol.to_string(),
        });
    }
    if !non_negative(input.drift_band) || ge(input.drift_band, Decimal::ONE) {
        return Err(CoreError::bad(
            "drift_band",
            input.drift_band,
            "must be in 0..1",
        ));
    }
    if !non_negative(input.min_notional) {
        return Err(CoreError::bad(
            "min_notional",
            input.min_notional,
            "must not be negative",
        ));
    }
    if !positive(input.target_leverage) {
        return Err(CoreError::bad(
            "target_leverage",
            input.target_leverage,
            "must be greater than zero",
        ));
    }
    Ok(())
}

/// The unrounded target in venue units when it rounds to `tgt_v` (the rounded target), else
/// `tgt_v`: a raw value a cap or the engine has since moved the target away from says nothing
/// about where the position should be.
#[inline(always)]
fn unrounded_venue(input: &PlanInput<'_>, tgt_v: Decimal) -> Result<Decimal, CoreError> {
    let i = input.instrument;
    let raw_v = to_venue(input.unrounded_target, i.contract_size)?;
    let rounded = round_half_even(raw_v, i.qty_step, "unrounded target rounding")?;
    Ok(if num::cmp(rounded, tgt_v) == Ordering::Equal {
        raw_v
    } else {
        tgt_v
    })
}

/// Why an opening or adjusting order of `size` venue units may not go, if it may not.
#[inline(always)]
fn below_minimum(input: &PlanInput<'_>, size: Decimal) -> Result<Option<PlanSkip>, CoreError> {
    let i = input.instrument;
    if lt(size, i.min_qty) {
        return Ok(Some(PlanSkip::BelowMinQty));
    }
    if input.min_notional.is_zero() {
        return Ok(None);
    }
    let notional = mul(
        to_base(size, i.contract_size)?,
        input.price.get(),
        "order notional",
    )?;
    Ok(lt(notional, input.min_notional).then_some(PlanSkip::BelowMinNotional))
}

#[inline(always)]
fn side_of(delta: Decimal) -> Side {
    if delta.is_sign_negative() && !delta.is_zero() {
        Side::Sell
    } else {
        Side::Buy
    }
}

/// The side that takes a position of signed `pos` toward zero.
#[inline(always)]
fn side_to_flat(pos: Decimal) -> Side {
    side_of(-pos)
}

/// Legs under construction, numbered across the whole plan.
struct Orders<'a, 'b> {
    input: &'a PlanInput<'b>,
    /// Computed on the first leg only: plans with no order never hash.
    prefix: Option<[u8; PREFIX_LEN]>,
    /// Order legs so far, which numbers the next one.
    legs: usize,
    steps: Vec<PlanStep>,
}

impl Orders<'_, '_> {
    /// Adds one order of `size` venue units, split at the market maximum (rule 6).
    fn push(&mut self, side: Side, size: Decimal, reduce_only: bool) -> Result<(), CoreError> {
        let i = self.input.instrument;
        let (step, cs) = (i.qty_step, i.contract_size);
        let limit = match i.max_market_qty {
            Some(limit) if gt(size, limit) => limit,
            _ => return self.emit(side, to_base(size, cs)?, size, reduce_only),
        };
        let legs = self.legs;
        let mut leg = |venue_qty: Decimal| {
            let qty = to_base(venue_qty, cs)?;
            self.emit(side, qty, venue_qty, reduce_only)
        };
        match split_whole(size, step, limit, legs, &mut leg) {
            Some(done) => done,
            None => split_general(size, step, limit, legs, leg),
        }
    }

    fn emit(
        &mut self,
        side: Side,
        qty: Decimal,
        venue_qty: Decimal,
        reduce_only: bool,
    ) -> Result<(), CoreError> {
        let leg = u16::try_from(self.legs).map_err(|_| CoreError::TooManyLegs {
            legs: self.legs.to_string(),
            max: MAX_LEGS,
        })?;
        let input = self.input;
        let prefix = self.prefix.get_or_insert_with(|| {
            prefix_bytes(input.account, &input.instrument.symbol, input.plan_id)
        });
        self.steps.push(PlanStep::Order(OrderLeg {
            leg,
            client_order_id: leg_id_of(prefix, leg)?,
            side,
            qty,
            venue_qty,
            reduce_only,
            kind: input.kind,
        }));
        self.legs += 1;
        Ok(())
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
