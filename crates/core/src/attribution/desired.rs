//! Each source's desired virtual position in one symbol on one account, from the blend that
//! sized the account's target.
//!
//! A depth sleeve's contribution `w × depth` becomes `w × depth × V × L / P` base units (the
//! formula of [`crate::size`], term by term); a base sleeve's contribution `w × q` is already in
//! base units. Whatever shrank the target below the formula shrinks every source alike: the
//! depth cap scales the depth terms by `D / D_raw`, and a notional cap or gross budget scales
//! every term by `unrounded / raw`. The step rounding is left out on purpose: it is no source's
//! doing, so the book gives it to the unattributed bucket.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tradeengine_model::{SleeveOrigin, SourceId};

use super::split::trim;
use crate::CoreError;
use crate::blend::Blend;
use crate::num::{div, mul};
use crate::size::SizedTarget;

/// Desired positions (base units, trimmed to the split precision) of every source in `blend`,
/// for an account of value `account_value` whose target is `target`.
pub fn desired_positions(
    blend: &Blend,
    target: &SizedTarget,
    account_value: Decimal,
) -> Result<BTreeMap<SourceId, Decimal>, CoreError> {
    let w = "desired sleeve position";
    let depth_scale = if blend.depth_capped && !blend.raw_depth.is_zero() {
        div(blend.depth, blend.raw_depth, w)?
    } else {
        Decimal::ONE
    };
    let limit_scale = if target.limited_by.is_some() && !target.raw_qty.is_zero() {
        div(target.unrounded_qty, target.raw_qty, w)?
    } else {
        Decimal::ONE
    };
    let per_depth = div(
        mul(account_value, target.sizing_leverage, w)?,
        target.price.get(),
        w,
    )?;
    let mut out = BTreeMap::new();
    for c in &blend.contributions {
        let qty = match c.contribution {
            SleeveOrigin::Depth(d) => mul(mul(d, depth_scale, w)?, per_depth, w)?,
            SleeveOrigin::Base(q) => q,
        };
        out.insert(c.source.clone(), trim(mul(qty, limit_scale, w)?));
    }
    Ok(out)
}
