//! Lenient number reading for outside input.
//!
//! Senders quote numbers or not as they please (`"3"` and `3`), and Python writes floats in
//! exponent notation (`1e-05`). Both become an exact [`Decimal`]; anything that is not a finite
//! number is refused, so a `NaN` can never reach a depth or a leverage.

use std::fmt::Write;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde_json::Value;

/// Parses a decimal written as `12`, `-0.5`, `+3`, `1e-05` or `2.5E3`. Surrounding blanks are
/// ignored. `None` for anything else, including values beyond `Decimal`'s range.
pub fn parse_decimal(raw: &str) -> Option<Decimal> {
    let s = raw.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    if s.bytes().any(|b| b == b'e' || b == b'E') {
        return Decimal::from_scientific(s).ok();
    }
    // `Decimal::from_str` accepts `_` separators; a number sent to us never has them.
    if s.contains('_') {
        return None;
    }
    Decimal::from_str(s).ok()
}

/// A JSON number or numeric string as a decimal. `None` for other types.
pub fn value_to_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => parse_decimal(&n.to_string()),
        Value::String(s) => parse_decimal(s),
        _ => None,
    }
}

/// Converts a finite `f64` (as PTN sends them) to the decimal with the same shortest
/// representation, so `0.1` becomes exactly `0.1` and sums of leverages cancel exactly.
/// `None` for NaN, infinities and magnitudes beyond `Decimal`'s range.
pub fn f64_to_decimal(x: f64) -> Option<Decimal> {
    if !x.is_finite() {
        return None;
    }
    // Rust prints the shortest string that reads back as the same f64, never in exponent form.
    // Very small or very large magnitudes print long; those fall back to rounding.
    let mut buf = String::with_capacity(24);
    let _ = write!(buf, "{x}");
    if buf.len() <= 40
        && let Ok(d) = Decimal::from_str(&buf)
    {
        return Some(d);
    }
    Decimal::from_f64(x)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn accepts_plain_signed_and_exponent_forms() {
        assert_eq!(parse_decimal(" 14.08 "), Some(dec!(14.08)));
        assert_eq!(parse_decimal("+3"), Some(dec!(3)));
        assert_eq!(parse_decimal("-0.5"), Some(dec!(-0.5)));
        assert_eq!(parse_decimal("1e-05"), Some(dec!(0.00001)));
        assert_eq!(parse_decimal("2.5E3"), Some(dec!(2500)));
    }

    #[test]
    fn refuses_non_numbers() {
        for bad in [
            "", "abc", "NaN", "Infinity", "1_000", "1.2.3", "--1", "1e999999",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_numbers_and_strings_both_work() {
        assert_eq!(value_to_decimal(&serde_json::json!(3)), Some(dec!(3)));
        assert_eq!(
            value_to_decimal(&serde_json::json!("3.25")),
            Some(dec!(3.25))
        );
        assert_eq!(
            value_to_decimal(&serde_json::json!(1e-5)),
            Some(dec!(0.00001))
        );
        assert_eq!(value_to_decimal(&serde_json::json!(true)), None);
        assert_eq!(value_to_decimal(&serde_json::Value::Null), None);
    }

    #[test]
    fn f64_keeps_the_shortest_decimal() {
        assert_eq!(f64_to_decimal(0.1), Some(dec!(0.1)));
        assert_eq!(
            f64_to_decimal(0.19999999999999998),
            Some(dec!(0.19999999999999998))
        );
        assert_eq!(f64_to_decimal(-0.03137), Some(dec!(-0.03137)));
        assert_eq!(f64_to_decimal(f64::NAN), None);
        assert_eq!(f64_to_decimal(f64::INFINITY), None);
        assert_eq!(f64_to_decimal(1e300), None);
        assert_eq!(f64_to_decimal(1e-5), Some(dec!(0.00001)));
        assert_eq!(f64_to_decimal(1e-40), Some(dec!(0)));
    }
}
