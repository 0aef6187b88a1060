//! What the message parsers share ([`crate::canonical`], [`crate::strategy_signal`],
//! [`crate::amount_signal`]): the context a message is read in, its idempotency key, and the error
//! that says what was wrong.
//!
//! These parsers serve both the brokers (NATS JetStream, RabbitMQ) and the REST API, so nothing
//! here knows about a transport: the caller passes the transport's message id, if it has one.
//!
//! ## Idempotency key
//!
//! The store refuses a second signal with the same (source, key), which is what makes
//! at-least-once delivery exactly-once into sleeves. The key is the first of:
//! 1. `msg:{id}`: the transport's message id (NATS `Nats-Msg-Id`, AMQP `message_id`): the
//!    producer chose it, and a redelivery carries it unchanged;
//! 2. `id:{id}`: the message's own id field (a strategy signal's `signal_id`,
//!    canonical `id`);
//! 3. `pos:{position}`: the message's place in a durable log (NATS stream, sequence and the
//!    stream's creation time, so a recreated stream never reuses a key);
//! 4. `body:{blake3 of the body}`, when the body carries its own time; otherwise
//!    `body:{hash}@{occurrence}`. Without any id or time only the transport can tell a
//!    redelivery from a deliberate repeat (an amount-signal producer sends the same BUY again every
//!    cycle). With [`MessageContext::occurrences`] (the brokers), `occurrence` is the time this
//!    body was first seen ([`crate::occurrence`]): a message the transport marks redelivered keeps
//!    the key of its first delivery whenever it comes back, and a first delivery within
//!    [`MessageContext::repeat_window`] of the body's first sighting is the same message. Without
//!    a table (a caller with no redelivery, as the REST API), `occurrence` is the receive time
//!    divided by the window: identical bodies within one fixed window are one message.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use tradeengine_model::{Price, SignalId, SourceId, Symbol, Timestamp};

use crate::mapping::SymbolMap;
use crate::num::value_to_decimal;
pub use crate::occurrence::Occurrences;

/// Longest id accepted from a transport or a message body.
pub const MAX_ID_LEN: usize = 128;
/// Largest message body accepted, bytes.
pub const MAX_BODY: usize = 256 * 1024;

/// Where a message is read: which source it feeds and what the transport knows about it.
#[derive(Debug, Clone)]
pub struct MessageContext<'a> {
    pub source: &'a SourceId,
    /// Source symbol → unified symbol; a symbol outside it is refused.
    pub mapping: &'a SymbolMap,
    /// The receive time.
    pub now: Timestamp,
    /// The transport's id for the message (NATS `Nats-Msg-Id`, AMQP `message_id`).
    pub transport_id: Option<&'a str>,
    /// The message's place in a durable log (NATS stream position), when nothing better
    /// identifies it.
    pub position: Option<&'a str>,
    /// A message whose own time is older than this is refused as stale.
    pub max_age: Option<TimeDelta>,
    /// See the module docs, step 4.
    pub repeat_window: TimeDelta,
    /// The transport delivered this message before (AMQP `redelivered`): never a new signal.
    pub redelivered: bool,
    /// The source's occurrence table (module docs, step 4), if it keeps one.
    pub occurrences: Option<&'a std::sync::Mutex<Occurrences>>,
}

impl<'a> MessageContext<'a> {
    /// A context with no transport id, no position, no age limit and a one-minute window.
    pub fn new(source: &'a SourceId, mapping: &'a SymbolMap, now: Timestamp) -> Self {
        Self {
            source,
            mapping,
            now,
            transport_id: None,
            position: None,
            max_age: None,
            repeat_window: TimeDelta::minutes(1),
            redelivered: false,
            occurrences: None,
        }
    }
}

/// Why a message is not a signal. The message says which field and why, so a producer can fix
/// it from the dead-letter entry alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("the body is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body is not a JSON object")]
    NotObject,
    #[error("{field}: required field is missing")]
    Missing { field: String },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{field}: {value:?} is not supported: {reason}")]
    Unsupported {
        field: String,
        value: String,
        reason: String,
    },
    #[error("stale: sent at {sent_at}, {age_secs} s before it was received (limit {max_secs} s)")]
    Stale {
        sent_at: Timestamp,
        age_secs: i64,
        max_secs: i64,
    },
}

impl MessageError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn missing(field: impl Into<String>) -> Self {
        Self::Missing {
            field: field.into(),
        }
    }

    pub(crate) fn unsupported(
        field: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::Unsupported {
            field: field.into(),
            value: value.into().chars().take(64).collect(),
            reason: reason.into(),
        }
    }

    /// The field at fault, if one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Missing { field } | Self::Invalid { field, .. } => Some(field),
            Self::Unsupported { field, .. } => Some(field),
            Self::Stale { .. } => Some("timestamp"),
            Self::TooLarge { .. } | Self::NotJson(_) | Self::NotObject => None,
        }
    }

    /// A short machine-readable class: `missing`, `invalid`, `unsupported`, `stale`, `body`.
    /// The refusal's label for metrics and the `refused_signals` table: a fixed set
    /// (`malformed`, `missing_field`, `unknown_symbol`, `invalid`, `unsupported`, `stale`).
    pub fn refusal_code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } | Self::NotJson(_) | Self::NotObject => "malformed",
            Self::Missing { .. } => "missing_field",
            Self::Invalid { field, .. } if field == "symbol" || field.ends_with(".symbol") => {
                "unknown_symbol"
            }
            Self::Invalid { .. } => "invalid",
            Self::Unsupported { .. } => "unsupported",
            Self::Stale { .. } => "stale",
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "missing",
            Self::Invalid { .. } => "invalid",
            Self::Unsupported { .. } => "unsupported",
            Self::Stale { .. } => "stale",
            Self::TooLarge { .. } | Self::NotJson(_) | Self::NotObject => "body",
        }
    }
}

/// The body as a JSON object, refusing oversize bodies, other JSON types and broken UTF-8.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, MessageError> {
    if body.len() > MAX_BODY {
        return Err(MessageError::TooLarge { max: MAX_BODY });
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(MessageError::NotObject),
        Err(e) => Err(MessageError::NotJson(e.to_string())),
    }
}

/// The idempotency key of a message (module docs) and the signal id derived from it.
pub(crate) fn keys(
    ctx: &MessageContext<'_>,
    body_id: Option<&str>,
    body: &Value,
    has_own_time: bool,
    id_prefix: &str,
) -> Result<(String, SignalId), MessageError> {
    let key = if let Some(id) = ctx.transport_id {
        format!("msg:{}", checked_id("message id", id)?)
    } else if let Some(id) = body_id {
        format!("id:{}", checked_id("id", id)?)
    } else if let Some(pos) = ctx.position {
        format!("pos:{}", checked_id("position", pos)?)
    } else {
        // `Value`'s maps are sorted, so the same object hashes the same however it was spelled.
        let canonical = serde_json::to_vec(body).unwrap_or_default();
        let hash = blake3::hash(&canonical).to_hex();
        let window = ctx.repeat_window.num_milliseconds().max(1);
        let bucket = || ctx.now.timestamp_millis().div_euclid(window).to_string();
        if has_own_time {
            format!("body:{hash}")
        } else if let Some(table) = ctx.occurrences {
            // A poisoned table (a panic elsewhere) still yields a key: the fixed bucket.
            let anchor = table
                .lock()
                .map(|mut t| t.anchor(&hash, ctx.now, ctx.repeat_window, ctx.redelivered))
                .unwrap_or_else(|_| bucket());
            format!("body:{hash}@{anchor}")
        } else {
            format!("body:{hash}@{}", bucket())
        }
    };
    // The source is part of the id: two sources may use the same ids (a strategy's `signal_id`,
    // a message id), and the store keeps ids unique across sources, so an id of the key alone
    // refused the second source's signal for good.
    let digest = blake3::hash(format!("{}\n{key}", ctx.source).as_bytes()).to_hex();
    let id = SignalId::new(&format!("{id_prefix}-{}", &digest[..40]))
        .map_err(|e| MessageError::invalid("id", e.to_string()))?;
    Ok((key, id))
}

/// An id usable inside a key: 1–128 printable ASCII characters without blanks.
fn checked_id<'a>(field: &str, id: &'a str) -> Result<&'a str, MessageError> {
    let ok = (1..=MAX_ID_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(id)
    } else {
        Err(MessageError::invalid(
            field,
            format!("must be 1–{MAX_ID_LEN} printable ASCII characters without blanks"),
        ))
    }
}

/// How far ahead of the receive time a message's own time may be (clocks differ a little; a
/// time further ahead is a broken clock or a made-up value, and would also make the message's
/// key and its staleness meaningless).
pub const MAX_FUTURE_SKEW: TimeDelta = TimeDelta::seconds(60);

/// Refuses a message older than the context's limit, or dated more than [`MAX_FUTURE_SKEW`]
/// ahead of its receipt.
pub(crate) fn check_age(
    ctx: &MessageContext<'_>,
    sent_at: Option<Timestamp>,
) -> Result<(), MessageError> {
    let Some(sent) = sent_at else {
        return Ok(());
    };
    let ahead = sent.signed_duration_since(ctx.now);
    if ahead > MAX_FUTURE_SKEW {
        return Err(MessageError::invalid(
            "timestamp",
            format!(
                "{} is {} s ahead of the receive time (at most {} s allowed)",
                sent.to_rfc3339(),
                ahead.num_seconds(),
                MAX_FUTURE_SKEW.num_seconds()
            ),
        ));
    }
    let Some(max) = ctx.max_age else {
        return Ok(());
    };
    let age = ctx.now.signed_duration_since(sent);
    if age > max {
        return Err(MessageError::Stale {
            sent_at: sent,
            age_secs: age.num_seconds(),
            max_secs: max.num_seconds(),
        });
    }
    Ok(())
}

/// The unified symbol for a message's symbol field.
pub(crate) fn symbol(
    ctx: &MessageContext<'_>,
    field: &str,
    v: Option<&Value>,
) -> Result<Symbol, MessageError> {
    let raw = text(field, v)?.ok_or_else(|| MessageError::missing(field))?;
    ctx.mapping
        .resolve(raw)
        .map_err(|e| MessageError::invalid(field, e.to_string()))
}

/// A string field; `None` when absent or null.
pub(crate) fn text<'v>(field: &str, v: Option<&'v Value>) -> Result<Option<&'v str>, MessageError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(MessageError::invalid(field, "must be a string")),
    }
}

/// A number field (a JSON number or a numeric string); `None` when absent or null.
pub(crate) fn number(field: &str, v: Option<&Value>) -> Result<Option<Decimal>, MessageError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => value_to_decimal(v)
            .map(Some)
            .ok_or_else(|| MessageError::invalid(field, "must be a finite number")),
    }
}

/// A required number field.
pub(crate) fn required_number(field: &str, v: Option<&Value>) -> Result<Decimal, MessageError> {
    number(field, v)?.ok_or_else(|| MessageError::missing(field))
}

/// A number in 0..=1.
pub(crate) fn fraction(field: &str, v: Option<&Value>) -> Result<Option<Decimal>, MessageError> {
    let n = number(field, v)?;
    if let Some(x) = n
        && (x < Decimal::ZERO || x > Decimal::ONE)
    {
        return Err(MessageError::invalid(
            field,
            format!("{x} must be between 0 and 1"),
        ));
    }
    Ok(n)
}

/// A price: `None` when absent, null or not above zero is refused.
pub(crate) fn price(field: &str, v: Option<&Value>) -> Result<Option<Price>, MessageError> {
    number(field, v)?
        .map(|p| {
            Price::new(p)
                .map_err(|_| MessageError::invalid(field, format!("{p} must be above zero")))
        })
        .transpose()
}

/// [`sender_time`] for a field that must hold a usable time when present: absent or null is
/// `None`; anything [`sender_time`] cannot read (`"yesterday"`, `1e20`, an object) is refused,
/// naming the field, instead of silently dropping the sender's time.
pub fn strict_sender_time(
    field: &str,
    v: Option<&Value>,
) -> Result<Option<Timestamp>, MessageError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => sender_time(Some(v)).map(Some).ok_or_else(|| {
            MessageError::invalid(
                field,
                "must be an ISO 8601 time or epoch seconds between 2000 and 2100",
            )
        }),
    }
}

/// The strategy signal's timestamp rule (as petrosa-tradeengine reads it): an ISO 8601 text (a
/// trailing `Z` or an offset; a naive time is UTC; a bare date is midnight UTC), or epoch
/// **seconds** between 2000 and 2100, as a number or a numeric text. Anything else is `None`
/// (petrosa-tradeengine silently used "now"; here the signal then simply has no sender time).
pub fn sender_time(v: Option<&Value>) -> Option<Timestamp> {
    const MIN: i64 = 946_684_800; // 2000-01-01
    const MAX: i64 = 4_102_444_800; // 2100-01-01
    let epoch = |n: Decimal| -> Option<Timestamp> {
        let ms = n.checked_mul(Decimal::from(1000))?.trunc();
        let ms = i64::try_from(ms).ok()?;
        (MIN * 1000..=MAX * 1000)
            .contains(&ms)
            .then(|| DateTime::from_timestamp_millis(ms))
            .flatten()
    };
    match v? {
        Value::Number(_) => epoch(value_to_decimal(v?)?),
        Value::String(s) => {
            let t = s.trim();
            if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
                return Some(dt.with_timezone(&Utc));
            }
            for fmt in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z"] {
                if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
                    return Some(dt.with_timezone(&Utc));
                }
            }
            for fmt in [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
            ] {
                if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
                    return Some(Utc.from_utc_datetime(&n));
                }
            }
            if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
                return d.and_hms_opt(0, 0, 0).map(|n| Utc.from_utc_datetime(&n));
            }
            epoch(crate::num::parse_decimal(t)?)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    fn ctx_parts() -> (SourceId, SymbolMap) {
        (
            SourceId::new("bus").unwrap(),
            SymbolMap::new([("BTCUSDT", "BTCUSDT")]).unwrap(),
        )
    }

    #[test]
    fn key_precedence_is_transport_then_body_then_position_then_hash() {
        let (source, map) = ctx_parts();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let body = json!({"a": 1});
        let mut ctx = MessageContext::new(&source, &map, now);
        ctx.transport_id = Some("t-1");
        ctx.position = Some("S:1:9");
        let (k, _) = keys(&ctx, Some("b-1"), &body, false, "x").unwrap();
        assert_eq!(k, "msg:t-1");
        ctx.transport_id = None;
        assert_eq!(
            keys(&ctx, Some("b-1"), &body, false, "x").unwrap().0,
            "id:b-1"
        );
        assert_eq!(keys(&ctx, None, &body, false, "x").unwrap().0, "pos:S:1:9");
        ctx.position = None;
        let timed = keys(&ctx, None, &body, true, "x").unwrap().0;
        assert!(
            timed.starts_with("body:") && !timed.contains('@'),
            "{timed}"
        );
    }

    #[test]
    fn identical_timeless_bodies_fold_only_within_one_window() {
        let (source, map) = ctx_parts();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 5).unwrap();
        let body = json!({"symbol": "BTCUSDT", "action": 1});
        let a = MessageContext::new(&source, &map, t0);
        let b = MessageContext::new(&source, &map, t0 + TimeDelta::seconds(30));
        let c = MessageContext::new(&source, &map, t0 + TimeDelta::minutes(15));
        let ka = keys(&a, None, &body, false, "x").unwrap();
        assert_eq!(ka, keys(&b, None, &body, false, "x").unwrap());
        assert_ne!(ka.0, keys(&c, None, &body, false, "x").unwrap().0);
        // The signal id is a valid id derived from the key.
        assert!(ka.1.as_str().starts_with("x-") && ka.1.as_str().len() == 42);
    }

    #[test]
    fn a_redelivered_timeless_body_keeps_its_key_across_a_window_edge() {
        let (source, map) = ctx_parts();
        let table = std::sync::Mutex::new(Occurrences::default());
        let body = json!({"symbol": "BTCUSDT", "action": 1});
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 59).unwrap();
        let first = MessageContext {
            occurrences: Some(&table),
            ..MessageContext::new(&source, &map, t0)
        };
        let again = MessageContext {
            redelivered: true,
            now: t0 + TimeDelta::seconds(2),
            ..first.clone()
        };
        let k1 = keys(&first, None, &body, false, "x").unwrap().0;
        assert_eq!(k1, keys(&again, None, &body, false, "x").unwrap().0);
        // Without the table the fixed bucket changes at the minute: the old behaviour.
        let bare = MessageContext::new(&source, &map, t0);
        let later = MessageContext::new(&source, &map, t0 + TimeDelta::seconds(2));
        assert_ne!(
            keys(&bare, None, &body, false, "x").unwrap().0,
            keys(&later, None, &body, false, "x").unwrap().0
        );
        // A deliberate repeat, first delivered after the window, is a new message.
        let repeat = MessageContext {
            now: t0 + TimeDelta::minutes(2),
            ..first.clone()
        };
        assert_ne!(k1, keys(&repeat, None, &body, false, "x").unwrap().0);
    }

    #[test]
    fn ids_with_blanks_or_too_long_are_refused_by_name() {
        let (source, map) = ctx_parts();
        let ctx = MessageContext::new(&source, &map, Utc::now());
        let e = keys(&ctx, Some("a b"), &json!({}), false, "x").unwrap_err();
        assert_eq!(e.field(), Some("id"));
        let long = "a".repeat(MAX_ID_LEN + 1);
        assert!(keys(&ctx, Some(&long), &json!({}), false, "x").is_err());
    }

    #[test]
    fn stale_and_far_future_messages_are_refused() {
        let (source, map) = ctx_parts();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 10, 0).unwrap();
        let mut ctx = MessageContext::new(&source, &map, now);
        ctx.max_age = Some(TimeDelta::seconds(300));
        let old = now - TimeDelta::seconds(301);
        let e = check_age(&ctx, Some(old)).unwrap_err();
        assert!(e.to_string().contains("301 s"), "{e}");
        // A little ahead is clock skew; far ahead is refused, limit or not.
        assert!(check_age(&ctx, Some(now + TimeDelta::seconds(60))).is_ok());
        assert!(check_age(&ctx, Some(now + TimeDelta::hours(1))).is_err());
        ctx.max_age = None;
        assert!(check_age(&ctx, Some(now + TimeDelta::seconds(61))).is_err());
        assert!(check_age(&ctx, None).is_ok());
    }

    #[test]
    fn sender_time_follows_the_strategy_signal_rules() {
        let want = Utc.with_ymd_and_hms(2026, 8, 21, 12, 0, 0).unwrap();
        for v in [
            json!("2026-08-21T12:00:00Z"),
            json!("2026-08-21T12:00:00+00:00"),
            json!("2026-08-21T14:00:00+02:00"),
            json!("2026-08-21T12:00:00"),
            json!("2026-08-21 12:00:00.000"),
            json!(1_787_313_600),
            json!("1787313600"),
        ] {
            assert_eq!(sender_time(Some(&v)), Some(want), "{v}");
        }
        assert_eq!(
            sender_time(Some(&json!("2026-08-21"))),
            Some(Utc.with_ymd_and_hms(2026, 8, 21, 0, 0, 0).unwrap())
        );
        // Milliseconds are outside 2000–2100 as seconds: not a time, as in petrosa-tradeengine.
        assert_eq!(sender_time(Some(&json!(1_787_313_600_000_i64))), None);
        assert_eq!(sender_time(Some(&json!("yesterday"))), None);
        assert_eq!(sender_time(Some(&json!(true))), None);
        assert_eq!(sender_time(None), None);
    }

    #[test]
    fn numbers_prices_and_fractions_name_their_field() {
        assert_eq!(number("q", Some(&json!("0.5"))).unwrap(), Some(dec!(0.5)));
        assert_eq!(number("q", Some(&Value::Null)).unwrap(), None);
        assert_eq!(
            number("q", Some(&json!("x"))).unwrap_err().field(),
            Some("q")
        );
        assert!(fraction("c", Some(&json!(1.5))).is_err());
        assert!(price("p", Some(&json!(0))).is_err());
        assert_eq!(
            price("p", Some(&json!(50000.5))).unwrap().map(Price::get),
            Some(dec!(50000.5))
        );
    }

    #[test]
    fn body_checks() {
        assert_eq!(json_object(b"[1]").unwrap_err(), MessageError::NotObject);
        assert!(matches!(json_object(b"{"), Err(MessageError::NotJson(_))));
        let big = vec![b' '; MAX_BODY + 1];
        assert!(matches!(
            json_object(&big),
            Err(MessageError::TooLarge { .. })
        ));
        assert!(json_object(br#"{"a":1}"#).is_ok());
    }
}
