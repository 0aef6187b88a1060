//! Conversions between model values and the plain column values both backends store.
//!
//! - Decimals are stored as their exact `Decimal::to_string()` text and read back with
//!   `Decimal::from_str_exact`, which refuses (rather than rounds) anything it cannot hold.
//! - Times are `i64` epoch milliseconds UTC. **Sub-millisecond parts are truncated** on the way in
//!   (toward −∞, `DateTime::timestamp_millis`), so a value read back equals the value written
//!   only when it was already whole milliseconds.
//! - Unit-variant enums are stored by their serde (snake_case) names, the same names the JSON
//!   API and the audit payloads use.
//!
//! Every decode names the column it was reading, so a corrupt row is reported as such instead of
//! panicking or being silently skipped.

use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tradeengine_model::{Price, Timestamp};

use crate::StoreError;

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn opt_ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(ms)
}

pub(crate) fn time(col: &str, ms: i64) -> Result<Timestamp, StoreError> {
    chrono::DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::corrupt(col, format!("{ms} ms is out of range")))
}

pub(crate) fn opt_time(col: &str, ms: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    ms.map(|v| time(col, v)).transpose()
}

pub(crate) fn dec(col: &str, text: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str_exact(text)
        .map_err(|e| StoreError::corrupt(col, format!("{text:?} is not a decimal: {e}")))
}

pub(crate) fn opt_dec(col: &str, text: Option<&str>) -> Result<Option<Decimal>, StoreError> {
    text.map(|t| dec(col, t)).transpose()
}

pub(crate) fn price(col: &str, text: &str) -> Result<Price, StoreError> {
    Price::new(dec(col, text)?).map_err(|e| StoreError::corrupt(col, e))
}

pub(crate) fn opt_price(col: &str, text: Option<&str>) -> Result<Option<Price>, StoreError> {
    text.map(|t| price(col, t)).transpose()
}

pub(crate) fn dec_text(d: Decimal) -> String {
    d.to_string()
}

pub(crate) fn opt_dec_text(d: Option<Decimal>) -> Option<String> {
    d.map(dec_text)
}

pub(crate) fn opt_price_text(p: Option<Price>) -> Option<String> {
    p.map(|p| dec_text(p.get()))
}

/// A validated model id (`Symbol`, `AccountName`, …) from its stored text.
pub(crate) fn id<T, E>(col: &str, text: String) -> Result<T, StoreError>
where
    T: TryFrom<String, Error = E>,
    E: std::fmt::Display,
{
    T::try_from(text).map_err(|e| StoreError::corrupt(col, e))
}

pub(crate) fn opt_id<T, E>(col: &str, text: Option<String>) -> Result<Option<T>, StoreError>
where
    T: TryFrom<String, Error = E>,
    E: std::fmt::Display,
{
    text.map(|t| id(col, t)).transpose()
}

/// The serde name of a unit enum variant (`SleeveState::Cooling` → `"cooling"`).
pub(crate) fn name<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Err(StoreError::invalid(what, format!("{other} is not a name"))),
        Err(e) => Err(StoreError::invalid(what, e.to_string())),
    }
}

/// The unit enum variant named `text`.
pub(crate) fn from_name<T: DeserializeOwned>(col: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| StoreError::corrupt(col, format!("unknown value {text:?}")))
}

/// A JSON document for a TEXT column.
pub(crate) fn json<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::invalid(what, e.to_string()))
}

pub(crate) fn from_json<T: DeserializeOwned>(col: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(col, e))
}

/// An audit payload as canonical JSON text (what is stored and hashed).
pub(crate) fn payload<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_value(value)
        .map(|v| crate::audit::canonical_json(&v))
        .map_err(|e| StoreError::invalid(what, e.to_string()))
}

/// `i64` → `u16` for the plan leg column.
pub(crate) fn leg(col: &str, v: i64) -> Result<u16, StoreError> {
    u16::try_from(v).map_err(|_| StoreError::corrupt(col, format!("{v} is not a leg number")))
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use tradeengine_model::{MarginMode, SleeveState};

    use super::*;

    #[test]
    fn decimals_round_trip_exactly_with_scale() {
        for d in [
            dec!(0),
            dec!(1.50),
            dec!(-0.000000001),
            dec!(79228162514264337593543950335),
        ] {
            let text = dec_text(d);
            let back = dec("x", &text).ok();
            assert_eq!(back, Some(d));
            assert_eq!(
                back.map(|b| b.scale()),
                Some(d.scale()),
                "scale kept for {text}"
            );
        }
    }

    #[test]
    fn bad_decimal_text_is_corrupt_and_named() {
        let err = dec("orders.qty", "1e999").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("orders.qty")));
        assert!(dec("x", "0.1234567890123456789012345678901").is_err());
    }

    #[test]
    fn times_truncate_to_milliseconds() {
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 123_456_789);
        let stored = t.map(ms);
        assert_eq!(stored, Some(1_700_000_000_123));
        let back = stored.and_then(|v| time("t", v).ok());
        assert_eq!(back.map(|b| b.timestamp_subsec_nanos()), Some(123_000_000));
        assert!(time("t", i64::MAX).is_err());
    }

    #[test]
    fn names_are_serde_names() {
        assert_eq!(
            name("s", &SleeveState::Cooling).ok().as_deref(),
            Some("cooling")
        );
        assert_eq!(
            from_name::<MarginMode>("m", "isolated").ok(),
            Some(MarginMode::Isolated)
        );
        assert!(from_name::<MarginMode>("m", "portfolio").is_err());
    }

    #[test]
    fn leg_refuses_out_of_range() {
        assert_eq!(leg("l", 3).ok(), Some(3));
        assert!(leg("l", -1).is_err());
        assert!(leg("l", 70_000).is_err());
    }
}
