//! Instrument-grid rules, in one place: converting between base and venue units, snapping a
//! number to a step or a tick, and the checks an order must pass before it leaves the process.
//! Sizing (`tradeengine_core`), every exchange adapter and the paper venue use these, so a
//! quantity is converted, rounded and refused the same way, with the same words, everywhere.
//!
//! ## Units
//! `base = venue × contract_size` ([`crate::Instrument`]). Conversions are exact (no rounding);
//! rounding to the step is a separate, named step.
//!
//! ## Rounding: who decides the direction
//! [`round_to_step`]`(x, step, s) = round_s(x / step) × step`, with the direction `s` always
//! named by the caller, because it depends on whom the rounding must not favour:
//! - sizing a target: to the nearest step, ties to the even step
//!   (`RoundingStrategy::MidpointNearestEven`; 0.0125 → 0.012 at step 0.001);
//! - a cap, a budget, or a base quantity turned into venue units for an order: toward zero
//!   (`RoundingStrategy::ToZero`), so a limit or a plan is never exceeded by rounding;
//! - a paper fill price: against the trader (buys up, sells down);
//! - a feed price: to the nearest tick.
//!
//! [`round_to_step`] keeps the scale `rust_decimal` gives the arithmetic (`7.25` at step `0.5`
//! is `7.0`, not `7`); callers that print or compare texts normalise.
//!
//! ## Order checks
//! [`check_grid`] (every order, on every venue): quantity positive and a whole number of steps
//! in venue units, limit price a whole number of ticks. [`check_size_limits`] (the venue's
//! minimum and market maximum; both together: [`check_grid_and_limits`]) and
//! [`check_min_notional`] are what the paper venue enforces as a real venue would; the exchange
//! adapters leave those to the venue, which refuses with its own code (the engine sizes and
//! splits orders so they pass). Each failure is a [`GridViolation`] with a stable
//! [`GridViolation::code`] and one message.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::{Instrument, OrderKind, OrderRequest, Price, Symbol};

/// `Some(k)` when `step` is exactly 10^-k: rounding to it is then a rescale, and converting by
/// it moves the decimal point, with no division.
#[inline]
pub fn decimal_places(step: Decimal) -> Option<u32> {
    (step.mantissa() == 1).then(|| step.scale())
}

/// True when `d` is exactly 1 (as a contract size usually is), by its fields: no comparison.
#[inline(always)]
pub fn is_one(d: Decimal) -> bool {
    d.mantissa() == 1 && d.scale() == 0
}

/// `value` snapped to a whole number of `step`s in direction `strategy` (module docs). `None`
/// when `step` is not positive or on overflow.
pub fn round_to_step(value: Decimal, step: Decimal, strategy: RoundingStrategy) -> Option<Decimal> {
    if step <= Decimal::ZERO {
        return None;
    }
    if let Some(places) = decimal_places(step) {
        return Some(value.round_dp_with_strategy(places, strategy));
    }
    let units = value.checked_div(step)?.round_dp_with_strategy(0, strategy);
    units.checked_mul(step)
}

/// True when `value` is a whole number of `step`s (and `step` is positive).
pub fn is_multiple_of(value: Decimal, step: Decimal) -> bool {
    step > Decimal::ZERO && value.checked_rem(step).is_some_and(|r| r.is_zero())
}

/// Base units → venue units (`base / contract_size`), exact. A contract size of 1 is free, and
/// one of 10^-k (KuCoin's 0.001 BTC lots) only moves the decimal point. `None` on overflow or a
/// zero contract size.
#[inline(always)]
pub fn to_venue(base: Decimal, contract_size: Decimal) -> Option<Decimal> {
    if is_one(contract_size) {
        return Some(base);
    }
    if let Some(k) = decimal_places(contract_size)
        && base.scale() >= k
        && let Ok(v) = Decimal::try_from_i128_with_scale(base.mantissa(), base.scale() - k)
    {
        return Some(v);
    }
    base.checked_div(contract_size)
}

/// Venue units → base units (`venue × contract_size`), exact, with the same shortcuts.
#[inline(always)]
pub fn to_base(venue: Decimal, contract_size: Decimal) -> Option<Decimal> {
    if is_one(contract_size) {
        return Some(venue);
    }
    if let Some(k) = decimal_places(contract_size)
        && let Ok(v) = Decimal::try_from_i128_with_scale(venue.mantissa(), venue.scale() + k)
    {
        return Some(v);
    }
    venue.checked_mul(contract_size)
}

/// A base quantity as an order size in venue units: converted, then rounded **toward zero** to
/// the step, so an order never exceeds what was planned. `None` when it cannot be expressed.
pub fn order_venue_qty(i: &Instrument, base: Decimal) -> Option<Decimal> {
    to_venue(base, i.contract_size)
        .and_then(|v| round_to_step(v, i.qty_step, RoundingStrategy::ToZero))
        .map(|v| v.normalize())
}

/// Why an order is off the instrument's grid or outside its limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridViolation {
    #[error("{symbol}: quantity {qty} must be greater than zero")]
    NotPositive { symbol: Symbol, qty: Decimal },
    /// `venue_qty` is the quantity in venue units (equal to `qty` where the contract size is 1).
    #[error("{symbol}: quantity {qty}{} is not a multiple of the step {step}", venue_note(.qty, .venue_qty))]
    OffStep {
        symbol: Symbol,
        qty: Decimal,
        venue_qty: Decimal,
        step: Decimal,
    },
    #[error("{symbol}: quantity {qty} is below the minimum {min}")]
    BelowMin {
        symbol: Symbol,
        qty: Decimal,
        min: Decimal,
    },
    #[error("{symbol}: market quantity {qty} is above the maximum {max}")]
    AboveMarketMax {
        symbol: Symbol,
        qty: Decimal,
        max: Decimal,
    },
    #[error("{symbol}: limit price {price} is not a multiple of the tick {tick}")]
    OffTick {
        symbol: Symbol,
        price: Price,
        tick: Decimal,
    },
    #[error(
        "{symbol}: order value {notional} USDT ({qty} at {price}) is below the minimum {min} USDT"
    )]
    BelowMinNotional {
        symbol: Symbol,
        notional: Decimal,
        qty: Decimal,
        price: Price,
        min: Decimal,
    },
    /// The order's numbers overflow the arithmetic: never the caller's fault.
    #[error("{symbol}: {what} overflows")]
    Overflow { symbol: Symbol, what: &'static str },
}

fn venue_note(qty: &Decimal, venue_qty: &Decimal) -> String {
    if qty == venue_qty {
        String::new()
    } else {
        format!(" ({venue_qty} in venue units)")
    }
}

impl GridViolation {
    /// The stable code venues' errors carry (`bad_qty`, `bad_price`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotPositive { .. } | Self::OffStep { .. } => "bad_qty",
            Self::BelowMin { .. } => "qty_below_min",
            Self::AboveMarketMax { .. } => "qty_above_max",
            Self::OffTick { .. } => "bad_price",
            Self::BelowMinNotional { .. } => "below_min_notional",
            Self::Overflow { .. } => "overflow",
        }
    }
}

/// Every order, every venue: the quantity (base units) is positive and, in venue units, a whole
/// number of steps; a limit price is a whole number of ticks. A quantity the venue would refuse
/// or would have to round is refused here instead.
pub fn check_grid(i: &Instrument, order: &OrderRequest) -> Result<(), GridViolation> {
    check_qty_step(i, order)?;
    check_tick(i, order)
}

/// [`check_grid`] and [`check_size_limits`], in the order a venue reports them: quantity,
/// limits, then price (the paper venue's checks).
pub fn check_grid_and_limits(i: &Instrument, order: &OrderRequest) -> Result<(), GridViolation> {
    check_qty_step(i, order)?;
    check_size_limits(i, order)?;
    check_tick(i, order)
}

fn check_qty_step(i: &Instrument, order: &OrderRequest) -> Result<(), GridViolation> {
    let symbol = &order.symbol;
    let qty = order.qty;
    if qty <= Decimal::ZERO {
        return Err(GridViolation::NotPositive {
            symbol: symbol.clone(),
            qty,
        });
    }
    let venue_qty = to_venue(qty, i.contract_size).ok_or_else(|| GridViolation::Overflow {
        symbol: symbol.clone(),
        what: "quantity in venue units",
    })?;
    if !is_multiple_of(venue_qty, i.qty_step) {
        return Err(GridViolation::OffStep {
            symbol: symbol.clone(),
            qty,
            venue_qty,
            step: i.qty_step,
        });
    }
    Ok(())
}

fn check_tick(i: &Instrument, order: &OrderRequest) -> Result<(), GridViolation> {
    if let OrderKind::Limit { price } = order.kind
        && !is_multiple_of(price.get(), i.tick_size)
    {
        return Err(GridViolation::OffTick {
            symbol: order.symbol.clone(),
            price,
            tick: i.tick_size,
        });
    }
    Ok(())
}

/// At least the venue's minimum and, for market orders, at most its market maximum (both in
/// venue units).
pub fn check_size_limits(i: &Instrument, order: &OrderRequest) -> Result<(), GridViolation> {
    let symbol = &order.symbol;
    let qty = to_venue(order.qty, i.contract_size).ok_or_else(|| GridViolation::Overflow {
        symbol: symbol.clone(),
        what: "quantity in venue units",
    })?;
    if qty < i.min_qty {
        return Err(GridViolation::BelowMin {
            symbol: symbol.clone(),
            qty,
            min: i.min_qty,
        });
    }
    if let (OrderKind::Market, Some(max)) = (order.kind, i.max_market_qty)
        && qty > max
    {
        return Err(GridViolation::AboveMarketMax {
            symbol: symbol.clone(),
            qty,
            max,
        });
    }
    Ok(())
}

/// Orders other than reduce-only ones must be worth at least the instrument's minimum notional
/// at `price` (the mark for market orders, the limit price for limit orders). Reduce-only
/// orders are exempt, as on Bybit and Binance, so a small position can always be closed.
pub fn check_min_notional(
    i: &Instrument,
    order: &OrderRequest,
    price: Price,
) -> Result<(), GridViolation> {
    if order.reduce_only {
        return Ok(());
    }
    let notional = order
        .qty
        .checked_mul(price.get())
        .ok_or_else(|| GridViolation::Overflow {
            symbol: order.symbol.clone(),
            what: "notional",
        })?;
    if notional < i.min_notional {
        return Err(GridViolation::BelowMinNotional {
            symbol: order.symbol.clone(),
            notional: notional.normalize(),
            qty: order.qty,
            price,
            min: i.min_notional,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "grid_tests.rs"]
mod tests;
