//! Reading numbers and times out of venue JSON. Venues send decimals as strings (sometimes
//! empty, sometimes `"0"` for "none"); each helper names the field it failed on, so an
//! unparseable reply becomes an `Internal` error that says what was wrong.

use rust_decimal::Decimal;
use tradeengine_model::{Price, Symbol, Timestamp};

use crate::{VenueError, VenueErrorKind};

pub fn bad_reply(venue: &'static str, field: &str, value: &str) -> VenueError {
    VenueError::new(
        venue,
        VenueErrorKind::Internal,
        format!(
            "unexpected reply: field {field} = {:?} is not usable",
            value.chars().take(60).collect::<String>()
        ),
    )
}

/// A required decimal.
pub fn dec(venue: &'static str, field: &str, value: &str) -> Result<Decimal, VenueError> {
    value
        .trim()
        .parse::<Decimal>()
        .map_err(|_| bad_reply(venue, field, value))
}

/// A decimal where empty means zero (Bybit's flat positions, unfilled orders).
pub fn dec_or_zero(venue: &'static str, field: &str, value: &str) -> Result<Decimal, VenueError> {
    if value.trim().is_empty() {
        Ok(Decimal::ZERO)
    } else {
        dec(venue, field, value)
    }
}

/// A decimal where empty means "not reported" (a balance field a venue may leave out); a
/// value that is there but not a number is a bad reply.
pub fn dec_opt(
    venue: &'static str,
    field: &str,
    value: &str,
) -> Result<Option<Decimal>, VenueError> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        dec(venue, field, value).map(Some)
    }
}

/// A price where empty or zero means "none" (average price of an unfilled order).
pub fn price_opt(
    venue: &'static str,
    field: &str,
    value: &str,
) -> Result<Option<Price>, VenueError> {
    let d = dec_or_zero(venue, field, value)?;
    if d.is_zero() {
        return Ok(None);
    }
    Price::new(d)
        .map(Some)
        .map_err(|_| bad_reply(venue, field, value))
}

/// A strictly positive price.
pub fn price(venue: &'static str, field: &str, value: &str) -> Result<Price, VenueError> {
    price_opt(venue, field, value)?.ok_or_else(|| bad_reply(venue, field, value))
}

/// Epoch milliseconds (as a number or a numeric string) to a timestamp; 0/empty → epoch.
pub fn ms(venue: &'static str, field: &str, value: i64) -> Result<Timestamp, VenueError> {
    chrono::DateTime::from_timestamp_millis(value)
        .ok_or_else(|| bad_reply(venue, field, &value.to_string()))
}

pub fn ms_str(venue: &'static str, field: &str, value: &str) -> Result<Timestamp, VenueError> {
    if value.trim().is_empty() {
        return Ok(chrono::DateTime::UNIX_EPOCH);
    }
    let n: i64 = value
        .trim()
        .parse()
        .map_err(|_| bad_reply(venue, field, value))?;
    ms(venue, field, n)
}

pub fn symbol(venue: &'static str, value: &str) -> Result<Symbol, VenueError> {
    Symbol::new(value).map_err(|_| bad_reply(venue, "symbol", value))
}

/// A decimal as venues want it in a request: plain digits, no exponent, no trailing zeros.
pub fn format_dec(value: Decimal) -> String {
    value.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn empty_and_zero_prices_are_none() {
        assert_eq!(price_opt("t", "avgPrice", "").ok(), Some(None));
        assert_eq!(price_opt("t", "avgPrice", "0").ok(), Some(None));
        assert_eq!(price_opt("t", "avgPrice", "0.00").ok(), Some(None));
        assert!(price_opt("t", "avgPrice", "abc").is_err());
        let e = dec("t", "qty", "1,5")
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(e.contains("qty"), "{e}");
    }

    #[test]
    fn request_decimals_are_plain() {
        assert_eq!(format_dec(dec!(0.0100)), "0.01");
        assert_eq!(format_dec(dec!(60000.0)), "60000");
        assert_eq!(format_dec(dec!(5)), "5");
    }
}
