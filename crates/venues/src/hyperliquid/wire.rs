//! Hyperliquid's rules for numbers and ids on the wire, all in `rust_decimal` (never `f64`):
//!
//! - prices and sizes are decimal strings with at most 8 decimals and no trailing zeros (the
//!   SDK's `float_to_wire`, which refuses a value it would have to round);
//! - sizes are rounded to the coin's `szDecimals` (from `meta`);
//! - perpetual prices have at most 5 significant figures and at most `6 − szDecimals`
//!   decimals; integer prices are always allowed
//!   (<https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/tick-and-lot-size>);
//! - a market order is an IOC limit order at a slippage from the mark (the SDK's
//!   `market_open`, 5 % by default);
//! - a client order id is a 128-bit `cloid`, `0x` and 32 hex digits.

use rust_decimal::{Decimal, RoundingStrategy};

use super::signing::keccak256;

/// Most decimals the exchange reads in a price or size string.
pub const WIRE_DECIMALS: u32 = 8;

/// Most decimals of a perpetual's price, before its `szDecimals` are taken off.
pub const PERP_PRICE_DECIMALS: u32 = 6;

/// Most significant figures of a non-integer price.
pub const PRICE_SIGNIFICANT_FIGURES: u32 = 5;

/// A number the wire cannot carry as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("{value} has more than 8 decimals: sending it would round it")]
    TooManyDecimals { value: Decimal },
    #[error("{what} {value} is not positive")]
    NotPositive { what: &'static str, value: Decimal },
    #[error("szDecimals {0} is more than a perpetual's 6 price decimals allow")]
    BadSzDecimals(u32),
}

/// A price or size as the wire wants it: the SDK's `float_to_wire` on an exact decimal —
/// at most 8 decimals (more is refused, never rounded), trailing zeros dropped, `-0` as `0`.
pub fn decimal_to_wire(value: Decimal) -> Result<String, WireError> {
    let normal = value.normalize();
    if normal.scale() > WIRE_DECIMALS {
        return Err(WireError::TooManyDecimals { value });
    }
    if normal.is_zero() {
        return Ok("0".to_string());
    }
    Ok(normal.to_string())
}

/// A size rounded toward zero to `sz_decimals` (the lot size): never more than asked.
pub fn round_size(size: Decimal, sz_decimals: u32) -> Decimal {
    size.round_dp_with_strategy(sz_decimals, RoundingStrategy::ToZero)
        .normalize()
}

/// The most decimals a perpetual with `sz_decimals` may have in its price.
pub fn max_price_decimals(sz_decimals: u32) -> Result<u32, WireError> {
    PERP_PRICE_DECIMALS
        .checked_sub(sz_decimals)
        .ok_or(WireError::BadSzDecimals(sz_decimals))
}

/// A valid perpetual price near `price`, rounded in the trader's favour: a buy's limit down, a
/// sell's up, so the order never trades at a worse price than the one asked for. Integer
/// prices keep every digit (the exchange allows them whatever their significant figures);
/// otherwise at most 5 significant figures and `6 − sz_decimals` decimals.
pub fn round_price(price: Decimal, sz_decimals: u32, is_buy: bool) -> Result<Decimal, WireError> {
    if price <= Decimal::ZERO {
        return Err(WireError::NotPositive {
            what: "price",
            value: price,
        });
    }
    let strategy = if is_buy {
        RoundingStrategy::ToZero
    } else {
        RoundingStrategy::AwayFromZero
    };
    let max_decimals = max_price_decimals(sz_decimals)?;
    let integer_digits = integer_digits(price);
    // Decimals left once the integer part has taken its share of the 5 figures; a price under
    // 1 counts its leading zeros after the point as free.
    let figure_decimals = if integer_digits > 0 {
        PRICE_SIGNIFICANT_FIGURES.saturating_sub(integer_digits)
    } else {
        PRICE_SIGNIFICANT_FIGURES + leading_fraction_zeros(price)
    };
    let decimals = figure_decimals.min(max_decimals);
    let rounded = price.round_dp_with_strategy(decimals, strategy).normalize();
    if rounded.is_zero() {
        // Below the smallest price `max_decimals` can show: no valid price is on our side.
        return Err(WireError::NotPositive {
            what: "rounded price",
            value: rounded,
        });
    }
    // Rounding up can add a digit (99999.5 → 100000): still an integer or 5 figures.
    Ok(rounded)
}

/// Digits before the decimal point (0 for a price under 1).
fn integer_digits(value: Decimal) -> u32 {
    let mut whole = value.trunc().abs();
    let mut digits = 0;
    let ten = Decimal::TEN;
    while whole >= Decimal::ONE {
        whole = (whole / ten).trunc();
        digits += 1;
    }
    digits
}

/// Zeros between the decimal point and the first significant digit of a value under 1
/// (0.00123 → 2).
fn leading_fraction_zeros(value: Decimal) -> u32 {
    let mut v = value.abs();
    let mut zeros = 0;
    if v.is_zero() {
        return 0;
    }
    while v * Decimal::TEN < Decimal::ONE {
        v *= Decimal::TEN;
        zeros += 1;
    }
    zeros
}

/// The limit price of a market order: `mark` moved by `slippage` (a fraction, 0.05 = 5 %)
/// against us, then rounded to a valid price ([`round_price`], in our favour so the slippage
/// is never exceeded).
pub fn slippage_price(
    mark: Decimal,
    slippage: Decimal,
    sz_decimals: u32,
    is_buy: bool,
) -> Result<Decimal, WireError> {
    let factor = if is_buy {
        Decimal::ONE + slippage
    } else {
        Decimal::ONE - slippage
    };
    round_price(mark * factor, sz_decimals, is_buy)
}

/// The 128-bit `cloid` of one of our client order ids: `0x` and the first 16 bytes of its
/// keccak-256, in lowercase hex. The same id always gives the same cloid, so a resent order is
/// refused by the exchange as a duplicate and an unsure outcome can be looked up by cloid.
pub fn cloid_for(client_order_id: &str) -> String {
    let hash = keccak256(client_order_id.as_bytes());
    format!("0x{}", hex::encode(&hash[..16]))
}

/// Whether `text` is a cloid as the exchange takes one: `0x` and 32 hex digits.
pub fn is_cloid(text: &str) -> bool {
    text.strip_prefix("0x")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The unified symbol of a coin (`BTC` → `BTCUSDT`).
pub fn symbol_of_coin(coin: &str) -> Result<tradeengine_model::Symbol, crate::VenueError> {
    crate::parse::symbol(super::VENUE, &format!("{coin}USDT"))
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
