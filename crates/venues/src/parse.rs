//! Reading venue replies: the strict models, their numbers and times.
//!
//! A reply is read into a model with [`reply`]: a field the venue documents as always present is
//! a plain field there, so its absence is an error that names the field and the endpoint
//! (`GET /v5/market/instruments-info: missing field `minNotionalValue``) instead of a silent
//! zero that would, for example, switch off the minimum-notional check. Numbers are parsed
//! per field with [`dec`]; where a venue documents an empty string as "none" the model says so
//! for that one field with [`dec_opt`] or [`price_opt`]. Conversion errors get the endpoint
//! prefixed with [`in_reply`].

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::Value;
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

/// Reads `value` (one reply, or one row or push of it) into its strict model; a missing or
/// mistyped field is an `Internal` error naming the endpoint and the field.
pub fn reply<T: DeserializeOwned>(
    venue: &'static str,
    endpoint: &str,
    value: Value,
) -> Result<T, VenueError> {
    serde_json::from_value(value)
        .map_err(|e| VenueError::new(venue, VenueErrorKind::Internal, format!("{endpoint}: {e}")))
}

/// Each element of a pushed array (`what`: `data`, `a.P`) read into its strict model, so one unreadable row is
/// reported (naming its field) without hiding the others; a `data` that is not an array is one
/// error.
pub fn push_rows<T: DeserializeOwned>(
    venue: &'static str,
    endpoint: &str,
    what: &str,
    data: Value,
) -> Vec<Result<T, VenueError>> {
    match data {
        Value::Array(rows) => rows
            .into_iter()
            .map(|row| reply(venue, endpoint, row))
            .collect(),
        other => vec![Err(VenueError::new(
            venue,
            VenueErrorKind::Internal,
            format!(
                "{endpoint}: `{what}` is not an array: {:.60}",
                other.to_string()
            ),
        ))],
    }
}

/// Names the endpoint in a conversion error (`.map_err(in_reply(ENDPOINT))`), so "field
/// qtyStep is not usable" says which reply it came from.
pub fn in_reply(endpoint: &str) -> impl Fn(VenueError) -> VenueError + '_ {
    move |mut e| {
        e.message = format!("{endpoint}: {}", e.message);
        e
    }
}

/// An error for a field the venue documents as present but that is absent from a reply whose
/// model must accept two shapes (a REST row and a stream push of the same object).
/// The endpoint is added by [`in_reply`] where the row is converted.
pub fn missing(venue: &'static str, field: &str) -> VenueError {
    VenueError::new(
        venue,
        VenueErrorKind::Internal,
        format!("missing field `{field}`"),
    )
}

/// A required decimal.
pub fn dec(venue: &'static str, field: &str, value: &str) -> Result<Decimal, VenueError> {
    value
        .trim()
        .parse::<Decimal>()
        .map_err(|_| bad_reply(venue, field, value))
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

/// A price where empty or zero means "none": venues document `""` (Bybit UTA) or `"0"`
/// (Bybit classic, Binance, MEXC) as the average price of an order with no fill yet.
pub fn price_opt(
    venue: &'static str,
    field: &str,
    value: &str,
) -> Result<Option<Price>, VenueError> {
    let Some(d) = dec_opt(venue, field, value)? else {
        return Ok(None);
    };
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

/// Epoch milliseconds to a timestamp.
pub fn ms(venue: &'static str, field: &str, value: i64) -> Result<Timestamp, VenueError> {
    chrono::DateTime::from_timestamp_millis(value)
        .ok_or_else(|| bad_reply(venue, field, &value.to_string()))
}

/// Epoch milliseconds sent as a numeric string; an empty string is not a time.
pub fn ms_str(venue: &'static str, field: &str, value: &str) -> Result<Timestamp, VenueError> {
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
    fn reply_errors_name_the_endpoint_and_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Row {
            #[allow(dead_code)]
            min_notional_value: String,
        }
        let e = reply::<Row>("bybit", "GET /v5/x", serde_json::json!({"other": "1"}))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("GET /v5/x"), "{e}");
        assert!(e.contains("minNotionalValue"), "{e}");
        let e = in_reply("GET /v5/y")(bad_reply("bybit", "qtyStep", "x")).to_string();
        assert!(e.contains("GET /v5/y") && e.contains("qtyStep"), "{e}");
        assert!(ms_str("t", "updatedTime", "").is_err());
        assert_eq!(dec_opt("t", "totalEquity", "").ok(), Some(None));
    }

    #[test]
    fn request_decimals_are_plain() {
        assert_eq!(format_dec(dec!(0.0100)), "0.01");
        assert_eq!(format_dec(dec!(60000.0)), "60000");
        assert_eq!(format_dec(dec!(5)), "5");
    }
}
