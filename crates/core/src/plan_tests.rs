//! Unit tests of the planner's rules.

use chrono::TimeZone;
use rust_decimal_macros::dec;
use tradeengine_model::Symbol;

use super::*;

fn t0() -> Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn linear() -> Instrument {
    Instrument::linear(btc(), dec!(0.001), dec!(0.1))
}

fn pos(size: Decimal, leverage: Decimal, mode: MarginMode) -> Position {
    Position {
        symbol: btc(),
        size: Quantity::new(size),
        entry_price: None,
        leverage,
        margin_mode: mode,
    }
}

struct Case {
    plan_id: PlanId,
    account: AccountName,
    current: Position,
    instrument: Instrument,
    target: Decimal,
    /// The sizer's target before rounding; `None`: the target itself.
    unrounded: Option<Decimal>,
    leverage: Decimal,
    drift_band: Decimal,
    min_notional: Decimal,
}

impl Case {
    fn new(current: Decimal, target: Decimal) -> Self {
        Self {
            plan_id: PlanId::new("p-1").unwrap(),
            account: AccountName::new("bybit-main").unwrap(),
            current: pos(current, dec!(10), MarginMode::Cross),
            instrument: linear(),
            target,
            unrounded: None,
            leverage: dec!(10),
            drift_band: dec!(0.001),
            min_notional: dec!(5),
        }
    }

    fn run(&self) -> Result<Plan, CoreError> {
        plan(&PlanInput {
            plan_id: &self.plan_id,
            account: &self.account,
            now: t0(),
            current: &self.current,
            target: Quantity::new(self.target),
            unrounded_target: self.unrounded.unwrap_or(self.target),
            target_leverage: self.leverage,
            margin_mode: MarginMode::Cross,
            instrument: &self.instrument,
            price: Price::new(dec!(60000)).unwrap(),
            drift_band: self.drift_band,
            min_notional: self.min_notional,
            kind: OrderKind::Market,
        })
    }

    fn plan(&self) -> Plan {
        self.run().unwrap()
    }
}

fn legs(p: &Plan) -> Vec<(Side, Decimal, bool)> {
    p.legs().map(|l| (l.side, l.qty, l.reduce_only)).collect()
}

#[test]
fn open_from_flat_sets_leverage_and_margin_mode_first() {
    let mut c = Case::new(dec!(0), dec!(0.167));
    c.current = pos(dec!(0), dec!(3), MarginMode::Isolated);
    let p = c.plan();
    assert_eq!(
        p.steps[0],
        PlanStep::SetMarginMode {
            mode: MarginMode::Cross
        }
    );
    assert_eq!(p.steps[1], PlanStep::SetLeverage { leverage: dec!(10) });
    assert_eq!(legs(&p), [(Side::Buy, dec!(0.167), false)]);
    assert_eq!(p.skipped, None);
    assert_eq!(p.target, Quantity::new(dec!(0.167)));
    let leg = p.legs().next().unwrap();
    assert_eq!(leg.leg, 0);
    assert_eq!(leg.venue_qty, dec!(0.167));
    assert_eq!(leg.kind, OrderKind::Market);
}

#[test]
fn flip_closes_reduce_only_then_opens() {
    let p = Case::new(dec!(0.2), dec!(-0.1)).plan();
    assert_eq!(
        legs(&p),
        [
            (Side::Sell, dec!(0.2), true),
            (Side::Sell, dec!(0.1), false)
        ]
    );
    let ids: Vec<_> = p.legs().map(|l| l.client_order_id.clone()).collect();
    assert_ne!(ids[0], ids[1]);
    assert_eq!(p.legs().map(|l| l.leg).collect::<Vec<_>>(), [0, 1]);
}

#[test]
fn flip_with_a_tiny_open_still_closes() {
    let p = Case::new(dec!(0.2), dec!(-0.00005)).plan();
    // The target rounds to zero: a plain close.
    assert_eq!(legs(&p), [(Side::Sell, dec!(0.2), true)]);
    assert_eq!(p.skipped, None);
    // 0.001 BTC = 60 USDT, under a 100 USDT minimum: close only, and say why the open is missing.
    let mut c = Case::new(dec!(0.2), dec!(-0.001));
    c.min_notional = dec!(100);
    let p = c.plan();
    assert_eq!(legs(&p), [(Side::Sell, dec!(0.2), true)]);
    assert_eq!(p.skipped, Some(PlanSkip::BelowMinNotional));
}

#[test]
fn close_to_zero_always_goes_even_as_dust() {
    let mut c = Case::new(dec!(-0.001), dec!(0));
    c.min_notional = dec!(1000);
    c.instrument.min_qty = dec!(0.01);
    let p = c.plan();
    assert_eq!(legs(&p), [(Side::Buy, dec!(0.001), true)]);
    // No venue settings when going flat.
    assert_eq!(p.steps.len(), 1);
}

#[test]
fn reductions_are_reduce_only_and_increases_are_not() {
    assert_eq!(
        legs(&Case::new(dec!(0.5), dec!(0.2)).plan()),
        [(Side::Sell, dec!(0.3), true)]
    );
    assert_eq!(
        legs(&Case::new(dec!(-0.5), dec!(-0.2)).plan()),
        [(Side::Buy, dec!(0.3), true)]
    );
    assert_eq!(
        legs(&Case::new(dec!(0.2), dec!(0.5)).plan()),
        [(Side::Buy, dec!(0.3), false)]
    );
}

#[test]
fn drift_band_and_minimums_skip_small_adjustments() {
    let mut c = Case::new(dec!(0.995), dec!(1));
    c.drift_band = dec!(0.01);
    c.min_notional = dec!(0);
    let p = c.plan();
    assert!(p.legs().next().is_none());
    assert_eq!(p.skipped, Some(PlanSkip::WithinDriftBand));
    // At exactly the band the order goes.
    c.current = pos(dec!(0.99), dec!(10), MarginMode::Cross);
    assert_eq!(legs(&c.plan()), [(Side::Buy, dec!(0.01), false)]);

    let mut c = Case::new(dec!(0.1), dec!(0.101));
    c.min_notional = dec!(100);
    assert_eq!(c.plan().skipped, Some(PlanSkip::BelowMinNotional));
    c.min_notional = dec!(0);
    c.instrument.min_qty = dec!(0.002);
    assert_eq!(c.plan().skipped, Some(PlanSkip::BelowMinQty));
}

#[test]
fn a_target_on_a_rounding_midpoint_does_not_trade_one_step_back_and_forth() {
    // The demo's case: −0.0995 rounds (half-even) to −0.100, −0.0994 to −0.099, and a drift
    // band of 1 % of 0.1 is one step. Deciding on the rounded target traded 0.001 each cycle.
    let mut c = Case::new(dec!(-0.099), dec!(-0.100));
    c.unrounded = Some(dec!(-0.0995));
    c.drift_band = dec!(0.01);
    c.min_notional = dec!(0);
    let p = c.plan();
    assert!(p.legs().next().is_none(), "{p:?}");
    assert_eq!(p.skipped, Some(PlanSkip::WithinDriftBand));
    // The rounded target is still the plan's target.
    assert_eq!(p.target, Quantity::new(dec!(-0.100)));
    let mut c = Case::new(dec!(-0.100), dec!(-0.099));
    c.unrounded = Some(dec!(-0.0994));
    c.drift_band = dec!(0.01);
    c.min_notional = dec!(0);
    assert_eq!(c.plan().skipped, Some(PlanSkip::WithinDriftBand));
    // A whole step away, it trades to the rounded target, reduce-only as any reduction.
    c.unrounded = Some(dec!(-0.0989));
    assert_eq!(legs(&c.plan()), [(Side::Buy, dec!(0.001), true)]);
}

#[test]
fn from_flat_a_target_under_one_step_away_waits() {
    // 0.0007 rounds to 0.001 but is less than a step from flat.
    let mut c = Case::new(dec!(0), dec!(0.001));
    c.unrounded = Some(dec!(0.0007));
    c.min_notional = dec!(0);
    assert_eq!(c.plan().skipped, Some(PlanSkip::WithinDriftBand));
    c.unrounded = Some(dec!(0.0012));
    assert_eq!(legs(&c.plan()), [(Side::Buy, dec!(0.001), false)]);
    // The drift band reads the unrounded target too.
    let mut c = Case::new(dec!(1), dec!(1.010));
    c.unrounded = Some(dec!(1.0099));
    c.drift_band = dec!(0.01);
    c.min_notional = dec!(0);
    assert_eq!(c.plan().skipped, Some(PlanSkip::WithinDriftBand));
}

#[test]
fn an_unrounded_target_that_does_not_round_to_the_target_is_ignored() {
    // A cap cut the target to 0.100 after sizing said 0.2: the position one step past the cap
    // comes down, as it did before the hysteresis.
    let mut c = Case::new(dec!(0.101), dec!(0.100));
    c.unrounded = Some(dec!(0.2));
    c.min_notional = dec!(0);
    assert_eq!(legs(&c.plan()), [(Side::Sell, dec!(0.001), true)]);
    // Rules 2 and 3 do not look at it: a close to zero always goes.
    let mut c = Case::new(dec!(0.001), dec!(0));
    c.unrounded = Some(dec!(0.0004));
    assert_eq!(legs(&c.plan()), [(Side::Sell, dec!(0.001), true)]);
}

#[test]
fn leverage_change_alone_is_a_plan_without_orders() {
    let mut c = Case::new(dec!(0.1), dec!(0.1));
    c.leverage = dec!(5);
    let p = c.plan();
    assert_eq!(p.steps, [PlanStep::SetLeverage { leverage: dec!(5) }]);
    assert_eq!(p.skipped, Some(PlanSkip::AtTarget));
}

#[test]
fn at_target_plans_nothing_and_replanning_is_idempotent() {
    let p = Case::new(dec!(0), dec!(0.3)).plan();
    let again = Case::new(p.target.get(), p.target.get()).plan();
    assert!(again.is_empty());
    assert_eq!(again.skipped, Some(PlanSkip::AtTarget));
}

#[test]
fn large_orders_split_evenly_at_the_market_maximum() {
    let mut c = Case::new(dec!(0), dec!(25));
    c.instrument.qty_step = dec!(1);
    c.instrument.min_qty = dec!(1);
    c.instrument.max_market_qty = Some(dec!(10));
    let p = c.plan();
    assert_eq!(
        legs(&p),
        [
            (Side::Buy, dec!(9), false),
            (Side::Buy, dec!(8), false),
            (Side::Buy, dec!(8), false)
        ]
    );
    // A flip splits both its close and its open, numbering legs across the plan.
    let mut c = Case::new(dec!(-12), dec!(21));
    c.instrument.qty_step = dec!(1);
    c.instrument.max_market_qty = Some(dec!(10));
    let p = c.plan();
    assert_eq!(
        legs(&p),
        [
            (Side::Buy, dec!(6), true),
            (Side::Buy, dec!(6), true),
            (Side::Buy, dec!(7), false),
            (Side::Buy, dec!(7), false),
            (Side::Buy, dec!(7), false)
        ]
    );
    assert_eq!(p.legs().map(|l| l.leg).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
}

#[test]
fn kucoin_legs_carry_lots_and_base() {
    let mut c = Case::new(dec!(0), dec!(0.0125));
    c.instrument = Instrument {
        venue_symbol: "XBTUSDTM".into(),
        qty_step: dec!(1),
        min_qty: dec!(1),
        max_market_qty: Some(dec!(1000000)),
        contract_size: dec!(0.001),
        max_leverage: dec!(125),
        ..linear()
    };
    c.min_notional = dec!(0);
    let p = c.plan();
    assert_eq!(p.target, Quantity::new(dec!(0.012)));
    let leg = p.legs().next().unwrap();
    assert_eq!(leg.venue_qty, dec!(12));
    assert_eq!(leg.qty, dec!(0.012));
}

#[test]
fn an_off_step_position_closes_exactly() {
    let p = Case::new(dec!(0.0015), dec!(0)).plan();
    assert_eq!(legs(&p), [(Side::Sell, dec!(0.0015), true)]);
}

#[test]
fn plans_are_deterministic() {
    let c = Case::new(dec!(0.3), dec!(-0.4));
    assert_eq!(c.plan(), c.plan());
}

#[test]
fn bad_inputs_are_errors() {
    let mut c = Case::new(dec!(0), dec!(1));
    c.drift_band = dec!(1);
    assert!(matches!(
        c.run(),
        Err(CoreError::BadInput {
            field: "drift_band",
            ..
        })
    ));
    let mut c = Case::new(dec!(0), dec!(1));
    c.current.symbol = Symbol::new("ETHUSDT").unwrap();
    assert!(matches!(c.run(), Err(CoreError::Mismatch { .. })));
    let mut c = Case::new(dec!(0), dec!(1000));
    c.instrument.max_market_qty = Some(dec!(0.001));
    assert!(matches!(c.run(), Err(CoreError::TooManyLegs { .. })));
    let mut c = Case::new(dec!(0), dec!(1));
    c.instrument.qty_step = dec!(0);
    assert!(matches!(c.run(), Err(CoreError::BadInstrument { .. })));
}
