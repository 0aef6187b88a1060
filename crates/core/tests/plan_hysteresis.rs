//! The planner's hysteresis around the step grid (`plan` rule 4), as a property: a sized target
//! that wanders within half a step of a rounding midpoint (its rounded value flipping between
//! the two grid points either side) moves the position at most once, whatever the drift band.
//! Deciding on the rounded target traded one step back and forth each cycle. And for any raw
//! target: a plan that trades lands on the rounded target, one that waits leaves the position
//! within the band (or one step) of the raw target.
//! Deterministic: a fixed seed, no persisted failures.

#![allow(clippy::unwrap_used)]

mod common;

use common::{check_seeded, signed, sym, t0};
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};
use tradeengine_core::{PlanInput, plan};
use tradeengine_model::{
    AccountName, Instrument, MarginMode, OrderKind, PlanId, Position, Price, Quantity,
};

#[derive(Debug, Clone)]
struct Wander {
    /// Venue step `10^-scale`.
    scale: u32,
    /// Contract size `10^-cs_scale` (1 for linear contracts, lots elsewhere).
    cs_scale: u32,
    /// The midpoint is `(k + ½) × step`, in venue units.
    k: i64,
    /// Drift band in ten-thousandths (0 … 10 %).
    band: i64,
    /// Start position `k + start` steps, moved to flat when that is on the other side.
    start: i64,
    /// The raw target each cycle, in ten-thousandths of a step off the midpoint: strictly
    /// inside ±½ step.
    offsets: Vec<i64>,
}

fn wander() -> impl Strategy<Value = Wander> {
    (
        0u32..=4,
        prop::sample::select(vec![0u32, 2, 3]),
        -2_000i64..2_000,
        0i64..=1_000,
        -4i64..=5,
        prop::collection::vec(-4_999i64..=4_999, 2..40),
    )
        .prop_map(|(scale, cs_scale, k, band, start, offsets)| Wander {
            scale,
            cs_scale,
            k,
            band,
            start,
            offsets,
        })
}

#[test]
fn a_target_wandering_around_a_rounding_midpoint_trades_at_most_once() {
    check_seeded(16, Some(512), wander(), |w| {
        let step = Decimal::new(1, w.scale);
        let cs = Decimal::new(1, w.cs_scale);
        let instrument = Instrument {
            qty_step: step,
            min_qty: step,
            max_market_qty: None,
            contract_size: cs,
            ..Instrument::linear(sym(), step, Decimal::new(1, 1))
        };
        // Midpoint k + ½ is positive for k ≥ 0 and negative below: the start stays on its side.
        let mut units = w.k + w.start;
        if (w.k >= 0 && units < 0) || (w.k < 0 && units > 0) {
            units = 0;
        }
        let mut position = Decimal::from(units) * step * cs;
        let midpoint = (Decimal::from(w.k) + Decimal::new(5, 1)) * step;
        let (plan_id, account) = (
            PlanId::new("wander").unwrap(),
            AccountName::new("a").unwrap(),
        );
        let mut orders = 0;
        for offset in &w.offsets {
            let raw_venue = midpoint + Decimal::new(*offset, 4) * step;
            let rounded = (raw_venue / step)
                .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
                * step;
            let current = Position {
                size: Quantity::new(position),
                leverage: Decimal::from(5),
                ..Position::flat(sym())
            };
            let p = plan(&PlanInput {
                plan_id: &plan_id,
                account: &account,
                now: t0(),
                current: &current,
                target: Quantity::new(rounded * cs),
                unrounded_target: raw_venue * cs,
                target_leverage: Decimal::from(5),
                margin_mode: MarginMode::Cross,
                instrument: &instrument,
                price: Price::new(Decimal::from(100)).unwrap(),
                drift_band: Decimal::new(w.band, 4),
                min_notional: Decimal::ZERO,
                kind: OrderKind::Market,
            })
            .unwrap();
            for leg in p.legs() {
                orders += 1;
                position += signed(leg.side, leg.qty);
            }
            // Whatever happened, the position sits on one of the two grid points either side
            // of the midpoint once it has moved.
            if orders > 0 {
                let venue = position / cs;
                let lo = Decimal::from(w.k) * step;
                prop_assert!(venue == lo || venue == lo + step, "{venue} off {lo}");
            }
        }
        prop_assert!(orders <= 1, "{orders} orders for {w:?}");
        Ok(())
    });
}

#[test]
fn a_plan_trades_to_the_rounded_target_or_waits_within_a_step_of_the_raw_one() {
    // Step 10^-scale; position and raw target in steps (raw in ten-thousandths of a step);
    // drift band in ten-thousandths.
    let strategy = (
        0u32..=4,
        -500i64..500,
        -5_000_000i64..5_000_000,
        0i64..=1_000,
    );
    check_seeded(
        17,
        Some(512),
        strategy,
        |(scale, cur_units, raw_e4, band)| {
            let step = Decimal::new(1, scale);
            let instrument = Instrument {
                qty_step: step,
                min_qty: step,
                max_market_qty: None,
                ..Instrument::linear(sym(), step, Decimal::new(1, 1))
            };
            let raw = Decimal::new(raw_e4, 4) * step;
            let target = (raw / step)
                .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
                * step;
            let current = Decimal::from(cur_units) * step;
            let band = Decimal::new(band, 4);
            let p = plan(&PlanInput {
                plan_id: &PlanId::new("any").unwrap(),
                account: &AccountName::new("a").unwrap(),
                now: t0(),
                current: &Position {
                    size: Quantity::new(current),
                    leverage: Decimal::from(5),
                    ..Position::flat(sym())
                },
                target: Quantity::new(target),
                unrounded_target: raw,
                target_leverage: Decimal::from(5),
                margin_mode: MarginMode::Cross,
                instrument: &instrument,
                price: Price::new(Decimal::from(100)).unwrap(),
                drift_band: band,
                min_notional: Decimal::ZERO,
                kind: OrderKind::Market,
            })
            .unwrap();
            let reached = current + p.legs().map(|l| signed(l.side, l.qty)).sum::<Decimal>();
            if p.legs().next().is_some() {
                prop_assert_eq!(reached, target);
            } else if !target.is_zero() && current * target >= Decimal::ZERO {
                // Same side or from flat, and it waited: inside the hysteresis.
                let width = (band * raw.abs()).max(step);
                prop_assert!(
                    (raw - current).abs() < width || current == target,
                    "waited at {current} for raw {raw} (target {target}, width {width})"
                );
            } else {
                // A flip or a close to zero always goes: only an empty plan at zero waits.
                prop_assert!(
                    current.is_zero() && target.is_zero(),
                    "{current} → {target}"
                );
            }
            Ok(())
        },
    );
}
