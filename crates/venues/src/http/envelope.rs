//! The result field of a venue's success envelope (`data` on BloFin, KuCoin and MEXC, `result`
//! on Bybit).
//!
//! Every read these venues document answers its result in `data`; a success reply without it
//! is not "nothing there" but a reply we cannot read. Taking it as an empty list would make
//! a positions or open-orders read say "flat, no orders" and the engine trade on a false
//! picture, so a read without `data` is an error naming the field and the endpoint. A write's
//! reply is not read as a list of anything (a leverage change only says whether it worked), so
//! a write's missing `data` passes on as `Null`; order entry, which must know whether its
//! order exists, checks its own reply with [`order_reply`].

use serde_json::Value;

use super::Method;
use crate::{VenueError, VenueErrorKind};

/// The code of the error for a success reply without its result field.
pub const MISSING_DATA: &str = "missing_data";

/// `data` as the venue sent it: required on a read (`GET`), `Null` when absent on a write.
pub fn data_field(
    venue: &'static str,
    method: Method,
    path: &str,
    data: Option<Value>,
) -> Result<Value, VenueError> {
    result_field(venue, method, path, "data", data)
}

/// The envelope's result field `field` as the venue sent it: required on a read (`GET`),
/// `Null` when absent on a write.
pub fn result_field(
    venue: &'static str,
    method: Method,
    path: &str,
    field: &str,
    value: Option<Value>,
) -> Result<Value, VenueError> {
    match value {
        Some(v) => Ok(v),
        None if method.is_write() => Ok(Value::Null),
        None => Err(VenueError::new(
            venue,
            VenueErrorKind::Internal,
            format!("GET {path}: missing field `{field}` in a success reply"),
        )
        .with_code(MISSING_DATA)),
    }
}

/// For an envelope model: a present field as it is, `null` included (a plain `Option<Value>`
/// reads `null` as absent). Use with `#[serde(default, deserialize_with = "present")]`.
pub fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    <Value as serde::Deserialize>::deserialize(d).map(Some)
}

/// An order entry's `data`: a reply that accepted the request but carries no result cannot
/// say whether the order exists, so it is an ambiguous outcome (settled by client order id
/// before anything is re-sent), never a rejection.
pub fn order_reply(venue: &'static str, path: &str, data: Value) -> Result<Value, VenueError> {
    if data.is_null() {
        return Err(VenueError::new(
            venue,
            VenueErrorKind::Ambiguous,
            format!("POST {path}: the success reply has no `data`; the order's fate is unknown"),
        )
        .with_code(MISSING_DATA));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_without_data_is_an_error_naming_field_and_endpoint() {
        let e = data_field("x", Method::Get, "/api/v1/positions", None).err();
        let e = e.unwrap_or_else(|| panic!("a read without data was accepted"));
        assert_eq!(e.kind, VenueErrorKind::Internal);
        assert_eq!(e.code.as_deref(), Some(MISSING_DATA));
        assert!(e.message.contains("`data`") && e.message.contains("/api/v1/positions"));
        assert_eq!(
            data_field("x", Method::Get, "/p", Some(Value::Null)).ok(),
            Some(Value::Null)
        );
    }

    #[test]
    fn a_write_without_data_passes_but_an_order_entry_is_ambiguous() {
        let data = data_field("x", Method::Post, "/order", None).ok();
        assert_eq!(data, Some(Value::Null));
        let e = order_reply("x", "/order", Value::Null).err();
        let e = e.unwrap_or_else(|| panic!("an empty order reply was accepted"));
        assert_eq!(e.kind, VenueErrorKind::Ambiguous);
        assert!(e.may_have_acted());
        let kept = order_reply("x", "/order", serde_json::json!({"orderId": "1"})).ok();
        assert_eq!(kept, Some(serde_json::json!({"orderId": "1"})));
    }
}
