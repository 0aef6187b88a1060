//! Tolerant reading of PTN/Vanta JSON.
//!
//! The validator writes JSON with Python's `json.dumps`, which emits bare `NaN`, `Infinity` and
//! `-Infinity` tokens that strict JSON (and serde_json) refuses. [`sanitize_non_finite`] rewrites
//! those tokens to `null` outside strings in one pass, copying only when one is found.
//!
//! The field deserializers below never fail on a value of the wrong type: a number where a string
//! was expected, an object where a number was expected, a quoted number — each becomes `None` or
//! is converted, so one odd field (old or new format) cannot make a whole miner, or the whole
//! payload, unreadable. Only broken JSON syntax is an error.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Rewrites `NaN`, `Infinity`, `-Infinity` (and `+Infinity`) outside JSON strings to `null`.
/// Borrowed when there is nothing to rewrite.
pub fn sanitize_non_finite(input: &[u8]) -> Cow<'_, [u8]> {
    // Fast exit: no 'N' or 'I' outside strings is the common case, but a cheap pre-check on
    // the raw bytes already rules most payloads out.
    if !input.windows(3).any(|w| w == b"NaN" || w == b"Inf") {
        return Cow::Borrowed(input);
    }
    let mut out: Option<Vec<u8>> = None;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    let mut copied_to = 0;
    while i < input.len() {
        let b = input[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let token_len = if input[i..].starts_with(b"NaN") {
            3
        } else if input[i..].starts_with(b"Infinity") {
            8
        } else if input[i..].starts_with(b"-Infinity") || input[i..].starts_with(b"+Infinity") {
            9
        } else {
            0
        };
        if token_len > 0 {
            let buf = out.get_or_insert_with(|| Vec::with_capacity(input.len() + 16));
            buf.extend_from_slice(&input[copied_to..i]);
            buf.extend_from_slice(b"null");
            i += token_len;
            copied_to = i;
        } else {
            i += 1;
        }
    }
    match out {
        None => Cow::Borrowed(input),
        Some(mut buf) => {
            buf.extend_from_slice(&input[copied_to..]);
            Cow::Owned(buf)
        }
    }
}

/// Any JSON value reduced to what a scalar field can use.
enum Scalar {
    F64(f64),
    I64(i64),
    U64(u64),
    Bool(bool),
    Str(String),
    Nothing,
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::I64(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::U64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::F64(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_none<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Nothing)
    }
    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Nothing)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Nothing)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Nothing)
    }
}

fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
    d.deserialize_any(ScalarVisitor)
}

/// A finite number, from a number or a numeric string.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let x = match scalar(d)? {
        Scalar::F64(x) => Some(x),
        Scalar::I64(x) => Some(x as f64),
        Scalar::U64(x) => Some(x as f64),
        Scalar::Str(s) => s.trim().parse::<f64>().ok(),
        Scalar::Bool(_) | Scalar::Nothing => None,
    };
    Ok(x.filter(|x| x.is_finite()))
}

/// An integer (epoch milliseconds, counts), from an integer, a float with no fraction worth
/// keeping, or a numeric string.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::I64(x) => Some(x),
        Scalar::U64(x) => i64::try_from(x).ok(),
        Scalar::F64(x) if x.is_finite() && x.abs() < 9.0e18 => Some(x.trunc() as i64),
        Scalar::Str(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    })
}

/// A string; numbers are printed (an id sent as a number still identifies).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Str(s) => Some(s),
        Scalar::I64(x) => Some(x.to_string()),
        Scalar::U64(x) => Some(x.to_string()),
        _ => None,
    })
}

/// A boolean, also from `"true"`/`"false"` and 0/1.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Bool(b) => Some(b),
        Scalar::I64(0) | Scalar::U64(0) => Some(false),
        Scalar::I64(1) | Scalar::U64(1) => Some(true),
        Scalar::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

/// `Some(T)` when the value is an object that reads as `T`, `None` for anything else.
#[derive(Debug)]
pub struct Lenient<T>(pub Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|t| Lenient(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// An object read as `T`, or `None` for anything else.
pub fn lenient_opt<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Lenient::<T>::deserialize(d).map(|l| l.0)
}

/// A list of objects, skipping elements that are not objects; anything but a list is empty.
pub fn lenient_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(Lenient(item)) = seq.next_element::<Lenient<T>>()? {
                if let Some(item) = item {
                    out.push(item);
                }
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Vec::new())
        }
        fn visit_bool<E>(self, _: bool) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_i64<E>(self, _: i64) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_u64<E>(self, _: u64) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_f64<E>(self, _: f64) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_str<E>(self, _: &str) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_unit<E>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_none<E>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V(PhantomData))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[test]
    fn rewrites_non_finite_tokens_outside_strings_only() {
        let raw = br#"{"a": NaN, "b": [Infinity, -Infinity, 1e5], "s": "NaN Infinity \"NaN\"", "c": +Infinity}"#;
        let clean = sanitize_non_finite(raw);
        let text = std::str::from_utf8(&clean).unwrap();
        assert_eq!(
            text,
            r#"{"a": null, "b": [null, null, 1e5], "s": "NaN Infinity \"NaN\"", "c": null}"#
        );
        let v: serde_json::Value = serde_json::from_slice(&clean).unwrap();
        assert_eq!(v["s"], "NaN Infinity \"NaN\"");
    }

    #[test]
    fn borrowed_when_clean() {
        let raw = br#"{"a": 1.5, "name": "Nate"}"#;
        assert!(matches!(sanitize_non_finite(raw), Cow::Borrowed(_)));
        // A string mentioning NaN alone is left alone.
        let raw = br#"{"a": "NaN"}"#;
        assert_eq!(&*sanitize_non_finite(raw), raw);
    }

    #[derive(Deserialize, Debug, Default)]
    #[serde(default)]
    struct T {
        #[serde(deserialize_with = "opt_f64")]
        x: Option<f64>,
        #[serde(deserialize_with = "opt_i64")]
        ms: Option<i64>,
        #[serde(deserialize_with = "opt_string")]
        s: Option<String>,
        #[serde(deserialize_with = "opt_bool")]
        b: Option<bool>,
        #[serde(deserialize_with = "lenient_vec")]
        items: Vec<T>,
    }

    #[test]
    fn fields_tolerate_wrong_types() {
        let t: T = serde_json::from_str(
            r#"{"x": "1.25", "ms": 1.7e12, "s": 42, "b": "true",
                "items": [{"x": {"deep": [1]}}, 3, null, {"s": "ok"}], "extra": {"k": []}}"#,
        )
        .unwrap();
        assert_eq!(t.x, Some(1.25));
        assert_eq!(t.ms, Some(1_700_000_000_000));
        assert_eq!(t.s.as_deref(), Some("42"));
        assert_eq!(t.b, Some(true));
        assert_eq!(t.items.len(), 2);
        assert_eq!(t.items[0].x, None);
        assert_eq!(t.items[1].s.as_deref(), Some("ok"));
        let t: T =
            serde_json::from_str(r#"{"x": [1], "ms": "soon", "s": null, "items": {}}"#).unwrap();
        assert!(t.x.is_none() && t.ms.is_none() && t.s.is_none() && t.items.is_empty());
        let t: T = serde_json::from_str(r#"{"x": "NaN"}"#).unwrap();
        assert!(t.x.is_none());
    }
}
