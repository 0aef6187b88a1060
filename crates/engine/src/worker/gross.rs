//! The gross-exposure budget beside positions the engine leaves alone.
//!
//! Sizing fits the targets of the configured symbols into `max_gross_exposure × equity`, but the
//! pre-trade gate counts every position the venue holds, the ones the engine does not manage
//! (held, unconfigured, adopted) included. With such a position open, a target sized to the
//! whole budget was refused at the gate every cycle and never reached, while the log said the
//! symbol's problem had cleared. So once those positions are known, the targets the engine may
//! move are fitted again into what they leave of the budget: a smaller order, not none.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use tradeengine_core::size::{SizedTarget, apply_gross_budget};
use tradeengine_model::{Position, Price, Symbol};

use crate::state::UnknownPositionView;

/// Statuses of positions the engine keeps as they are (see `unknown`).
const LEFT_ALONE: [&str; 3] = ["held", "unconfigured", "adopted"];

/// Scales the movable `targets` so that they and the positions left alone fit `budget ×
/// value`. Returns the left-alone notional when it scaled anything. A position left alone is
/// counted at the cycle's price of its symbol, else its entry price (as the gate counts it).
pub(super) fn fit_beside_left_alone(
    targets: &mut Vec<SizedTarget>,
    positions: &[Position],
    prices: &BTreeMap<Symbol, Price>,
    unknown: &BTreeMap<Symbol, UnknownPositionView>,
    value: Decimal,
    budget: Option<Decimal>,
) -> Result<Option<Decimal>, tradeengine_core::CoreError> {
    let Some(budget) = budget else {
        return Ok(None);
    };
    let fixed: BTreeSet<&Symbol> = (unknown.iter())
        .filter(|(_, v)| LEFT_ALONE.contains(&v.status))
        .map(|(s, _)| s)
        .collect();
    let mut left_alone = Decimal::ZERO;
    for p in positions.iter().filter(|p| fixed.contains(&p.symbol)) {
        let price = (prices.get(&p.symbol).or(p.entry_price.as_ref()))
            .map(|x| x.get().abs())
            .unwrap_or_default();
        left_alone = left_alone
            .checked_add(
                p.size
                    .get()
                    .abs()
                    .checked_mul(price)
                    .unwrap_or(Decimal::MAX),
            )
            .unwrap_or(Decimal::MAX);
    }
    if left_alone.is_zero() || value <= Decimal::ZERO {
        return Ok(None);
    }
    let limit = budget.checked_mul(value).unwrap_or(Decimal::MAX);
    let room = (limit - left_alone.min(limit)).max(Decimal::ZERO);
    // The same budget rule over the movable targets, with `room` as their whole budget.
    let movable_budget = room.checked_div(value).unwrap_or(Decimal::ZERO);
    let order: BTreeMap<Symbol, usize> = (targets.iter().enumerate())
        .map(|(i, t)| (t.symbol.clone(), i))
        .collect();
    let (mut movable, kept): (Vec<SizedTarget>, Vec<SizedTarget>) =
        targets.drain(..).partition(|t| !fixed.contains(&t.symbol));
    let scaled = apply_gross_budget(&mut movable, value, movable_budget);
    targets.extend(movable);
    targets.extend(kept);
    targets.sort_by_key(|t| order.get(&t.symbol).copied());
    Ok(scaled?.map(|_| left_alone))
}
