//! Reading MEXC replies without `f64`.
//!
//! MEXC sends prices, sizes and balances as JSON **numbers** (`"holdAvgPrice": 60000.1`,
//! `"contractSize": 0.0001`) and order ids as integers larger than 2^53. `serde_json` (built
//! here without `arbitrary_precision`) would turn such numbers into `f64` on the way in. So the
//! reply text is rewritten first: every number token outside a string is wrapped in quotes,
//! byte for byte, and the models read decimals and ids from strings exactly, as for the other
//! venues.

use serde_json::Value;

use super::VENUE;
use crate::VenueError;

/// `body` with every JSON number turned into a string holding the same characters.
/// Anything that is not valid JSON comes out unchanged enough to fail parsing as before.
pub fn quote_numbers(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 8);
    let mut in_string = false;
    let mut escaped = false;
    let mut in_number = false;
    for &b in body {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        let number_byte = b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E');
        if in_number && !number_byte {
            out.push(b'"');
            in_number = false;
        }
        if !in_number && (b.is_ascii_digit() || b == b'-') {
            out.push(b'"');
            in_number = true;
        }
        if b == b'"' {
            in_string = true;
        }
        out.push(b);
    }
    if in_number {
        out.push(b'"');
    }
    out
}

/// A reply's `data` as its strict model `T`; `endpoint` (`GET /api/v1/...`) is named in errors.
pub fn parse<T: serde::de::DeserializeOwned>(v: Value, endpoint: &str) -> Result<T, VenueError> {
    crate::parse::reply(VENUE, endpoint, v)
}

/// `data` as a list: MEXC answers a list, a single object (when asked for one symbol), a page
/// `{resultList: [...]}`, or null.
pub fn rows<T: serde::de::DeserializeOwned>(
    v: Value,
    endpoint: &str,
) -> Result<Vec<T>, VenueError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(_) => parse(v, endpoint),
        Value::Object(ref o) if o.contains_key("resultList") => parse(
            o.get("resultList").cloned().unwrap_or(Value::Null),
            endpoint,
        ),
        one => Ok(vec![parse(one, endpoint)?]),
    }
}

/// A JSON string literal (escaped), for bodies built by hand.
pub fn json_str(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn q(s: &str) -> String {
        String::from_utf8(quote_numbers(s.as_bytes())).unwrap_or_default()
    }

    #[test]
    fn numbers_become_exact_strings() {
        assert_eq!(
            q(r#"{"a":0.0001,"b":-1.5e-3,"c":[1,2],"d":739113577038255616}"#),
            r#"{"a":"0.0001","b":"-1.5e-3","c":["1","2"],"d":"739113577038255616"}"#
        );
        let v: Value = serde_json::from_str(&q(r#"{"price": 60000.10 }"#)).unwrap_or_default();
        assert_eq!(v["price"], "60000.10");
    }

    #[test]
    fn strings_literals_and_a_bare_number_are_left_alone() {
        assert_eq!(
            q(r#"{"m":"code 5 \"x\" 7","t":true,"n":null,"s":"BTC_USDT"}"#),
            r#"{"m":"code 5 \"x\" 7","t":true,"n":null,"s":"BTC_USDT"}"#
        );
        assert_eq!(q("1657186536762"), r#""1657186536762""#);
        assert_eq!(q(r#"{"k":"a\\","v":2}"#), r#"{"k":"a\\","v":"2"}"#);
    }
}
