//! How one signal moves one sleeve. The state machine is drawn in the module docs of
//! [`crate::sleeve`].

use chrono::DateTime;
use rust_decimal::Decimal;
use serde::Serialize;
use tradeengine_model::{
    Intent, OrderAction, OrderIntent, OrderSize, Price, ProtectiveLevel, Signal, Sleeve,
    SleeveOrigin, SleeveState, TargetIntent, Timestamp,
};

use super::rules::DefaultLevel;
use super::{Refusal, SleeveRules};
use crate::CoreError;

/// Largest |depth| or |account fraction| a sleeve accepts: 1000 × account value. Anything larger
/// is a broken sender, and would only overflow later in sizing.
const MAX_DEPTH: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);
/// Largest |base quantity| a sleeve accepts (1e18 base units), for the same reason.
const MAX_BASE: Decimal = Decimal::from_parts(2_808_348_672, 232_830_643, 0, false, 0);

/// What a signal did to the sleeve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum SleeveChange {
    /// A target intent set the exposure outright.
    TargetSet {
        from: SleeveOrigin,
        to: SleeveOrigin,
    },
    Opened,
    Added,
    Reduced,
    /// The sleeve closed. `excess` is the part of an opposite order beyond the sleeve's size,
    /// dropped because an order never flips a sleeve.
    Closed {
        excess: Option<Decimal>,
    },
    /// `Hold`, or `Close` on a sleeve that is not open: only `updated_at` moved.
    Unchanged,
}

/// The outcome of [`apply_signal`]: the new sleeve, or why the signal was refused (in which case
/// the stored sleeve must stay as it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SleeveDecision {
    Applied {
        sleeve: Sleeve,
        change: SleeveChange,
    },
    Refused(Refusal),
}

/// Until when the sleeve refuses opens, or `None` when it does not.
///
/// Cooling is counted from `closed_at`; a cooling period too long to add to a timestamp cools
/// forever rather than failing.
pub fn is_cooling(sleeve: &Sleeve, rules: &SleeveRules, now: Timestamp) -> Option<Timestamp> {
    if sleeve.state != SleeveState::Cooling {
        return None;
    }
    let closed_at = sleeve.closed_at?;
    let until = closed_at
        .checked_add_signed(rules.cooling)
        .unwrap_or(DateTime::<chrono::Utc>::MAX_UTC);
    (now < until).then_some(until)
}

/// The sleeve closed at `now`: flat in its own unit, protective levels cleared, cooling when the
/// rules have a cooling period. Used for Close intents and for stop-loss/take-profit exits.
pub fn close_sleeve(sleeve: &Sleeve, rules: &SleeveRules, now: Timestamp) -> Sleeve {
    let exposure = match sleeve.exposure {
        SleeveOrigin::Depth(_) => SleeveOrigin::Depth(Decimal::ZERO),
        SleeveOrigin::Base(_) => SleeveOrigin::Base(Decimal::ZERO),
    };
    let state = if rules.cooling > chrono::TimeDelta::zero() {
        SleeveState::Cooling
    } else {
        SleeveState::Flat
    };
    Sleeve {
        state,
        exposure,
        leverage: None,
        entry_price: None,
        stop_loss: None,
        take_profit: None,
        opened_at: None,
        closed_at: Some(now),
        updated_at: now,
        ..sleeve.clone()
    }
}

/// Applies `signal` to its source's `sleeve` under `rules`.
///
/// `mark` is the engine's current price for the symbol; it is used when the signal has no
/// reference price and a price is needed (quote sizes, fractional or default protective levels).
/// Errors only on a sleeve/signal mismatch (a caller bug) or invalid rules; a signal the rules
/// refuse is `Ok(SleeveDecision::Refused(_))`.
pub fn apply_signal(
    sleeve: &Sleeve,
    signal: &Signal,
    mark: Option<Price>,
    rules: &SleeveRules,
    now: Timestamp,
) -> Result<SleeveDecision, CoreError> {
    if sleeve.source != signal.source {
        return Err(CoreError::Mismatch {
            what: "signal source",
            expected: sleeve.source.to_string(),
            found: signal.source.to_string(),
        });
    }
    if sleeve.symbol != signal.symbol {
        return Err(CoreError::Mismatch {
            what: "signal symbol",
            expected: sleeve.symbol.to_string(),
            found: signal.symbol.to_string(),
        });
    }
    rules.validate()?;
    let decision = match &signal.intent {
        Intent::Target(t) => apply_target(sleeve, t, mark, rules, now),
        Intent::Order(o) => apply_order(sleeve, o, mark, rules, now),
    };
    Ok(match decision {
        Ok((mut next, change)) => {
            next.last_signal = Some(signal.id.clone());
            SleeveDecision::Applied {
                sleeve: next,
                change,
            }
        }
        Err(refusal) => SleeveDecision::Refused(refusal),
    })
}

type Step = Result<(Sleeve, SleeveChange), Refusal>;

/// The price a signal's position opens at, for its entry, quote sizes and fractional protective
/// levels: the engine's mark when it has one, else the signal's own price. The engine trades at
/// the market, so a sender's price that is off the market (a TradingView `{{close}}` a few
/// percent away in a fast move) would put a default 2 % stop on the wrong side of the market
/// and close the new position at once, paying the fees twice.
fn anchor(mark: Option<Price>, reference: Option<Price>) -> Option<Price> {
    mark.or(reference)
}

/// A target opening from flat, or flipping side, gets the rules' default protective levels
/// (from the mark, else its reference price: see [`anchor`]); one that keeps its side keeps
/// its levels.
fn apply_target(
    sleeve: &Sleeve,
    t: &TargetIntent,
    mark: Option<Price>,
    rules: &SleeveRules,
    now: Timestamp,
) -> Step {
    if t.depth.abs() > MAX_DEPTH {
        return Err(Refusal::SizeOutOfRange { size: t.depth });
    }
    check_leverage(t.leverage)?;
    let was_open = is_open(sleeve);
    let to = SleeveOrigin::Depth(t.depth);
    let opening = !t.depth.is_zero();
    let same_side =
        was_open && (exposure_value(sleeve.exposure) > Decimal::ZERO) == (t.depth > Decimal::ZERO);
    let (stop_loss, take_profit) = if !opening {
        (None, None)
    } else if same_side {
        (sleeve.stop_loss, sleeve.take_profit)
    } else {
        let dir = if t.depth > Decimal::ZERO {
            Decimal::ONE
        } else {
            Decimal::NEGATIVE_ONE
        };
        let entry = anchor(mark, t.reference_price);
        (
            protective("stop_loss", None, rules.stop_default(), dir, entry)?,
            protective("take_profit", None, rules.take_default(), dir, entry)?,
        )
    };
    let next = Sleeve {
        state: if opening {
            SleeveState::Open
        } else {
            SleeveState::Flat
        },
        exposure: to,
        leverage: if opening { t.leverage } else { None },
        entry_price: if opening {
            anchor(mark, t.reference_price)
        } else {
            None
        },
        stop_loss,
        take_profit,
        opened_at: match (opening, was_open) {
            (true, true) => sleeve.opened_at.or(Some(now)),
            (true, false) => Some(now),
            (false, _) => None,
        },
        closed_at: if !opening && was_open {
            Some(now)
        } else {
            sleeve.closed_at
        },
        updated_at: now,
        ..sleeve.clone()
    };
    Ok((
        next,
        SleeveChange::TargetSet {
            from: sleeve.exposure,
            to,
        },
    ))
}

/// True when the sleeve holds exposure the blend counts.
fn is_open(sleeve: &Sleeve) -> bool {
    sleeve.state == SleeveState::Open && !sleeve.exposure.is_flat()
}

fn touched(sleeve: &Sleeve, now: Timestamp) -> Sleeve {
    Sleeve {
        updated_at: now,
        ..sleeve.clone()
    }
}

fn apply_order(
    sleeve: &Sleeve,
    o: &OrderIntent,
    mark: Option<Price>,
    rules: &SleeveRules,
    now: Timestamp,
) -> Step {
    let dir = match o.action {
        OrderAction::Hold => return Ok((touched(sleeve, now), SleeveChange::Unchanged)),
        OrderAction::Close => {
            return Ok(if is_open(sleeve) {
                (
                    close_sleeve(sleeve, rules, now),
                    SleeveChange::Closed { excess: None },
                )
            } else {
                (touched(sleeve, now), SleeveChange::Unchanged)
            });
        }
        OrderAction::Buy => Decimal::ONE,
        OrderAction::Sell => Decimal::NEGATIVE_ONE,
    };
    if let Some(size) = o.size {
        let v = size_value(size);
        if v <= Decimal::ZERO {
            return Err(Refusal::NonPositiveSize { size: v });
        }
    }
    let price = anchor(mark, o.reference_price);
    if !is_open(sleeve) {
        return open(sleeve, o, dir, price, rules, now);
    }
    let held = exposure_value(sleeve.exposure);
    if (held > Decimal::ZERO) == (dir > Decimal::ZERO) {
        add(sleeve, o, dir, price, rules, now)
    } else {
        reduce(sleeve, o, held, price, rules, now)
    }
}

fn open(
    sleeve: &Sleeve,
    o: &OrderIntent,
    dir: Decimal,
    price: Option<Price>,
    rules: &SleeveRules,
    now: Timestamp,
) -> Step {
    if let Some(until) = is_cooling(sleeve, rules, now) {
        return Err(Refusal::Cooling { until });
    }
    if dir < Decimal::ZERO && !rules.allow_short {
        return Err(Refusal::ShortNotAllowed);
    }
    check_confidence(o.confidence, rules)?;
    check_leverage(o.leverage)?;
    let size = o.size.ok_or(Refusal::MissingSize)?;
    let exposure = match size {
        OrderSize::AccountFraction(f) => with_value(SleeveOrigin::Depth(f), signed(dir, f))?,
        OrderSize::Base(q) => with_value(SleeveOrigin::Base(q), signed(dir, q))?,
        OrderSize::Quote(_) => {
            let q = quote_to_base(size, price)?;
            with_value(SleeveOrigin::Base(q), signed(dir, q))?
        }
    };
    let stop_loss = protective("stop_loss", o.stop_loss, rules.stop_default(), dir, price)?;
    let take_profit = protective(
        "take_profit",
        o.take_profit,
        rules.take_default(),
        dir,
        price,
    )?;
    let next = Sleeve {
        state: SleeveState::Open,
        exposure,
        leverage: o.leverage,
        entry_price: price,
        stop_loss,
        take_profit,
        opened_at: Some(now),
        closed_at: None,
        updated_at: now,
        ..sleeve.clone()
    };
    Ok((next, SleeveChange::Opened))
}

fn add(
    sleeve: &Sleeve,
    o: &OrderIntent,
    dir: Decimal,
    price: Option<Price>,
    rules: &SleeveRules,
    now: Timestamp,
) -> Step {
    if !rules.allow_add {
        return Err(Refusal::AlreadyOpen);
    }
    check_confidence(o.confidence, rules)?;
    check_leverage(o.leverage)?;
    let size = o.size.ok_or(Refusal::MissingSize)?;
    let amount = amount_in_unit(sleeve.exposure, size, price)?;
    let held = exposure_value(sleeve.exposure);
    let total = held
        .checked_add(signed(dir, amount))
        .ok_or(Refusal::SizeOutOfRange { size: amount })?;
    let exposure = with_value(sleeve.exposure, total)?;
    // Entry becomes the size-weighted average: (|held|·e₀ + amount·p) / (|held| + amount).
    let entry = match (sleeve.entry_price, price) {
        (Some(e0), Some(p)) => weighted_entry(held.abs(), e0, amount, p).or(Some(e0)),
        (e0, p) => e0.or(p),
    };
    let stop_loss = match o.stop_loss {
        Some(level) => protective("stop_loss", Some(level), None, dir, entry)?,
        None => sleeve.stop_loss,
    };
    let take_profit = match o.take_profit {
        Some(level) => protective("take_profit", Some(level), None, dir, entry)?,
        None => sleeve.take_profit,
    };
    let next = Sleeve {
        exposure,
        leverage: o.leverage.or(sleeve.leverage),
        entry_price: entry,
        stop_loss,
        take_profit,
        updated_at: now,
        ..sleeve.clone()
    };
    Ok((next, SleeveChange::Added))
}

fn reduce(
    sleeve: &Sleeve,
    o: &OrderIntent,
    held: Decimal,
    price: Option<Price>,
    rules: &SleeveRules,
    now: Timestamp,
) -> Step {
    let size = match o.size {
        Some(size) if !rules.opposite_closes => size,
        _ => {
            return Ok((
                close_sleeve(sleeve, rules, now),
                SleeveChange::Closed { excess: None },
            ));
        }
    };
    let amount = amount_in_unit(sleeve.exposure, size, price)?;
    if amount >= held.abs() {
        let excess = amount - held.abs();
        return Ok((
            close_sleeve(sleeve, rules, now),
            SleeveChange::Closed {
                excess: (!excess.is_zero()).then_some(excess),
            },
        ));
    }
    // |amount| < |held| so the subtraction stays on the held side and cannot overflow.
    let left = if held > Decimal::ZERO {
        held - amount
    } else {
        held + amount
    };
    let next = Sleeve {
        exposure: with_value(sleeve.exposure, left)?,
        updated_at: now,
        ..sleeve.clone()
    };
    Ok((next, SleeveChange::Reduced))
}

fn size_value(size: OrderSize) -> Decimal {
    match size {
        OrderSize::Base(v) | OrderSize::Quote(v) | OrderSize::AccountFraction(v) => v,
    }
}

fn exposure_value(e: SleeveOrigin) -> Decimal {
    match e {
        SleeveOrigin::Depth(v) | SleeveOrigin::Base(v) => v,
    }
}

/// `value` in the same unit as `e`, refused when outside the sanity bounds.
fn with_value(e: SleeveOrigin, value: Decimal) -> Result<SleeveOrigin, Refusal> {
    match e {
        SleeveOrigin::Depth(_) if value.abs() <= MAX_DEPTH => Ok(SleeveOrigin::Depth(value)),
        SleeveOrigin::Base(_) if value.abs() <= MAX_BASE => Ok(SleeveOrigin::Base(value)),
        _ => Err(Refusal::SizeOutOfRange { size: value }),
    }
}

/// `v` with the sign of `dir` (negation of a `Decimal` cannot overflow).
fn signed(dir: Decimal, v: Decimal) -> Decimal {
    if dir < Decimal::ZERO { -v } else { v }
}

/// The order's size in the sleeve's unit: base and quote sizes for base sleeves, fractions for
/// depth sleeves.
fn amount_in_unit(
    e: SleeveOrigin,
    size: OrderSize,
    price: Option<Price>,
) -> Result<Decimal, Refusal> {
    match (e, size) {
        (SleeveOrigin::Depth(_), OrderSize::AccountFraction(f)) => Ok(f),
        (SleeveOrigin::Base(_), OrderSize::Base(q)) => Ok(q),
        (SleeveOrigin::Base(_), OrderSize::Quote(_)) => quote_to_base(size, price),
        _ => Err(Refusal::UnitMismatch),
    }
}

/// Quote amount → base units at `price` (`q = amount / price`), unrounded: the sleeve is virtual,
/// rounding happens once, at sizing.
fn quote_to_base(size: OrderSize, price: Option<Price>) -> Result<Decimal, Refusal> {
    let amount = size_value(size);
    let price = price.ok_or(Refusal::NoPrice)?;
    amount
        .checked_div(price.get())
        .filter(|q| *q <= MAX_BASE)
        .ok_or(Refusal::SizeOutOfRange { size: amount })
}

fn weighted_entry(held: Decimal, e0: Price, amount: Decimal, p: Price) -> Option<Price> {
    let num = held
        .checked_mul(e0.get())?
        .checked_add(amount.checked_mul(p.get())?)?;
    let den = held.checked_add(amount)?;
    Price::new(num.checked_div(den)?).ok()
}

fn check_confidence(confidence: Option<Decimal>, rules: &SleeveRules) -> Result<(), Refusal> {
    match confidence {
        None if rules.require_confidence => Err(Refusal::MissingConfidence),
        None => Ok(()),
        Some(c) if c < Decimal::ZERO || c > Decimal::ONE => {
            Err(Refusal::InvalidConfidence { confidence: c })
        }
        Some(c) if c < rules.min_confidence => Err(Refusal::LowConfidence {
            confidence: c,
            min: rules.min_confidence,
        }),
        Some(_) => Ok(()),
    }
}

fn check_leverage(leverage: Option<Decimal>) -> Result<(), Refusal> {
    match leverage {
        Some(l) if l <= Decimal::ZERO => Err(Refusal::BadLeverage { leverage: l }),
        _ => Ok(()),
    }
}

/// Resolves a stop-loss or take-profit to an absolute price.
///
/// A fraction `f` of entry `e` gives, for a long, stop-loss `e × (1 − f)` and take-profit
/// `e × (1 + f)`; for a short the sides swap. A default distance `d` gives `e − d` and `e + d`
/// the same way. An absolute level must lie on the losing side of entry for a stop-loss and the
/// winning side for a take-profit, else it would fire at once.
fn protective(
    level: &'static str,
    given: Option<ProtectiveLevel>,
    default: Option<DefaultLevel>,
    dir: Decimal,
    entry: Option<Price>,
) -> Result<Option<Price>, Refusal> {
    let is_stop = level == "stop_loss";
    // +1 when the level sits above entry.
    let above = (dir > Decimal::ZERO) != is_stop;
    let resolved = match given {
        Some(ProtectiveLevel::Price(p)) => {
            if let Some(e) = entry {
                let right_side = if above { p > e } else { p < e };
                if !right_side {
                    return Err(Refusal::ProtectiveLevelWrongSide {
                        level,
                        price: p.get(),
                        entry: e,
                    });
                }
            }
            return Ok(Some(p));
        }
        Some(ProtectiveLevel::Fraction(f)) => f,
        None => match default {
            Some(DefaultLevel::Fraction(f)) => f,
            Some(DefaultLevel::Distance(d)) => {
                let e = entry.ok_or(Refusal::NoPrice)?;
                let p = if above {
                    e.get().checked_add(d)
                } else {
                    e.get().checked_sub(d)
                }
                .ok_or(Refusal::SizeOutOfRange { size: d })?;
                // A stop further than entry itself (a short's take-profit below zero) cannot be
                // a price: refused rather than silently clamped.
                return Price::new(p)
                    .map(Some)
                    .map_err(|_| Refusal::ProtectiveLevelWrongSide {
                        level,
                        price: p,
                        entry: e,
                    });
            }
            None => return Ok(None),
        },
    };
    let f = resolved;
    if f <= Decimal::ZERO || f >= Decimal::ONE {
        return Err(Refusal::BadProtectiveFraction { level, fraction: f });
    }
    let e = entry.ok_or(Refusal::NoPrice)?;
    let factor = if above {
        Decimal::ONE + f
    } else {
        Decimal::ONE - f
    };
    let p = e
        .get()
        .checked_mul(factor)
        .ok_or(Refusal::SizeOutOfRange { size: e.get() })?;
    Price::new(p)
        .map(Some)
        .map_err(|_| Refusal::ProtectiveLevelWrongSide {
            level,
            price: p,
            entry: e,
        })
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
