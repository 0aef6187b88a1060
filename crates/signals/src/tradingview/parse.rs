//! The TradingView alert parser: bytes in, an authenticated, validated [`Signal`] out.
//!
//! Steps, in order, each with its own refusal:
//! 1. size limit and content type (400);
//! 2. JSON, whatever the content type says: TradingView sends `text/plain` whenever the text is
//!    not strict JSON, and templates are often sent that way (400 if it is not a JSON object);
//! 3. sender allow-list and secret (401), before anything else is looked at, so an outsider
//!    learns nothing about validation;
//! 4. unreplaced `{{…}}` placeholders, symbol mapping, side, size, caps, leverage, price, time
//!    and TTL (422 with the reason);
//! 5. the signal, with the secret fields removed from the stored payload.
//!
//! Side: the first of `direction`-like fields (`direction`, `market_position`, …), else the sign
//! of `position_size`, else an action that implies a side (`enter_long`, `exit`, …). Size: the
//! fractional `size` string (see [`super::size`]), else `position_size / position_scale`, else the
//! source's `default_depth`.
//!
//! Idempotency key: `tv:{source}:event:{event_id}:{first 32 hex of the body hash}` when the
//! alert carries an `event_id` (the same alert sent again is one signal; a reused id on another
//! body is another).
//! Otherwise `tv:{source}:body:{blake3 of the stored payload}`, to which the receive time (ms)
//! is appended when the payload carries no time of its own: two identical timeless bodies can be
//! a legitimate repeat (exit, later re-enter), so only the in-memory window
//! ([`super::dedup::Dedup`]) may fold them, never the store's unique key.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use tradeengine_model::{Intent, Price, Signal, SignalId, TargetIntent, Timestamp};

use crate::mapping::SymbolMap;
use crate::num::parse_decimal;

use super::auth::check_secret;
use super::config::TvConfig;
use super::error::TvError;
use super::fields::{all_texts, find_placeholder, first_non_scalar, first_text, remove_path};
use super::size::{Direction, SizeSpec, parse_size, signed_depth, written_negative};

/// Longest `event_id` / `signal_seq` accepted; they become parts of keys.
const MAX_KEY_LEN: usize = 128;

/// One HTTP request as the server saw it. Its `Debug` shows neither the body nor the URL token,
/// since both can hold the secret.
#[derive(Clone, Copy, Default)]
pub struct TvRequest<'a> {
    pub body: &'a [u8],
    pub content_type: Option<&'a str>,
    /// A secret taken from the URL path or query (TradersPost style), if the route has one.
    pub url_token: Option<&'a str>,
    /// The sender's address, checked against the source's allow-list.
    pub peer: Option<IpAddr>,
}

impl std::fmt::Debug for TvRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TvRequest")
            .field("body_len", &self.body.len())
            .field("content_type", &self.content_type)
            .field("url_token", &self.url_token.map(|_| "[REDACTED]"))
            .field("peer", &self.peer)
            .finish()
    }
}

/// A parsed, authenticated, validated alert.
#[derive(Debug, Clone, PartialEq)]
pub struct TvAlert {
    /// The normalised signal (`Intent::Target`), ready to be stored.
    pub signal: Signal,
    pub direction: Direction,
    /// The sender's action word (`buy`, `sell`, …), lower-cased, informational.
    pub action: Option<String>,
    pub signal_seq: Option<String>,
    pub event_id: Option<String>,
    /// BLAKE3 (hex) of the stored, secret-free payload: the fast-path duplicate key.
    pub body_hash: String,
}

impl TvAlert {
    /// The side this alert closes when it is a sided exit (`exit_long`, `exit_short`): it must
    /// close that side only, never the other. `None` for every other alert.
    pub fn closes_only(&self) -> Option<Direction> {
        if self.direction != Direction::Flat {
            return None;
        }
        self.action.as_deref().and_then(Direction::exit_side)
    }

    pub fn depth(&self) -> Decimal {
        match &self.signal.intent {
            tradeengine_model::Intent::Target(t) => t.depth,
            tradeengine_model::Intent::Order(_) => Decimal::ZERO,
        }
    }
}

/// Parses an alert body with the secret in the body and no sender check (the caller checks
/// `cfg.allow_ips` itself, or uses [`parse_request`]).
pub fn parse(
    body: &[u8],
    content_type: Option<&str>,
    cfg: &TvConfig,
    mapping: &SymbolMap,
    now: Timestamp,
) -> Result<TvAlert, TvError> {
    let req = TvRequest {
        body,
        content_type,
        url_token: None,
        peer: None,
    };
    parse_inner(&req, false, cfg, mapping, now)
}

/// Parses a whole request: allow-list, secret in body or URL, then the alert.
pub fn parse_request(
    req: &TvRequest<'_>,
    cfg: &TvConfig,
    mapping: &SymbolMap,
    now: Timestamp,
) -> Result<TvAlert, TvError> {
    parse_inner(req, true, cfg, mapping, now)
}

fn parse_inner(
    req: &TvRequest<'_>,
    check_peer: bool,
    cfg: &TvConfig,
    mapping: &SymbolMap,
    now: Timestamp,
) -> Result<TvAlert, TvError> {
    let obj = &authenticated_object(req, check_peer, cfg)?;

    let (_, raw_symbol) = first_text(obj, &cfg.aliases.symbol)
        .ok_or_else(|| TvError::MissingField("symbol", cfg.aliases.symbol.join(", ")))?;
    let symbol = mapping
        .resolve(&raw_symbol)
        .map_err(|e| TvError::UnknownSymbol(e.to_string()))?;

    let position_size = match first_text(obj, &cfg.aliases.position_size) {
        Some((field, t)) => {
            Some(parse_decimal(&t).ok_or_else(|| TvError::bad(&field, &t, "not a number"))?)
        }
        None => None,
    };
    let action = first_text(obj, &cfg.aliases.action);
    let mut direction = read_direction(obj, cfg, position_size, action.as_ref())?;
    let magnitude = read_magnitude(obj, cfg, &mut direction, position_size)?;
    let depth = signed_depth(direction, magnitude, cfg.max_depth)?;

    let leverage = if direction == Direction::Flat {
        None
    } else {
        read_leverage(obj, cfg)?
    };
    let reference_price = read_price(obj, cfg)?;
    let emitted_at = read_time(obj, cfg, now)?;

    let signal_seq = read_key(obj, &cfg.aliases.signal_seq)?;
    let event_id = read_key(obj, &cfg.aliases.event_id)?;

    let raw = Value::Object(obj.clone());
    let canonical = serde_json::to_vec(&raw).unwrap_or_default();
    let body_hash = blake3::hash(&canonical).to_hex().to_string();
    let idempotency_key = idempotency_key(cfg, event_id.as_deref(), emitted_at, &body_hash, now);
    // With the source, as for broker messages: two TradingView sources may send one alert.
    let id_hash = blake3::hash(format!("{}\n{idempotency_key}", cfg.source).as_bytes()).to_hex();
    let id = SignalId::new(&format!("tv-{}", &id_hash[..40]))
        .map_err(|e| TvError::bad("id", "", e.to_string()))?;

    let signal = Signal {
        id,
        source: cfg.source.clone(),
        symbol,
        intent: Intent::Target(TargetIntent {
            depth,
            leverage,
            reference_price,
        }),
        emitted_at,
        received_at: now,
        idempotency_key,
        raw,
    };
    Ok(TvAlert {
        signal,
        direction,
        action: action.map(|(_, a)| a.chars().take(32).collect::<String>().to_ascii_lowercase()),
        signal_seq,
        event_id,
        body_hash,
    })
}

/// Steps 1 to 3 and the placeholder check: the body as a JSON object from an allowed sender
/// with the right secret, the secret fields removed.
fn authenticated_object(
    req: &TvRequest<'_>,
    check_peer: bool,
    cfg: &TvConfig,
) -> Result<Map<String, Value>, TvError> {
    if req.body.len() > cfg.max_body_bytes {
        return Err(TvError::BodyTooLarge {
            size: req.body.len(),
            limit: cfg.max_body_bytes,
        });
    }
    check_content_type(req.content_type)?;
    let mut obj = read_object(req.body)?;

    // Authentication first.
    if check_peer {
        cfg.allow_ips
            .check(req.peer)
            .map_err(TvError::Unauthorized)?;
    }
    let body_secret = first_text(&obj, &cfg.aliases.secret).map(|(_, s)| s);
    let presented = req.url_token.or(body_secret.as_deref());
    check_secret(presented, cfg.secret.as_ref(), cfg.allow_unauthenticated)
        .map_err(TvError::Unauthorized)?;
    // The stored payload never holds the secret.
    for alias in &cfg.aliases.secret {
        remove_path(&mut obj, alias);
    }
    for (k, v) in &obj {
        let mut path = k.clone();
        if let Some(field) = find_placeholder(v, &mut path) {
            return Err(TvError::UnfilledPlaceholder { field });
        }
    }
    Ok(obj)
}

/// The size of the target, unsigned: the fractional `size`, else `position_size /
/// position_scale`, else the source's `default_depth`. An exit size turns `direction` flat.
fn read_magnitude(
    obj: &Map<String, Value>,
    cfg: &TvConfig,
    direction: &mut Direction,
    position_size: Option<Decimal>,
) -> Result<Decimal, TvError> {
    if *direction == Direction::Flat {
        return Ok(Decimal::ZERO);
    }
    if let Some((field, t)) = first_text(obj, &cfg.aliases.size) {
        return Ok(match parse_size(&field, &t)? {
            SizeSpec::Exit => {
                *direction = Direction::Flat;
                Decimal::ZERO
            }
            SizeSpec::Fraction(_) if *direction == Direction::Long && written_negative(&t) => {
                return Err(TvError::bad(
                    &field,
                    &t,
                    "a negative size on a long alert contradicts itself; send the size \
                     without a sign, or say short",
                ));
            }
            SizeSpec::Fraction(q) => q,
        });
    }
    if let (Some(ps), Some(scale)) = (position_size, cfg.position_scale) {
        if scale <= Decimal::ZERO {
            return Err(TvError::bad(
                "position_scale",
                &scale.to_string(),
                "the source's position_scale must be positive",
            ));
        }
        if *direction == Direction::Long && ps < Decimal::ZERO {
            return Err(TvError::bad(
                "position_size",
                &ps.to_string(),
                "a negative position size on a long alert contradicts itself",
            ));
        }
        return ps
            .abs()
            .checked_div(scale)
            .ok_or_else(|| TvError::bad("position_size", &ps.to_string(), "out of range"));
    }
    if let Some(d) = cfg.default_depth {
        return Ok(d);
    }
    Err(TvError::MissingField(
        "size",
        format!(
            "{} (or position_size with a configured position_scale, or a default_depth)",
            cfg.aliases.size.join(", ")
        ),
    ))
}

/// The idempotency key described in the module documentation.
fn idempotency_key(
    cfg: &TvConfig,
    event_id: Option<&str>,
    emitted_at: Option<Timestamp>,
    body_hash: &str,
    now: Timestamp,
) -> String {
    let source = cfg.source.as_str();
    match (event_id, emitted_at) {
        // The id with the body: the same alert sent again (a proxy's retry, a double fire) is
        // one signal, but a different alert under a reused id (`{{strategy.order.id}}` is
        // "Long" on every entry) is not, and dropping it lost every entry after the first.
        (Some(ev), _) => format!("tv:{source}:event:{ev}:{}", &body_hash[..32]),
        (None, Some(_)) => format!("tv:{source}:body:{body_hash}"),
        (None, None) => format!("tv:{source}:body:{body_hash}@{}", now.timestamp_millis()),
    }
}

fn check_content_type(ct: Option<&str>) -> Result<(), TvError> {
    let Some(ct) = ct else { return Ok(()) };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence.is_empty()
        || essence == "application/json"
        || essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence == "application/octet-stream"
    {
        Ok(())
    } else {
        Err(TvError::UnsupportedContentType(
            essence.chars().take(64).collect(),
        ))
    }
}

fn read_object(body: &[u8]) -> Result<Map<String, Value>, TvError> {
    let text =
        std::str::from_utf8(body).map_err(|_| TvError::NotJson("body is not UTF-8".into()))?;
    let text = text.trim_start_matches('\u{feff}').trim();
    let value: Value = serde_json::from_str(text).map_err(|e| TvError::NotJson(e.to_string()))?;
    match value {
        Value::Object(m) => Ok(m),
        Value::Array(_) => Err(TvError::NotAnObject("an array")),
        Value::String(_) => Err(TvError::NotAnObject("a string")),
        Value::Number(_) => Err(TvError::NotAnObject("a number")),
        Value::Bool(_) => Err(TvError::NotAnObject("a boolean")),
        Value::Null => Err(TvError::NotAnObject("null")),
    }
}

fn read_direction(
    obj: &Map<String, Value>,
    cfg: &TvConfig,
    position_size: Option<Decimal>,
    action: Option<&(String, String)>,
) -> Result<Direction, TvError> {
    let present = all_texts(obj, &cfg.aliases.direction);
    if let Some(d) = present
        .iter()
        .find_map(|(_, t)| Direction::parse_position(t))
    {
        return Ok(d);
    }
    if let Some(ps) = position_size {
        return Ok(if ps > Decimal::ZERO {
            Direction::Long
        } else if ps < Decimal::ZERO {
            Direction::Short
        } else {
            Direction::Flat
        });
    }
    if let Some(d) = action.and_then(|(_, a)| Direction::parse_action(a)) {
        return Ok(d);
    }
    if let Some((field, t)) = present.first() {
        return Err(TvError::bad(field, t, "expected long, short or flat"));
    }
    Err(TvError::MissingField(
        "direction",
        format!(
            "{}, or position_size, or an action like enter_long/exit",
            cfg.aliases.direction.join(", ")
        ),
    ))
}

fn read_leverage(obj: &Map<String, Value>, cfg: &TvConfig) -> Result<Option<Decimal>, TvError> {
    let Some((field, t)) = first_text(obj, &cfg.aliases.leverage) else {
        return Ok(None);
    };
    let l = parse_decimal(&t).ok_or_else(|| TvError::bad(&field, &t, "not a number"))?;
    // Venues take leverage from 1×; a fraction (`0.0001`) is no venue's leverage and would
    // size the target to next to nothing: a typo or a template error, refused.
    if l < Decimal::ONE {
        return Err(TvError::bad(&field, &t, "leverage must be at least 1"));
    }
    if l > cfg.max_leverage {
        return Err(TvError::LeverageAboveCap {
            leverage: l.normalize().to_string(),
            cap: cfg.max_leverage.normalize().to_string(),
        });
    }
    Ok(Some(l))
}

/// Price is informational; zero means "not given" (templates send `"0.0"`).
fn read_price(obj: &Map<String, Value>, cfg: &TvConfig) -> Result<Option<Price>, TvError> {
    let Some((field, t)) = first_text(obj, &cfg.aliases.price) else {
        return Ok(None);
    };
    let p = parse_decimal(&t).ok_or_else(|| TvError::bad(&field, &t, "not a number"))?;
    if p.is_zero() {
        return Ok(None);
    }
    Price::new(p)
        .map(Some)
        .map_err(|e| TvError::bad(&field, &t, e.to_string()))
}

/// An id-like field (`event_id`, `signal_seq`): text or a number; an object or array is refused
/// (400) rather than ignored, since the sender meant it as the alert's identity.
fn read_key(obj: &Map<String, Value>, aliases: &[String]) -> Result<Option<String>, TvError> {
    if let Some((field, got)) = first_non_scalar(obj, aliases) {
        return Err(TvError::WrongType { field, got });
    }
    match first_text(obj, aliases) {
        None => Ok(None),
        Some((field, t)) if t.len() > MAX_KEY_LEN || t.chars().any(char::is_control) => {
            Err(TvError::bad(
                &field,
                &t,
                "must be at most 128 characters without control characters",
            ))
        }
        Some((_, t)) => Ok(Some(t)),
    }
}

/// Reads the alert's own time and enforces the TTL: the smaller of the source's `ttl_secs` and
/// the alert's own `max_lag`.
fn read_time(
    obj: &Map<String, Value>,
    cfg: &TvConfig,
    now: Timestamp,
) -> Result<Option<Timestamp>, TvError> {
    // The sender's limit is checked whether or not the alert carries a time: a negative or
    // unreadable `max_lag` is refused, never ignored.
    let max_lag = match first_text(obj, &cfg.aliases.max_lag) {
        Some((f, v)) => Some(
            parse_decimal(&v)
                .filter(|d| *d >= Decimal::ZERO)
                .and_then(|d| i64::try_from(d.trunc()).ok())
                .ok_or_else(|| TvError::bad(&f, &v, "expected a non-negative number of seconds"))?,
        ),
        None => None,
    };
    if let Some((field, got)) = first_non_scalar(obj, &cfg.aliases.max_lag) {
        return Err(TvError::WrongType { field, got });
    }
    let Some((field, t)) = first_text(obj, &cfg.aliases.time) else {
        return Ok(None);
    };
    let sent = parse_time(&t).ok_or_else(|| {
        TvError::bad(
            &field,
            &t,
            "expected RFC 3339 or epoch seconds/milliseconds",
        )
    })?;
    let ttl = match (cfg.ttl_secs.and_then(|s| i64::try_from(s).ok()), max_lag) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let age = now.signed_duration_since(sent).num_seconds();
    if let Some(limit) = ttl
        && age > limit
    {
        return Err(TvError::TooOld {
            sent: sent.to_rfc3339(),
            age_secs: age,
            limit_secs: limit,
        });
    }
    let skew = i64::try_from(cfg.max_future_skew_secs).unwrap_or(i64::MAX);
    if -age > skew {
        return Err(TvError::FromTheFuture {
            sent: sent.to_rfc3339(),
            ahead_secs: -age,
        });
    }
    Ok(Some(sent))
}

/// RFC 3339 (`{{timenow}}`: `2025-07-14T14:35:06Z`), `YYYY-MM-DD HH:MM:SS[.f]` as UTC, or an
/// epoch number: ≥ 10¹¹ is milliseconds, below is seconds.
pub fn parse_time(t: &str) -> Option<Timestamp> {
    let t = t.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(Utc.from_utc_datetime(&n));
        }
    }
    let n = parse_decimal(t)?;
    if n < Decimal::ZERO {
        return None;
    }
    let ms = if n >= Decimal::from(100_000_000_000_i64) {
        n.trunc()
    } else {
        n.checked_mul(Decimal::from(1000))?.trunc()
    };
    DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)
}
