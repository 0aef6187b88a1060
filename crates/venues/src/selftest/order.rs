//! The self-test's one order: a far-from-market limit buy at the smallest size the venue
//! accepts, placed, read back by client order id, and cancelled, with every ambiguous answer
//! settled by asking the venue for that client id (never by sending again).

use rust_decimal::{Decimal, RoundingStrategy};
use tradeengine_model::{
    ClientOrderId, Instrument, OrderKind, OrderRequest, OrderStatus, Price, Side, Symbol,
};

use super::{Check, Outcome};
use crate::Venue;
use tradeengine_model::grid::round_to_step;

/// How far below the mark the test buy is priced (3 %): far enough not to fill in the seconds
/// the test takes, near enough to stay inside the venues' price bands (Binance's
/// `PERCENT_PRICE` filter, Bybit's `lowerLimitPrice`), which refuse orders priced further away.
pub const FAR_FROM_MARK: Decimal = Decimal::from_parts(3, 0, 0, false, 2);

const NAME: &str = "order_round_trip";

/// The price (on the tick, below the mark) and the size (base units) of the test order: the
/// venue's minimum quantity, raised to a whole number of steps that meets its minimum notional
/// at that price. `None` when the numbers cannot make an order.
pub fn plan(i: &Instrument, mark: Decimal) -> Option<(Decimal, Decimal)> {
    let price = round_to_step(
        mark * (Decimal::ONE - FAR_FROM_MARK),
        i.tick_size,
        RoundingStrategy::ToZero,
    )?;
    if price <= Decimal::ZERO || i.qty_step <= Decimal::ZERO {
        return None;
    }
    let min_units = round_to_step(
        i.min_qty.max(i.qty_step),
        i.qty_step,
        RoundingStrategy::AwayFromZero,
    )?;
    let unit_value = i.contract_size.checked_mul(price)?;
    let for_notional = round_to_step(
        i.min_notional.checked_div(unit_value)?,
        i.qty_step,
        RoundingStrategy::AwayFromZero,
    )?;
    let units = min_units.max(for_notional);
    Some((price, i.venue_to_base(units)?.normalize()))
}

fn fail(answer: impl Into<String>, fix: impl Into<String>) -> Check {
    Check::new(NAME, Outcome::Fail, answer).fix(fix)
}

async fn position_of(venue: &dyn Venue, symbol: &Symbol) -> Result<Decimal, String> {
    venue
        .positions()
        .await
        .map(|ps| {
            ps.iter()
                .filter(|p| &p.symbol == symbol)
                .map(|p| p.size.get())
                .sum()
        })
        .map_err(|e| e.to_string())
}

/// Places, reads back and cancels the test order; see the module docs.
pub async fn round_trip(venue: &dyn Venue, i: &Instrument, id: &ClientOrderId) -> Check {
    let (before, request, first_note) = match prepare(venue, i, id).await {
        Ok(p) => p,
        Err(check) => return check,
    };
    let symbol = &i.symbol;
    let mut notes = vec![first_note];
    let placed = match place(venue, &request, &mut notes).await {
        Ok(s) => s,
        Err(check) => return check,
    };
    notes.push(format!("placed: {}", placed.state.as_str()));
    let read_back = match venue.order_by_client_id(symbol, id).await {
        Ok(Some(s)) => {
            notes.push(format!(
                "read back by client id: {}, qty {}, filled {}",
                s.state.as_str(),
                s.qty,
                s.filled_qty
            ));
            Ok(s)
        }
        Ok(None) => Err("the venue does not find the order by its client id".to_string()),
        Err(e) => Err(format!("reading the order back failed: {e}")),
    };
    // Cancelled whatever the read-back said: an order must never be left resting.
    let cancelled = cancel(venue, symbol, id, &mut notes).await;
    let after = position_of(venue, symbol).await;
    let filled = [
        Some(&placed),
        read_back.as_ref().ok(),
        cancelled.as_ref().ok(),
    ]
    .into_iter()
    .flatten()
    .map(|s| s.filled_qty)
    .max()
    .unwrap_or(Decimal::ZERO);
    let moved = after.as_ref().is_ok_and(|a| *a != before);
    if filled > Decimal::ZERO || moved {
        return filled_loudly(symbol, before, after, filled, &notes);
    }
    verdict(notes.join("; "), symbol, id, read_back, cancelled, after)
}

/// The position before, the test order, and the note describing it.
async fn prepare(
    venue: &dyn Venue,
    i: &Instrument,
    id: &ClientOrderId,
) -> Result<(Decimal, OrderRequest, String), Check> {
    let symbol = &i.symbol;
    let before = position_of(venue, symbol).await.map_err(|e| {
        fail(
            format!("cannot read positions: {e}"),
            "see the positions check",
        )
    })?;
    let prices = venue
        .prices(std::slice::from_ref(symbol))
        .await
        .map_err(|e| {
            fail(
                format!("cannot read the price of {symbol}: {e}"),
                "check the venue's market data",
            )
        })?;
    let mark = prices
        .get(symbol)
        .map(|p| p.get())
        .ok_or_else(|| fail(format!("no price for {symbol}"), "see the instrument check"))?;
    let (price, qty) = plan(i, mark).ok_or_else(|| {
        fail(
            format!("no valid test order from the rules of {symbol} at mark {mark}"),
            "report this instrument's rules to the developers",
        )
    })?;
    let limit =
        Price::new(price).map_err(|e| fail(format!("price {price}: {e}"), "report this"))?;
    let request = OrderRequest {
        client_order_id: id.clone(),
        symbol: symbol.clone(),
        side: Side::Buy,
        qty,
        kind: OrderKind::Limit { price: limit },
        reduce_only: false,
    };
    let note = format!("limit buy {qty} {symbol} at {price} (mark {mark}), client id {id}");
    Ok((before, request, note))
}

/// Pass only when the order was read back, its cancel confirmed, and the position re-read.
fn verdict(
    answer: String,
    symbol: &Symbol,
    id: &ClientOrderId,
    read_back: Result<OrderStatus, String>,
    cancelled: Result<OrderStatus, String>,
    after: Result<Decimal, String>,
) -> Check {
    match (read_back, cancelled, after) {
        (_, Err(e), _) => fail(
            format!("{answer}; CANCEL NOT CONFIRMED: {e}"),
            format!(
                "look at the order now (`tradeengine order status --account ACCOUNT --symbol {symbol} --client-id {id}`) and cancel it by hand if it rests"
            ),
        ),
        (Err(e), Ok(_), _) => fail(
            format!("{answer}; {e}"),
            "the engine settles every ambiguous order by client id: a venue that cannot find an order by it is not safe to trade on; check the adapter and the venue's status",
        ),
        (_, _, Err(e)) => fail(
            format!("{answer}; cannot read positions after: {e}"),
            "check the position by hand",
        ),
        (Ok(_), Ok(c), Ok(_)) if c.state != tradeengine_model::OrderState::Cancelled => fail(
            format!("{answer}; the venue reports it {}", c.state.as_str()),
            "look at the order by hand",
        ),
        (Ok(_), Ok(_), Ok(_)) => {
            Check::new(NAME, Outcome::Pass, format!("{answer}; position unchanged"))
        }
    }
}

/// Places; an answer that may hide an accepted order is settled by client id.
async fn place(
    venue: &dyn Venue,
    request: &OrderRequest,
    notes: &mut Vec<String>,
) -> Result<OrderStatus, Check> {
    let (symbol, id) = (&request.symbol, &request.client_order_id);
    match venue.place_order(request).await {
        Ok(s) => Ok(s),
        Err(e) if e.may_have_acted() => {
            match venue.order_by_client_id(symbol, id).await {
                Ok(Some(s)) => {
                    notes.push(format!("the place answer failed ({e}); the venue has the order (settled by client id)"));
                    Ok(s)
                }
                Ok(None) => Err(fail(
                    format!(
                        "the place answer failed ({e}) and the venue has no order {id}: not placed"
                    ),
                    "run the check again; if it keeps failing, see the venue's status page",
                )),
                Err(q) => Err(fail(
                    format!(
                        "the place answer failed ({e}) and the venue could not be asked ({q}): the order MAY REST"
                    ),
                    format!(
                        "look at the order (`tradeengine order status --account ACCOUNT --symbol {symbol} --client-id {id}`) and cancel it by hand"
                    ),
                )),
            }
        }
        Err(e) => {
            let fix = if e.kind == crate::VenueErrorKind::Auth {
                "give the key trading permission (futures/contract orders) and run the check again"
            } else {
                "the venue refused a minimum-size limit order: read its answer (margin, instrument status, account restrictions)"
            };
            Err(fail(format!("the venue refused the test order: {e}"), fix))
        }
    }
}

/// Cancels; any failed answer is settled by asking for the client id, and an order still
/// resting gets one more cancel.
async fn cancel(
    venue: &dyn Venue,
    symbol: &Symbol,
    id: &ClientOrderId,
    notes: &mut Vec<String>,
) -> Result<OrderStatus, String> {
    for _ in 0..2 {
        let e = match venue.cancel_order(symbol, id).await {
            Ok(s) => {
                notes.push(format!("cancelled: {}", s.state.as_str()));
                return Ok(s);
            }
            Err(e) => e,
        };
        match venue.order_by_client_id(symbol, id).await {
            Ok(Some(s)) if s.state.is_terminal() => {
                notes.push(format!(
                    "the cancel answer failed ({e}); the venue reports the order {} (settled by client id)",
                    s.state.as_str()
                ));
                return Ok(s);
            }
            Ok(Some(s)) => notes.push(format!(
                "the cancel answer failed ({e}); the order is still {}: cancelling again",
                s.state.as_str()
            )),
            Ok(None) => {
                return Err(format!(
                    "cancel failed ({e}) and the venue no longer knows the order"
                ));
            }
            Err(q) => {
                return Err(format!(
                    "cancel failed ({e}) and the venue could not be asked ({q})"
                ));
            }
        }
    }
    Err("the order was still open after two cancels".into())
}

fn filled_loudly(
    symbol: &Symbol,
    before: Decimal,
    after: Result<Decimal, String>,
    filled: Decimal,
    notes: &[String],
) -> Check {
    let position = match &after {
        Ok(a) => format!("the {symbol} position is now {a} (was {before})"),
        Err(e) => format!("the {symbol} position could not be read ({e}; was {before})"),
    };
    fail(
        format!(
            "THE TEST ORDER FILLED ({filled} {symbol} bought): {position}. It was NOT closed. {}",
            notes.join("; ")
        ),
        format!(
            "decide about the {symbol} position yourself: keep it, or close it on the venue \
             (a reduce-only sell of {filled}); a limit 3 % below the mark should not fill, so also \
             check the venue's price feed and the instrument"
        ),
    )
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn inst(
        step: Decimal,
        min_qty: Decimal,
        tick: Decimal,
        notional: Decimal,
        cs: Decimal,
    ) -> Instrument {
        let mut i = Instrument::linear(
            Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}")),
            step,
            tick,
        );
        i.min_qty = min_qty;
        i.min_notional = notional;
        i.contract_size = cs;
        i
    }

    #[test]
    fn far_below_the_mark_on_the_tick_at_the_smallest_valid_size() {
        // Binance BTCUSDT: 0.001 step, 100 USDT minimum: 58 200 × 0.001 = 58.2 < 100 → 0.002.
        let i = inst(dec!(0.001), dec!(0.001), dec!(0.1), dec!(100), dec!(1));
        assert_eq!(plan(&i, dec!(60000)), Some((dec!(58200), dec!(0.002))));
        // Off-tick mark rounds down: 60 000.37 × 0.97 = 58 200.3589 → 58 200.3.
        assert_eq!(plan(&i, dec!(60000.37)).map(|p| p.0), Some(dec!(58200.3)));
        // No minimum notional (MEXC): the minimum quantity.
        let i = inst(dec!(1), dec!(1), dec!(0.1), dec!(0), dec!(0.0001));
        assert_eq!(plan(&i, dec!(60000)), Some((dec!(58200), dec!(0.0001))));
        // Contracts: 5 USDT minimum at 0.001 BTC per contract (58.2 per contract) → 1 contract.
        let i = inst(dec!(1), dec!(1), dec!(0.1), dec!(5), dec!(0.001));
        assert_eq!(plan(&i, dec!(60000)), Some((dec!(58200), dec!(0.001))));
        // A min qty above the step wins.
        let i = inst(dec!(0.1), dec!(0.3), dec!(0.01), dec!(5), dec!(1));
        assert_eq!(plan(&i, dec!(150)), Some((dec!(145.5), dec!(0.3))));
    }

    #[test]
    fn a_mark_too_low_for_the_tick_makes_no_order() {
        let i = inst(dec!(1), dec!(1), dec!(1), dec!(0), dec!(1));
        assert_eq!(plan(&i, dec!(1)), None);
    }
}
