//! Pre-trade leg checks (see the [module docs](super) for the rules and their order).
//!
//! An [`ExposureBook`] is the account as the engine read it at the start of a cycle (equity,
//! every position with a price). [`admit_leg`] checks one leg against it and, when the leg is
//! admitted, books the leg's effect, so the next leg (of this symbol or another) is checked
//! against the account as it will be. A leg that is admitted but then fails at the venue stays
//! booked until the next cycle rebuilds the book: the error is on the cautious side.
//!
//! Arithmetic that overflows refuses the leg (naming the rule being computed): a limit that
//! cannot be evaluated is not a limit that passed.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tradeengine_model::{Symbol, Timestamp};

use super::{OrderRateWindow, PortfolioState, RiskRefusal, RiskRule};

/// The limits one leg is checked against, already resolved for its account and symbol
/// (tightest of the engine-wide, account and symbol values). `None` = no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PreTradeLimits {
    /// Highest leverage the leg may run at on the venue.
    pub max_leverage: Option<Decimal>,
    /// Largest `|position| × price` in this symbol after the leg, quote units.
    pub max_position_notional: Option<Decimal>,
    /// Largest `Σ |position| × price` over the account after the leg, as a multiple of equity.
    pub max_gross_exposure: Option<Decimal>,
    /// Largest `|qty| × price` of one leg, quote units.
    pub max_order_notional: Option<Decimal>,
    /// Largest `|price − mark| / mark` (0.05 = 5 %).
    pub price_band: Option<Decimal>,
    /// Most non-flat positions the account may hold at once.
    pub max_open_positions: Option<u32>,
    /// Most orders the account may send in any 60 s.
    pub max_orders_per_minute: Option<u32>,
}

/// One order leg as risk sees it.
#[derive(Debug, Clone, Copy)]
pub struct LegIntent<'a> {
    pub symbol: &'a Symbol,
    /// Signed change to the position, base units (+ buys, − sells).
    pub delta: Decimal,
    /// Leverage the symbol runs at on the venue when the leg fills.
    pub leverage: Decimal,
    /// The price the leg is expected to fill at: its limit price, or the price it was sized at.
    pub price: Decimal,
    /// The venue's mark price just before sending; `None` when not read (then a configured band
    /// refuses the leg: an unverifiable price is not a verified one).
    pub mark: Option<Decimal>,
    /// A limit order (its price is the operator's or the source's, not the market's).
    pub is_limit: bool,
}

/// True when a leg of `delta` moves a position of `before` toward zero without crossing it.
/// A zero leg is not reducing (it does nothing, and nothing needs to pass).
pub fn is_reducing(before: Decimal, delta: Decimal) -> bool {
    !delta.is_zero()
        && !before.is_zero()
        && before.is_sign_negative() != delta.is_sign_negative()
        && delta.abs() <= before.abs()
}

/// The target an account in REDUCING may move toward: `target` when reaching it only reduces
/// the position, else the nearest such quantity (hold an increase at `current`, close a flip at
/// zero, stay flat when flat).
pub fn reducing_target(current: Decimal, target: Decimal) -> Decimal {
    if current.is_zero()
        || target.is_zero()
        || current.is_sign_negative() != target.is_sign_negative()
    {
        Decimal::ZERO
    } else if target.abs() <= current.abs() {
        target
    } else {
        current
    }
}

/// One symbol in the book: signed size and the price its notional is counted at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    qty: Decimal,
    price: Decimal,
}

/// The account as risk sees it during one cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureBook {
    equity: Decimal,
    held: BTreeMap<Symbol, Held>,
}

impl ExposureBook {
    /// `positions`: signed size (base units) and a price per symbol (the cycle's mark, or the
    /// entry price for a symbol the engine does not price). Flat entries are ignored.
    pub fn new(
        equity: Decimal,
        positions: impl IntoIterator<Item = (Symbol, Decimal, Decimal)>,
    ) -> Self {
        let held = positions
            .into_iter()
            .filter(|(_, qty, _)| !qty.is_zero())
            .map(|(s, qty, price)| {
                (
                    s,
                    Held {
                        qty,
                        price: price.abs(),
                    },
                )
            })
            .collect();
        Self { equity, held }
    }

    pub fn equity(&self) -> Decimal {
        self.equity
    }

    /// Signed position in `symbol`, base units.
    pub fn position(&self, symbol: &Symbol) -> Decimal {
        self.held.get(symbol).map(|h| h.qty).unwrap_or_default()
    }

    /// Non-flat positions.
    pub fn open_positions(&self) -> usize {
        self.held.len()
    }

    /// `Σ |qty| × price`, quote units; `None` on overflow.
    pub fn gross_notional(&self) -> Option<Decimal> {
        self.held.values().try_fold(Decimal::ZERO, |acc, h| {
            acc.checked_add(h.qty.abs().checked_mul(h.price)?)
        })
    }

    /// Checks `leg` without booking it.
    pub fn check(
        &self,
        leg: &LegIntent<'_>,
        limits: &PreTradeLimits,
        state: PortfolioState,
    ) -> Result<(), RiskRefusal> {
        let before = self.position(leg.symbol);
        if is_reducing(before, leg.delta) {
            if leg.is_limit {
                check_band(leg, limits)?;
            }
            return Ok(());
        }
        check_state(state)?;
        check_order(leg, limits)?;
        check_band(leg, limits)?;
        let after = before.checked_add(leg.delta);
        let after_notional = after.and_then(|a| a.abs().checked_mul(leg.price.abs()));
        check_position_notional(leg, limits, after_notional)?;
        self.check_gross(leg, limits, after_notional)?;
        self.check_open_positions(leg, limits, before)
    }

    /// The gross exposure after the order within `max_gross_exposure` × equity (the leg's symbol
    /// counted at its notional after the order).
    fn check_gross(
        &self,
        leg: &LegIntent<'_>,
        limits: &PreTradeLimits,
        after_notional: Option<Decimal>,
    ) -> Result<(), RiskRefusal> {
        if let Some(max) = limits.max_gross_exposure {
            let current = self.held.get(leg.symbol).map(|h| h.qty.abs() * h.price);
            let gross = self
                .gross_notional()
                .and_then(|g| g.checked_sub(current.unwrap_or_default()))
                .and_then(|g| g.checked_add(after_notional?));
            let allowed = max.checked_mul(self.equity);
            match (gross, allowed) {
                (Some(g), Some(a)) if self.equity > Decimal::ZERO && g <= a => {}
                (g, _) => {
                    return Err(RiskRefusal::new(
                        RiskRule::MaxGrossExposure,
                        format!(
                            "gross exposure after the order {} > {max} × equity {}",
                            show(g),
                            self.equity
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A leg that opens a symbol (flat `before`) within `max_open_positions`.
    fn check_open_positions(
        &self,
        leg: &LegIntent<'_>,
        limits: &PreTradeLimits,
        before: Decimal,
    ) -> Result<(), RiskRefusal> {
        if let Some(max) = limits.max_open_positions
            && before.is_zero()
            && self.held.len() >= max as usize
        {
            return Err(RiskRefusal::new(
                RiskRule::MaxOpenPositions,
                format!(
                    "opening {} would make {} open positions > limit {max}",
                    leg.symbol,
                    self.held.len() + 1
                ),
            ));
        }
        Ok(())
    }

    /// Books an admitted leg: the position moves by `delta` and is counted at the leg's price.
    pub fn apply(&mut self, leg: &LegIntent<'_>) {
        let before = self.position(leg.symbol);
        let after = before.checked_add(leg.delta).unwrap_or(before);
        if after.is_zero() {
            self.held.remove(leg.symbol);
        } else {
            self.held.insert(
                leg.symbol.clone(),
                Held {
                    qty: after,
                    price: leg.price.abs(),
                },
            );
        }
    }
}

/// `|price − mark| / mark ≤ band`.
/// Only an ACTIVE account takes a leg that adds risk.
fn check_state(state: PortfolioState) -> Result<(), RiskRefusal> {
    match state {
        PortfolioState::Active => Ok(()),
        PortfolioState::Reducing => Err(RiskRefusal::new(
            RiskRule::PortfolioReducing,
            "the account is REDUCING after a loss limit: only risk-reducing orders go out",
        )),
        PortfolioState::Halted => Err(RiskRefusal::new(
            RiskRule::PortfolioHalted,
            "the account is HALTED after a loss limit: nothing opens until an operator reset",
        )),
    }
}

/// The leg's leverage and its order notional within their limits.
fn check_order(leg: &LegIntent<'_>, limits: &PreTradeLimits) -> Result<(), RiskRefusal> {
    if let Some(max) = limits.max_leverage
        && leg.leverage > max
    {
        return Err(RiskRefusal::new(
            RiskRule::MaxLeverage,
            format!(
                "{} would run at leverage {} > limit {max}",
                leg.symbol, leg.leverage
            ),
        ));
    }
    if let Some(max) = limits.max_order_notional {
        let notional = leg.delta.abs().checked_mul(leg.price.abs());
        match notional {
            Some(n) if n <= max => {}
            n => {
                return Err(RiskRefusal::new(
                    RiskRule::MaxOrderNotional,
                    format!("order notional {} > limit {max}", show(n)),
                ));
            }
        }
    }
    Ok(())
}

/// The symbol's position notional after the order within `max_position_notional`.
fn check_position_notional(
    leg: &LegIntent<'_>,
    limits: &PreTradeLimits,
    after_notional: Option<Decimal>,
) -> Result<(), RiskRefusal> {
    if let Some(max) = limits.max_position_notional {
        match after_notional {
            Some(n) if n <= max => {}
            n => {
                return Err(RiskRefusal::new(
                    RiskRule::MaxPositionNotional,
                    format!(
                        "{} position notional after the order {} > limit {max}",
                        leg.symbol,
                        show(n)
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn check_band(leg: &LegIntent<'_>, limits: &PreTradeLimits) -> Result<(), RiskRefusal> {
    let Some(band) = limits.price_band else {
        return Ok(());
    };
    let Some(mark) = leg.mark.filter(|m| *m > Decimal::ZERO) else {
        return Err(RiskRefusal::new(
            RiskRule::PriceBand,
            format!("no mark price for {} to check the band against", leg.symbol),
        ));
    };
    let off = (leg.price - mark).abs().checked_div(mark);
    match off {
        Some(off) if off <= band => Ok(()),
        off => Err(RiskRefusal::new(
            RiskRule::PriceBand,
            format!(
                "price {} is {} away from mark {mark} (band {band})",
                leg.price,
                off.map(|o| format!("{:.2} %", o * Decimal::ONE_HUNDRED))
                    .unwrap_or_else(|| "too far".into())
            ),
        )),
    }
}

fn show(n: Option<Decimal>) -> String {
    n.map(|n| n.normalize().to_string())
        .unwrap_or_else(|| "(overflow)".into())
}

/// Checks one leg against the book, the portfolio state and the order rate, and books it when
/// admitted. The rate is checked last, so a leg refused by another rule does not use up a slot.
pub fn admit_leg(
    book: &mut ExposureBook,
    window: &mut OrderRateWindow,
    leg: &LegIntent<'_>,
    limits: &PreTradeLimits,
    state: PortfolioState,
    now: Timestamp,
) -> Result<(), RiskRefusal> {
    book.check(leg, limits, state)?;
    let reducing = is_reducing(book.position(leg.symbol), leg.delta);
    window.admit(limits.max_orders_per_minute, reducing, now)?;
    book.apply(leg);
    Ok(())
}
