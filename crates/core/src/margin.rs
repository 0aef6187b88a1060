//! Margin cap: an opening target is cut to what the account's free margin can carry.
//!
//! Without it a target past the free margin is sent as is, the venue refuses it for
//! insufficient margin, and the refusal repeats for as long as the target stands. The venue
//! reports the free margin (`available`, quote units) with the account value `V`; a fraction
//! `buffer` of `V` is kept free for fees, price moves between sizing and the fill, and the
//! venue's own rounding of initial margin. (A share of the account value rather than of the
//! free margin, so the cap converges: once the free margin is down to the reserve, nothing
//! more opens, instead of a smaller top-up every cycle.)
//!
//! ```text
//! pool           = max(available − buffer × V, 0)
//! margin(q)      = q × P / L               (L: the leverage the symbol runs at)
//! same side:     |target| ≤ |current| + pool × L / P      (only the increase needs margin)
//! flip / fresh:  |target| ≤ pool × L / P                  (the close's freed margin is not
//!                                                          counted: it shows next cycle)
//! ```
//!
//! Symbols are taken in order and each one's new margin comes out of the pool, so two opening
//! targets together never ask for more than the pool. A reducing target (toward zero, same
//! side) needs no margin and is never cut. Every cut rounds toward zero to the venue step and
//! never below the current position on the same side, so the cap only ever trims an increase.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tradeengine_model::Symbol;

use crate::CoreError;
use crate::num::{div, floor_toward_zero, mul, sub};
use crate::size::{Limit, SizedTarget};

/// Caps every opening target in `targets` by `available` free margin, keeping the fraction
/// `buffer` (in `[0, 1)`) of the account value `value` free; `current` is each symbol's signed
/// position in base units (absent: flat). Returns the symbols whose target was cut.
pub fn cap_by_margin(
    targets: &mut [SizedTarget],
    current: &BTreeMap<Symbol, Decimal>,
    available: Decimal,
    value: Decimal,
    buffer: Decimal,
) -> Result<Vec<Symbol>, CoreError> {
    if buffer.is_sign_negative() || buffer >= Decimal::ONE {
        return Err(CoreError::bad("margin_buffer", buffer, "must be in [0, 1)"));
    }
    let reserve = mul(value.max(Decimal::ZERO), buffer, "margin buffer × V")?;
    let mut pool = sub(available, reserve, "free margin − reserve")?.max(Decimal::ZERO);
    let mut capped = Vec::new();
    for t in targets.iter_mut() {
        let target = t.qty.get();
        let held = current.get(&t.symbol).copied().unwrap_or_default();
        let same_side = held.is_zero()
            || target.is_zero()
            || (held > Decimal::ZERO) == (target > Decimal::ZERO);
        // What already stands on the target's side and needs no new margin.
        let kept = if same_side { held.abs() } else { Decimal::ZERO };
        if target.abs() <= kept {
            continue;
        }
        let leverage = if t.leverage > Decimal::ZERO {
            t.leverage
        } else {
            Decimal::ONE
        };
        let price = t.price.get();
        let per_unit = div(price, leverage, "margin per unit")?;
        let extra = sub(target.abs(), kept, "opening quantity")?;
        let need = mul(extra, per_unit, "opening margin")?;
        if need <= pool {
            pool = sub(pool, need, "margin pool")?;
            continue;
        }
        // Cut: the most the pool carries, in whole venue steps toward zero, never below what
        // is kept on this side.
        let room = div(pool, per_unit, "quantity the free margin carries")?;
        let max_abs = kept + room;
        let venue_abs = floor_toward_zero(
            div(max_abs, t.contract_size, "margin cap in venue units")?,
            t.qty_step,
            "margin cap",
        )?;
        let kept_venue = floor_toward_zero(
            div(kept, t.contract_size, "position in venue units")?,
            t.qty_step,
            "margin cap",
        )?;
        let venue_abs = venue_abs.max(kept_venue);
        let venue = if target.is_sign_negative() {
            -venue_abs
        } else {
            venue_abs
        };
        t.set_venue_qty(venue)?;
        t.limited_by = Some(Limit::MarginCap);
        let used = mul(
            (t.qty.get().abs() - kept).max(Decimal::ZERO),
            per_unit,
            "opening margin",
        )?;
        pool = (pool - used).max(Decimal::ZERO);
        capped.push(t.symbol.clone());
    }
    Ok(capped)
}

#[cfg(test)]
#[path = "margin_tests.rs"]
mod tests;
