//! An exact skip for a quiet symbol: a proof, made once, that sizing and planning the symbol
//! give nothing new while its blend and position stand and the cycle's account value `V` and
//! price `P` keep `lo × P < V < hi × P`.
//!
//! ## What it proves
//!
//! Sizing (no notional cap, no gross budget: [`Steady::new`] refuses to make one otherwise)
//! computes, in `Decimal`,
//!
//! ```text
//! raw = ((V ⊗ D) ⊗ L) ⊘ P ⊕ B          y = raw ⊘ cs          venue = round_half_even(y, step)
//! ```
//!
//! The skip holds when `venue` is the position `c` itself (venue units, on the step grid).
//! Then the plan is empty (rule 4's "at target"; [`Steady::new`] also requires the position's
//! margin mode and leverage to be the ones the plan would set, so no setting step either), the
//! margin cap passes the symbol by (its target does not exceed what it holds) and takes nothing
//! from the pool the other symbols share, and the target's zero-ness is the position's, so the
//! attribution key is not compared again. Leaving the symbol out of the cycle changes nothing.
//!
//! `venue = c` whenever `y` lies strictly inside `(c − h, c + h)`, `h = step / 2`. In base
//! units, with exact reals `r = V / P` and `a = D × L`: whenever
//! `r × a + B ∈ (L0 + m/2, H0 − m/2)`, `L0 = (c − h) × cs`, `H0 = (c + h) × cs`,
//! `m = (H0 − L0) / 10⁶`, the computed `raw` is inside `(L0, H0)` too, because its error is far
//! below `m/2`:
//!
//! - every `Decimal` operation rounds its exact result by at most 10⁻²⁷ of it plus 10⁻²⁸
//!   (28 digits, scale at most 28);
//! - every intermediate is at most `M = |L0| + |H0| + |B|` in size (`raw` is in the cell,
//!   `raw − B` in size at most `M`), and [`Steady::new`] requires `M ≤ 10¹² × (H0 − L0)`, so
//!   the relative errors add up to under 10⁻¹⁴ of the cell;
//! - the absolute 10⁻²⁸ of `V ⊗ D` and `⊗ L` is divided by `P`; [`Steady::holds`] requires
//!   `P ≥ 10⁻¹²` and [`Steady::new`] a cell of at least 10⁻⁸ base units, so that is under
//!   2·10⁻¹⁶ ≤ 2·10⁻⁸ of the cell;
//! - the same bounds hold for `⊘ cs` in venue units (the cell and the error scale alike), and
//!   for a rounding to a step that is not a power of ten (a quotient by the step, rounded to a
//!   whole number, which the error cannot move across a half).
//!
//! With `a > 0` the condition on `r` is `r ∈ ((L0 + m − B) / a, (H0 − m − B) / a)` (with `m`
//! rather than `m/2`, so the `Decimal` error of computing the bounds, again under 10⁻¹⁴ of the
//! cell in `raw` terms, is absorbed); with `a < 0` the ends swap. The bounds are then moved
//! inward by a relative 10⁻¹² (`lo ⊗ (1 + 10⁻¹²)`, `hi ⊗ (1 − 10⁻¹²)`), which covers the
//! relative error of `a`, of the division, and of the products `lo ⊗ P`, `hi ⊗ P` in
//! [`Steady::holds`] (10⁻²⁷ each; their absolute 10⁻²⁸ is under 10⁻¹² of `lo × P` or
//! `hi × P` because `V ≥ 1` is required and `V` lies between them). So `lo ⊗ P < V < hi ⊗ P`
//! computed implies the exact `r` inside the interval, hence `venue = c`.
//!
//! With `D = 0` sizing computes `raw = B` exactly whatever `V` and `P` are, so the proof is
//! the computation itself: the target is `c` at every price, or the skip is not made.
//!
//! In debug builds the replay checks every skip against a full sizing and plan
//! (`run::check_skip`), so every replay test exercises the proof too; the property test below
//! checks it against [`tradeengine_core::size::size_target`] on random inputs.

use rust_decimal::Decimal;
use tradeengine_core::blend::Blend;
use tradeengine_model::Instrument;
use tradeengine_model::grid;

/// See the module docs. `None` bounds are open ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Steady {
    lo: Option<Decimal>,
    hi: Option<Decimal>,
}

/// 10⁻¹²: the inward move of the bounds and the smallest price a skip accepts.
fn pico() -> Decimal {
    Decimal::new(1, 12)
}

impl Steady {
    /// The proof for a symbol whose `blend` (sized at `sizing_leverage`) stands against a
    /// position of `current` base units; `None` when it cannot be made (the caller has checked
    /// that no notional cap or gross budget applies, and that the position's leverage and
    /// margin mode are the plan's).
    pub(super) fn new(
        blend: &Blend,
        sizing_leverage: Decimal,
        current: Decimal,
        instrument: &Instrument,
    ) -> Option<Self> {
        let (step, cs) = (instrument.qty_step, instrument.contract_size);
        if step <= Decimal::ZERO || cs <= Decimal::ZERO || blend.max_notional.is_some() {
            return None;
        }
        let c = grid::to_venue(current, cs)?;
        if grid::round_to_step(c, step, rust_decimal::RoundingStrategy::MidpointNearestEven)? != c {
            return None;
        }
        if blend.depth.is_zero() {
            // raw = B exactly (module docs): the computation itself.
            let y = grid::to_venue(blend.base, cs)?;
            let venue =
                grid::round_to_step(y, step, rust_decimal::RoundingStrategy::MidpointNearestEven)?;
            return (venue == c).then_some(Self { lo: None, hi: None });
        }
        let h = step.checked_div(Decimal::TWO)?;
        let l0 = c.checked_sub(h)?.checked_mul(cs)?;
        let h0 = c.checked_add(h)?.checked_mul(cs)?;
        let width = h0.checked_sub(l0)?;
        let magnitude = l0
            .abs()
            .checked_add(h0.abs())?
            .checked_add(blend.base.abs())?;
        if width < Decimal::new(1, 8)
            || magnitude > width.checked_mul(Decimal::from(1_000_000_000_000_i64))?
        {
            return None;
        }
        let m = width.checked_div(Decimal::from(1_000_000))?;
        let a = blend.depth.checked_mul(sizing_leverage)?;
        let low = l0.checked_add(m)?.checked_sub(blend.base)?.checked_div(a)?;
        let high = h0.checked_sub(m)?.checked_sub(blend.base)?.checked_div(a)?;
        let (lo, hi) = if a > Decimal::ZERO {
            (low, high)
        } else {
            (high, low)
        };
        if hi <= Decimal::ZERO || lo >= hi {
            return None;
        }
        let hi = hi.checked_mul(Decimal::ONE - pico())?;
        let lo = if lo <= Decimal::ZERO {
            None
        } else {
            Some(lo.checked_mul(Decimal::ONE + pico())?)
        };
        Some(Self { lo, hi: Some(hi) })
    }

    /// Whether the proof covers account value `value` at price `price`.
    #[inline]
    pub(super) fn holds(&self, value: Decimal, price: Decimal) -> bool {
        if value < Decimal::ONE || price < pico() {
            return false;
        }
        if let Some(lo) = self.lo
            && lo.checked_mul(price).is_none_or(|b| value <= b)
        {
            return false;
        }
        if let Some(hi) = self.hi
            && hi.checked_mul(price).is_none_or(|b| value >= b)
        {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;
    use tradeengine_core::blend::BlendPolicy;
    use tradeengine_core::size::{AccountSizing, SizeInput, size_target};
    use tradeengine_model::{Price, Symbol};

    use super::*;

    fn instrument(step: Decimal, cs: Decimal) -> Instrument {
        Instrument {
            contract_size: cs,
            max_leverage: Decimal::from(100),
            ..Instrument::linear(Symbol::new("XUSDT").unwrap(), step, Decimal::new(1, 2))
        }
    }

    /// A blend of `depth` (and `base` units) at integer leverage `lev`.
    fn the_blend(depth: Decimal, base: Decimal, lev: Decimal) -> Blend {
        Blend {
            symbol: Symbol::new("XUSDT").unwrap(),
            depth,
            raw_depth: depth,
            base,
            raw_leverage: lev,
            leverage: lev,
            depth_capped: false,
            leverage_capped: false,
            leverage_cap: None,
            max_notional: None,
            contributions: Vec::new(),
        }
    }

    fn venue_target(b: &Blend, i: &Instrument, value: Decimal, price: Decimal) -> Decimal {
        let input = SizeInput {
            blend: b,
            price: Price::new(price).unwrap(),
            instrument: i,
        };
        let account = AccountSizing {
            value,
            leverage_override: None,
        };
        size_target(&input, &account, &BlendPolicy::default())
            .unwrap()
            .venue_qty
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Whenever the proof holds, a full sizing gives the position itself.
        #[test]
        fn holds_only_where_sizing_gives_the_position(
            depth_bp in -3000i64..3000,
            base in -50i64..50,
            lev in 1i64..20,
            step_exp in 0u32..6,
            step_mant in prop::sample::select(vec![1i64, 1, 5, 25]),
            cs_pick in 0usize..4,
            v0 in 100i64..10_000_000,
            p0 in 1i64..10_000_000,
            p_scale in 0u32..6,
            moves in prop::collection::vec((-20_000i64..20_000, -20_000i64..20_000), 1..40),
        ) {
            let depth = Decimal::new(depth_bp, 4);
            let step = Decimal::new(step_mant, step_exp);
            let cs = [Decimal::ONE, Decimal::new(1, 3), Decimal::new(10, 0), Decimal::new(25, 2)][cs_pick];
            let i = instrument(step, cs);
            let b = the_blend(depth, Decimal::new(base, 2), Decimal::from(lev));
            let value0 = Decimal::new(v0, 2);
            let price0 = Decimal::new(p0, p_scale);
            let sizing_leverage = b.leverage.min(i.max_leverage.floor());
            // The position is where sizing puts it at the start, as after a fill.
            let c = venue_target(&b, &i, value0, price0);
            let current = grid::to_base(c, cs).unwrap();
            let Some(s) = Steady::new(&b, sizing_leverage, current, &i) else {
                return Ok(());
            };
            for (dv, dp) in moves {
                // Moves of up to ±2 % from the start, in steps fine enough to reach the edges.
                let value = value0 * (Decimal::ONE + Decimal::new(dv, 6));
                let price = price0 * (Decimal::ONE + Decimal::new(dp, 6));
                if s.holds(value, price) {
                    prop_assert_eq!(venue_target(&b, &i, value, price), c, "value {} price {}", value, price);
                }
            }
        }
    }

    #[test]
    fn a_flat_blend_holds_at_every_price_and_a_moving_one_does_not() {
        let i = instrument(Decimal::new(1, 3), Decimal::ONE);
        let flat = the_blend(Decimal::ZERO, Decimal::ZERO, Decimal::ONE);
        let s = Steady::new(&flat, Decimal::ONE, Decimal::ZERO, &i).unwrap();
        assert!(s.holds(Decimal::from(10_000), Decimal::new(1, 6)));
        assert!(s.holds(Decimal::from(10_000), Decimal::from(1_000_000)));
        // A flat blend against a held position: sizing says close, so no proof.
        assert_eq!(Steady::new(&flat, Decimal::ONE, Decimal::ONE, &i), None);

        // 10,000 × 0.05 × 2 / 10,000 = 0.1: the cell is (0.0995, 0.1005), so the price may
        // move about ±0.5 %.
        let b = the_blend(Decimal::new(5, 2), Decimal::ZERO, Decimal::from(2));
        let s = Steady::new(&b, Decimal::from(2), Decimal::new(1, 1), &i).unwrap();
        let v = Decimal::from(10_000);
        assert!(s.holds(v, Decimal::from(10_000)));
        assert!(s.holds(v, Decimal::from(10_040)));
        assert!(s.holds(v, Decimal::from(9_960)));
        assert!(!s.holds(v, Decimal::from(10_060)));
        assert!(!s.holds(v, Decimal::from(9_940)));
        assert_eq!(
            venue_target(&b, &i, v, Decimal::from(10_060)),
            Decimal::new(99, 3)
        );
        // An account worth under 1 is never skipped.
        assert!(!s.holds(Decimal::new(5, 1), Decimal::new(5, 1)));
    }
}
