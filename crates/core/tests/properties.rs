//! Property tests of the money core. Deterministic: proptest derives its
//! cases from a fixed seed unless `PROPTEST_RNG_SEED` says otherwise, and failures persist
//! nothing (no regression files are written in CI).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{check_seeded, signed, sym, t0};
use proptest::prelude::*;
use rust_decimal::Decimal;
use tradeengine_core::{
    AccountSizing, BlendPolicy, CoreError, PlanInput, SizeInput, SleeveRules, SymbolConfig,
    account_targets, apply_signal, blend, plan, size_target,
};
use tradeengine_model::{
    AccountName, Instrument, Intent, MarginMode, OrderAction, OrderIntent, OrderKind, OrderSize,
    Plan, PlanId, Position, Price, ProtectiveLevel, Quantity, Signal, SignalId, Sleeve,
    SleeveOrigin, SleeveState, SourceId, Symbol,
};

/// Runs `test` over `strategy` with a fixed seed, so every run checks the same cases.
fn check<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    check_seeded(7, None, strategy, test);
}

/// A decimal `m × 10^-scale`.
fn dec(m: i64, scale: u32) -> Decimal {
    Decimal::new(m, scale)
}

// ---------------------------------------------------------------- plan

#[derive(Debug, Clone)]
struct PlanCase {
    step: Decimal,
    contract_size: Decimal,
    min_units: i64,
    max_units: Option<i64>,
    cur_units: i64,
    tgt_units: i64,
    price: Decimal,
    drift_band: Decimal,
    min_notional: Decimal,
    cur_leverage: i64,
    tgt_leverage: i64,
    isolated: bool,
}

fn plan_case() -> impl Strategy<Value = PlanCase> {
    (
        (0u32..=8, prop::sample::select(vec![1i64, 2, 5])),
        prop::sample::select(vec![
            dec(1, 0),
            dec(1, 3),
            dec(1, 2),
            dec(10, 0),
            dec(100, 0),
        ]),
        (1i64..=3, prop::option::of(50i64..=5000)),
        (-20_000i64..=20_000, -20_000i64..=20_000),
        (1i64..=1_000_000_000, 0u32..=6),
        (0i64..=50, 0i64..=200),
        (1i64..=20, 1i64..=20, any::<bool>()),
    )
        .prop_map(
            |(
                (s, k),
                contract_size,
                (min_units, max_units),
                (cur, tgt),
                (pm, ps),
                (db, mn),
                (cl, tl, iso),
            )| {
                PlanCase {
                    step: dec(k, s),
                    contract_size,
                    min_units,
                    max_units,
                    cur_units: cur,
                    tgt_units: tgt,
                    price: dec(pm, ps),
                    drift_band: dec(db, 3),
                    min_notional: Decimal::from(mn),
                    cur_leverage: cl,
                    tgt_leverage: tl,
                    isolated: iso,
                }
            },
        )
}

impl PlanCase {
    fn instrument(&self) -> Instrument {
        Instrument {
            symbol: sym(),
            venue_symbol: "BTCUSDT".into(),
            qty_step: self.step,
            min_qty: self.step * Decimal::from(self.min_units),
            max_market_qty: self.max_units.map(|m| self.step * Decimal::from(m)),
            tick_size: dec(1, 1),
            min_notional: Decimal::ZERO,
            contract_size: self.contract_size,
            max_leverage: Decimal::from(125),
        }
    }

    fn base(&self, units: i64) -> Decimal {
        Decimal::from(units) * self.step * self.contract_size
    }

    fn position(&self, units: i64, leverage: i64, mode: MarginMode) -> Position {
        Position {
            symbol: sym(),
            size: Quantity::new(self.base(units)),
            entry_price: None,
            leverage: Decimal::from(leverage),
            margin_mode: mode,
        }
    }

    fn mode(&self) -> MarginMode {
        if self.isolated {
            MarginMode::Isolated
        } else {
            MarginMode::Cross
        }
    }

    fn plan_from(&self, current: &Position, target: Quantity) -> Plan {
        plan(&PlanInput {
            plan_id: &PlanId::new("prop").unwrap(),
            account: &AccountName::new("acct").unwrap(),
            now: t0(),
            current,
            target,
            unrounded_target: target.get(),
            target_leverage: Decimal::from(self.tgt_leverage),
            margin_mode: self.mode(),
            instrument: &self.instrument(),
            price: Price::new(self.price).unwrap(),
            drift_band: self.drift_band,
            min_notional: self.min_notional,
            kind: OrderKind::Market,
        })
        .unwrap()
    }

    fn plan(&self) -> Plan {
        let current = self.position(self.cur_units, self.cur_leverage, MarginMode::Cross);
        self.plan_from(&current, Quantity::new(self.base(self.tgt_units)))
    }
}

#[test]
fn plan_legs_land_on_the_target_and_never_overshoot() {
    check(plan_case(), |c| {
        let p = c.plan();
        let current = p.current.get();
        let target = p.target.get();
        let bound = current.abs().max(target.abs());
        let flip = current * target < Decimal::ZERO;
        let mut pos = current;
        let mut closed = !flip;
        for leg in p.legs() {
            let next = pos + signed(leg.side, leg.qty);
            // No intermediate position exceeds the larger of where we start and where we go.
            prop_assert!(next.abs() <= bound, "{pos} → {next} past {bound}");
            let reduces = next.abs() < pos.abs() && next * pos >= Decimal::ZERO;
            // Every reducing leg is reduce-only; a reduce-only leg only reduces.
            prop_assert_eq!(leg.reduce_only, reduces, "leg {:?} from {}", leg, pos);
            // A flip never opens before its close.
            if !leg.reduce_only {
                prop_assert!(closed, "opened before the close");
            }
            prop_assert!(leg.venue_qty * c.contract_size == leg.qty);
            if let Some(max) = c.instrument().max_market_qty {
                prop_assert!(leg.venue_qty <= max);
            }
            pos = next;
            if pos.is_zero() {
                closed = true;
            }
        }
        match p.skipped {
            None => prop_assert_eq!(pos, target),
            Some(_) if flip && p.legs().next().is_some() => prop_assert!(pos.is_zero()),
            Some(_) => prop_assert!(p.legs().next().is_none()),
        }
        // Ids are unique within the plan and legs are numbered in order.
        let ids: std::collections::BTreeSet<_> = p.legs().map(|l| &l.client_order_id).collect();
        prop_assert_eq!(ids.len(), p.legs().count());
        for (k, leg) in p.legs().enumerate() {
            prop_assert_eq!(usize::from(leg.leg), k);
        }
        Ok(())
    });
}

#[test]
fn planning_again_from_the_target_yields_nothing() {
    check(plan_case(), |c| {
        let first = c.plan();
        let reached = c.position(0, c.tgt_leverage, c.mode());
        let reached = Position {
            size: first.target,
            ..reached
        };
        let again = c.plan_from(&reached, first.target);
        prop_assert!(again.legs().next().is_none(), "{:?}", again);
        prop_assert!(again.steps.is_empty(), "{:?}", again);
        Ok(())
    });
}

#[test]
fn plan_steps_put_venue_settings_first() {
    check(plan_case(), |c| {
        let p = c.plan();
        let first_order = p
            .steps
            .iter()
            .position(|s| matches!(s, tradeengine_model::PlanStep::Order(_)));
        if let Some(k) = first_order {
            prop_assert!(
                p.steps[k..]
                    .iter()
                    .all(|s| matches!(s, tradeengine_model::PlanStep::Order(_)))
            );
        }
        Ok(())
    });
}

// ---------------------------------------------------------------- blend

fn src(k: usize) -> SourceId {
    SourceId::new(&format!("src{k}")).unwrap()
}

fn depth_sleeve(k: usize, depth: Decimal, leverage: Option<Decimal>) -> Sleeve {
    let mut s = Sleeve::flat(src(k), sym(), t0());
    s.state = SleeveState::Open;
    s.exposure = SleeveOrigin::Depth(depth);
    s.leverage = leverage;
    s
}

/// Up to 6 sources: (weight in thousandths, ≤ 0.166 so Σ ≤ 1, depth in [−2, 2], optional
/// leverage 1..50). Exact decimals, so linearity is checked with `==`.
fn sources() -> impl Strategy<Value = Vec<(i64, i64, Option<i64>)>> {
    prop::collection::vec(
        (0i64..=166, -20_000i64..=20_000, prop::option::of(1i64..=50)),
        1..=6,
    )
}

fn config_of(weights: &[Decimal]) -> SymbolConfig {
    SymbolConfig::new(
        sym(),
        Decimal::from(3),
        weights
            .iter()
            .enumerate()
            .map(|(k, w)| (src(k), *w))
            .collect(),
    )
}

#[test]
fn blending_is_linear_in_the_weights_and_ignores_source_order() {
    check((sources(), any::<prop::sample::Index>()), |(srcs, rot)| {
        let weights: Vec<Decimal> = srcs.iter().map(|(w, _, _)| dec(*w, 3)).collect();
        let sleeves: Vec<Sleeve> = srcs
            .iter()
            .enumerate()
            .map(|(k, (_, d, l))| depth_sleeve(k, dec(*d, 4), l.map(Decimal::from)))
            .collect();
        let policy = BlendPolicy::default();
        let b = blend(&config_of(&weights), &sleeves, &policy, t0()).unwrap();
        let expected: Decimal = weights
            .iter()
            .zip(&srcs)
            .map(|(w, (_, d, _))| *w * dec(*d, 4))
            .sum();
        prop_assert_eq!(b.depth, expected);

        // Halving every weight halves D exactly; splitting weights adds up.
        let half: Vec<Decimal> = weights.iter().map(|w| *w / dec(2, 0)).collect();
        let bh = blend(&config_of(&half), &sleeves, &policy, t0()).unwrap();
        prop_assert_eq!(bh.depth * dec(2, 0), b.depth);
        let b1 = blend(&config_of(&half), &sleeves, &policy, t0()).unwrap();
        let rest: Vec<Decimal> = weights.iter().zip(&half).map(|(w, h)| *w - *h).collect();
        let b2 = blend(&config_of(&rest), &sleeves, &policy, t0()).unwrap();
        prop_assert_eq!(b1.depth + b2.depth, b.depth);

        // Any rotation (and the reverse) of the sleeves gives the identical blend.
        let mut rotated = sleeves.clone();
        rotated.rotate_left(rot.index(sleeves.len()));
        prop_assert_eq!(
            &blend(&config_of(&weights), &rotated, &policy, t0()).unwrap(),
            &b
        );
        rotated.reverse();
        prop_assert_eq!(
            &blend(&config_of(&weights), &rotated, &policy, t0()).unwrap(),
            &b
        );
        Ok(())
    });
}

// ---------------------------------------------------------------- size and caps

// One scenario whose steps build on each other's state, so it stays one sequence.
#[test]
fn sized_targets_respect_rounding_notional_caps_and_the_gross_budget() {
    let strategy = (
        prop::collection::vec(
            (
                -10_000i64..=10_000,
                1i64..=50,
                1i64..=10_000_000,
                0u32..=8,
                prop::option::of(0i64..=100_000),
            ),
            1..=8,
        ),
        1i64..=1_000_000,
        prop::option::of(0i64..=50),
    );
    check(strategy, |(symbols, value, budget)| {
        let names: Vec<Symbol> = (0..symbols.len())
            .map(|k| Symbol::new(&format!("S{k}USDT")).unwrap())
            .collect();
        let blends: Vec<_> = symbols
            .iter()
            .zip(&names)
            .map(|((d, l, _, _, cap), name)| tradeengine_core::Blend {
                symbol: name.clone(),
                depth: dec(*d, 4),
                raw_depth: dec(*d, 4),
                base: Decimal::ZERO,
                raw_leverage: Decimal::from(*l),
                leverage: Decimal::from(*l),
                depth_capped: false,
                leverage_capped: false,
                leverage_cap: None,
                max_notional: cap.map(Decimal::from),
                contributions: Vec::new(),
            })
            .collect();
        let instruments: Vec<_> = symbols
            .iter()
            .zip(&names)
            .map(|((_, _, _, s, _), name)| Instrument::linear(name.clone(), dec(1, *s), dec(1, 2)))
            .collect();
        let inputs: Vec<_> = symbols
            .iter()
            .zip(blends.iter().zip(&instruments))
            .map(|((_, _, pm, _, _), (b, i))| SizeInput {
                blend: b,
                price: Price::new(dec(*pm, 2)).unwrap(),
                instrument: i,
            })
            .collect();
        let account = AccountSizing {
            value: Decimal::from(value),
            leverage_override: None,
        };
        let policy = BlendPolicy {
            gross_exposure_budget: budget.map(|b| dec(b, 1)),
            ..BlendPolicy::default()
        };
        let targets = account_targets(&inputs, &account, &policy).unwrap();
        let mut gross = Decimal::ZERO;
        for (t, input) in targets.iter().zip(&inputs) {
            let alone = size_target(input, &account, &BlendPolicy::default()).unwrap();
            let step = input.instrument.qty_step;
            // On the step grid, never farther than half a step from the formula when unlimited.
            prop_assert_eq!((t.venue_qty / step).fract(), Decimal::ZERO);
            if t.limited_by.is_none() {
                prop_assert!((t.qty.get() - t.raw_qty).abs() * dec(2, 0) <= step);
            }
            // Caps only ever shrink toward zero, never flip the side.
            prop_assert!(t.qty.get().abs() <= alone.qty.get().abs());
            prop_assert!(t.qty.get() * alone.qty.get() >= Decimal::ZERO);
            if let Some(cap) = input.blend.max_notional {
                prop_assert!(t.notional <= cap, "{} > cap {}", t.notional, cap);
            }
            gross += t.notional;
        }
        if let Some(b) = policy.gross_exposure_budget {
            prop_assert!(
                gross <= b * account.value,
                "gross {} over {}",
                gross,
                b * account.value
            );
        }
        Ok(())
    });
}

// ---------------------------------------------------------------- extremes never panic

fn extreme_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (1i64..=i64::MAX, 0u32..=28).prop_map(|(m, s)| dec(m, s)),
        (1i64..=1000, 0u32..=28).prop_map(|(m, s)| dec(m, s)),
        Just(Decimal::MAX),
        Just(dec(1, 28)),
        Just(dec(1, 8)),
    ]
}

// One scenario whose steps build on each other's state, so it stays one sequence.
#[test]
fn extreme_inputs_give_answers_or_errors_never_panics() {
    let strategy = (
        extreme_decimal(),
        extreme_decimal(),
        extreme_decimal(),
        extreme_decimal(),
        extreme_decimal(),
        (
            extreme_decimal(),
            any::<bool>(),
            extreme_decimal(),
            any::<bool>(),
        ),
    );
    check(
        strategy,
        |(value, price, step, cs, depth, (cur, cur_neg, tgt, tgt_neg))| {
            let instrument = Instrument {
                symbol: sym(),
                venue_symbol: "X".into(),
                qty_step: step,
                min_qty: step,
                max_market_qty: Some(step.checked_mul(dec(1000, 0)).unwrap_or(Decimal::MAX)),
                tick_size: dec(1, 8),
                min_notional: Decimal::ZERO,
                contract_size: cs,
                max_leverage: dec(125, 0),
            };
            let b = tradeengine_core::Blend {
                symbol: sym(),
                depth,
                raw_depth: depth,
                base: dec(1, 8),
                raw_leverage: dec(100, 0),
                leverage: dec(100, 0),
                depth_capped: false,
                leverage_capped: false,
                leverage_cap: None,
                max_notional: Some(value),
                contributions: Vec::new(),
            };
            let price = Price::new(price).unwrap();
            let account = AccountSizing {
                value,
                leverage_override: None,
            };
            let policy = BlendPolicy {
                gross_exposure_budget: Some(dec(3, 0)),
                ..BlendPolicy::default()
            };
            let input = SizeInput {
                blend: &b,
                price,
                instrument: &instrument,
            };
            let sized = account_targets(&[input], &account, &policy);
            if let Ok(t) = &sized {
                prop_assert!(t[0].notional <= value);
            }
            let current = Position {
                size: Quantity::new(if cur_neg { -cur } else { cur }),
                ..Position::flat(sym())
            };
            let target = Quantity::new(if tgt_neg { -tgt } else { tgt });
            let planned = plan(&PlanInput {
                plan_id: &PlanId::new("x").unwrap(),
                account: &AccountName::new("x").unwrap(),
                now: t0(),
                current: &current,
                target,
                unrounded_target: target.get(),
                target_leverage: dec(10, 0),
                margin_mode: MarginMode::Cross,
                instrument: &instrument,
                price,
                drift_band: dec(1, 3),
                min_notional: dec(5, 0),
                kind: OrderKind::Market,
            });
            match planned {
                Ok(p) => prop_assert!(p.legs().count() <= tradeengine_core::MAX_LEGS),
                Err(
                    CoreError::Overflow(_)
                    | CoreError::TooManyLegs { .. }
                    | CoreError::BadInput { .. },
                ) => {}
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
            Ok(())
        },
    );
}

#[test]
fn extreme_order_intents_are_refused_or_applied_never_panic() {
    let strategy = (
        extreme_decimal(),
        extreme_decimal(),
        extreme_decimal(),
        0usize..3,
        any::<bool>(),
        any::<bool>(),
    );
    check(strategy, |(size, price, frac, unit, buy, add)| {
        let rules = SleeveRules {
            allow_add: true,
            default_stop_loss: Some(dec(2, 2)),
            ..SleeveRules::default()
        };
        let size = match unit {
            0 => OrderSize::Base(size),
            1 => OrderSize::Quote(size),
            _ => OrderSize::AccountFraction(size),
        };
        let intent = OrderIntent {
            action: if buy {
                OrderAction::Buy
            } else {
                OrderAction::Sell
            },
            size: Some(size),
            confidence: Some(dec(9, 1)),
            stop_loss: None,
            take_profit: Some(ProtectiveLevel::Fraction(frac)),
            leverage: Some(frac),
            reference_price: Some(Price::new(price).unwrap()),
        };
        let signal = Signal {
            id: SignalId::new("s").unwrap(),
            source: src(0),
            symbol: sym(),
            intent: Intent::Order(intent),
            emitted_at: None,
            received_at: t0(),
            idempotency_key: "k".into(),
            raw: serde_json::Value::Null,
        };
        let mut sleeve = Sleeve::flat(src(0), sym(), t0());
        if add {
            sleeve = depth_sleeve(0, dec(5, 1), None);
            sleeve.exposure = SleeveOrigin::Base(dec(1, 8));
            sleeve.entry_price = Some(Price::new(dec(1, 28)).unwrap());
        }
        prop_assert!(apply_signal(&sleeve, &signal, None, &rules, t0()).is_ok());
        Ok(())
    });
}

#[test]
fn weights_map_is_reused_by_source_id_not_position() {
    // A guard on the test helpers above: config_of keys weights by src(k).
    let c = config_of(&[dec(1, 1), dec(2, 1)]);
    let expected: BTreeMap<SourceId, Decimal> = [(src(0), dec(1, 1)), (src(1), dec(2, 1))].into();
    assert_eq!(c.weights, expected);
}
