//! Each source's desired virtual position in one symbol on one account, from the blend that
//! sized the account's target.
//!
//! A depth sleeve's contribution `w × depth` becomes `w × depth × V × L / P` base units (the
//! formula of [`crate::size`], term by term); a base sleeve's contribution `w × q` is already in
//! base units. Whatever moved the target away from the formula moves every source alike: the
//! depth cap scales the depth terms by `D / D_raw`, and a notional cap, the gross budget or an
//! engine adjustment (close-only, kill switch, reducing: each sets the unrounded target) scales
//! every term by `unrounded / raw`. Sources that merely net each other out (`raw = 0`) keep their
//! positions. The step rounding is left out on purpose: it is no source's doing, so the book
//! gives it to the unattributed bucket.

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
    let limit_scale = if target.unrounded_qty != target.raw_qty && !target.raw_qty.is_zero() {
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

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use tradeengine_model::{Instrument, Price, Sleeve, SleeveState, Symbol};

    use super::*;
    use crate::blend::{BlendPolicy, SymbolConfig, blend};
    use crate::size::{AccountSizing, SizeInput, size_target};

    fn sym() -> Symbol {
        Symbol::new("BTCUSDT").unwrap()
    }

    fn sized(depths: &[(&str, Decimal)]) -> (Blend, SizedTarget) {
        let weights = depths
            .iter()
            .map(|(s, _)| (SourceId::new(s).unwrap(), dec!(0.5)))
            .collect();
        let config = SymbolConfig::new(sym(), dec!(2), weights);
        let t0 = chrono::DateTime::UNIX_EPOCH;
        let sleeves: Vec<Sleeve> = depths
            .iter()
            .map(|(s, d)| {
                let mut sl = Sleeve::flat(SourceId::new(s).unwrap(), sym(), t0);
                sl.state = SleeveState::Open;
                sl.exposure = SleeveOrigin::Depth(*d);
                sl
            })
            .collect();
        let policy = BlendPolicy::default();
        let b = blend(&config, &sleeves, &policy, t0).unwrap();
        let instrument = Instrument {
            symbol: sym(),
            venue_symbol: "BTCUSDT".into(),
            qty_step: dec!(0.001),
            min_qty: dec!(0.001),
            max_market_qty: None,
            tick_size: dec!(0.1),
            min_notional: Decimal::ZERO,
            contract_size: Decimal::ONE,
            max_leverage: dec!(50),
        };
        let t = size_target(
            &SizeInput {
                blend: &b,
                price: Price::new(dec!(100)).unwrap(),
                instrument: &instrument,
            },
            &AccountSizing {
                value: dec!(1000),
                leverage_override: None,
            },
            &policy,
        )
        .unwrap();
        (b, t)
    }

    #[test]
    fn sources_that_net_out_keep_their_sleeves() {
        let (b, t) = sized(&[("a", dec!(0.5)), ("b", dec!(-0.5))]);
        assert!(t.qty.is_zero());
        let d = desired_positions(&b, &t, dec!(1000)).unwrap();
        // w × depth × V × L / P = 0.5 × 0.5 × 1000 × 2 / 100 = 5 base units each way.
        assert_eq!(d[&SourceId::new("a").unwrap()], dec!(5));
        assert_eq!(d[&SourceId::new("b").unwrap()], dec!(-5));
    }

    #[test]
    fn a_target_the_engine_moved_moves_every_source_alike() {
        let (b, mut t) = sized(&[("a", dec!(0.5)), ("b", dec!(0.3))]);
        // Close-only or the kill switch: the engine sets the target (and its unrounded value).
        t.qty = tradeengine_model::Quantity::ZERO;
        t.unrounded_qty = Decimal::ZERO;
        let d = desired_positions(&b, &t, dec!(1000)).unwrap();
        assert!(d.values().all(|q| q.is_zero()), "{d:?}");
        // Reducing to half the formula halves each source.
        let (b, mut t) = sized(&[("a", dec!(0.5)), ("b", dec!(0.3))]);
        t.unrounded_qty = t.raw_qty / dec!(2);
        let d = desired_positions(&b, &t, dec!(1000)).unwrap();
        assert_eq!(d[&SourceId::new("a").unwrap()], dec!(2.5));
        assert_eq!(d[&SourceId::new("b").unwrap()], dec!(1.5));
    }
}
